"""The worker's sweeper for import jobs (core.jobs.sweep, issue 20): dead workers' jobs are marked
failed with the reason; files of failed or abandoned jobs go after the retention period."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jingzhun.core.jobs import ABANDONED, WORKER_DIED, sweep, worker_name
from jingzhun.imports import jobs
from jingzhun.imports.models import ImportBatch, ImportJob

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path) -> Any:
    with override_settings(VAR_DIR=tmp_path, JOB_RETENTION_DAYS=7):
        yield tmp_path


def _dead_worker() -> str:
    """The name a worker process had that has exited since."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{worker_name().rpartition(':')[0]}:{int(child.stdout)}"


def _job(world: Any, status: str, **fields: Any) -> ImportJob:
    return ImportJob.objects.create(
        kind=ImportJob.CHECK,
        status=status,
        filename="f.xlsx",
        sha256=f"{ImportJob.objects.count():064d}",
        user=world.user("township"),
        **fields,
    )


def _file(path: Path, age: timedelta) -> Path:
    path.write_bytes(b"x")
    stamp = (timezone.now() - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


@pytest.mark.django_db(transaction=True)  # the worker's queue loop closes a connection in a block
def test_the_worker_marks_a_dead_workers_job_and_queue_entry_failed_with_the_reason(
    world: Any,
) -> None:
    dead, alive = _dead_worker(), worker_name()
    gone = _job(world, ImportJob.RUNNING, worker=dead, started_at=timezone.now())
    running = _job(world, ImportJob.RUNNING, worker=alive, started_at=timezone.now())
    entry = DBTaskResult.objects.create(
        args_kwargs={"args": [gone.pk], "kwargs": {}},
        task_path="jingzhun.imports.jobs.run_import_job",
        backend_name="default",
        run_after=timezone.now(),
        status="RUNNING",
        worker_ids=[dead],
    )
    err = StringIO()
    call_command("worker", "--batch", stdout=StringIO(), stderr=err)
    gone.refresh_from_db()
    running.refresh_from_db()
    entry.refresh_from_db()
    assert (gone.status, gone.error) == (ImportJob.FAILED, WORKER_DIED)
    assert gone.finished_at is not None
    assert (running.status, running.error) == (ImportJob.RUNNING, "")
    assert (entry.status, entry.traceback) == ("FAILED", WORKER_DIED)
    assert "imports.ImportJob：1 个任务已标记为失败" in err.getvalue()


def test_files_of_failed_and_abandoned_jobs_go_after_the_retention_period(
    world: Any, var_dir: Path
) -> None:
    now = timezone.now()
    old_failed = _job(world, ImportJob.FAILED, finished_at=now - 8 * DAY)
    new_failed = _job(world, ImportJob.FAILED, finished_at=now - DAY)
    abandoned = _job(world, ImportJob.QUEUED, created_at=now - 8 * DAY)
    queued = _job(world, ImportJob.QUEUED, created_at=now - DAY)
    old_batch, new_batch = (
        ImportBatch.objects.create(
            sha256=f"{n:064x}", filename="b.xlsx", status="pending", created_at=now - age
        )
        for n, age in ((1, 8 * DAY), (2, DAY))
    )
    removed = [
        _file(jobs.job_upload_path(old_failed), 8 * DAY),
        _file(jobs.progress_path(old_failed), 8 * DAY),
        _file(jobs.job_upload_path(abandoned), 8 * DAY),
        _file(jobs.upload_path(old_batch), 8 * DAY),
        _file(jobs.folder() / "job-999-0.part", 8 * DAY),
    ]
    kept = [
        _file(jobs.job_upload_path(new_failed), 8 * DAY),  # failed a day ago: kept a week
        _file(jobs.job_upload_path(queued), DAY),
        _file(jobs.upload_path(new_batch), 8 * DAY),  # its batch is a day old
        _file(jobs.folder() / "job-998-0.part", DAY),
    ]

    entries = [
        DBTaskResult.objects.create(
            args_kwargs={"args": [n], "kwargs": {}},
            task_path="jingzhun.imports.jobs.run_import_job",
            backend_name="default",
            run_after=now,
            status="SUCCESSFUL",
            finished_at=now - age,
        )
        for n, age in ((1, 8 * DAY), (2, DAY))
    ]

    swept = sweep()

    assert swept.failed == {"imports.ImportJob": 1}
    assert swept.pruned == 1
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [entries[1].pk]
    abandoned.refresh_from_db()
    assert (abandoned.status, abandoned.error) == (ImportJob.FAILED, ABANDONED)
    queued.refresh_from_db()
    assert queued.status == ImportJob.QUEUED
    assert [p.name for p in removed if p.exists()] == []
    assert [p.name for p in kept if not p.exists()] == []
    assert swept.files == len(removed)
