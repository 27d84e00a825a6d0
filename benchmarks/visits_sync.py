"""Issue 21 item 9: syncing 10,000 queued visits from 500 helpers, set-wise, against one request
per visit, in the same run.

    uv run python benchmarks/visits_sync.py [--pg] [--db jz_visits] [--helpers 500]
        [--visits 10000] [--runs 3] [--no-append]

Data: a fresh database (SQLite in a temporary directory, or PostgreSQL database --db with
--pg), the demo county Baiquan at --scale 0.1 (`jingzhun demo`, about 2,500 households), and
--helpers helper accounts each paired with 4 of its registered households. Each helper has
--visits / --helpers queued visits (a quarter of them with a change seen), as the phone sends
them: a client id, the household version seen, no photos.

Both paths go through the served stack in process (Django's test client: middleware, session,
CSRF-exempt test client, the view, the action, the audit chain), each helper signed in with its
own session:
1. fast path: one POST /visits/sync/ per helper with its whole queue (`do_sync_visits`: one
   transaction, households in one query, existing client ids in one, `bulk_create`, one audit
   event per batch);
2. comparator: one POST /visits/sync/ per visit (each a transaction with its own insert and audit
   event: the visit through the ORM one at a time).
Every client makes one GET before the runs (the test client builds its middleware chain on its
first request). Each run starts from an empty visit table (the visits of the previous run are removed by SQL,
outside the app); after every run the script checks that exactly --visits visits are stored.
Median of --runs after a warm-up of 200 visits per path.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import PG_ADMIN_URL, append_section, machine  # noqa: E402

SECRET = "bench-visits-not-a-real-secret-0123456789abcdef"
PER_HELPER = 4


def prepare(args: argparse.Namespace, var: str) -> None:
    if args.pg:
        import psycopg

        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{args.db}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.db}"')
    else:
        url = f"sqlite:///{var}/bench.sqlite3"
    os.environ.update(
        {
            "DATABASE_URL": url,
            "JINGZHUN_VAR_DIR": var,
            "JINGZHUN_SECRET_KEY": SECRET,
            "DJANGO_SETTINGS_MODULE": "jingzhun.settings.embedded",
        }
    )
    subprocess.run(
        ["jingzhun", "demo", "--scale", "0.1", "--no-serve", "--no-progress", "--no-assess",
         "--password", "Bench-pass-2026"],
        env=os.environ, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def make_helpers(n: int) -> list[tuple[Any, list[Any]]]:
    """n helper accounts, each paired with PER_HELPER registered households (version read)."""
    from django.db import transaction

    from jingzhun.access.models import HelperPairing, User
    from jingzhun.registry import choices as c
    from jingzhun.registry.models import Household

    households = list(
        Household.objects.filter(poverty_status__in=c.REGISTERED_STATUSES)
        .order_by("pk")
        .only("pk", "version")[: n * PER_HELPER]
    )
    if len(households) < n * PER_HELPER:
        raise SystemExit(f"only {len(households)} registered households for {n} helpers")
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"bench-helper-{i:04d}", role="helper") for i in range(n)]
        )
        users = list(User.objects.filter(username__startswith="bench-helper-").order_by("pk"))
        HelperPairing.objects.bulk_create(
            [
                HelperPairing(
                    helper=u,
                    household=households[i * PER_HELPER + j],
                    start_date=datetime.date(2020, 1, 1),
                )
                for i, u in enumerate(users)
                for j in range(PER_HELPER)
            ]
        )
    return [(u, households[i * PER_HELPER : (i + 1) * PER_HELPER]) for i, u in enumerate(users)]


def queues(helpers: list[tuple[Any, list[Any]]], per_helper: int) -> list[list[dict[str, Any]]]:
    today = timezone.localdate()
    out = []
    for _, households in helpers:
        queue = []
        for k in range(per_helper):
            h = households[k % len(households)]
            queue.append(
                {
                    "client_id": str(uuid.uuid4()),
                    "household_id": h.pk,
                    "visited_on": (today - datetime.timedelta(days=k % 28)).isoformat(),
                    "kind": "home" if k % 3 else "phone",
                    "notes": f"第 {k + 1} 次走访：家中情况稳定，了解收入和就医情况。",
                    "changes": [{"kind": "income", "note": "务工收入减少"}] if k % 4 == 0 else [],
                    "household_version": h.version,
                }
            )
        out.append(queue)
    return out


def clients(helpers: list[tuple[Any, list[Any]]]) -> list[Any]:
    from django.test import Client

    out = []
    for user, _ in helpers:
        client = Client()
        client.force_login(user)
        # the test client builds its middleware chain on its first request: not measured
        assert client.get("/visits/sw.js", secure=True).status_code == 200
        out.append(client)
    return out


def post(client: Any, batch: list[dict[str, Any]]) -> list[str]:
    response = client.post("/visits/sync/", {"visits": json.dumps(batch)}, secure=True)
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return [o["status"] for o in response.json()["outcomes"]]


def clear() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM assistance_visit")


def fast(cls: list[Any], qs: list[list[dict[str, Any]]]) -> float:
    t = time.perf_counter()
    for client, queue in zip(cls, qs, strict=True):
        statuses = post(client, queue)
        assert set(statuses) == {"stored"}, statuses
    return time.perf_counter() - t


def per_visit(cls: list[Any], qs: list[list[dict[str, Any]]]) -> float:
    t = time.perf_counter()
    for client, queue in zip(cls, qs, strict=True):
        for visit in queue:
            assert post(client, [visit]) == ["stored"]
    return time.perf_counter() - t


def stored() -> int:
    from jingzhun.assistance.models import Visit

    return Visit.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--db", default="jz_visits")
    parser.add_argument("--helpers", type=int, default=500)
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    per_helper = args.visits // args.helpers
    with tempfile.TemporaryDirectory() as var:
        prepare(args, var)
        import django

        django.setup()
        from django.conf import settings

        settings.ALLOWED_HOSTS = ["testserver"]
        helpers = make_helpers(args.helpers)
        cls = clients(helpers)
        # warm-up: 200 visits each way
        warm = queues(helpers[:10], 20)
        fast(cls[:10], warm)
        per_visit(cls[:10], queues(helpers[:10], 20))
        clear()
        fast_times, slow_times = [], []
        for _ in range(args.runs):
            qs = queues(helpers, per_helper)
            fast_times.append(fast(cls, qs))
            assert stored() == args.helpers * per_helper
            # the same queues again: every visit answered "duplicate", nothing stored twice
            again = sum(
                post(c, q).count("duplicate") for c, q in zip(cls[:20], qs[:20], strict=True)
            )
            assert again == 20 * per_helper and stored() == args.helpers * per_helper
            clear()
            slow_times.append(per_visit(cls, queues(helpers, per_helper)))
            assert stored() == args.helpers * per_helper
            clear()
        f, s = statistics.median(fast_times), statistics.median(slow_times)
        engine = "PostgreSQL" if args.pg else "SQLite"
        n = args.helpers * per_helper
        lines = [
            f"{engine}: {n:,} visits from {args.helpers} helpers ({per_helper} each).",
            f"- set-wise sync (one request per helper): median {f:.2f} s "
            f"({n / f:,.0f} visits/s); runs {', '.join(f'{x:.2f}' for x in fast_times)}",
            f"- one request per visit: median {s:.2f} s ({n / s:,.0f} visits/s); "
            f"runs {', '.join(f'{x:.2f}' for x in slow_times)}",
            f"- ratio {s / f:.1f}x (target >= 10x, set-wise under 30 s)",
        ]
        print("\n".join(lines))
        if not args.no_append:
            m = machine()
            append_section(
                "Visits sync (issue 21 item 9)",
                f"{m['date']}, commit {m['commit']}, {m['nproc']} cores, {m['memory']}, "
                f"Python {m['python']}, {m['versions']}. Command: `uv run python "
                f"benchmarks/visits_sync.py{' --pg' if args.pg else ''}`.\n\n" + "\n".join(lines),
            )


if __name__ == "__main__":
    main()
