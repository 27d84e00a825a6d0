"""Background jobs in worker threads of the serving process (battle-map refreshes, web imports)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import close_old_connections, connection, transaction


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
