"""B8 web_dashboard: the county battle map served by gunicorn on PostgreSQL, under load (wrk).

    uv run python benchmarks/dashboard.py [--db jz_map_100k] [--prepare] [--scale 3.9]
        [--connections 20] [--duration 20] [--runs 3] [--workers 2] [--no-append]

Data: the demo county Baiquan (230231) at --scale (3.9 gives about 100,000 registered
households), generated with `jingzhun demo` into PostgreSQL database --db when --prepare is given
(which also draws the demo boundaries and computes the indicators). The app runs as the deployment
notes (docs/user/README.md section 10) recommend: gunicorn, sync workers, one per core (--workers,
2 here), the production settings (each worker keeps its database connection, ADR 0038), plain
HTTP on 127.0.0.1 with `X-Forwarded-Proto: https` as a TLS proxy would send, signed in as the
county user (session created with force_login). wrk sends GET /dashboard/ from --connections
concurrent connections for --duration seconds: a warm-up, then --runs measured runs; latency
percentiles come from wrk's own histogram (a Lua `done` hook).

Comparators, in the same run:
1. the overview page `/` under the same load: it aggregates the registry per request (SQL over
   the status history, registry_stats and region_breakdown);
2. computing the dashboard's figures per request through the ORM (analytics.orm.compute_county,
   every indicator of the county at every level and year, which the page shows from stored
   rows): timed in process, median of --orm-runs after a warm-up (one run, no warm-up, for 1).
Peak RSS is the largest VmHWM among gunicorn's workers.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import PG_ADMIN_URL, append_section, machine  # noqa: E402

COUNTY = "230231000000"
SECRET = "bench-dashboard-not-a-real-secret-0123456789abcdef"
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("JZ p50=%d p95=%d p99=%d max=%d requests=%d errors=%d duration=%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.duration))
end
"""


def db_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def env_for(db: str, var: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url(db),
        "JINGZHUN_VAR_DIR": var,
        "JINGZHUN_SECRET_KEY": SECRET,
        "JINGZHUN_SSL_REDIRECT": "0",
        # the demo's key files (field encryption, PII-2)
        "JINGZHUN_FIELD_KEY_FILE": str(Path(var) / "field_keys"),
        "JINGZHUN_INDEX_KEY_FILE": str(Path(var) / "index_key"),
        "DJANGO_SETTINGS_MODULE": "jingzhun.settings.production",
    }


