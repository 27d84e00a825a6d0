"""The import pages: upload, dry run, confirm, error report, saved mapping; scoped and masked."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from openpyxl import load_workbook

from jingzhun.imports.jobs import run_pending
from jingzhun.imports.models import ImportBatch
from jingzhun.imports.tests.conftest import (
    FLAT_HEADER,
    OTHER_TOWNSHIP_VILLAGE,
    VILLAGE,
    household_rows,
    xlsx,
)
from jingzhun.registry.models import Household, Member

from .conftest import FULL_ID, body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path) -> Any:
    with override_settings(VAR_DIR=tmp_path):
        yield tmp_path


def _upload(client: Any, rows: list[list[Any]], name: str = "f.xlsx") -> Any:
    """Upload a flat sheet and run the check job; a refused upload's response as it is, else the
    job page's redirect to the batch's dry run."""
    data = xlsx({"花名册": [FLAT_HEADER, *rows]})
    response = client.post("/imports/", {"file": SimpleUploadedFile(name, data, content_type=XLSX)})
    return _after_job(client, response)


def _after_job(client: Any, response: Any) -> Any:
    """Run the queued jobs (the test runner is manual), then follow the job page once."""
    if response.status_code != 302 or "/imports/jobs/" not in response["Location"]:
        return response
    run_pending()
    return client.get(response["Location"])


def _commit(client: Any, batch: ImportBatch) -> Any:
    return _after_job(client, client.post(f"/imports/{batch.pk}/commit/"))


def test_upload_dry_run_confirm_and_the_dry_run_masks_ids(world: Any, client_for: Any) -> None:
    client = client_for("township")
    assert "数据导入" in body(client.get("/"))
    rows = household_rows("W1", VILLAGE, 101, 3)
    response = _upload(client, rows)
    assert response.status_code == 302
    batch = ImportBatch.objects.get(status="pending")
    page = client.get(response["Location"])
    html = body(page)
    assert page.status_code == 200 and "确认导入" in html and "W1" in html
    assert FULL_ID.findall(html) == []
    assert not Household.objects.filter(household_code="W1").exists()
    confirmed = _commit(client, batch)
    assert confirmed.status_code == 302
    assert Member.objects.filter(household__household_code="W1").count() == 3
    batch.refresh_from_db()
    assert batch.status == "committed" and batch.members_new == 3
    again = _commit(client, batch)
    assert again.status_code == 302
    assert Member.objects.filter(household__household_code="W1").count() == 3


def test_errors_are_listed_masked_and_the_report_downloads(world: Any, client_for: Any) -> None:
    client = client_for("township")
    rows = household_rows("W2", OTHER_TOWNSHIP_VILLAGE, 101)  # the other township's village
    response = _upload(client, rows)
    batch = ImportBatch.objects.get()
    html = body(client.get(response["Location"]))
    assert "不在您的管理范围内" in html and "确认导入" not in html
    assert FULL_ID.findall(html) == []
    refused = _commit(client, batch)
    assert refused.status_code == 302
    assert not Household.objects.filter(household_code="W2").exists()
    report = client.get(f"/imports/{batch.pk}/report/")
    assert report.status_code == 200 and report["Content-Type"] == XLSX
    assert report.content.startswith(b"PK")


def test_other_users_and_read_only_roles_cannot_reach_a_batch(world: Any, client_for: Any) -> None:
    _upload(client_for("township"), household_rows("W3", VILLAGE, 101))
    batch = ImportBatch.objects.get()
    other = client_for("county")
    assert other.get(f"/imports/{batch.pk}/").status_code == 404
    assert other.get(f"/imports/{batch.pk}/report/").status_code == 404
    assert _commit(other, batch).status_code == 404
    for username in ("auditor", "helper"):
        client = client_for(username)
        assert "数据导入" not in body(client.get("/"))
        assert client.get("/imports/").status_code == 403
        assert _upload(client, household_rows("W4", VILLAGE, 201)).status_code == 403
    assert ImportBatch.objects.count() == 1
    assert not Household.objects.filter(household_code__in=["W3", "W4"]).exists()


def test_unknown_columns_can_be_mapped_from_the_dry_run(world: Any, client_for: Any) -> None:
    client = client_for("township")
    header = [*FLAT_HEADER, "家庭住房面积"]
    rows = [[*r, "80"] for r in household_rows("W5", VILLAGE, 101)]
    data = xlsx({"s": [header, *rows]})
    response = _after_job(
        client, client.post("/imports/", {"file": SimpleUploadedFile("m.xlsx", data)})
    )
    batch = ImportBatch.objects.get()
    assert "家庭住房面积" in body(client.get(response["Location"]))
    client.post(
        f"/imports/{batch.pk}/mapping/",
        {"header": ["家庭住房面积"], "field": ["house_area_m2"], "name": "本乡"},
    )
    html = body(client.get(response["Location"]))
    assert "未识别的列" not in html
    _commit(client, batch)
    assert str(Household.objects.get(household_code="W5").house_area_m2) == "80.00"


def test_a_file_that_is_not_a_spreadsheet_is_refused_by_the_form(
    world: Any, client_for: Any
) -> None:
    client = client_for("county")
    response = client.post("/imports/", {"file": SimpleUploadedFile("a.exe", b"MZ")})
    assert response.status_code == 400 and "只能导入" in body(response)


# --- background jobs and their progress (ADR 0029) ----------------------------------------------


def test_an_upload_is_checked_by_a_job_whose_progress_page_polls_until_the_dry_run(
    world: Any, client_for: Any, var_dir: Path
) -> None:
    from jingzhun.audit.models import AuditEvent
    from jingzhun.imports.models import ImportJob

    client = client_for("township")
    data = xlsx({"花名册": [FLAT_HEADER, *household_rows("J1", VILLAGE, 101, 2)]})
    posted = client.post("/imports/", {"file": SimpleUploadedFile("j.xlsx", data)})
    job = ImportJob.objects.get()
    assert posted.status_code == 302 and posted["Location"] == f"/imports/jobs/{job.pk}/"
    assert job.status == "queued" and job.kind == "check" and ImportBatch.objects.count() == 0
    page = body(client.get(posted["Location"]))
    assert "正在校验" in page and "排队中" in page
    assert f'hx-get="/imports/jobs/{job.pk}/progress/"' in page
    assert "进行中的任务" in body(client.get("/imports/"))
    fragment = client.get(f"/imports/jobs/{job.pk}/progress/")
    assert "HX-Redirect" not in fragment and "排队中" in body(fragment)

    run_pending()
    job.refresh_from_db()
    batch = ImportBatch.objects.get()
    assert job.status == "done" and job.batch == batch and batch.status == "pending"
    assert sorted(var_dir.joinpath("imports").iterdir()) == [
        var_dir / "imports" / f"{batch.pk}-{batch.sha256}.plan",
        var_dir / "imports" / f"{batch.pk}-{batch.sha256}.upload",
    ]
    done = client.get(f"/imports/jobs/{job.pk}/progress/")
    assert done["HX-Redirect"] == f"/imports/{batch.pk}/"
    assert client.get(f"/imports/jobs/{job.pk}/")["Location"] == f"/imports/{batch.pk}/"
    events = list(AuditEvent.objects.order_by("id").values_list("event", flat=True))
    assert events[-2:] == ["imports.job.queue", "imports.batch.upload"]
    assert not Household.objects.filter(household_code="J1").exists()


def test_a_running_commit_shows_its_stage_and_percent(
    world: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jingzhun.imports import jobs
    from jingzhun.imports.models import ImportJob

    client = client_for("township")
    _upload(client, household_rows("J2", VILLAGE, 101, 2))
    batch = ImportBatch.objects.get()
    posted = client.post(f"/imports/{batch.pk}/commit/")
    job = ImportJob.objects.get(kind="commit")
    assert posted["Location"] == f"/imports/jobs/{job.pk}/"
    assert "正在导入" in body(client.get(posted["Location"]))
    # a second confirmation while the first is queued is refused
    again = client.post(f"/imports/{batch.pk}/commit/", follow=True)
    assert "正在导入" in body(again) and ImportJob.objects.filter(kind="commit").count() == 1

    seen: list[tuple[str, int, int, str]] = []
    report = jobs.Progress.report

    def watch(self: Any, stage: str, done: int, total: int = 0, *, force: bool = False) -> None:
        report(self, stage, done, total, force=force)
        if stage == "写入":  # what the page shows at this moment, from another request
            seen.append((stage, done, total, body(client.get(f"/imports/jobs/{job.pk}/progress/"))))

    monkeypatch.setattr(jobs.Progress, "report", watch)
    run_pending()
    assert seen, "the commit reported no write progress"
    _stage, done, total, fragment = seen[-1]
    assert total == 1 and done == 1 and "写入" in fragment and "100%" in fragment
    assert 'hx-trigger="every 1s"' in fragment  # still polling: the job is running
    finished = client.get(f"/imports/jobs/{job.pk}/", follow=True)
    assert "导入完成" in body(finished)
    assert Member.objects.filter(household__household_code="J2").count() == 2
    assert not jobs.progress_path(job).exists()


def test_a_job_whose_process_died_shows_as_interrupted_and_can_be_confirmed_again(
    world: Any, client_for: Any
) -> None:
    import subprocess
    import sys

    from jingzhun.imports import jobs
    from jingzhun.imports.models import ImportJob

    client = client_for("township")
    _upload(client, household_rows("J3", VILLAGE, 101, 1))
    batch = ImportBatch.objects.get()
    client.post(f"/imports/{batch.pk}/commit/")
    job = ImportJob.objects.get(kind="commit")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{jobs.worker_name().rpartition(':')[0]}:{gone.stdout.strip()}"
    ImportJob.objects.filter(pk=job.pk).update(status="running", worker=dead)
    jobs.Progress(job.pk).report("写入", 20_000, 60_000)
    fragment = body(client.get(f"/imports/jobs/{job.pk}/progress/"))
    assert "已中断" in fragment and "hx-get" not in fragment
    assert "已中断" in body(client.get("/imports/"))
    retry = client.post(f"/imports/{batch.pk}/commit/")
    job.refresh_from_db()
    assert job.status == "failed" and "中断" in job.error
    assert retry.status_code == 302 and ImportJob.objects.filter(status="queued").count() == 1
    run_pending()
    assert Household.objects.filter(household_code="J3").exists()


def test_a_failed_job_keeps_its_reason_and_other_users_get_404(
    world: Any, client_for: Any, var_dir: Path
) -> None:
    from jingzhun.imports import jobs
    from jingzhun.imports.models import ImportJob

    client = client_for("township")
    _upload(client, household_rows("J4", VILLAGE, 101, 1))
    batch = ImportBatch.objects.get()
    client.post(f"/imports/{batch.pk}/commit/")
    job = ImportJob.objects.get(kind="commit")
    jobs.upload_path(batch).unlink()  # the upload vanished before the job ran
    run_pending()
    job.refresh_from_db()
    assert job.status == "failed" and "已处理" in job.error
    assert "任务失败" in body(client.get(f"/imports/jobs/{job.pk}/"))
    assert not Household.objects.filter(household_code="J4").exists()
    other = client_for("county")
    assert other.get(f"/imports/jobs/{job.pk}/").status_code == 404
    assert other.get(f"/imports/jobs/{job.pk}/progress/").status_code == 404
    assert client_for("auditor").get(f"/imports/jobs/{job.pk}/").status_code == 403


def test_the_cli_runs_queued_web_jobs(world: Any, client_for: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    from jingzhun.imports.models import ImportJob

    client = client_for("township")
    data = xlsx({"花名册": [FLAT_HEADER, *household_rows("J5", VILLAGE, 101, 1)]})
    client.post("/imports/", {"file": SimpleUploadedFile("c.xlsx", data)})
    out = StringIO()
    call_command("import", "--pending", stdout=out)
    job = ImportJob.objects.get()
    assert job.status == "done" and f"导入任务 {job.pk}" in out.getvalue()


def test_the_income_year_given_on_the_upload_form_reaches_the_dry_run_and_the_commit(
    world: Any, client_for: Any
) -> None:
    from jingzhun.registry.models import IncomeRecord

    client = client_for("township")
    rows = [[*r, "3000"] for r in household_rows("Y1", VILLAGE, 101, 2)]
    data = xlsx({"花名册": [[*FLAT_HEADER, "工资性收入"], *rows]})

    def upload(year: str) -> Any:
        file = SimpleUploadedFile("y.xlsx", data, content_type=XLSX)
        return _after_job(client, client.post("/imports/", {"file": file, "income_year": year}))

    # without a year anywhere the check refuses the file, naming the income column
    refused = upload("")
    assert "未指明收入所属年度" in body(client.get(refused["Location"]))
    first = ImportBatch.objects.get()
    assert (first.income_year, first.error_count) == (None, 1)
    response = upload("2019")
    assert response.status_code == 302
    batch = ImportBatch.objects.exclude(pk=first.pk).get(status="pending")
    assert batch.income_year == 2019 and batch.error_count == 0
    assert "2019年度工资性收入" not in body(client.get(response["Location"]))  # new: no diff rows
    assert _commit(client, batch).status_code == 302
    income = IncomeRecord.objects.get(household__household_code="Y1")
    assert (income.year, income.wage_income) == (2019, 3000)


@pytest.mark.django_db(transaction=True)  # the request's transaction commits: the job is queued
def test_an_upload_goes_on_the_task_queue_and_the_worker_runs_it_without_a_web_thread(
    world: Any, client_for: Any, monkeypatch: Any
) -> None:
    """Issue 20: the web process only queues the job (no thread starts in it); `jingzhun worker`
    takes the queue entry and runs the job in its own process."""
    import threading
    from io import StringIO

    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from jingzhun.core.jobs import worker_name
    from jingzhun.imports.models import ImportJob

    client = client_for("township")

    def refuse(self: threading.Thread) -> None:
        raise AssertionError(f"the web process started a thread: {self.name}")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    data = xlsx({"花名册": [FLAT_HEADER, *household_rows("W1", VILLAGE, 101, 2)]})
    response = client.post(
        "/imports/", {"file": SimpleUploadedFile("f.xlsx", data, content_type=XLSX)}
    )
    monkeypatch.undo()
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.QUEUED
    # (the fixture's registrations queued indicator refreshes too)
    entry = DBTaskResult.objects.get(task_path="jingzhun.imports.jobs.run_import_job")
    assert entry.args_kwargs == {"args": [job.pk], "kwargs": {}}
    assert entry.status == "READY"

    call_command("worker", "--batch", stdout=StringIO(), stderr=StringIO())

    job.refresh_from_db()
    entry.refresh_from_db()
    assert (job.status, job.error, job.worker) == (ImportJob.DONE, "", worker_name())
    assert entry.status == "SUCCESSFUL"
    page = client.get(response["Location"])
    assert page.status_code == 302 and page["Location"] == f"/imports/{job.batch_id}/"


def test_a_batch_left_unconfirmed_past_the_retention_period_loses_its_upload(
    world: Any, client_for: Any
) -> None:
    """Issue 20: the sweeper removes the upload of a pending batch older than the retention
    period; confirming it then says the file is gone and queues nothing."""
    import datetime
    import os

    from django.utils import timezone

    from jingzhun.core.jobs import sweep
    from jingzhun.imports.jobs import upload_path
    from jingzhun.imports.models import ImportJob

    client = client_for("township")
    response = _upload(client, household_rows("W1", VILLAGE, 101, 2))
    batch = ImportBatch.objects.get(status="pending")
    long_ago = timezone.now() - datetime.timedelta(days=30)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=long_ago)
    ImportJob.objects.update(created_at=long_ago, finished_at=long_ago)
    os.utime(upload_path(batch), (long_ago.timestamp(), long_ago.timestamp()))
    assert response.status_code == 302

    assert sweep().files == 1

    assert not upload_path(batch).exists()
    jobs = ImportJob.objects.count()
    page = client.post(f"/imports/{batch.pk}/commit/", follow=True)
    assert "上传的文件已不在服务器上。" in body(page)
    assert ImportJob.objects.count() == jobs


def test_the_import_page_offers_the_template_to_importers_only(world: Any, client_for: Any) -> None:
    """Issue 19 item 6: the page links the template; an importing role downloads it, a
    read-only role is refused it."""
    from jingzhun.imports.template import HOUSEHOLD_SHEET, MEMBER_SHEET, NOTES_SHEET

    client = client_for("township")
    assert "/imports/template/" in body(client.get("/imports/"))
    response = client.get("/imports/template/")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    sheets = load_workbook(io.BytesIO(response.content)).sheetnames
    assert sheets == [HOUSEHOLD_SHEET, MEMBER_SHEET, NOTES_SHEET]
    for username in ("auditor", "helper"):
        assert client_for(username).get("/imports/template/").status_code == 403
