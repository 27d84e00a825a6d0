"""B4 assess: the household exit standard over a whole registry, bulk path against the naive one.

    uv run python benchmarks/assess.py [--small] [--households N] [--runs 3]
        [--backends sqlite,postgresql] [--naive-households 2000] [--prepare] [--no-append]
        [--pg-db NAME] [--sqlite-path PATH]

Data: the demo generator's Jinping county (522628, Guizhou: 3.3 persons per household, the
nearest of the five counties to the issue's 3.5), scaled to N households, year 2019; above about
2 million households, several synthetic counties with Jinping's spec (one county's ID numbers
run out beyond that). `--prepare`
generates it into PostgreSQL database `--pg-db` and SQLite file `--sqlite-path` when they do not
already hold a registry of that size (generation is not timed here; B0 measures it).

Each measured run is a child process (its own peak RSS) running `do_assess_bulk` (read the
registry into DuckDB, write the Parquet input snapshot, evaluate, store with COPY / executemany,
per-village counts, audit); the assessment tables are emptied between runs (not timed) so every
run stores every household. The naive path, in the same invocation: households loaded through the
ORM (prefetching members and the year's income) and judged one by one by the per-household
evaluator, assessments stored with bulk_create (the project's per-household action), on a sample of
`--naive-households`, its rate extrapolated to N.
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

from benchmarks.common import PG_ADMIN_URL, append_section, machine, median, run_child  # noqa: E402

COUNTY = "522628"
COUNTY_HOUSEHOLDS = 19060  # Jinping's registered households at scale 1
YEAR = 2019
SEED = 1
PASSWORD = "Bench-pass-2026"


def pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


# ---------------------------------------------------------------- child side
def _setup(db_url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["JINGZHUN_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    import django

    django.setup()


def child_count(db_url: str, var_dir: str) -> dict[str, Any]:
    _setup(db_url, var_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from jingzhun.registry.models import Household, Member

    return {"households": Household.objects.count(), "persons": Member.objects.count()}


# A county's ID numbers share its 6-digit address code, which holds about 36 million (birth
# date, sex, sequence) combinations: beyond about 2 million households per county the generator
# runs out of codes. Larger registries are several synthetic counties, each Jinping's spec under
# another Qiandongnan county code (seed varied per county).
PER_COUNTY = 2_100_000
CLONE_CODES = ["522601", "522622", "522623", "522624", "522625", "522626", "522627", "522629"]


def child_prepare(db_url: str, var_dir: str, households: int) -> dict[str, Any]:
    _setup(db_url, var_dir)
    import dataclasses
    import math

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from jingzhun.demo import counties
    from jingzhun.demo.actions import DemoSpec, do_generate_demo_county

    started = time.perf_counter()
    parts = max(1, math.ceil(households / PER_COUNTY))
    codes = [COUNTY] if parts == 1 else CLONE_CODES[:parts]
    total = 0
    for i, code in enumerate(codes):
        if code not in counties.COUNTIES:
            counties.COUNTIES[code] = dataclasses.replace(
                counties.COUNTIES[COUNTY], code=code, name=f"合成县{i + 1}（按锦屏县放大）"
            )
        spec = DemoSpec(
            county=code,
            scale=households / parts / COUNTY_HOUSEHOLDS,
            seed=SEED + i,
            password=PASSWORD,
        )
        total += do_generate_demo_county(spec).households
        print(f"  county {code}: {total:,} households so far", file=sys.stderr, flush=True)
    return {"seconds": time.perf_counter() - started, "households": total}


def child_copy(db_url: str, var_dir: str, source_url: str) -> dict[str, Any]:
    """A SQLite registry with the same rows as a PostgreSQL one (tables copied by DuckDB): the
    generator needs about an hour for 34 million persons on SQLite, the copy a few minutes."""
    _setup(db_url, var_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    from jingzhun.core import duck
    from jingzhun.regions.models import Region
    from jingzhun.registry.models import Household, IncomeRecord, Member

    connection.close()
    started = time.perf_counter()
    con = duck.connect()
    duck.load_scanner(con, "postgresql")
    duck.load_scanner(con, "sqlite")
    name = source_url.rsplit("/", 1)[1]
    con.execute(
        f"ATTACH 'dbname={name} host=127.0.0.1 user=postgres' AS pg (TYPE postgres, READ_ONLY)"
    )
    path = db_url.removeprefix("sqlite:///")
    con.execute(f"ATTACH '{path}' AS sq (TYPE sqlite)")
    rows = {}
    for model in (Region, Household, Member, IncomeRecord):
        table = model._meta.db_table
        cols = ", ".join(f'"{f.column}"' for f in model._meta.concrete_fields)
        con.execute(f'INSERT INTO sq."{table}" ({cols}) SELECT {cols} FROM pg."{table}"')
        rows[table] = con.execute(f'SELECT count(*) FROM sq."{table}"').fetchone()[0]
        print(f"  copied {table}: {rows[table]:,}", file=sys.stderr, flush=True)
    con.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def child_reset(db_url: str, var_dir: str) -> dict[str, Any]:
    """Empty the assessment tables (between runs; not timed)."""
    _setup(db_url, var_dir)
    from django.db import connection

    from jingzhun.assessments.models import (
        Assessment,
        AssessmentRun,
        AssessmentSummary,
        PolicyVersion,
    )

    tables = [m._meta.db_table for m in (Assessment, AssessmentSummary, AssessmentRun)]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"TRUNCATE {', '.join(tables)}, {PolicyVersion._meta.db_table}")
        else:
            for t in [*tables, PolicyVersion._meta.db_table]:
                cur.execute(f'DELETE FROM "{t}"')
    return {}


def child_bulk(db_url: str, var_dir: str) -> dict[str, Any]:
    _setup(db_url, var_dir)
    from jingzhun.assessments.bulk import do_assess_bulk

    started = time.perf_counter()
    result = do_assess_bulk("household_exit", YEAR, actor=None, memory_limit="6GB")
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "households": result.households,
        "created": result.created,
        "passed": result.passed,
        "phases": result.seconds,
    }


def child_naive(db_url: str, var_dir: str, sample: int) -> dict[str, Any]:
    _setup(db_url, var_dir)
    from jingzhun.assessments.actions import do_assess_households
    from jingzhun.registry.models import Household

    last = Household.objects.order_by("pk").values_list("pk", flat=True)[sample - 1]
    qs = Household.objects.filter(pk__lte=last)
    started = time.perf_counter()
    result = do_assess_households(qs, "household_exit", YEAR, actor=None)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "households": result.households, "passed": result.passed}


# ---------------------------------------------------------------- parent side
def _child(kind: str, db: str, var: str, *extra: str) -> Any:
    return run_child([__file__, "--child", kind, "--db", db, "--var", var, *extra])


def prepare(db: str, var: str, households: int) -> dict[str, int]:
    have = _child("count", db, var).result
    if abs(have["households"] - households) > households * 0.05:
        if have["households"]:
            raise SystemExit(
                f"{db} holds {have['households']:,} households, not about {households:,}:"
                " use an empty database"
            )
        print(f"  generating {households:,} households into {db} …", flush=True)
        done = _child("prepare", db, var, "--households", str(households)).result
        print(f"  generated in {done['seconds']:.0f} s", flush=True)
        have = _child("count", db, var).result
    return have


def measure(db: str, var: str, runs: int, naive_sample: int) -> dict[str, Any]:
    _child("reset", db, var)
    _child("bulk", db, var)  # warm-up (and first use of the DuckDB extensions)
    results = []
    for i in range(runs):
        _child("reset", db, var)
        child = _child("bulk", db, var)
        r = child.result
        r["rss"] = child.peak_rss_mib
        results.append(r)
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phases"].items())
        print(
            f"    bulk run {i + 1}: {r['households']:,} households in {r['seconds']:.1f} s"
            f" ({phases}), peak RSS {r['rss']:,.0f} MiB",
            flush=True,
        )
    naive = []
    for i in range(runs):
        _child("reset", db, var)
        child = _child("naive", db, var, "--households", str(naive_sample))
        n = child.result
        n["rss"] = child.peak_rss_mib
        naive.append(n)
        print(
            f"    naive run {i + 1}: {n['households']:,} households in {n['seconds']:.1f} s"
            f" = {n['households'] / n['seconds']:,.0f}/s",
            flush=True,
        )
    _child("reset", db, var)
    households = results[0]["households"]
    phase_names = list(results[0]["phases"])
    out = {
        "households": households,
        "seconds": median([r["seconds"] for r in results]),
        "phases": {k: median([r["phases"][k] for r in results]) for k in phase_names},
        "rss": max(r["rss"] for r in results),
        "passed": results[0]["passed"],
        "naive_rate": median([n["households"] / n["seconds"] for n in naive]),
        "naive_sample": naive[0]["households"],
        "naive_rss": max(n["rss"] for n in naive),
    }
    out["naive_seconds"] = households / out["naive_rate"]
    out["ratio"] = out["naive_seconds"] / out["seconds"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="20,000 households (a quick check)")
    parser.add_argument("--households", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-households", type=int, default=2_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument(
        "--prepare-only", action="store_true", help="generate the data, measure nothing"
    )
    parser.add_argument("--pg-db", default=None)
    parser.add_argument("--sqlite-path", default=None)
    parser.add_argument("--var", default=None, help="data directory (snapshots, DuckDB spill)")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument(
        "--child",
        choices=["count", "prepare", "copy", "reset", "bulk", "naive"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--sqlite-from-pg",
        action="store_true",
        help="fill the SQLite registry by copying the PostgreSQL one (DuckDB) instead of generating",
    )
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        fn: Any = {
            "count": child_count,
            "prepare": child_prepare,
            "copy": child_copy,
            "reset": child_reset,
            "bulk": child_bulk,
            "naive": child_naive,
        }[args.child]
        extra: list[Any] = [args.households] if args.child in ("prepare", "naive") else []
        if args.child == "copy":
            extra = [args.source]
        print(json.dumps(fn(args.db, args.var, *extra)))
        return

    households = args.households or (20_000 if args.small else 1_000_000)
    tag = f"{households // 1000}k" if households < 1_000_000 else f"{households // 1_000_000}m"
    var = args.var or str(ROOT / "var" / f"bench_assess_{tag}")
    Path(var).mkdir(parents=True, exist_ok=True)
    facts = machine()
    print(f"B4 assess: {households:,} households; {facts}", flush=True)
    lines = []
    for backend in [b for b in args.backends.split(",") if b]:
        if backend == "postgresql":
            db = pg_url(args.pg_db or f"jz_assess_{tag}")
            if args.prepare or args.prepare_only:
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                    name = db.rsplit("/", 1)[1]
                    if not conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", [name]
                    ).fetchone():
                        conn.execute(f'CREATE DATABASE "{name}"')
        else:
            db = f"sqlite:///{args.sqlite_path or Path(var) / 'registry.sqlite3'}"
            if args.sqlite_from_pg and not Path(db.removeprefix("sqlite:///")).exists():
                source = pg_url(args.pg_db or f"jz_assess_{tag}")
                done = _child("copy", db, var, "--source", source).result
                print(f"  copied from {source} in {done['seconds']:.0f} s: {done['rows']}")
        prep = (args.prepare or args.prepare_only) and not (
            backend == "sqlite" and args.sqlite_from_pg
        )
        have = prepare(db, var, households) if prep else _child("count", db, var).result
        print(f"  {backend}: {have['households']:,} households, {have['persons']:,} persons")
        if args.prepare_only:
            continue
        m = measure(db, var, args.runs, args.naive_households)
        m["persons"] = have["persons"]
        print(
            f"  {backend}: bulk {m['seconds']:.1f} s (evaluate {m['phases']['evaluate']:.2f} s);"
            f" naive {m['naive_rate']:,.0f} households/s → {m['naive_seconds']:,.0f} s; {m['ratio']:.0f}x",
            flush=True,
        )
        p = m["phases"]
        lines.append(
            f"| {backend} | {m['households']:,} ({m['persons']:,} persons) | {p['read']:.1f}"
            f" | {p.get('snapshot', 0):.1f} | {p['evaluate']:.2f} | {p['store']:.1f}"
            f" | **{m['seconds']:.1f}** | {m['rss']:,.0f} | {m['naive_rate']:,.0f}/s"
            f" (sample {m['naive_sample']:,}) → {m['naive_seconds']:,.0f} | {m['ratio']:,.0f}x |"
        )
    if args.no_append or args.prepare_only:
        return
    body = [
        f"### {facts['date']}, commit {facts['commit']}: {households:,} households",
        "",
        f"Machine: {facts['nproc']} cores, {facts['memory']}; Python {facts['python']}; {facts['versions']}.",
        f"Workload: demo county Jinping (522628), seed {SEED}, scaled to about {households:,}"
        f" households; household exit standard, year {YEAR}. Bulk = `do_assess_bulk` end to end in its"
        f" own process (read into DuckDB, Parquet input snapshot, evaluate, store, counts, audit);"
        f" median of {args.runs} runs after a warm-up, assessment tables emptied before each run."
        f" Naive = ORM load + per-household evaluator + bulk_create, {args.runs} runs on a"
        f" {args.naive_households:,}-household sample, extrapolated. Seconds per phase are medians.",
        "",
        "| database | households | read s | snapshot s | evaluate s | store s | end to end s"
        " | peak RSS MiB | naive (extrapolated s) | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *lines,
    ]
    append_section("B4 assess (household exit standard, bulk)", "\n".join(body))


if __name__ == "__main__":
    main()
