"""The self-check survey on the offline field page in Chromium (issue 24 item 6; ADR
"fieldsurvey-offline"): a township surveyor loads the field page once online (the service worker
keeps it, with their sampled households), the network is switched off, the page is reloaded from
the worker's copy and a survey is filled into the browser's queue; nothing reaches the server.
The network is switched on: the survey is sent and stored exactly once, and the queue empties."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
    wait_until_offline_ready,
)

pytestmark = pytest.mark.browser


def test_a_survey_filled_offline_is_stored_once_when_back_online(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.selfcheck.actions import do_create_selfcheck, run_job
    from jingzhun.selfcheck.models import DrawJob, SampledHousehold, SurveySync
    from jingzhun.selfcheck.tests.test_selfcheck import _more_households

    _more_households(world)
    item = do_create_selfcheck(COUNTY, 2019, seed=20191119, actor=world.user("county"))
    run_job(DrawJob.objects.get(selfcheck=item).pk)
    row = (
        SampledHousehold.objects.filter(
            selfcheck=item, group="exited", village__code__startswith=TOWNSHIPS[0][:9]
        )
        .order_by("pk")
        .first()
    )
    assert row is not None
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{base}/login/?next=/visits/")
    _log_in(page, "township")
    page.goto(f"{base}/visits/")
    expect(page.locator("#field-households")).to_contain_text(row.household.household_code)
    wait_until_offline_ready(page)
    page.context.set_offline(True)
    page.reload()  # served by the service worker from its copy
    expect(page.locator("#net-status")).to_contain_text("离线")
    page.select_option("#s-household", str(row.pk))
    page.fill("#s-date", "2026-11-20")
    page.fill("#s-team", "第一核查组")
    page.select_option("#s-food_clothing_secure", "1")
    page.fill("#s-income", "6800")
    page.fill("#s-wrong", "1")
    page.select_option("#s-approves", "0")
    page.fill("#s-complaint", "希望继续帮扶")
    page.click("#s-save")
    expect(page.locator("#queue-list li")).to_have_count(1)
    expect(page.locator("#survey-queue")).to_contain_text("已保存在本机，等待同步。")
    row.refresh_from_db()
    assert row.surveyed_on is None and not SurveySync.objects.exists()

    page.context.set_offline(False)  # the page's "online" handler sends the queue
    expect(page.locator("#survey-queue")).to_be_hidden(timeout=15000)
    row.refresh_from_db()
    assert row.surveyed_on is not None and row.surveyed_on.isoformat() == "2026-11-20"
    assert row.team == "第一核查组" and row.wrongly_exited_persons == 1
    assert row.approves is False and row.income_per_capita_fen == 680000
    assert row.complaint == "希望继续帮扶" and row.food_clothing_secure is True
    assert SurveySync.objects.filter(sampled=row).count() == 1
    page.reload()
    expect(page.locator("#field-households")).to_be_visible()
    expect(page.locator("#survey-queue")).to_be_hidden()
    assert SurveySync.objects.count() == 1
