"""Background jobs on a task queue (ADR 0049): never threads of the serving process.

A job is the app's own row (`ImportJob`, `RefreshJob`, ...: its lifecycle, progress, error); the
queue (django-tasks with its database backend, `settings.TASKS`) only carries "run job N" to a
worker process, `jingzhun worker`. To add a kind of job:

1. a row that subclasses `core.models.JobRow` (status queued/running/done/failed, worker, error,
   times), and a `run_job(job_id)` that starts it with `Row.take(job_id, worker_name())` (one
   conditional UPDATE, so that a job runs once whoever asks) and ends it with `Row.finish(...)`
   or `Row.fail(job_id, exc)`;
2. a module-level task: `@task() def run_x_job(job_id: int) -> str: ...` calling it;
3. `enqueue_after_commit(run_x_job, job.pk)` in the action that creates the row;
4. `register(JobKind(...))` in the app's `AppConfig.ready()`, so that the worker's sweeper marks a
   job whose worker died as failed and removes its files after `JOB_RETENTION_DAYS`.

Tests: the test settings keep the database backend, and a test's transaction never commits, so
jobs stay queued; tests run them with the app's `run_pending()` or `jingzhun worker --batch`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)
Job = TypeVar("Job")

WORKER_DIED = "执行进程已中断，未写入任何数据。"
ABANDONED = "任务超过保留期仍未执行，已取消。"


def enqueue_after_commit(task: Any, job_id: int) -> None:
    """Once the current transaction commits, put "run job `job_id`" on the task queue for
    `jingzhun worker` (`task` is a django-tasks `Task` taking the job's id)."""
    transaction.on_commit(lambda: task.enqueue(job_id))


def run_queued(queued: QuerySet[Any], run: Callable[[int], Job | None]) -> list[Job]:
    """Run the queued jobs one after the other in this process, oldest first (`jingzhun import
    --pending`, `refresh-indicators --pending`, tests); returns those `run` handled (it returns
    None for a job another worker took first)."""
    done = []
    for job_id in queued.order_by("pk").values_list("pk", flat=True):
        job = run(job_id)
        if job is not None:
            done.append(job)
    return done


# --- workers -----------------------------------------------------------------------------------


def worker_name() -> str:
    """This process as `host:pid` (at most 64 characters: django-tasks-db's worker id)."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}"


def worker_alive(worker: str) -> bool:
    """Whether the process named by `worker_name()` still runs (False only when known dead)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname()[:50] or not pid.isdigit():
        return True  # another machine's worker: cannot tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- sweeping ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobKind:
    """A kind of job row the sweeper looks after. `files(job_ids)` names the files that belong to
    those (finished) jobs; `orphans()` the app's files older than a cutoff that no live job needs."""

    model: type[Model]
    files: Callable[[Iterable[int]], Iterable[Path]] = field(default=lambda ids: ())
    orphans: Callable[[datetime], Iterable[Path]] = field(default=lambda cutoff: ())


KINDS: list[JobKind] = []


def register(kind: JobKind) -> None:
    if all(k.model is not kind.model for k in KINDS):
        KINDS.append(kind)


@dataclass
class Swept:
    failed: dict[str, int] = field(default_factory=dict)  # model label -> jobs marked failed
    tasks: int = 0  # queue entries of dead workers marked failed
    pruned: int = 0  # finished queue entries older than the retention period deleted
    files: int = 0  # files removed


def sweep(now: datetime | None = None) -> Swept:
    """Mark running jobs whose worker process is gone as failed (with the reason), queued jobs
    older than the retention period as abandoned, and remove the files of failed or abandoned
    jobs once older than `JOB_RETENTION_DAYS` (`jingzhun worker` at start and every few minutes)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=float(getattr(settings, "JOB_RETENTION_DAYS", 7)))
    result = Swept()
    for kind in KINDS:
        model: Any = kind.model
        label = model._meta.label
        dead = [
            pk
            for pk, worker in model.objects.filter(status="running").values_list("pk", "worker")
            if not worker_alive(worker)
        ]
        marked = model.objects.filter(pk__in=dead, status="running").update(
            status="failed", error=WORKER_DIED, finished_at=now
        )
        abandoned = list(
            model.objects.filter(status="queued", created_at__lt=cutoff).values_list(
                "pk", flat=True
            )
        )
        marked += model.objects.filter(pk__in=abandoned, status="queued").update(
            status="failed", error=ABANDONED, finished_at=now
        )
        abandoned = list(  # those a worker did not take meanwhile
            model.objects.filter(pk__in=abandoned, error=ABANDONED).values_list("pk", flat=True)
        )
        if marked:
            result.failed[label] = marked
            log.warning("%s: %d job(s) marked failed", label, marked)
        old = model.objects.filter(status="failed", finished_at__lt=cutoff).values_list(
            "pk", flat=True
        )
        # an abandoned job has waited the retention period already: its files go at once
        for path in [*kind.files([*old, *abandoned]), *kind.orphans(cutoff)]:
            if path.exists():
                path.unlink(missing_ok=True)
                result.files += 1
    result.tasks = _sweep_tasks(now)
    result.pruned = _prune_tasks(cutoff)
    return result


def _prune_tasks(cutoff: datetime) -> int:
    """Finished queue entries older than the retention period go (the job rows keep the story)."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=cutoff
    ).delete()[0]


def _sweep_tasks(now: datetime) -> int:
    """Queue entries left RUNNING by a worker process that died (django-tasks-db keeps them
    RUNNING for ever) are marked FAILED."""
    from django_tasks_db.models import DBTaskResult

    dead = [
        pk
        for pk, workers in DBTaskResult.objects.filter(status="RUNNING").values_list(
            "pk", "worker_ids"
        )
        if workers and not worker_alive(str(workers[-1]))
    ]
    return DBTaskResult.objects.filter(pk__in=dead, status="RUNNING").update(
        status="FAILED",
        finished_at=now,
        exception_class_path="jingzhun.core.jobs.WorkerDied",
        traceback=WORKER_DIED,
    )


def older_than(paths: Iterable[Path], cutoff: datetime) -> list[Path]:
    """The files among `paths` last written before `cutoff`."""
    limit = cutoff.timestamp()
    found = []
    for path in paths:
        try:
            if path.stat().st_mtime < limit:
                found.append(path)
        except OSError:
            continue
    return found
