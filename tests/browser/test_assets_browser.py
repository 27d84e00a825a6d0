"""Project assets in Chromium (issue 23 item 4): the village records an asset's income and drafts
a distribution plan; a plain hand-out is refused in Chinese and nothing is written; the township
approves, posts and pays it; the household card shows the asset income."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import VILLAGES
from django.utils import timezone

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser
V1 = VILLAGES["230231100000"][0]


def test_a_village_drafts_and_the_township_pays_an_asset_income_plan(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.assets.actions import do_register_asset
    from jingzhun.assets.models import DistributionPlan, PlanPayment

    do_register_asset(V1, "村光伏电站", "solar", "operating", 1, actor=None)
    page, base = browser_page, live_server.url
    household = world.households[V1]
    page.goto(f"{base}/login/")
    _log_in(page, "village")
    page.goto(f"{base}/assets/")
    page.get_by_role("link", name="村光伏电站").click()
    page.fill("#income-form input[name=amount]", "10000")
    page.fill("#income-form input[name=voucher]", "电费-1")
    page.get_by_role("button", name="登记收益").click()
    page.wait_for_load_state()
    expect(page.locator("#incomes")).to_contain_text("10,000.00")
    page.fill("#plan-form input[name=title]", "光伏收益分配方案")
    page.fill("#plan-form input[name=public_job]", "9000")
    page.fill("#plan-form input[name=retention]", "1000")
    page.get_by_role("button", name="草拟方案").click()
    page.wait_for_url("**/assets/plans/*/")
    plan = DistributionPlan.objects.get()
    page.fill("#payment-form input[name=household_code]", household.household_code)
    page.fill("#payment-form input[name=basis]", " ")
    page.fill("#payment-form input[name=amount]", "9000")
    page.get_by_role("button", name="列入名单").click()
    page.wait_for_load_state()
    expect(page.locator(".alert.error")).to_contain_text("不得简单发钱")
    assert not PlanPayment.objects.exists()
    page.fill("#payment-form input[name=household_code]", household.household_code)
    page.fill("#payment-form input[name=basis]", "保洁员公益岗位 12 个月")
    page.fill("#payment-form input[name=amount]", "9000")
    page.get_by_role("button", name="列入名单").click()
    page.wait_for_load_state()
    expect(page.locator("#plan-payments")).to_contain_text("保洁员公益岗位 12 个月")
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    _log_in(page, "township")
    page.goto(f"{base}/assets/plans/{plan.pk}/")
    page.get_by_role("button", name="审批通过").click()
    page.wait_for_load_state()
    expect(page.locator("#plan-trace")).to_contain_text("不低于 80%")
    start = timezone.localdate() - datetime.timedelta(days=7)
    page.fill("#plan-moves input[name=start]", start.isoformat())
    page.get_by_role("button", name="公示").click()
    page.wait_for_load_state()
    expect(page.get_by_role("link", name="公示 PDF")).to_be_visible()
    page.get_by_role("button", name="支付并计入农户收入").click()
    page.wait_for_load_state()
    expect(page.locator(".alert")).to_contain_text("已支付")
    page.goto(f"{base}/households/{household.pk}/")
    expect(page.locator("#asset-income")).to_contain_text("村光伏电站")
    expect(page.locator("#asset-income")).to_contain_text("9,000.00")
