"""Background jobs (battle-map refreshes, web imports): in worker threads of the serving process,
or queued ones run one after the other by a command."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import close_old_connections, connection, transaction
from django.db.models import QuerySet

Job = TypeVar("Job")


def run_after_commit(run: Callable[[int], object], job_id: int, name: str) -> None:
    """Once the current transaction commits, run `run(job_id)` in a new thread with its own
    database connection, closed at the end.

    Not a daemon: a command that queued a job (e.g. `jingzhun import` queuing a refresh) finishes
    it before the interpreter exits, instead of tearing DuckDB down mid-query (an abort, exit code
    -6, and a job left "running")."""

    def main() -> None:
        try:
            run(job_id)
        finally:
            close_old_connections()
            connection.close()

    transaction.on_commit(
        lambda: threading.Thread(target=main, name=f"{name}-{job_id}", daemon=False).start()
    )


def run_queued(queued: QuerySet[Any], run: Callable[[int], Job | None]) -> list[Job]:
    """Run the queued jobs one after the other in this thread, oldest first (`jingzhun import
    --pending`, `refresh-indicators --pending`, tests); returns those `run` handled (it returns
    None for a job another worker took first)."""
    done = []
    for job_id in queued.order_by("pk").values_list("pk", flat=True):
        job = run(job_id)
        if job is not None:
            done.append(job)
    return done
