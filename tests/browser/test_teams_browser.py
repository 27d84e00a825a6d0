"""Checking in as a work-team member in Chromium (issue 21 item 1): the member opens their
village from the work-team overview, checks in for today and sees the day counted; a check-in
dated tomorrow is refused in Chinese naming the date, and nothing is written."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.assistance.tests.conftest import team  # noqa: F401 - fixture used by name

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser


def test_a_work_team_member_checks_in(
    transactional_db: Any,
    team: Any,  # noqa: F811
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.assistance.models import TeamCheckIn, TeamMember

    page, base = browser_page, live_server.url
    member = TeamMember.objects.get(team=team, role="secretary")
    page.goto(f"{base}/login/?next=/teams/")
    _log_in(page, "team1")
    page.goto(f"{base}/teams/")
    page.locator("#mine a").first.click()
    page.wait_for_url(f"{base}/teams/village/{team.village_id}/")
    row = page.locator(f"#member-{member.pk}")
    expect(row.locator(".days")).to_have_text("0")
    today = timezone.localdate()
    # a date in the future: refused in Chinese naming the field, nothing written
    row.locator("input[name=day]").fill((today + datetime.timedelta(days=1)).isoformat())
    row.get_by_role("button", name="打卡").click()
    page.wait_for_load_state()
    expect(page.locator("#check-in-error")).to_contain_text("晚于今天，不能预先打卡")
    expect(page.locator("#check-in-error")).to_contain_text("日期")
    assert TeamCheckIn.objects.count() == 0
    # today
    row = page.locator(f"#member-{member.pk}")
    row.locator("input[name=day]").fill(today.isoformat())
    row.locator("input[name=note]").fill("入户走访 3 户")
    row.get_by_role("button", name="打卡").click()
    page.wait_for_url(f"{base}/teams/village/{team.village_id}/")
    expect(page.locator(".alert").first).to_contain_text("在村")
    expect(row.locator(".days")).to_have_text("1")
    expect(row).to_contain_text("今日已打卡")
    assert list(TeamCheckIn.objects.values_list("member", "day", "note")) == [
        (member.pk, today, "入户走访 3 户")
    ]
