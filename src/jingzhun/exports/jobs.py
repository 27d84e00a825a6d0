"""Export jobs (issue 20): a roster too large for a request is written by `jingzhun worker` into
VAR_DIR/exports (mode 0600) through the same export action, then downloaded by its requester.
The file is removed JOB_RETENTION_DAYS after the job ended (core.jobs.sweep)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django_tasks import task

from jingzhun.core.jobs import JobKind, older_than, run_queued, worker_name
from jingzhun.registry.selectors import HouseholdFilters

from .models import ExportJob

log = logging.getLogger(__name__)


def folder() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def file_path(job: ExportJob) -> Path:
    return folder() / f"job-{job.pk}.{job.format}"


def filters_of(job: ExportJob) -> HouseholdFilters:
    stored = dict(job.filters)
    stored["statuses"] = tuple(stored.get("statuses") or ())
    return HouseholdFilters(**stored)


@task()
def run_export_job(job_id: int) -> str:
    """The queue's task: run export job `job_id` (`jingzhun worker`)."""
    job = run_job(job_id)
    return job.status if job is not None else "taken"


def run_job(job_id: int) -> ExportJob | None:
    """Run one queued job (None if another worker took it). Failures are kept on the job."""
    from .actions import do_export_roster

    if not ExportJob.take(job_id, worker_name()):
        return None
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    path = file_path(job)
    part = path.with_suffix(".part")
    try:
        with open(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            summary = do_export_roster(
                filters_of(job),
                out,
                actor=job.user,
                unmasked=job.unmasked,
                fmt=job.format,
                approval=job.approval,
            )
        part.replace(path)
    except Exception as exc:  # kept on the job, shown on the page
        log.exception("export job %s failed", job_id)
        part.unlink(missing_ok=True)
        ExportJob.fail(job_id, exc)
    else:
        ExportJob.finish(job_id, households=summary.households, rows=summary.rows)
    job.refresh_from_db()
    return job


def run_pending() -> list[ExportJob]:
    """Run every queued export in order (tests; the worker normally does)."""
    return run_queued(ExportJob.objects.filter(status=ExportJob.QUEUED), run_job)


def _files(job_ids: Iterable[int]) -> list[Path]:
    jobs = ExportJob.objects.filter(pk__in=list(job_ids)).only("pk", "format")
    return [p for job in jobs for p in (file_path(job), file_path(job).with_suffix(".part"))]


def _orphans(cutoff: datetime) -> list[Path]:
    """Export files older than `cutoff` whose job ended before it (done ones too: a delivered
    file is kept for the retention period only), or that have no job."""
    names = {p.name: p for p in older_than(folder().iterdir(), cutoff)}
    if not names:
        return []
    live = ExportJob.objects.exclude(
        status__in=[ExportJob.DONE, ExportJob.FAILED], finished_at__lt=cutoff
    ).only("pk", "format")
    keep = {p.name for job in live for p in (file_path(job), file_path(job).with_suffix(".part"))}
    return [path for name, path in names.items() if name not in keep]


KIND = JobKind(model=ExportJob, files=_files, orphans=_orphans)
