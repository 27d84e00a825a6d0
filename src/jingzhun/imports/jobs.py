"""Background import jobs of the web pages: checking an upload, committing a batch (ADR 0029).

A job is an `ImportJob` row (its lifecycle) plus two files under VAR_DIR/imports: the upload it
works on, and a small JSON progress file rewritten atomically (write, then rename) while it runs.
The progress lives in a file, not in the row, because a commit runs in one transaction
(`do_commit_import`): a row update made inside it is invisible until it ends, and one made on a
second connection would wait for SQLite's write lock that the commit holds.

Jobs start in a worker thread after the queueing transaction commits, unless
settings.IMPORT_JOB_RUNNER is "manual" (tests; or a deployment that runs `jingzhun import
--pending`). A job records the process running it (`worker`: host and pid); a running job whose
process is gone was interrupted (its commit rolled back with the process) and is shown as such.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from jingzhun.core.errors import DomainError
from jingzhun.core.threads import run_after_commit, run_queued

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


def job_upload_path(job: ImportJob) -> Path:
    """Where a check job's upload waits until the check has made its batch."""
    return folder() / f"job-{job.pk}-{job.sha256}.upload"


def progress_path(job: ImportJob | int) -> Path:
    job_id = job if isinstance(job, int) else job.pk
    return folder() / f"job-{job_id}.progress"


def store(path: Path, data: bytes) -> None:
    """Write an upload readable by this account only."""
    tmp = path.with_suffix(".part")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
    tmp.replace(path)


def worker_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def worker_alive(worker: str) -> bool:
    """Whether the process named by `worker_name()` still runs (False only when known dead)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return True  # another machine's worker: cannot tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def start(job: ImportJob) -> None:
    """Run the job in a worker thread once the current transaction commits (runner "thread")."""
    if getattr(settings, "IMPORT_JOB_RUNNER", "thread") != "thread":
        return
    run_after_commit(run_job, job.pk, "import")


def run_job(job_id: int) -> ImportJob | None:
    """Run one queued job (None if another worker took it). Failures are kept on the job."""
    taken = ImportJob.objects.filter(pk=job_id, status=ImportJob.QUEUED).update(
        status=ImportJob.RUNNING, started_at=timezone.now(), worker=worker_name()
    )
    if not taken:
        return None
    job = ImportJob.objects.select_related("user", "batch").get(pk=job_id)
    progress = Progress(job_id)
    progress.report("开始", 0, force=True)
    try:
        batch = _check(job, progress) if job.kind == ImportJob.CHECK else _commit(job, progress)
    except Exception as exc:  # kept on the job, shown on the page
        log.exception("import job %s failed", job_id)
        message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.FAILED, error=message[:2000], finished_at=timezone.now()
        )
        if job.kind == ImportJob.CHECK:
            job_upload_path(job).unlink(missing_ok=True)
    else:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.DONE, batch=batch, finished_at=timezone.now()
        )
    finally:
        progress.clear()
    job.refresh_from_db()
    return job


def _check(job: ImportJob, progress: Progress) -> ImportBatch:
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
    source.replace(upload_path(batch))
    return batch


def _commit(job: ImportJob, progress: Progress) -> ImportBatch:
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
    )
    if outcome.committed and not outcome.result.already_imported:
        path.unlink(missing_ok=True)
    return outcome.batch


def run_pending() -> list[ImportJob]:
    """Run every queued job in order (`jingzhun import --pending`, tests)."""
    return run_queued(ImportJob.objects.filter(status=ImportJob.QUEUED), run_job)