def prepare(db: str, var: str, scale: float) -> None:
    import psycopg

    ensure_keys(Path(var))

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    env = {**env_for(db, var), "DJANGO_SETTINGS_MODULE": "jingzhun.settings.embedded"}
    subprocess.run(
        ["jingzhun", "demo", "--scale", str(scale), "--no-serve", "--no-progress",
         "--password", "Bench-pass-2026"],
        env=env, check=True,
    )  # fmt: skip
    # The state autovacuum reaches some minutes after a bulk load: planner statistics and the
    # visibility map (index-only scans: a county's group counts, the name search's member
    # index; issue 26). Measured on a freshly generated database, the name search read
    # 9,025 heap blocks through the trigram index instead (82 ms against 31 ms of SQL).
    with psycopg.connect(db_url(db), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def ensure_keys(var: Path) -> None:
    """The field-encryption key files the production settings read (PII-2): created once for a
    benchmark directory (the embedded settings would create them, the production ones refuse)."""
    import os
    import secrets

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from jingzhun.core.fieldkeys import new_field_key_line

    for name, text in (
        ("field_keys", new_field_key_line(1) + "\n"),
        ("index_key", secrets.token_hex(32) + "\n"),
    ):
        path = var / name
        if not path.exists():
            path.write_text(text)
            os.chmod(path, 0o600)


def setup_django(db: str, var: str) -> None:
    os.environ.update(env_for(db, var))
    import django

    django.setup()


def session_cookie(username: str = "county") -> str:
    """A signed-in session of `username` (second factor passed), as its session key."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from jingzhun.access.models import User

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    # county staff pass a second factor (AUTH-3): mark the session as verified with a device
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="benchmark", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client.cookies["sessionid"].value


def start_server(db: str, var: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["gunicorn", "jingzhun.wsgi:application", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        env=env_for(db, var), cwd=ROOT,
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def worker_peak_mib(proc: subprocess.Popen[bytes]) -> float:
    peak = 0
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True
    )
    for pid in [proc.pid, *map(int, out.stdout.split())]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def check_page(port: int, cookie: str, path: str) -> int:
    """GET path as the signed-in user: must answer 200 itself (a redirect to the second factor
    or the login page would measure the wrong page)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"Cookie": f"sessionid={cookie}", "X-Forwarded-Proto": "https"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(request, timeout=60) as response:
        body = response.read()
        assert response.status == 200, response.status
        return len(body)


def wrk(
    port: int, cookie: str, path: str, connections: int, duration: int, script: str
) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
         "-s", script, "-H", f"Cookie: sessionid={cookie}", "-H", "X-Forwarded-Proto: https",
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("JZ "))
    values = {k: float(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    return {
        "p50": values["p50"] / 1000,
        "p95": values["p95"] / 1000,
        "p99": values["p99"] / 1000,
        "max": values["max"] / 1000,
        "rps": values["requests"] / (values["duration"] / 1e6),
        "requests": values["requests"],
        "errors": values["errors"],
    }


def orm_live(runs: int) -> tuple[float, int]:
    from jingzhun.analytics.indicators import load_indicators
    from jingzhun.analytics.models import RegionFigures
    from jingzhun.analytics.orm import compute_county

    years = sorted(RegionFigures.objects.filter(region_code=COUNTY).values_list("year", flat=True))
    defs = [d for d in load_indicators() if d.grain != "criterion"]
    times = []
    n = 0
    for i in range(runs + 1 if runs > 1 else 1):
        t = time.perf_counter()
        n = len(compute_county(COUNTY, defs, years, years[-1]))
        if i or runs == 1:  # the first is the warm-up (none for a single run)
            times.append(time.perf_counter() - t)
    return statistics.median(times), n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="jz_map_100k")
    ap.add_argument("--var", default=str(Path(tempfile.gettempdir()) / "jz-bench-dashboard"))
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--scale", type=float, default=3.9)
    ap.add_argument("--port", type=int, default=8791)
    ap.add_argument("--connections", type=int, default=20)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--orm-runs", type=int, default=3)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    if args.prepare:
        prepare(args.db, args.var, args.scale)
    setup_django(args.db, args.var)
    from jingzhun.access.models import User
    from jingzhun.registry.selectors import latest_status_year, registry_stats

    year = latest_status_year(User.objects.get(username="county")) or 2020
    stats = registry_stats(COUNTY, year)
    cookie = session_cookie()
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(LUA)
    proc = start_server(args.db, args.var, args.port, args.workers)
    results: dict[str, list[dict[str, float]]] = {"/dashboard/": [], "/": []}
    loads = [Path("/proc/loadavg").read_text().split()[0]]
    sizes = {}
    try:
        for path in results:
            sizes[path] = check_page(args.port, cookie, path)
        wrk(args.port, cookie, "/dashboard/", args.connections, 5, str(script))  # warm-up
        single = wrk(args.port, cookie, "/dashboard/", 1, 10, str(script))
        for path in results:
            for _ in range(args.runs):
                results[path].append(
                    wrk(args.port, cookie, path, args.connections, args.duration, str(script))
                )
                loads.append(Path("/proc/loadavg").read_text().split()[0])
                print(path, results[path][-1], loads[-1], file=sys.stderr, flush=True)
                check_page(args.port, cookie, "/dashboard/")  # waits until the queue has drained
        peak = worker_peak_mib(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        script.unlink(missing_ok=True)
    orm_seconds, orm_rows = orm_live(args.orm_runs)

    def med(path: str, key: str) -> float:
        return statistics.median(r[key] for r in results[path])

    info = machine()
    dash_p50 = med("/dashboard/", "p50")
    lines = [
        f"### {info['date']}, commit {info['commit']}: {stats.registered_households:,} registered households",
        "",
        f"Machine: {info['nproc']} cores, {info['memory']}; Python {info['python']}; {info['versions']}; "
        f"gunicorn {args.workers} sync workers, production settings; wrk {args.connections} connections, "
        f"2 threads, {args.duration} s a run, median of {args.runs} runs after a 5 s warm-up. "
        f"County Baiquan demo at scale {args.scale} ({stats.registered_persons:,} registered persons, "
        f"year {year}); signed in as the county user (second factor passed). Load average (1 min) "
        f"before and after each run: {', '.join(loads)} (wrk and gunicorn's own load included).",
        "",
        "| page | p50 ms | p95 ms | p99 ms | requests/s | errors | bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for path, label in (("/dashboard/", "battle map `/dashboard/` (stored figures)"),
                        ("/", "overview `/` (aggregates per request, SQL)")):  # fmt: skip
        lines.append(
            f"| {label} | {med(path, 'p50'):.1f} | {med(path, 'p95'):.1f} | {med(path, 'p99'):.1f} "
            f"| {med(path, 'rps'):.1f} | {int(sum(r['errors'] for r in results[path]))} | {sizes[path]:,} |"
        )
    lines += [
        f"| battle map, 1 connection, 10 s | {single['p50']:.1f} | {single['p95']:.1f} | {single['p99']:.1f} "
        f"| {single['rps']:.1f} | {int(single['errors'])} | |",
        "",
        f"Figures per request through the ORM (analytics.orm.compute_county, {orm_rows:,} figures of the "
        f"county at every level and year, in process, "
        f"{'one run' if args.orm_runs == 1 else f'median of {args.orm_runs} after a warm-up'}): "
        f"{orm_seconds:.2f} s, {orm_seconds * 1000 / max(single['p50'], 0.001):.0f}x the battle map's single-connection "
        f"median and {orm_seconds * 1000 / max(dash_p50, 0.001):.0f}x its median under load. Peak RSS of a gunicorn "
        f"worker: {peak:.0f} MiB.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_append:
        append_section("B8 web_dashboard (battle map)", body)


if __name__ == "__main__":
    main()
