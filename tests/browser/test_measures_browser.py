"""Household plans in Chromium (issue 21 item 3): a helper proposes a measure on the household
card; a refused amount is shown in Chinese and nothing is written; the township approves it and
the household card shows it approved, the helper's home counts it."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import VILLAGES

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser
V1 = VILLAGES["230231100000"][0]


def test_a_helper_proposes_and_the_township_approves_a_measure(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.assistance.models import Measure

    page, base = browser_page, live_server.url
    household = world.households[V1]
    card = f"{base}/households/{household.pk}/"
    page.goto(f"{base}/login/")
    _log_in(page, "helper")
    page.goto(card)
    expect(page.locator("#measure-coverage")).to_contain_text("每户至少 2 项产业带动")
    page.select_option("#id_kind", "industry")
    page.fill("#id_description", "肉牛养殖两头")
    page.fill("#id_amount", "-20")
    page.fill("#id_start_date", "2025-03-01")
    page.get_by_role("button", name="提交审批").click()
    page.wait_for_load_state()
    expect(page.locator("#measure-error")).to_contain_text("金额不能为负数")
    assert not Measure.objects.exists()
    page.goto(card)
    page.select_option("#id_kind", "industry")
    page.fill("#id_description", "肉牛养殖两头")
    page.fill("#id_amount", "6000")
    page.fill("#id_start_date", "2025-03-01")
    page.get_by_role("button", name="提交审批").click()
    page.wait_for_url(f"{card}#measures")
    expect(page.locator("#measure-list")).to_contain_text("肉牛养殖两头")
    expect(page.locator("#measure-list")).to_contain_text("待审批")
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    _log_in(page, "township")
    page.goto(card)
    page.get_by_role("button", name="批准", exact=True).click()
    page.wait_for_url(f"{card}#measures")
    expect(page.locator("#measure-list")).to_contain_text("已批准")
    m = Measure.objects.get()
    assert m.status == "approved" and m.approved_by == world.user("township")
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    _log_in(page, "helper")
    page.goto(f"{base}/")
    expect(page.locator(f"#home-household-{household.pk} .open-measures")).to_have_text("1")
