"""Server time of B12's pages in process: what one request costs, without wrk's queueing.

    uv run python benchmarks/page_time.py [--db jz_pages_100k] [--var DIR] [--only SUBSTRING]
        [--requests 20] [--profile] [--queries]

With 2 gunicorn sync workers and 20 connections, a page's p95 is about ten times its service
time (issue 26): a page meets p95 <= 200 ms only when one request costs about 15-20 ms of the
server's time. This runs each (page, role) of benchmarks/pages.py through Django's test client
on the same database and settings (after `pages.py --prepare`): the median and the minimum wall
time and CPU time of this process (Python's share, which a loaded machine inflates less than
wall time) per request over --requests requests (after two warm ones), the time spent in SQL (sum of
the database's round trips as Django measures them) and the number of queries. --queries prints
each query's time of the last request (slowest first); --profile prints the cProfile of the
--requests requests (top 25 by cumulative and by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dashboard import session_cookie, setup_django  # noqa: E402
from benchmarks.helper_home import helpers_with_visits  # noqa: E402
from benchmarks.pages import PAGES, data_ids, fill  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="jz_pages_100k")
    ap.add_argument("--var", default=str(Path(tempfile.gettempdir()) / "jz-bench-pages"))
    ap.add_argument("--only", default="")
    ap.add_argument("--role", default="", help="only this role")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--queries", action="store_true")
    ap.add_argument("--profile-out", default="", help="with --profile: also dump the stats here")
    args = ap.parse_args()
    setup_django(args.db, args.var)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from jingzhun.access.models import User

    helper_cookies = helpers_with_visits()
    helper = User.objects.get(username="bench-home-00")
    User.objects.get_or_create(username="auditadmin", defaults={"role": "auditadmin"})
    cookies = {
        r: session_cookie(r) for r in ("county", "township", "village", "auditor", "auditadmin")
    }
    cookies["helper"] = helper_cookies[0]
    ids = data_ids(helper)
    print(f"load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    for page in PAGES:
        if args.only not in page.label and args.only not in page.path:
            continue
        for role in page.roles:
            if args.role and role != args.role:
                continue
            path = fill(page.path, ids)
            client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
            client.cookies["sessionid"] = cookies[role]
            # the test client skips the CSRF check a POST would pass with the form's token
            send = partial(client.get, path) if page.form is None else partial(
                client.post, path, page.form
            )  # fmt: skip
            for _ in range(2):
                send()
            walls, cpus, sqls, counts = [], [], [], []
            captured: list[dict[str, str]] = []
            for _ in range(args.requests):
                with CaptureQueriesContext(connection) as ctx:
                    start, cpu = time.perf_counter(), time.process_time()
                    response = send()
                    walls.append((time.perf_counter() - start) * 1000)
                    cpus.append((time.process_time() - cpu) * 1000)
                assert response.status_code == 200, (page.label, role, response.status_code)
                captured = ctx.captured_queries
                sqls.append(sum(float(q["time"]) for q in captured) * 1000)
                counts.append(len(captured))
            print(
                f"{page.label} [{role}]: median {statistics.median(walls):.1f} ms, min "
                f"{min(walls):.1f} ms; this process's CPU median {statistics.median(cpus):.1f} ms, "
                f"min {min(cpus):.1f} ms; SQL median {statistics.median(sqls):.1f} ms; "
                f"{counts[-1]} queries; {len(response.content):,} B",
                flush=True,
            )
            if args.queries:
                for q in sorted(captured, key=lambda q: -float(q["time"]))[:8]:
                    print(f"    {float(q['time']) * 1000:7.1f} ms  {q['sql'][:300]}")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.requests):
                    send()
                profiler.disable()
                stats = pstats.Stats(profiler)
                if args.profile_out:
                    stats.dump_stats(args.profile_out)
                stats.sort_stats("cumulative").print_stats(25)
                stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
