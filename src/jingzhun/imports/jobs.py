"""Background import jobs of the web pages: checking an upload, committing a batch (ADR 0029).

A job is an `ImportJob` row (its lifecycle) plus two files under VAR_DIR/imports: the upload it
works on, and a small JSON progress file rewritten atomically (write, then rename) while it runs.
The progress lives in a file, not in the row, because a commit runs in one transaction
(`do_commit_import`): a row update made inside it is invisible until it ends, and one made on a
second connection would wait for SQLite's write lock that the commit holds.

Once the queueing transaction commits, the job goes on the task queue (`core.jobs`) and
`jingzhun worker` runs it in its own process (`jingzhun import --pending` runs the queued ones
by hand). A job records the process running it (`worker`: host and pid); a running job whose
process is gone was interrupted (its commit rolled back with the process): it is shown as such,
and the worker's sweeper marks it failed and removes its files after the retention period.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django_tasks import task

from jingzhun.core.errors import DomainError
from jingzhun.core.jobs import (
    JobKind,
    enqueue_after_commit,
    older_than,
    run_queued,
    worker_name,
)

from .models import ImportBatch, ImportJob

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.25  # seconds between two progress file writes


def folder() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def upload_path(batch: ImportBatch) -> Path:
    """Where a pending batch's upload waits for confirmation, named by batch and hash."""
    return folder() / f"{batch.pk}-{batch.sha256}.upload"


def plan_path(batch: ImportBatch) -> Path:
    """Where a pending batch's plan (made by its check) is kept beside its upload (`stored`)."""
    return folder() / f"{batch.pk}-{batch.sha256}.plan"


def job_upload_path(job: ImportJob) -> Path:
    """Where a check job's upload waits until the check has made its batch."""
    return folder() / f"job-{job.pk}-{job.sha256}.upload"


def progress_path(job: ImportJob | int) -> Path:
    job_id = job if isinstance(job, int) else job.pk
    return folder() / f"job-{job_id}.progress"


def store(path: Path, data: bytes) -> None:
    """Write an upload readable by this account only (core.stored_files.write_private)."""
    from jingzhun.core.stored_files import write_private

    write_private(path, data)


class Progress:
    """The progress file of one running job: stage, done, total (0 = unknown), at most every
    PROGRESS_EVERY seconds (a stage's first and last report always)."""

    def __init__(self, job_id: int) -> None:
        self.path = progress_path(job_id)
        self.stage = ""
        self.done = 0
        self.total = 0
        self.written = 0.0

    def report(self, stage: str, done: int, total: int = 0, *, force: bool = False) -> None:
        changed = stage != self.stage
        self.stage, self.done, self.total = stage, done, total
        now = time.monotonic()
        if not (force or changed or now - self.written >= PROGRESS_EVERY or done >= total > 0):
            return
        self.written = now
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stage": stage, "done": done, "total": total}))
        tmp.replace(self.path)

    def counter(self, stage: str) -> Any:
        """A callback adding `n` to `stage`'s count (plan_import's progress)."""

        def add(n: int) -> None:
            self.report(stage, self.done + n if self.stage == stage else n)

        return add

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(".tmp").unlink(missing_ok=True)


def read_progress(job: ImportJob) -> dict[str, Any]:
    """The last progress a running job wrote ({} before its first report)."""
    try:
        value = json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# --- running -----------------------------------------------------------------------------------


@task()
def run_import_job(job_id: int) -> str:
    """The queue's task: run import job `job_id` (`jingzhun worker`)."""
    job = run_job(job_id)
    return job.status if job is not None else "taken"


def start(job: ImportJob) -> None:
    """Queue the job for `jingzhun worker` once the current transaction commits."""
    enqueue_after_commit(run_import_job, job.pk)


def run_job(job_id: int) -> ImportJob | None:
    """Run one queued job (None if another worker took it). Failures are kept on the job."""
    if not ImportJob.take(job_id, worker_name()):
        return None
    job = ImportJob.objects.select_related("user", "batch").get(pk=job_id)
    progress = Progress(job_id)
    progress.report("开始", 0, force=True)
    try:
        batch = _check(job, progress) if job.kind == ImportJob.CHECK else _commit(job, progress)
    except Exception as exc:  # kept on the job, shown on the page
        log.exception("import job %s failed", job_id)
        ImportJob.fail(job_id, exc)
        if job.kind == ImportJob.CHECK:
            job_upload_path(job).unlink(missing_ok=True)
    else:
        ImportJob.finish(job_id, batch=batch)
    finally:
        progress.clear()
    job.refresh_from_db()
    return job


