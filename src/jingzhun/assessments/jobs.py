"""Judging households again after their income changed (issue 19): a `ReassessJob` per request,
put on the task queue once the requesting transaction commits (core.jobs, ADR 0049).

`request_reassessment` is the one entry point writers call (inside their transaction); `run_job`
runs one job: each household is judged again, for the job's year, under the current version of
every standard it was judged by for that year (a household never judged has no decision to go
stale). `jingzhun worker` runs the queue; `jingzhun assess --pending` runs queued jobs by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django_tasks import task

from jingzhun.core.jobs import JobKind, enqueue_after_commit, run_queued, worker_name
from jingzhun.registry.models import Household

from .models import Assessment, ReassessJob

log = logging.getLogger(__name__)


def request_reassessment(
    household_ids: Sequence[int], year: int, *, actor: Any = None, reason: str = ""
) -> ReassessJob | None:
    """Ask for the households to be judged again for `year` once the current transaction
    commits; a queued job for the same year and households is reused."""
    if not household_ids:
        return None
    listed = ",".join(map(str, sorted(set(household_ids))))
    job = ReassessJob.objects.filter(
        status=ReassessJob.QUEUED, year=year, households=listed
    ).first()
    if job is None:
        job = ReassessJob.objects.create(
            year=year,
            households=listed,
            reason=reason[:100],
            actor_name=getattr(actor, "username", "") or "",
        )
    enqueue_after_commit(run_reassess_job, job.pk)
    return job


@task()
def run_reassess_job(job_id: int) -> str:
    """The queue's task: run re-assessment job `job_id` (`jingzhun worker`)."""
    job = run_job(job_id)
    return job.status if job is not None else "taken"


def run_job(job_id: int) -> ReassessJob | None:
    """Run one queued job (None if another worker took it). Failures are kept on the job."""
    from .actions import do_assess_households

    if not ReassessJob.take(job_id, worker_name()):
        return None
    job = ReassessJob.objects.get(pk=job_id)
    ids = job.household_ids()
    standards = sorted(
        set(
            Assessment.objects.filter(household_id__in=ids, year=job.year).values_list(
                "policy__standard", flat=True
            )
        )
    )
    try:
        for standard in standards:
            judged = (
                Assessment.objects.filter(
                    household_id__in=ids, year=job.year, policy__standard=standard
                )
                .values_list("household_id", flat=True)
                .distinct()
            )
            # the job was accepted when requested: it runs as the system
            do_assess_households(
                Household.objects.filter(pk__in=list(judged)), standard, job.year, actor=None
            )
    except Exception as exc:  # kept on the job
        log.exception("re-assessment %s failed", job_id)
        ReassessJob.fail(job_id, exc)
    else:
        ReassessJob.finish(job_id, standards=",".join(standards)[:200])
    job.refresh_from_db()
    return job


def run_pending() -> list[ReassessJob]:
    """Run every queued job in order (`jingzhun assess --pending`, tests)."""
    return run_queued(ReassessJob.objects.filter(status=ReassessJob.QUEUED), run_job)


KIND = JobKind(model=ReassessJob)  # no files: the sweeper only marks dead workers' jobs failed
