"""The pairing page in Chromium (issue 21 item 2): a village cadre pairs a helper with a
household, sees it in the list; a household of another township is refused in Chinese and
nothing is written; the helper then finds the household on their home page."""

from __future__ import annotations

from typing import Any

import pytest

from jingzhun.assistance.tests.conftest import paired  # noqa: F401 - fixture used by name

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser
OTHER_VILLAGE = "230231101201"


def test_a_village_cadre_pairs_a_helper_and_the_helper_sees_the_household(
    transactional_db: Any,
    paired: Any,  # noqa: F811
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.access.models import HelperPairing

    page, base = browser_page, live_server.url
    helper = paired.user("helper")
    page.goto(f"{base}/login/?next=/pairings/")
    _log_in(page, "village")
    page.goto(f"{base}/pairings/")
    page.fill("#id_household_code", "P01")
    page.select_option("#id_helper", str(helper.pk))
    page.fill("#id_start_date", "2024-03-01")
    page.get_by_role("button", name="结对", exact=True).click()
    page.wait_for_url(f"{base}/pairings/")
    expect(page.locator(".alert").first).to_contain_text("已将户 P01 与帮扶责任人")
    expect(page.locator("#pairings")).to_contain_text("P01")
    expect(page.locator("#pairings")).to_contain_text("县农业农村局")
    count = HelperPairing.objects.count()
    other = paired.households[OTHER_VILLAGE].household_code
    page.fill("#id_household_code", other)
    page.select_option("#id_helper", str(helper.pk))
    page.get_by_role("button", name="结对", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator("#pair")).to_contain_text(f"未找到户编号为“{other}”的户，或您无权访问。")
    assert HelperPairing.objects.count() == count
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    _log_in(page, "helper")
    page.goto(f"{base}/")
    expect(page.locator("#my-households")).to_contain_text("P01")
    expect(page.locator("#home-count")).to_contain_text("2")
