"""Issue 21 item 9: the helper's home page at 100,000 households, 20 concurrent users, p95.

    uv run python benchmarks/helper_home.py [--db jz_visits_home] [--prepare] [--scale 3.9]
        [--connections 20] [--duration 20] [--runs 3] [--workers 2] [--no-append]

Served exactly as benchmarks/dashboard.py serves the battle map (gunicorn, sync workers, the
production settings, PostgreSQL, wrk with a Lua latency hook): the demo county Baiquan at --scale
(3.9 gives about 100,000 registered households; `--prepare` generates it into --db), plus 20
helper accounts each paired with 8 registered households with 4 visits each (made through
`do_sync_visits`), so the page computes visits due from real rows. wrk's connections take turns
over the 20 helpers' sessions (one cookie per request, round robin), GET `/` (the helper's home:
households, visits due from `policies/tables/visit_frequency.yaml`) and, in the same run,
GET `/visits/` (the offline field page with the visit form and the households' data).
Median of --runs after a warm-up; the page must answer 200 itself (not a redirect).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import append_section, machine  # noqa: E402
from benchmarks.dashboard import (  # noqa: E402
    check_page,
    prepare,
    setup_django,
    start_server,
    worker_peak_mib,
    wrk,
)

HELPERS = 20
PER_HELPER = 8
LUA = """
cookies = {%s}
counter = 0
request = function()
  counter = counter + 1
  local c = cookies[(counter %% #cookies) + 1]
  return wrk.format("GET", nil, {["Cookie"] = "sessionid=" .. c, ["X-Forwarded-Proto"] = "https"})
end
done = function(summary, latency, requests)
  io.write(string.format("JZ p50=%%d p95=%%d p99=%%d max=%%d requests=%%d errors=%%d duration=%%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.duration))
end
"""


def helpers_with_visits() -> list[str]:
    """20 helpers paired with 8 registered households each, 4 visits per household; their
    session keys."""
    from django.db import transaction
    from django.test import Client

    from jingzhun.access.models import HelperPairing, User
    from jingzhun.assistance.visits import VisitInput, do_sync_visits
    from jingzhun.registry import choices as c
    from jingzhun.registry.models import Household

    users = []
    for i in range(HELPERS):
        user, _ = User.objects.get_or_create(
            username=f"bench-home-{i:02d}", defaults={"role": "helper"}
        )
        users.append(user)
    if not HelperPairing.objects.filter(helper=users[0]).exists():
        households = list(
            Household.objects.filter(poverty_status__in=c.REGISTERED_STATUSES)
            .order_by("?")
            .only("pk", "version")[: HELPERS * PER_HELPER]
        )
        today = timezone.localdate()
        with transaction.atomic():
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
        for i, u in enumerate(users):
            mine = households[i * PER_HELPER : (i + 1) * PER_HELPER]
            do_sync_visits(
                [
                    VisitInput(
                        client_id=str(uuid.uuid4()),
                        household_id=h.pk,
                        visited_on=today - datetime.timedelta(days=30 * k + i),
                        kind="home",
                        household_version=h.version,
                        notes="基准走访",
                    )
                    for h in mine
                    for k in range(4)
                ],
                actor=u,
            )
    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return cookies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="jz_visits_home")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--scale", type=float, default=3.9)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var:
        if args.prepare:
            prepare(args.db, var, args.scale)
        setup_django(args.db, var)
        from jingzhun.registry.models import Household

        households = Household.objects.count()
        cookies = helpers_with_visits()
        script = Path(var) / "home.lua"
        script.write_text(LUA % ", ".join(f'"{c}"' for c in cookies))
        server = start_server(args.db, var, args.port, args.workers)
        try:
            results: dict[str, list[dict[str, float]]] = {}
            for path in ("/", "/visits/"):
                size = check_page(args.port, cookies[0], path)
                wrk(args.port, cookies[0], path, args.connections, 5, str(script))  # warm-up
                results[path] = [
                    wrk(args.port, cookies[0], path, args.connections, args.duration, str(script))
                    for _ in range(args.runs)
                ]
                print(path, size, "bytes", results[path])
            peak = worker_peak_mib(server)
        finally:
            server.terminate()
            server.wait()
    lines = [f"PostgreSQL, {households:,} households, {HELPERS} helpers ({PER_HELPER} households each), "
             f"{args.connections} connections, {args.duration} s x {args.runs} runs, "
             f"{args.workers} gunicorn workers; worker peak RSS {peak:.0f} MiB."]  # fmt: skip
    for path, label in (("/", "helper home `/`"), ("/visits/", "field page `/visits/`")):
        runs = results[path]
        p95 = statistics.median(r["p95"] for r in runs)
        p50 = statistics.median(r["p50"] for r in runs)
        rps = statistics.median(r["rps"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        each = ", ".join(f"{r['p95']:.1f}" for r in runs)
        lines.append(
            f"- {label}: p95 {p95:.1f} ms (runs {each}), "
            f"p50 {p50:.1f} ms, {rps:.1f} requests/s, errors {errors:.0f} (target p95 <= 150 ms)"
        )
    print("\n".join(lines))
    if not args.no_append:
        m = machine()
        append_section(
            "Helper home page (issue 21 item 9)",
            f"{m['date']}, commit {m['commit']}, {m['nproc']} cores, {m['memory']}, "
            f"Python {m['python']}, {m['versions']}. Command: `uv run python "
            f"benchmarks/helper_home.py {' '.join(sys.argv[1:])}`.\n\n" + "\n".join(lines),
        )


if __name__ == "__main__":
    main()
