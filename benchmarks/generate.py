"""B0 generate: the demo generator storing N persons, against per-row ORM saves.

    uv run python benchmarks/generate.py [--small] [--persons N] [--runs 3] [--big]
        [--backends sqlite,postgresql] [--naive-persons 5000] [--no-append]

Each measured run is a child process on a fresh database (SQLite: a new file; PostgreSQL: database
jz_bench_generate, dropped and created), so its peak RSS is the generator's own. The timed part is
`do_generate_demo_county` (generation, load, index rebuild, accounts, audit) after `migrate`.
The naive path generates the same rows with the same generator and saves each household, member,
status change and income record with `Model(...).save()` in one transaction; it runs on a sample
(`--naive-persons`, default 5,000) and its rate is extrapolated. `--big` adds one run at 10 million
persons per backend. Results are appended to docs/benchmarks.md unless --no-append.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    append_section,
    drop_postgres,
    fresh_postgres,
    machine,
    median,
    run_child,
)

PG_DB = "jz_bench_generate"
COUNTY = "230231"
SEED = 1
PASSWORD = "Bench-pass-2026"


# ---------------------------------------------------------------- child side
def _setup(db_url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["JINGZHUN_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _scale_for(persons: int) -> float:
    from jingzhun.demo.counties import COUNTIES
    from jingzhun.demo.plan import build_plan

    at_one = build_plan(COUNTIES[COUNTY], 1.0, SEED).persons
    return persons / at_one


def child_fast(db_url: str, persons: int, var_dir: str) -> dict[str, Any]:
    _setup(db_url, var_dir)
    from jingzhun.demo.actions import DemoSpec, do_generate_demo_county

    spec = DemoSpec(county=COUNTY, scale=_scale_for(persons), seed=SEED, password=PASSWORD)
    started = time.perf_counter()
    result = do_generate_demo_county(spec)
    seconds = time.perf_counter() - started
    rows = result.households + result.persons + result.status_changes + result.incomes
    return {
        "seconds": seconds,
        "persons": result.persons,
        "households": result.households,
        "rows": rows,
    }


def child_naive(db_url: str, persons: int, var_dir: str) -> dict[str, Any]:
    """What a Django developer would write first: one ORM object and one save() per row."""
    _setup(db_url, var_dir)
    import datetime

    from django.db import transaction

    from jingzhun.core.bulk import BulkWriter
    from jingzhun.demo.actions import DemoSpec, _write_regions, plan_for
    from jingzhun.demo.rows import CountyRows
    from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

    plan = plan_for(DemoSpec(county=COUNTY, scale=_scale_for(persons), seed=SEED))
    with transaction.atomic(), BulkWriter() as writer:
        _write_regions(plan, writer)
    utc = datetime.UTC
    json_fields = {"other_causes", "risk_types"}
    datetime_fields = {"created_at", "updated_at", "recorded_at"}

    def save_all(model: Any, columns: dict[str, list[Any]]) -> int:
        names = list(columns)
        count = 0
        for values in zip(*columns.values(), strict=True):
            kwargs = {}
            for name, value in zip(names, values, strict=True):
                if name in json_fields:
                    value = json.loads(value)
                elif name in datetime_fields and value is not None:
                    value = datetime.datetime.fromisoformat(value).replace(tzinfo=utc)
                kwargs[name] = value
            model(**kwargs).save(force_insert=True)
            count += 1
        return count

    rows = CountyRows(plan)
    started = time.perf_counter()
    stored = 0
    with transaction.atomic():
        for chunk in rows.chunks(10_000):
            stored += save_all(Household, chunk.households)
            stored += save_all(Member, chunk.members)
            stored += save_all(StatusChange, chunk.status_changes)
            stored += save_all(IncomeRecord, chunk.incomes)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "persons": plan.persons,
        "households": plan.households,
        "rows": stored,
    }


# ---------------------------------------------------------------- parent side
def one_run(kind: str, backend: str, persons: int) -> tuple[dict[str, Any], float]:
    with tempfile.TemporaryDirectory(prefix="jz_bench_") as tmp:
        if backend == "sqlite":
            db_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        else:
            db_url = fresh_postgres(PG_DB)
        try:
            child = run_child(
                [__file__, "--child", kind, "--db", db_url, "--persons", str(persons), "--var", tmp]
            )
        finally:
            if backend == "postgresql":
                drop_postgres(PG_DB)
    return child.result, child.peak_rss_mib


def measure(kind: str, backend: str, persons: int, runs: int, warmup: bool) -> dict[str, Any]:
    if warmup:
        one_run(kind, backend, min(persons, 20_000))
    results = []
    for i in range(runs):
        result, rss = one_run(kind, backend, persons)
        result["rss"] = rss
        results.append(result)
        print(
            f"  {backend:10} {kind:5} run {i + 1}: {result['persons']:,} persons in {result['seconds']:.1f} s"
            f" = {result['persons'] / result['seconds']:,.0f} persons/s, peak RSS {rss:,.0f} MiB",
            flush=True,
        )
    return {
        "persons": results[0]["persons"],
        "households": results[0]["households"],
        "rows": results[0]["rows"],
        "seconds": median([r["seconds"] for r in results]),
        "rate": median([r["persons"] / r["seconds"] for r in results]),
        "rss": max(r["rss"] for r in results),
        "runs": len(results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="100,000 persons (CI size)")
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-persons", type=int, default=5_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--big", action="store_true", help="also one run at 10 million persons")
    parser.add_argument("--big-backends", default="postgresql,sqlite")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--child", choices=["fast", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--var", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        persons = int(args.persons)
        fn = child_fast if args.child == "fast" else child_naive
        print(json.dumps(fn(args.db, persons, args.var)))
        return

    persons = args.persons or (100_000 if args.small else 1_000_000)
    facts = machine()
    print(f"B0 generate: {persons:,} persons, Baiquan seed {SEED}; {facts}", flush=True)
    lines = []
    for backend in [b for b in args.backends.split(",") if b]:
        fast = measure("fast", backend, persons, args.runs, warmup=True)
        naive = measure("naive", backend, args.naive_persons, args.runs, warmup=False)
        ratio = fast["rate"] / naive["rate"]
        print(
            f"  {backend}: {fast['rate']:,.0f} vs {naive['rate']:,.0f} persons/s = {ratio:.0f}x",
            flush=True,
        )
        lines.append(
            f"| {backend} | {fast['persons']:,} ({fast['households']:,} households, {fast['rows']:,} rows)"
            f" | {fast['seconds']:.1f} | {fast['rate']:,.0f} | {fast['rss']:,.0f}"
            f" | {naive['rate']:,.0f} (sample {naive['persons']:,} persons, {naive['rows']:,} rows)"
            f" | {ratio:.0f}x |"
        )
    big_lines = []
    if args.big:
        for backend in [b for b in args.big_backends.split(",") if b]:
            result, rss = one_run("fast", backend, 10_000_000)
            rate = result["persons"] / result["seconds"]
            print(
                f"  {backend} 10M: {result['seconds']:.0f} s, {rate:,.0f} persons/s, peak RSS {rss:,.0f} MiB",
                flush=True,
            )
            big_lines.append(
                f"| {backend} | {result['persons']:,} ({result['households']:,} households, {result['rows']:,} rows)"
                f" | {result['seconds']:.0f} | {rate:,.0f} | {rss:,.0f} |"
            )
    if args.no_append:
        return
    body = [
        f"### {facts['date']}, commit {facts['commit']}",
        "",
        f"Machine: {facts['nproc']} cores, {facts['memory']}; Python {facts['python']}; {facts['versions']}.",
        f"Workload: demo county Baiquan (230231), seed {SEED}, scaled to {persons:,} persons; each run in a"
        " fresh database and its own process. Time = `do_generate_demo_county` after `migrate`: generate,"
        " load, rebuild indexes and foreign keys, accounts, audit, commit. Median of"
        f" {args.runs} runs after a warm-up run; peak RSS is the largest of the generator process's runs."
        f" The naive path (per-row `Model.save()` of the same rows in one transaction) ran on a"
        f" {args.naive_persons:,}-person sample, {args.runs} runs, its rate extrapolated.",
        "",
        "| database | persons | median s | persons/s | peak RSS MiB | naive persons/s | ratio |",
        "|---|---|---|---|---|---|---|",
        *lines,
    ]
    if big_lines:
        body += [
            "",
            "One run at 10 million persons (target: peak RSS < 1 GiB):",
            "",
            "| database | persons | s | persons/s | peak RSS MiB |",
            "|---|---|---|---|---|",
            *big_lines,
        ]
    append_section("B0 generate", "\n".join(body))


if __name__ == "__main__":
    main()
