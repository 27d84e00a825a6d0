"""The web import flow of one upload, as the pages run it (issue 19 items 5 and 9).

    uv run python benchmarks/import_web_flow.py [--persons 30000] [--kind xlsx|csv] [--runs 3]
        [--var DIR] [--db NAME]

The file is the demo county's roster prepared by `benchmarks/import_registry.py` under the same
--var (roster_<N>.xlsx / .csv; run it once with the same --var first). Each run, in its own
process on a fresh PostgreSQL database (--db, dropped and created; env JZ_BENCH_WEB_DB) holding
the county's regions and accounts, as the county account, times the steps the web makes:

  check     `do_queue_import_check` (the upload POST) and the check job (`run_pending`, what
            `jingzhun worker` runs): read, validate, compare, the pending batch
  dry run   the dry-run page GET (`web.views.import_detail`, called with a request as Django's
            handler would, after the policy decorator), twice: the page and one reload
  commit    `do_queue_import_commit` (the confirm POST) and the commit job
  after     the page GET the finished job leads to

"cpu" is the CPU time of the run's process and of the reader children it started (the
database server's is not in it): on a shared machine it moves less with the load than the wall
clock. Prints one JSON line per run and the medians; nothing is appended (the figures go to
docs/benchmarks.md by hand, with the commits compared in the same session).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchmarks.common import drop_postgres, fresh_postgres, median, run_child  # noqa: E402

PG_DB = os.environ.get("JZ_BENCH_WEB_DB", "jz_web_flow_bench")
STEPS = ("check", "dry_run", "commit", "after")


def _get(view: Any, user: Any, **kwargs: Any) -> int:
    """Call a page view as the handler would (session and messages attached)."""
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    response = view(request, **kwargs)
    return int(response.status_code)


def child_direct(db_url: str, var_dir: str, persons: int, path: str) -> dict[str, Any]:
    """B1/B3's timed part (`do_commit_import` of the bytes), with its CPU time."""
    import import_registry as ir

    ir._setup(db_url, var_dir)
    actor = ir._target(persons)
    import gc

    from jingzhun.imports.actions import do_commit_import

    data = Path(path).read_bytes()
    gc.collect()
    cpu_started = _cpu()
    started = time.perf_counter()
    outcome = do_commit_import(data, Path(path).name, actor=actor)
    assert outcome.committed
    return {
        "seconds": {"commit": time.perf_counter() - started, "cpu": _cpu() - cpu_started},
        "persons": outcome.result.counts()["members_new"],
    }


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the contained readers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child_flow(db_url: str, var_dir: str, persons: int, path: str) -> dict[str, Any]:
    import import_registry as ir  # the helpers of the commit being measured

    ir._setup(db_url, var_dir)
    actor = ir._target(persons)
    import gc

    from jingzhun.imports.actions import do_queue_import_check, do_queue_import_commit
    from jingzhun.imports.jobs import run_pending
    from jingzhun.imports.models import ImportBatch
    from jingzhun.registry.models import Member
    from jingzhun.web import views

    cpu = _cpu
    data = Path(path).read_bytes()
    gc.collect()
    seconds: dict[str, float] = {}
    cpu_started = cpu()
    started = time.perf_counter()
    do_queue_import_check(data, Path(path).name, actor=actor)
    run_pending()
    batch = ImportBatch.objects.get()
    seconds["check"] = time.perf_counter() - started
    step = time.perf_counter()
    statuses = [_get(views.import_detail, actor, batch_id=batch.pk) for _ in range(2)]
    seconds["dry_run"] = time.perf_counter() - step
    step = time.perf_counter()
    do_queue_import_commit(batch, actor=actor)
    run_pending()
    seconds["commit"] = time.perf_counter() - step
    step = time.perf_counter()
    statuses.append(_get(views.import_detail, actor, batch_id=batch.pk))
    seconds["after"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - started
    seconds["cpu"] = cpu() - cpu_started
    batch.refresh_from_db()
    assert batch.status == "committed", batch.status
    assert statuses == [200, 200, 200], statuses
    return {
        "seconds": seconds,
        "persons": Member.objects.count(),
        "households": batch.households_new,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=30_000)
    parser.add_argument("--kind", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--var", default=str(ROOT / "var" / "bench_import"))
    parser.add_argument("--db", default=PG_DB)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="time B1/B3's part only (do_commit_import of the bytes), with its CPU time",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = Path(args.var) / f"roster_{args.persons}.{args.kind}"
    if args.child:
        child = child_direct if args.direct else child_flow
        print(json.dumps(child(args.url, args.var, args.persons, str(path))))
        return
    if not path.exists():
        sys.exit(f"{path} is missing: run benchmarks/import_registry.py with --var {args.var}")
    runs = []
    for i in range(args.runs):
        url = fresh_postgres(args.db)
        try:
            run = run_child(
                [
                    __file__,
                    "--child",
                    "--url",
                    url,
                    "--var",
                    args.var,
                    "--persons",
                    str(args.persons),
                    "--kind",
                    args.kind,
                    *(["--direct"] if args.direct else []),
                ]
            )
        finally:
            drop_postgres(args.db)
        result = {**run.result, "rss_mib": round(run.peak_rss_mib)}
        print(json.dumps({"run": i + 1, **result}, default=str), flush=True)
        runs.append(result)
    steps = ("commit", "cpu") if args.direct else (*STEPS, "total", "cpu")
    summary = {step: round(median([r["seconds"][step] for r in runs]), 2) for step in steps}
    print(json.dumps({"median": summary, "persons": runs[0]["persons"]}), flush=True)


if __name__ == "__main__":
    main()
