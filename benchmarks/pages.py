"""B12 pages: every main page and API list, for each role that uses it, at county scale.

    uv run python benchmarks/pages.py [--db jz_pages_100k] [--prepare] [--scale 3.9] [--small]
        [--duration 10] [--runs 1] [--workers 2] [--only SUBSTRING] [--no-append]

Served as benchmarks/dashboard.py serves the battle map (its helpers are reused: gunicorn with
sync workers, one per core, the production settings, PostgreSQL, plain HTTP with
`X-Forwarded-Proto: https`, wrk with a Lua latency hook): the demo county Baiquan at --scale
(3.9 gives about 100,000 registered households, plus the ordinary households the demo adds;
`--prepare` generates it into --db with `jingzhun demo`, which also computes the stored figures).
Users are the demo's county, township, village and auditor accounts (sessions made with
force_login, second factor passed) and a helper of benchmarks/helper_home.py (8 paired households
with 4 visits each, made through the visit sync action).

For each (page, role): the SQL queries of one warm request (in process, Django's test client on
the same database and settings, the second of two requests), then wrk at 1 connection and at 20
connections (--duration seconds each, after a warm-up; median of --runs): p50/p95/p99 from wrk's
own histogram. Each page must answer 200 itself (a redirect would measure the wrong page). The
household search is a POST with a CSRF token, as the page's form sends it. --small: 3-second
runs without repeats (a quick look at which pages miss the targets).

Targets (issue 26): p95 <= 200 ms at 20 users and <= 30 queries, every page and role.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import append_section, machine  # noqa: E402
from benchmarks.dashboard import (  # noqa: E402
    prepare,
    session_cookie,
    setup_django,
    start_server,
    worker_peak_mib,
    wrk,
)
from benchmarks.helper_home import helpers_with_visits  # noqa: E402

COUNTY, TOWNSHIP, VILLAGE = "230231000000", "230231100000", "230231100201"
P95_TARGET_MS, QUERY_TARGET = 200.0, 30
# One request per call; `done` prints wrk's own percentiles (as benchmarks/dashboard.py).
LUA = """
local headers = {%s}
local body = %s
request = function()
  return wrk.format(%s, nil, headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format("JZ p50=%%d p95=%%d p99=%%d max=%%d requests=%%d errors=%%d duration=%%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.duration))
end
"""


@dataclass(frozen=True)
class Page:
    label: str
    path: str  # {household}, {case}, {helper_household}: filled in from the data
    roles: tuple[str, ...]
    form: dict[str, str] | None = None  # a POST of this form (with a CSRF token)


REGION_ROLES = ("county", "township", "village")
PAGES = [
    Page("overview `/`", "/", (*REGION_ROLES, "auditor")),
    Page("helper home `/`", "/", ("helper",)),
    Page("household list", "/households/", (*REGION_ROLES, "auditor", "helper")),
    Page(
        "household list, filtered (remaining, township)",
        f"/households/?township={TOWNSHIP}&status=remaining",
        ("county",),
    ),
    # page 100 of 50: keyset pages since issue 26 item 3 (the code after which it starts)
    Page("household list, page 100", "/households/?after={after_4950}", ("county",)),
    Page("household search (POST, name)", "/households/", ("county", "village"), {"q": "张"}),
    Page("household card", "/households/{household}/", (*REGION_ROLES, "auditor")),
    Page("household card", "/households/{helper_household}/", ("helper",)),
    Page("case inbox", "/cases/", (*REGION_ROLES,)),
    Page("posting list", "/postings/", (*REGION_ROLES,)),
    Page("rounds", "/rounds/", ("county",)),
    Page("audit viewer (last 30 days)", "/audit/?since={since}", ("auditadmin",)),
    Page("battle map", "/dashboard/", (*REGION_ROLES, "auditor")),
    Page("/pairings/", "/pairings/", REGION_ROLES),
    Page("/pairings/unpaired/", "/pairings/unpaired/", REGION_ROLES),
    Page("/pairings/helpers/", "/pairings/helpers/", ("county", "township")),
    Page("/measures/", "/measures/", REGION_ROLES),
    Page("/measures/without/", "/measures/without/", REGION_ROLES),
    Page("/teams/", "/teams/", ("county", "township")),
    Page("/visits/", "/visits/", ("helper",)),
    Page("/api/households", "/api/households", (*REGION_ROLES, "helper")),
    Page(
        "/api/households, filtered, after the 5000th",
        "/api/households?status=exited_with_policy&limit=100&after={after_exited_5000}",
        ("county",),
    ),
    Page("/api/households/{id}", "/api/households/{household}", ("county", "village")),
    Page("/api/stats", "/api/stats", (*REGION_ROLES, "helper")),
    Page("/api/cases", "/api/cases", ("county", "village")),
    Page("/api/postings", "/api/postings", ("county",)),
    Page("/api/pairings", "/api/pairings", ("county", "village")),
    Page("/api/pairings/unpaired", "/api/pairings/unpaired", ("county",)),
    Page("/api/helpers", "/api/helpers", ("county",)),
    Page("/api/measures", "/api/measures", ("county", "village")),
    Page("/api/teams", "/api/teams", ("county",)),
    Page("/api/regions", "/api/regions", ("county",)),
]


def fill(path: str, ids: dict[str, Any]) -> str:
    return path.format(**ids)


def data_ids(helper: Any) -> dict[str, Any]:
    """Ids the pages' paths need: a household of the village user's village, one of the
    helper's, the start of the audit viewer's range."""
    import datetime

    from jingzhun.access.models import HelperPairing
    from jingzhun.registry.models import Household

    household = Household.objects.filter(village_id=VILLAGE).order_by("pk").first()
    assert household is not None, "no household in the village user's village"
    pairing = HelperPairing.objects.filter(helper=helper).order_by("pk").first()
    assert pairing is not None, "the helper has no household"
    since = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    # keyset pages start after a household code: the 4,950th of the county (page 100 of 50)
    # and the 5,000th household exited with policy (the API's former offset 5000)
    county = Household.objects.filter(county_code=COUNTY).order_by("household_code")
    after_4950 = county.values_list("household_code", flat=True)[4949]
    exited = county.filter(poverty_status="exited_with_policy")
    after_exited = exited.values_list("household_code", flat=True)[4999]
    return {
        "household": household.pk,
        "helper_household": pairing.household_id,
        "since": since,
        "after_4950": urllib.parse.quote(after_4950),
        "after_exited_5000": urllib.parse.quote(after_exited),
    }


def csrf_pair() -> tuple[str, str]:
    """(cookie value, form token) of a CSRF secret, as the page's form would carry them."""
    from django.middleware import csrf  # private helpers: the form token of a secret

    _get_new_csrf_string = csrf._get_new_csrf_string
    _mask_cipher_secret = csrf._mask_cipher_secret  # type: ignore[attr-defined]

    secret = _get_new_csrf_string()
    return secret, _mask_cipher_secret(secret)


def count_queries(cookie: str, page: Page, path: str, csrf: tuple[str, str]) -> tuple[int, int]:
    """(status, queries) of the second of two requests, in process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.cookies["sessionid"] = cookie
    status, queries = 0, 0
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path) if page.form is None else client.post(path, page.form)
        status, queries = response.status_code, len(ctx.captured_queries)
    return status, queries


def lua_for(port: int, cookie: str, page: Page, csrf: tuple[str, str]) -> str:
    headers = {"X-Forwarded-Proto": "https", "Cookie": f"sessionid={cookie}"}
    body = "nil"
    method = '"GET"'
    if page.form is not None:
        headers["Cookie"] += f"; csrftoken={csrf[0]}"
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Referer"] = f"https://127.0.0.1:{port}{page.path}"
        form = urllib.parse.urlencode({**page.form, "csrfmiddlewaretoken": csrf[1]})
        body = lua_string(form)
        method = '"POST"'
    listed = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
    return LUA % (listed, body, method)


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check(port: int, cookie: str, page: Page, path: str, csrf: tuple[str, str]) -> int:
    """The page answers 200 itself over HTTP (not a redirect); its size in bytes."""
    import urllib.request

    from benchmarks.dashboard import _NoRedirect

    headers = {"Cookie": f"sessionid={cookie}", "X-Forwarded-Proto": "https"}
    data = None
    if page.form is not None:
        headers["Cookie"] += f"; csrftoken={csrf[0]}"
        headers["Referer"] = f"https://127.0.0.1:{port}{page.path}"
        data = urllib.parse.urlencode({**page.form, "csrfmiddlewaretoken": csrf[1]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    with urllib.request.build_opener(_NoRedirect).open(request, timeout=120) as response:
        body = response.read()
        assert response.status == 200, (path, response.status)
        return len(body)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="jz_pages_100k")
    ap.add_argument("--var", default=str(Path(tempfile.gettempdir()) / "jz-bench-pages"))
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--scale", type=float, default=3.9)
    ap.add_argument("--small", action="store_true", help="3-second runs, one each")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--port", type=int, default=8795)
    ap.add_argument("--only", default="", help="only pages whose label contains this")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    duration, runs = (3, 1) if args.small else (args.duration, args.runs)
    Path(args.var).mkdir(parents=True, exist_ok=True)
    if args.prepare:
        prepare(args.db, args.var, args.scale)
    setup_django(args.db, args.var)
    from jingzhun.access.models import User
    from jingzhun.registry import choices as c
    from jingzhun.registry.models import Household

    registered = Household.objects.filter(poverty_status__in=c.REGISTERED_STATUSES).count()
    ordinary = Household.objects.filter(poverty_status=c.NOT_REGISTERED).count()
    helper_cookies = helpers_with_visits()
    helper = User.objects.get(username="bench-home-00")
    # the audit viewer's role (审计管理员) is not among the demo's accounts
    User.objects.get_or_create(username="auditadmin", defaults={"role": "auditadmin"})
    cookies = {
        r: session_cookie(r) for r in ("county", "township", "village", "auditor", "auditadmin")
    }
    cookies["helper"] = helper_cookies[0]
    ids = data_ids(helper)
    csrf = csrf_pair()
    chosen = [p for p in PAGES if args.only in p.label or args.only in p.path]
    counts: dict[tuple[str, str], int] = {}
    for page in chosen:
        for role in page.roles:
            status, n = count_queries(cookies[role], page, fill(page.path, ids), csrf)
            assert status == 200, (page.label, role, status)
            counts[(page.label, role)] = n
    script = Path(args.var) / "page.lua"
    loads = [loadavg()]
    rows = []
    proc = start_server(args.db, args.var, args.port, args.workers)
    try:
        for page in chosen:
            path = fill(page.path, ids)
            for role in page.roles:
                size = check(args.port, cookies[role], page, path, csrf)
                script.write_text(lua_for(args.port, cookies[role], page, csrf))

                def measured(
                    connections: int, seconds: int, role: str = role, page: Page = page
                ) -> dict[str, float]:
                    cookie = cookies[role]
                    here = fill(page.path, ids)
                    out = wrk(args.port, cookie, here, connections, seconds, str(script))
                    # wrk leaves requests queued in gunicorn: wait until they are answered
                    check(args.port, cookie, page, here, csrf)
                    return out

                measured(args.connections, 2)  # warm-up
                one = [measured(1, duration) for _ in range(runs)]
                many = [measured(args.connections, duration) for _ in range(runs)]
                row = (page, role, size, one, many, loadavg())
                rows.append(row)
                print(summary_line(row, counts), file=sys.stderr, flush=True)
        peak = worker_peak_mib(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    loads.append(loadavg())
    body = report(args, rows, counts, registered, ordinary, duration, runs, loads, peak)
    print(body)
    if not args.no_append:
        append_section("B12 pages (every main page and role at county scale)", body)


def med(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def summary_line(row: Any, counts: dict[tuple[str, str], int]) -> str:
    page, role, size, one, many, load = row
    return (
        f"{page.label} [{role}] {counts[(page.label, role)]} queries, {size:,} B; "
        f"1 user p95 {med(one, 'p95'):.1f} ms; 20 users p50 {med(many, 'p50'):.1f} "
        f"p95 {med(many, 'p95'):.1f} p99 {med(many, 'p99'):.1f} ms, "
        f"{med(many, 'rps'):.1f}/s; load {load}"
    )


def report(
    args: Any,
    rows: list[Any],
    counts: dict[tuple[str, str], int],
    registered: int,
    ordinary: int,
    duration: int,
    runs: int,
    loads: list[str],
    peak: float,
) -> str:
    info = machine()
    missed = [
        f"{page.label} [{role}]"
        for page, role, _size, _one, many, _load in rows
        if med(many, "p95") > P95_TARGET_MS or counts[(page.label, role)] > QUERY_TARGET
    ]
    lines = [
        f"### {info['date']}, commit {info['commit']}{' (--small)' if args.small else ''}: "
        f"{registered:,} registered + {ordinary:,} ordinary households",
        "",
        f"Machine: {info['nproc']} cores, {info['memory']}; Python {info['python']}; "
        f"{info['versions']}; gunicorn {args.workers} sync workers, production settings; wrk "
        f"1 and {args.connections} connections, {duration} s a run, median of {runs} run(s) after "
        f"a 2 s warm-up. Demo county Baiquan at scale {args.scale}. Load average (1, 5, 15 min; "
        f"the machine is shared) at the start and end: {loads[0]} / {loads[-1]}; after each "
        "page in the last column. Queries: one warm request in process (the second of two). "
        f"Peak RSS of a gunicorn worker: {peak:.0f} MiB. Command: `uv run python "
        f"benchmarks/pages.py {' '.join(sys.argv[1:])}`.",
        "",
        "| page | role | queries | bytes | 1 user p50 / p95 / p99 ms | 20 users p50 / p95 / "
        "p99 ms | 20 users req/s | errors | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for page, role, size, one, many, load in rows:
        lines.append(
            f"| {page.label} | {role} | {counts[(page.label, role)]} | {size:,} "
            f"| {med(one, 'p50'):.1f} / {med(one, 'p95'):.1f} / {med(one, 'p99'):.1f} "
            f"| {med(many, 'p50'):.1f} / {med(many, 'p95'):.1f} / {med(many, 'p99'):.1f} "
            f"| {med(many, 'rps'):.1f} | {int(sum(r['errors'] for r in one + many))} "
            f"| {load.split()[0]} |"
        )
    worst = max(rows, key=lambda r: med(r[4], "p95"))
    lines += [
        "",
        f"Worst p95 at {args.connections} users: {worst[0].label} [{worst[1]}] "
        f"{med(worst[4], 'p95'):.1f} ms; most queries: "
        f"{max(counts.values())}. Target p95 <= {P95_TARGET_MS:.0f} ms and <= {QUERY_TARGET} "
        f"queries: {'met by every page' if not missed else 'missed by ' + ', '.join(missed)}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