def _check(job: ImportJob, progress: Progress) -> ImportBatch:
    from . import stored
    from .actions import do_start_import
    from .pipeline import plan_import

    source = job_upload_path(job)
    data = source.read_bytes()
    progress.report("读取并校验", 0, force=True)
    result = plan_import(
        data,
        job.filename,
        actor=job.user,
        progress=progress.counter("校验"),
        year=job.income_year,
    )
    batch = do_start_import(result, actor=job.user, year=job.income_year)
    # The plan is kept: the dry-run page, the error report and the commit's lock list read it
    # (the file is planned once here, and once more by the commit under its locks).
    stored.save(plan_path(batch), result)
    source.replace(upload_path(batch))
    return batch


def _commit(job: ImportJob, progress: Progress) -> ImportBatch:
    from . import stored
    from .actions import do_commit_import

    batch = job.batch
    assert batch is not None
    path = upload_path(batch)
    if not path.exists() or batch.status != "pending":
        raise DomainError("该批次已处理，不能再次确认。")
    outcome = do_commit_import(
        path.read_bytes(),
        batch.filename,
        actor=job.user,
        pending=batch,
        progress=progress.report,
        year=batch.income_year,
        expected=stored.load_expected(plan_path(batch)),
    )
    if outcome.stale:
        # the registry moved since the check: the new plan is the one the page shows now
        stored.save(plan_path(outcome.batch), outcome.result)
    elif outcome.committed and not outcome.result.already_imported:
        path.unlink(missing_ok=True)
        plan_path(batch).unlink(missing_ok=True)
    return outcome.batch


def replan(batch: ImportBatch, actor: Any) -> None:
    """Plan a pending batch's upload again and store the plan (after the user saved a column
    mapping, which changes how the file reads); nothing when its upload is gone."""
    from . import stored
    from .pipeline import plan_import

    path = upload_path(batch)
    if batch.status != "pending" or not path.exists():
        return
    result = plan_import(path.read_bytes(), batch.filename, actor=actor, year=batch.income_year)
    stored.save(plan_path(batch), result)


def run_pending() -> list[ImportJob]:
    """Run every queued job in order (`jingzhun import --pending`, tests)."""
    return run_queued(ImportJob.objects.filter(status=ImportJob.QUEUED), run_job)


# --- sweeping (core.jobs.sweep) ----------------------------------------------------------------


def _job_files(job_ids: Iterable[int]) -> list[Path]:
    """The upload and progress files of (failed) jobs."""
    paths: list[Path] = []
    for job in ImportJob.objects.filter(pk__in=list(job_ids)).only("pk", "sha256"):
        path = progress_path(job)
        paths += [job_upload_path(job), path, path.with_suffix(".tmp")]
    return paths


def _orphans(cutoff: datetime) -> list[Path]:
    """Files last written before `cutoff` that nothing needs any more: those of jobs that ended
    before it (or have no row), uploads of pending batches left unconfirmed since before it
    (no job on them since), half-written files."""
    names = {p.name: p for p in older_than(folder().iterdir(), cutoff)}
    if not names:
        return []
    live = ImportJob.objects.exclude(
        status__in=[ImportJob.DONE, ImportJob.FAILED], finished_at__lt=cutoff
    )
    keep = set()
    for job in live.only("pk", "sha256"):
        keep |= {job_upload_path(job).name, progress_path(job).name}
    batches = ImportBatch.objects.filter(status="pending").filter(
        Q(created_at__gte=cutoff) | Q(jobs__in=live)
    )
    for batch in batches.only("pk", "sha256"):
        keep |= {upload_path(batch).name, plan_path(batch).name}
    return [path for name, path in names.items() if name not in keep]


KIND = JobKind(model=ImportJob, files=_job_files, orphans=_orphans)
