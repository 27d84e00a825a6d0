"""B5 indicators_rollup: `do_refresh_indicators` (DuckDB, every indicator, every level and year)
against the same indicators computed through the ORM.

    uv run python benchmarks/indicators.py --db jz_map_10m [--db jz_map_100k] --orm-db jz_map_100k
        [--runs 3] [--orm-runs 1] [--no-append]

Each refresh run is a child process (its peak RSS is its own) on an already prepared PostgreSQL
database: `jingzhun demo --scale 3.9` (about 100,000 households) or benchmarks/assess.py's
prepare (`child_prepare(url, var, 2_900_000)`: two synthetic counties, about 10 million persons).
The ORM path (analytics.orm.compute_county: one aggregate query per indicator and year, grouped
by village, summed upwards) runs on --orm-db, every county, and its rate in households per second
is extrapolated to the larger databases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import PG_ADMIN_URL, append_section, machine, run_child  # noqa: E402


def _setup(db: str) -> None:
    os.environ["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"
    os.environ.setdefault("JINGZHUN_VAR_DIR", f"/tmp/jz-bench-indicators-{db}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    import django

    django.setup()


def child_refresh(db: str, counties: list[str] | None = None) -> dict[str, Any]:
    _setup(db)
    from jingzhun.analytics import actions
    from jingzhun.analytics.actions import do_refresh_indicators

    if os.environ.get("JZ_BENCH_NO_AUDIT") == "1":
        # a database shared with another benchmark: write only the analytics tables (the one
        # audit event of the refresh is left out; everything else runs as in production)
        actions.record = lambda *args, **kwargs: None  # type: ignore[assignment]
    from jingzhun.registry.models import Household, Member

    load = Path("/proc/loadavg").read_text().split()[0]
    t = time.perf_counter()
    result = do_refresh_indicators(counties or None, actor=None)
    seconds = time.perf_counter() - t
    members = Member.objects.all()
    if counties:
        members = members.filter(
            household__in=Household.objects.filter(county_code__in=counties).values("pk")
        )
    return {
        "seconds": seconds,
        "phases": result.seconds,
        "households": result.households,
        "persons": members.count(),
        "rows": result.rows,
        "years": [result.years[0], result.years[-1]],
        "load": [load, Path("/proc/loadavg").read_text().split()[0]],
    }


def child_orm(db: str) -> dict[str, Any]:
    _setup(db)
    from jingzhun.analytics.indicators import load_indicators
    from jingzhun.analytics.models import RegionFigures
    from jingzhun.analytics.orm import compute_county
    from jingzhun.regions.models import Region
    from jingzhun.registry.models import Household

    defs = [d for d in load_indicators() if d.grain != "criterion"]
    years = sorted(RegionFigures.objects.values_list("year", flat=True).distinct())
    t = time.perf_counter()
    figures = 0
    for county in Region.objects.filter(level="county").values_list("code", flat=True):
        figures += len(compute_county(county, defs, years, years[-1]))
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "figures": figures, "households": Household.objects.count()}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, db = sys.argv[2], sys.argv[3]
        out = child_refresh(db, sys.argv[4:]) if kind == "refresh" else child_orm(db)
        print(json.dumps(out))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", action="append", required=True)
    ap.add_argument("--orm-db", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--orm-runs", type=int, default=1)
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument(
        "--orm-measured",
        default="",
        help="SECONDS:HOUSEHOLDS:FIGURES of an earlier ORM run on --orm-db (skips the ORM run)",
    )
    ap.add_argument("--county", action="append", default=[], help="refresh only these counties")
    ap.add_argument(
        "--no-audit",
        action="store_true",
        help="do not write the refresh's audit event (a database that is not this benchmark's)",
    )
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    if args.no_audit:
        os.environ["JZ_BENCH_NO_AUDIT"] = "1"
    script = str(Path(__file__).resolve())
    if args.orm_measured:
        seconds, households, figures = args.orm_measured.split(":")
        orm_s, orm_h, orm_figures = float(seconds), int(households), int(figures)
        orm_note = " (measured in an earlier run of this script on the same data, not repeated)"
    else:
        orm = [run_child([script, "--child", "orm", args.orm_db]) for _ in range(args.orm_runs)]
        orm_s = statistics.median(r.result["seconds"] for r in orm)
        orm_h, orm_figures = orm[0].result["households"], orm[0].result["figures"]
        orm_note = ""
        print("orm", orm[0].result, file=sys.stderr, flush=True)
    orm_rate = orm_h / orm_s
    rows = []
    for db in args.db:
        if not args.no_warmup:
            run_child([script, "--child", "refresh", db, *args.county])
        runs = [
            run_child([script, "--child", "refresh", db, *args.county]) for _ in range(args.runs)
        ]
        for r in runs:
            print(db, r.result, f"{r.peak_rss_mib:.0f} MiB", file=sys.stderr, flush=True)
        med = statistics.median(r.result["seconds"] for r in runs)
        first = runs[0].result
        phases = {
            k: statistics.median(r.result["phases"][k] for r in runs) for k in first["phases"]
        }
        orm_estimate = first["households"] / orm_rate
        rows.append(
            f"| {first['households']:,} households, {first['persons']:,} persons | {med:.1f} | "
            + ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
            + f" | {first['rows']:,} | {max(r.peak_rss_mib for r in runs):.0f} | "
            f"{orm_estimate:.0f}{' (measured)' if db == args.orm_db else ' (extrapolated)'} | "
            f"{orm_estimate / med:.0f}x | {' '.join('/'.join(r.result['load']) for r in runs)} |"
        )
    info = machine()
    body = "\n".join(
        [
            f"### {info['date']}, commit {info['commit']}",
            "",
            f"Machine: {info['nproc']} cores, {info['memory']}; Python {info['python']}; "
            f"{info['versions']}. PostgreSQL databases; "
            f"{'counties ' + ', '.join(args.county) if args.county else 'every county'}, years "
            f"{first['years'][0]}-{first['years'][1]}, {len(rows)} size(s). Refresh = "
            f"`do_refresh_indicators` end to end (read through the attached PostgreSQL scanner, "
            f"year-end statuses, {first['rows']:,} figures, store by COPY in one transaction), "
            f"median of {args.runs} run(s){'' if args.no_warmup else ' after a warm-up'}, each in "
            "its own process. ORM = analytics.orm.compute_county over every county of "
            f"{args.orm_db} ({orm_h:,} households, {orm_figures:,} figures): "
            f"{orm_s:.1f} s{orm_note}, i.e. {orm_rate:,.0f} households/s, extrapolated linearly to the larger "
            "database. Load: the 1-minute load average before/after each measured run (the "
            "refresh's own work included).",
            "",
            "| data | refresh s | phases s | figures | peak RSS MiB | ORM s | ratio | load |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(body)
    if not args.no_append:
        append_section("B5 indicators_rollup (battle map refresh)", body)


if __name__ == "__main__":
    main()
