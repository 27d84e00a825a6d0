"""End to end in a real browser: upload a roster, watch the check's progress reach the dry run,
confirm, watch the write's progress reach the result (issue 4, ADR 0029).

Import jobs stay queued in tests (no worker runs; core.jobs); the test runs them
itself and, from inside the job's progress reports, waits for the page (which polls the live
server) to show the stage being worked on: progress is observed while the job runs, no sleeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from tests.browser.test_browser import (  # noqa: F401 - fixtures
    _allow_sync_orm_beside_playwright,
    _log_in,
    _screenshot,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser


def test_upload_shows_progress_until_the_dry_run_then_the_commit(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jingzhun.imports import jobs
    from jingzhun.imports.models import ImportBatch, ImportJob
    from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, household_rows, xlsx
    from jingzhun.registry.models import Member

    page = browser_page
    upload = tmp_path / "花名册.xlsx"
    upload.write_bytes(xlsx({"花名册": [FLAT_HEADER, *household_rows("B1", VILLAGE, 101, 3)]}))
    shown: list[str] = []
    report = jobs.Progress.report

    def watch(self: Any, stage: str, done: int, total: int = 0, *, force: bool = False) -> None:
        report(self, stage, done, total, force=force)
        if stage in {"校验", "写入"} and stage not in shown:
            # the job waits here while the page polls and shows its stage
            expect(page.locator("#import-job .stage")).to_have_text(stage, timeout=15_000)
            shown.append(stage)
            _screenshot(page, tmp_path, f"import_progress_{len(shown)}")

    monkeypatch.setattr(jobs.Progress, "report", watch)
    with override_settings(VAR_DIR=tmp_path / "var"):
        page.goto(f"{live_server.url}/login/")
        _log_in(page, "township")
        page.goto(f"{live_server.url}/imports/")
        page.set_input_files("input[type=file]", str(upload))
        page.click("form.search button.primary")
        job = ImportJob.objects.get(kind="check")
        page.wait_for_url(f"{live_server.url}/imports/jobs/{job.pk}/")
        expect(page.locator("#import-job")).to_contain_text("排队中")
        jobs.run_pending()
        batch = ImportBatch.objects.get()
        page.wait_for_url(f"{live_server.url}/imports/{batch.pk}/")
        expect(page.locator("#counts")).to_contain_text("3")
        _screenshot(page, tmp_path, "import_dry_run")

        page.click("text=确认导入")
        commit = ImportJob.objects.get(kind="commit")
        page.wait_for_url(f"{live_server.url}/imports/jobs/{commit.pk}/")
        jobs.run_pending()
        page.wait_for_url(f"{live_server.url}/imports/{batch.pk}/")
        expect(page.locator(".alert").first).to_contain_text("导入完成")
    assert shown == ["校验", "写入"]
    assert Member.objects.filter(household__household_code="B1").count() == 3
