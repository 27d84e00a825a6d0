"""The household card's income form in Chromium (issue 19 item 2): the net and per-capita net
income follow the typing (income.js), a bad cell shows "—", and saving stores the record and
returns to the card with the server's figures."""

from __future__ import annotations

from typing import Any

import pytest

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser
VILLAGE = "230231100201"


def test_the_income_form_computes_as_one_types_and_saves(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from django.utils import timezone

    from jingzhun.registry.models import IncomeRecord

    year = timezone.localdate().year - 1  # the card offers last year's income to enter
    household = world.households[VILLAGE]
    persons = household.members.count()
    assert persons == 2  # the figures below are worked out for two persons
    page, base = browser_page, live_server.url
    page.goto(f"{base}/login/?next=/households/{household.pk}/")
    _log_in(page, "village")
    page.goto(f"{base}/households/{household.pk}/")
    page.get_by_role("link", name=f"录入 {year} 年度收入").click()
    page.wait_for_load_state()
    net, per_capita = page.locator("#income-net"), page.locator("#income-per-capita")
    page.fill("#income-wage_income", "12,000.10")
    page.fill("#income-transfer_income", "0.2")
    expect(net).to_have_text("12,000.30")
    page.fill("#income-business_costs", "1000.01")
    expect(net).to_have_text("11,000.29")
    # 1,100,029 fen / 2 = 550,014.5: a half, rounded to even as the server rounds
    expect(per_capita).to_have_text("5,500.14")
    page.fill("#income-dibao_payment", "500")  # part of the transfer income: not added again
    expect(net).to_have_text("11,000.29")
    page.fill("#income-property_income", "-3")
    expect(net).to_have_text("—")
    expect(page.locator("#income-property_income")).to_have_attribute("aria-invalid", "true")
    page.fill("#income-property_income", "")
    expect(net).to_have_text("11,000.29")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"**/households/{household.pk}/#income")
    expect(page.locator("#income")).to_contain_text("11,000.29")
    expect(page.locator("#income")).to_contain_text("5,500.14")
    income = IncomeRecord.objects.get(household=household, year=year)
    assert str(income.net_income) == "11000.29" and str(income.dibao_payment) == "500.00"
