"""The card's 编辑户信息 page in Chromium (issue 19 item 3): a cadre changes a field, saves, and
the card shows the new value."""

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


def test_a_household_field_is_edited_from_the_card(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.registry.models import Household

    household = world.households[VILLAGE]
    page, base = browser_page, live_server.url
    page.goto(f"{base}/login/?next=/households/{household.pk}/")
    _log_in(page, "village")
    page.goto(f"{base}/households/{household.pk}/")
    page.get_by_role("link", name="编辑户信息").click()
    page.wait_for_load_state()
    page.get_by_label("村民小组").fill("第三村民小组")
    page.get_by_label("卫生厕所").select_option("true")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"**/households/{household.pk}/#basic")
    expect(page.locator("#basic")).to_contain_text("第三村民小组")
    expect(page.locator("[role=status]").first).to_contain_text("户信息已保存")
    stored = Household.objects.get(pk=household.pk)
    assert (stored.group_name, stored.sanitary_toilet) == ("第三村民小组", True)
    assert stored.phone == household.phone  # the phone left empty is kept
