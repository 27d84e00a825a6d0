"""The exit self-check in Chromium (issue 24 item 6): the county office starts a self-check with
a seed, sees the draw's progress and design, enters a sampled exited household's survey as
wrongly exited, and sees the estimates with their intervals, the veto and the problem made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser


def test_the_county_office_runs_a_self_check(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
    tmp_path: Path,
) -> None:
    from jingzhun.inspection.models import Problem
    from jingzhun.selfcheck.actions import run_job
    from jingzhun.selfcheck.models import DrawJob, SampledHousehold, SelfCheck
    from jingzhun.selfcheck.tests.test_selfcheck import _more_households

    _more_households(world)
    page, base = browser_page, live_server.url
    page.goto(f"{base}/login/?next=/selfchecks/")
    _log_in(page, "county")
    page.goto(f"{base}/selfchecks/")
    page.fill("input[name=year]", "2019")
    page.fill("input[name=seed]", "20191119")
    page.get_by_role("button", name="发起并抽样").click()
    page.wait_for_load_state()
    expect(page.locator("#job")).to_have_attribute("data-status", "queued")
    item = SelfCheck.objects.get()
    run_job(DrawJob.objects.get(selfcheck=item).pk)  # what `jingzhun worker` does
    page.goto(f"{base}/selfchecks/{item.pk}/")
    expect(page.locator("#job")).to_have_attribute("data-status", "done")
    expect(page.locator("#draw table")).to_contain_text("贫困村")
    page.get_by_role("link", name="抽样户名单与调查录入").click()
    page.select_option("select[name=group]", "exited")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    row = SampledHousehold.objects.filter(selfcheck=item, group="exited").order_by(
        "village_id", "pk"
    )[0]
    page.locator(f"#sampled-{row.pk} a").click()
    page.wait_for_load_state()
    # a day whose 20-working-day deadline the bundled calendar covers
    page.fill("input[name=surveyed_on]", "2026-11-20")
    page.fill("input[name=team]", "第一核查组")
    page.select_option("select[name=food_clothing_secure]", "1")
    page.fill("input[name=wrongly_exited_persons]", "1")
    page.select_option("select[name=approves]", "0")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    expect(page.locator(".alert").first).to_contain_text("已保存入户调查")
    page.goto(f"{base}/selfchecks/{item.pk}/")
    expect(page.locator("#rate-wrong_exit")).to_contain_text("错退率")
    expect(page.locator("#veto")).to_contain_text("一票否决")
    page.screenshot(path=str(tmp_path / "selfcheck.png"), full_page=True)
    row.refresh_from_db()
    assert row.finding_problem_id is not None
    assert Problem.objects.get(pk=row.finding_problem_id).category == "exit"
