"""A village cadre uses the points shop in Chromium (issue 23 item 5): from the household card's
points section to the household's points page, records volunteer points, is refused a
redemption above the balance in Chinese (nothing written), redeems one bag, and the battle map's
money section shows the points with a link to the list behind them."""

from __future__ import annotations

from typing import Any

import pytest

from jingzhun.points.tests.conftest import goods, shop  # noqa: F401 - fixtures used by name

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser


def test_a_village_cadre_records_and_redeems_points(
    transactional_db: Any,
    world: Any,
    shop: Any,  # noqa: F811
    goods: Any,  # noqa: F811
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.points.models import PointsEntry

    page, base = browser_page, live_server.url
    household = world.households["230231100201"]
    page.goto(f"{base}/login/?next=/households/{household.pk}/")
    _log_in(page, "village")
    page.goto(f"{base}/households/{household.pk}/")
    card = page.locator("#points-card")
    expect(card).to_contain_text("积分余额")
    card.get_by_role("link", name="明细与登记").click()
    page.wait_for_url(f"{base}/points/households/{household.pk}/")
    for _ in range(4):  # 4 x 3 volunteer points
        page.locator("#earn-form select[name=item]").select_option("volunteer")
        page.locator("#earn-form").get_by_role("button", name="登记").click()
        page.wait_for_url(f"{base}/points/households/{household.pk}/")
    expect(page.locator("[data-balance]")).to_have_text("12")
    # two bags cost 20 points: refused in Chinese, nothing written
    page.locator("#redeem-form input[name=quantity]").fill("2")
    page.locator("#redeem-form").get_by_role("button", name="兑换").click()
    page.wait_for_load_state()
    expect(page.locator(".alert.error")).to_contain_text("积分不足")
    assert not PointsEntry.objects.filter(kind="redeem").exists()
    page.locator("#redeem-form input[name=quantity]").fill("1")
    page.locator("#redeem-form").get_by_role("button", name="兑换").click()
    page.wait_for_url(f"{base}/points/households/{household.pk}/")
    expect(page.locator("[data-balance]")).to_have_text("2")
    # the battle map's money section: the points redeemed, and the list behind them
    page.goto(f"{base}/dashboard/money/?region=230231100201")
    link = page.locator('a[data-figure="points:redeemed"]')
    expect(link).to_have_text("10")
    link.click()
    page.wait_for_load_state()
    expect(page.locator("#money-list-total")).to_contain_text("10")
    expect(page.locator("#money-list")).to_contain_text("洗衣粉")
