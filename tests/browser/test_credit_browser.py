"""Microcredit in Chromium (issue 23 item 3): a township officer finds a household, checks the
application (the per-criterion trace), registers the loan, records a repayment, and a repayment
above the outstanding balance is refused in Chinese with nothing written."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser


def test_a_township_officer_registers_a_loan_and_records_repayments(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.credit.actions import do_deposit_risk_fund
    from jingzhun.credit.models import Loan, Repayment

    do_deposit_risk_fund(
        "230231000000", 1_000_000_00, timezone.localdate(), key="b", actor=world.user("county")
    )
    page, base = browser_page, live_server.url
    code = world.households["230231100201"].household_code
    page.goto(f"{base}/login/?next=/credit/new/")
    _log_in(page, "township")
    page.goto(f"{base}/credit/new/?household_code={code}")
    page.fill("input[name=bank_name]", "县农商银行")
    page.fill("input[name=contract_no]", "JD-B-1")
    page.fill("input[name=amount]", "20000")
    page.fill("input[name=rate]", "3.00")
    page.fill("input[name=term_months]", "12")
    page.fill("input[name=start_date]", "2026-03-01")
    page.get_by_role("button", name="资格审查", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator("#trace")).to_contain_text("建档立卡户或监测对象")
    expect(page.locator("#trace")).to_contain_text("符合条件")
    assert Loan.objects.count() == 0
    page.get_by_role("button", name="审查并登记", exact=True).click()
    page.wait_for_url(re.compile(r"/credit/\d+/$"))
    expect(page.locator("#outstanding")).to_contain_text("20,000.00")
    expect(page.locator("#schedule")).to_contain_text("2027-03-01")
    page.fill("#repay input[name=paid_on]", "2026-09-01")
    page.fill("#repay input[name=principal]", "5000")
    page.get_by_role("button", name="登记还款", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator("#outstanding")).to_contain_text("15,000.00")
    page.fill("#repay input[name=paid_on]", "2026-09-02")
    page.fill("#repay input[name=principal]", "15000.01")
    page.get_by_role("button", name="登记还款", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator(".alert.error")).to_contain_text(
        "超过贷款 JD-B-1 的未还本金 15,000.00 元，未入账"
    )
    assert Repayment.objects.count() == 1
    assert Loan.objects.get().outstanding_fen == 15_000_00
