"""A ticket in Chromium (issue 24 item 3): the village cadre records a request of a household,
the township replies, closing without the requester's satisfaction is refused in Chinese and
nothing is written, the recorder records the satisfaction and the township closes it."""

from __future__ import annotations

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


def test_a_request_is_recorded_replied_rated_and_closed(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.tickets.models import Ticket

    page, base = browser_page, live_server.url
    household = world.households["230231100201"]
    page.goto(f"{base}/login/?next=/tickets/")
    _log_in(page, "village")
    page.goto(f"{base}/tickets/")
    form = page.locator("#record form")
    form.locator("select[name=channel]").select_option("secretary")
    form.locator("select[name=category]").select_option("hardship")
    form.locator("select[name=region]").select_option("230231100201")
    form.locator("input[name=household_code]").fill(household.household_code)
    form.locator("input[name=requester_name]").fill("张三")
    form.locator("input[name=requester_phone]").fill("13900001111")
    form.locator("textarea[name=content]").fill("家中老人住院，医疗费用负担重")
    form.locator("input[name=received_on]").fill(timezone.localdate().isoformat())
    form.get_by_role("button", name="登记").click()
    ticket = Ticket.objects.get()
    page.wait_for_url(f"{base}/tickets/{ticket.pk}/")
    expect(page.locator("#ticket")).to_contain_text("139****1111")
    expect(page.locator("#ticket")).to_contain_text("ticket_rules")
    page.context.clear_cookies()
    page.goto(f"{base}/login/?next=/tickets/{ticket.pk}/")
    _log_in(page, "township")
    page.goto(f"{base}/tickets/{ticket.pk}/")
    page.locator("#reply-form textarea[name=reply]").fill("已协调临时救助")
    page.locator("#reply-form").get_by_role("button", name="答复").click()
    page.wait_for_url(f"{base}/tickets/{ticket.pk}/")
    expect(page.locator("#status")).to_contain_text("已答复待回访")
    version = Ticket.objects.get().version
    page.locator("#close").get_by_role("button", name="办结").click()
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("尚未回访记录诉求人评价，不能办结")
    assert Ticket.objects.get().version == version
    page.context.clear_cookies()
    page.goto(f"{base}/login/?next=/tickets/{ticket.pk}/")
    _log_in(page, "village")
    page.goto(f"{base}/tickets/{ticket.pk}/")
    page.locator("#satisfaction select[name=satisfaction]").select_option("satisfied")
    page.locator("#satisfaction").get_by_role("button", name="保存评价").click()
    page.wait_for_url(f"{base}/tickets/{ticket.pk}/")
    page.context.clear_cookies()
    page.goto(f"{base}/login/?next=/tickets/{ticket.pk}/")
    _log_in(page, "township")
    page.goto(f"{base}/tickets/{ticket.pk}/")
    page.locator("#close").get_by_role("button", name="办结").click()
    page.wait_for_url(f"{base}/tickets/{ticket.pk}/")
    expect(page.locator("#status")).to_contain_text("已办结")
