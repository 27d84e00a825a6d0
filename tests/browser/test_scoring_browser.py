"""Assessment in Chromium (issue 24 item 4): the county computes a quarter of the township
scheme, watches the job finish on the period page, reads the ranking with the black list,
publishes, and opens a township's score card down to the overdue problem behind a figure."""

from __future__ import annotations

from typing import Any

import pytest

from jingzhun.scoring.tests.test_scoring import figures_2026, overdue_problem

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser


def test_county_computes_publishes_and_reads_a_card(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.scoring.actions import run_pending
    from jingzhun.scoring.models import ScorePeriod

    figures_2026()
    problem = overdue_problem(world)
    page, base = browser_page, live_server.url
    page.goto(f"{base}/login/?next=/scoring/")
    _log_in(page, "county")
    page.goto(f"{base}/scoring/")
    page.select_option("#id_scheme", "township_assessment")
    page.fill("#id_period", "2026Q3")
    page.get_by_role("button", name="计算", exact=True).click()
    page.wait_for_url(f"{base}/scoring/periods/*/")
    expect(page.locator("#scoring-job")).to_contain_text("计算中")
    run_pending()  # what `jingzhun worker` does
    expect(page.locator("#scoring-job")).to_contain_text("计算完成", timeout=10_000)
    page.locator("#scoring-job a").click()
    page.wait_for_load_state()
    expect(page.locator("#ranking")).to_contain_text("81.50")
    expect(page.locator("#black-list")).to_contain_text("第2镇")
    page.get_by_role("button", name="发布考核结果").click()
    page.wait_for_load_state()
    expect(page.locator(".alert").first).to_contain_text("已发布考核结果")
    assert ScorePeriod.objects.get().published_job_id is not None
    page.locator("#ranking a", has_text="第1镇").click()
    page.wait_for_url(f"{base}/scoring/cards/*/")
    expect(page.locator("[data-score]")).to_have_text("得分 81.50")
    figure = page.locator("#indicator-overdue [data-figure='inspection.problems_overdue']")
    figure.locator("summary").click()
    figure.locator("a").first.click()
    page.wait_for_url(f"{base}/problems/{problem.pk}/")
