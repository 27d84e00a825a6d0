"""B1/B3 import: rosters of generated persons imported into an empty registry, fast path against
the naive one.

    uv run python benchmarks/import_registry.py [--small] [--persons N] [--xlsx-persons N]
        [--runs 3] [--backends postgresql,sqlite] [--naive-persons 3000] [--only csv,xlsx,xlsx_bad]
        [--var DIR] [--no-append]

Data (prepared once per size under --var, not timed): the demo generator's Baiquan county
(230231, seed 1) scaled to N persons in a SQLite file, then exported with the project's own roster
writers: `exports.roster.write_roster_csv` (unmasked, UTF-8 with BOM: the CSV roster export, same
title row, columns and formula escaping as the .xlsx roster) for the CSV runs, and
`exports.roster.write_roster` (.xlsx) for the county-sized workbook. A second workbook, the same
rows with 1% of them damaged (ID check digit, sex against the ID, unknown village, negative land
area, unknown code), is written from the CSV roster's rows with openpyxl (same title row and
header) for the error-report run.

Workloads, each in its own child process (its own peak RSS) on a fresh database that holds the
county's regions and accounts but no households (PostgreSQL: database jz_bench_import, dropped
and created; SQLite: a new file); the timed part starts with the file's bytes in hand:
  csv       N persons as CSV: `do_commit_import` as the county account (read, validate, diff,
            scope checks, COPY / executemany, change log, audit), committed.  (B3)
  xlsx      the county .xlsx, the same, committed.                                   (B1)
  xlsx_bad  the county .xlsx with 1% bad rows: `do_commit_import` refuses it (nothing written,
            refusal audited) and `imports.report.build_report` writes the .xlsx error report. (B1)
The naive path, in the same invocation, on the first `--naive-persons` persons of the same file,
extrapolated: csv.reader / openpyxl rows, per-row validation with the project's own cell
converters and ID validator, a query per row for the village and for a person already in the
registry, and ORM creates (`Household.objects.create`, `Member.objects.create`, `StatusChange`)
in one transaction: what a Django developer writes first.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.utils import timezone

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

PG_DB = os.environ.get("JZ_BENCH_IMPORT_DB", "jz_imp_bench")  # dropped and re-created per run
COUNTY = "230231"
SEED = 1
PASSWORD = "Bench-pass-2026"
BAD_SHARE = 0.01


# ---------------------------------------------------------------- child side
def _setup(db_url: str, var_dir: str, *, migrate: bool = True) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["JINGZHUN_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def _spec(persons: int) -> Any:
    from jingzhun.demo.actions import DemoSpec
    from jingzhun.demo.counties import COUNTIES
    from jingzhun.demo.plan import build_plan

    at_one = build_plan(COUNTIES[COUNTY], 1.0, SEED).persons
    return DemoSpec(county=COUNTY, scale=persons / at_one, seed=SEED, password=PASSWORD)


def child_prepare(var_dir: str, persons: int, kind: str, out: str) -> dict[str, Any]:
    """Generate the county (SQLite under var) and export its roster as `kind` to `out`."""
    source = Path(var_dir) / f"source_{persons}.sqlite3"
    _setup(f"sqlite:///{source}", var_dir)
    import datetime

    from jingzhun.demo.actions import do_generate_demo_county
    from jingzhun.exports.roster import write_roster, write_roster_csv
    from jingzhun.registry.models import Household

    if not Household.objects.exists():
        do_generate_demo_county(_spec(persons))
    started = time.perf_counter()
    writer = write_roster_csv if kind == "csv" else write_roster
    tmp = Path(out + ".tmp")
    with tmp.open("wb") as f:
        counts = writer(
            Household.objects.all(),
            f,
            masked=False,
            watermark="基准测试数据（合成），未脱敏",
            today=datetime.date(2026, 1, 1),
        )
    tmp.replace(out)
    return {
        "households": counts.households,
        "persons": counts.rows,
        "seconds": time.perf_counter() - started,
    }


def damage(rows: list[list[str]], header: list[str], share: float, seed: int) -> int:
    """Damage `share` of the data rows in place, one fault each; returns how many."""
    col = {label: j for j, label in enumerate(header)}
    rng = random.Random(seed)
    picked = rng.sample(range(len(rows)), max(1, int(len(rows) * share)))
    faults = ["id", "sex", "village", "area", "code"]
    for n, i in enumerate(picked):
        row = rows[i]
        fault = faults[n % len(faults)]
        if fault == "id":
            j = col["证件号码"]
            last = row[j][-1]
            row[j] = row[j][:-1] + ("0" if last != "0" else "1")
        elif fault == "sex":
            j = col["性别"]
            row[j] = "女" if row[j] == "男" else "男"
        elif fault == "village":
            row[col["村级区划代码"]] = "230231999999"
        elif fault == "area":
            row[next(j for label, j in col.items() if label.startswith("耕地面积"))] = "-3"
        else:
            row[col["主要致贫原因"]] = "天灾人祸"
    return len(picked)


def child_bad_xlsx(csv_path: str, out: str) -> dict[str, Any]:
    """The CSV roster's rows as .xlsx (openpyxl, write-only) with 1% of the rows damaged."""
    from openpyxl import Workbook

    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    title, header, rows = lines[0], lines[1], lines[2:]
    bad = damage(rows, header, BAD_SHARE, SEED)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(title)
    ws.append(header)
    for row in rows:
        ws.append([None if v == "" else v for v in row])
    tmp = out + ".tmp"
    wb.save(tmp)
    os.replace(tmp, out)
    return {"bad_rows": bad, "persons": len(rows)}


def _target(persons: int) -> Any:
    """Regions and accounts of the county in the fresh database; returns the county account."""
    from django.db import transaction

    from jingzhun.access.models import User
    from jingzhun.core.bulk import BulkWriter
    from jingzhun.demo.actions import _create_accounts, _write_regions, plan_for

    plan = plan_for(_spec(persons))
    with transaction.atomic(), BulkWriter() as writer:
        _write_regions(plan, writer)
        _create_accounts(plan, PASSWORD)
    return User.objects.get(username="county")


def child_fast(db_url: str, var_dir: str, persons: int, path: str) -> dict[str, Any]:
    _setup(db_url, var_dir)
    actor = _target(persons)
    import gc

    from jingzhun.imports.actions import do_commit_import
    from jingzhun.imports.report import build_report
    from jingzhun.registry.models import Member

    gc.collect()
    started = time.perf_counter()
    data = Path(path).read_bytes()
    outcome = do_commit_import(data, Path(path).name, actor=actor)
    report_bytes = 0
    phases = dict(getattr(outcome.result, "seconds", {}))
    if not outcome.committed:
        phases["check"] = time.perf_counter() - started
        report_started = time.perf_counter()
        report_bytes = len(build_report(data, outcome.result))
        phases["report"] = time.perf_counter() - report_started
    seconds = time.perf_counter() - started
    counts = outcome.result.counts()
    return {
        "seconds": seconds,
        "committed": outcome.committed,
        "persons": counts["members_new"] + counts["members_unchanged"] + counts["members_changed"]
        if outcome.committed
        else persons,
        "households": counts["households_new"],
        "errors": len(outcome.result.errors),
        "rows_refused": counts["rows_refused"],
        "report_bytes": report_bytes,
        "stored": Member.objects.count(),
        "phases": phases,
    }


def _naive_rows(path: str, sample: int) -> tuple[list[str], list[list[Any]]]:
    """The header and the first `sample` data rows, read the way a first attempt reads them."""
    if path.endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            next(reader)  # title row
            header = next(reader)
            return header, [row for _, row in zip(range(sample), reader, strict=False)]
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    next(it)
    header = [str(v) for v in next(it)]
    rows = [list(r) for _, r in zip(range(sample), it, strict=False)]
    wb.close()
    return header, rows


def child_naive(db_url: str, var_dir: str, persons: int, path: str, sample: int) -> dict[str, Any]:
    """Per-row: convert each cell, validate the ID, a query for the village and for the person,
    ORM creates. Reading the sample is timed too."""
    _setup(db_url, var_dir)
    _target(persons)

    from django.db import transaction

    from jingzhun.imports.fields import FIELDS, match_header
    from jingzhun.imports.values import BadValue, check_id_cell, convert
    from jingzhun.regions import codes
    from jingzhun.regions.models import Region
    from jingzhun.registry.models import Household, Member, StatusChange, id_index

    started = time.perf_counter()
    header, rows = _naive_rows(path, sample)
    keys = [match_header(h) for h in header]
    errors = 0
    created = 0
    households: dict[str, Household] = {}
    today = timezone.localdate()
    with transaction.atomic():
        for row in rows:
            values: dict[str, Any] = {}
            bad = False
            for key, raw in zip(keys, row, strict=False):
                if key is None or raw is None or raw == "" or FIELDS[key].level == "info":
                    continue
                if key == "id_number":
                    checked = check_id_cell(raw)
                    if not checked.valid:
                        bad = True
                    values[key] = checked.normalized
                    continue
                try:
                    values[key] = convert(raw, FIELDS[key])
                except BadValue:
                    bad = True
            if not Region.objects.filter(code=values.get("village"), level="village").exists():
                bad = True
            if Member.objects.filter(id_number_index=id_index(values.get("id_number"))).exists():
                bad = True
            if bad:
                errors += 1
                continue
            hv = {k: v for k, v in values.items() if FIELDS[k].level == "household"}
            mv = {k: v for k, v in values.items() if FIELDS[k].level == "member"}
            code = hv.pop("household_code")
            village = hv.pop("village")
            h = households.get(code)
            if h is None:
                h = Household.objects.create(
                    household_code=code,
                    village_id=village,
                    township_code=codes.township_of(village),
                    county_code=codes.county_of(village),
                    **hv,
                )
                households[code] = h
                StatusChange.objects.create(
                    household=h, status_to=h.poverty_status, changed_on=today, reason="导入"
                )
            if mv.get("relation") == "head":
                h.head_name = mv.get("name", "")
                h.save(update_fields=["head_name"])
            Member.objects.create(household=h, **mv)
            created += 1
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "persons": len(rows), "created": created, "errors": errors}


# ---------------------------------------------------------------- parent side
def _db(backend: str, tmp: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{Path(tmp) / 'target.sqlite3'}"
    return fresh_postgres(PG_DB)


def one_run(kind: str, backend: str, persons: int, path: Path, var: str, *extra: str) -> Any:
    with tempfile.TemporaryDirectory(prefix="jz_bench_import_", dir=var) as tmp:
        db = _db(backend, tmp)
        try:
            child = run_child(
                [
                    __file__,
                    "--child",
                    kind,
                    "--db",
                    db,
                    "--var",
                    tmp,
                    "--persons",
                    str(persons),
                    "--file",
                    str(path),
                    *extra,
                ]
            )
        finally:
            if backend == "postgresql":
                drop_postgres(PG_DB)
    child.result["rss"] = child.peak_rss_mib
    return child.result


def prepare(var: Path, persons: int, xlsx_persons: int, need: set[str]) -> dict[str, Path]:
    files = {
        "csv": var / f"roster_{persons}.csv",
        "xlsx": var / f"roster_{xlsx_persons}.xlsx",
        "xlsx_bad": var / f"roster_{xlsx_persons}_bad.xlsx",
        "xlsx_csv": var / f"roster_{xlsx_persons}.csv",
    }
    jobs = []
    if "csv" in need:
        jobs.append((persons, "csv", files["csv"]))
    if need & {"xlsx", "xlsx_bad"}:
        jobs.append((xlsx_persons, "xlsx", files["xlsx"]))
        jobs.append((xlsx_persons, "csv", files["xlsx_csv"]))
    for n, kind, path in jobs:
        if path.exists():
            continue
        print(f"  preparing {path.name} …", flush=True)
        r = run_child(
            [
                __file__,
                "--child",
                "prepare",
                "--var",
                str(var),
                "--persons",
                str(n),
                "--kind",
                kind,
                "--file",
                str(path),
            ]
        ).result
        print(f"    {r['persons']:,} persons exported in {r['seconds']:.0f} s", flush=True)
    if "xlsx_bad" in need and not files["xlsx_bad"].exists():
        r = run_child(
            [
                __file__,
                "--child",
                "bad_xlsx",
                "--file",
                str(files["xlsx_csv"]),
                "--out",
                str(files["xlsx_bad"]),
            ]
        ).result
        print(f"    {files['xlsx_bad'].name}: {r['bad_rows']:,} bad rows", flush=True)
    return files


def measure(
    kind: str,
    backend: str,
    persons: int,
    path: Path,
    var: str,
    runs: int,
    naive: int,
    warmup: bool = True,
) -> dict[str, Any]:
    if warmup:
        one_run("fast", backend, persons, path, var)
    fast = []
    for i in range(runs):
        r = one_run("fast", backend, persons, path, var)
        fast.append(r)
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r.get("phases", {}).items())
        print(
            f"    {backend:10} {kind:8} run {i + 1}: {r['persons']:,} persons in {r['seconds']:.2f} s"
            f" = {r['persons'] / r['seconds']:,.0f}/s; committed {r['committed']}, errors"
            f" {r['errors']:,}, report {r['report_bytes']:,} B; RSS {r['rss']:,.0f} MiB ({phases})",
            flush=True,
        )
    slow = []
    for i in range(runs):
        r = one_run("naive", backend, persons, path, var, "--sample", str(naive))
        slow.append(r)
        print(
            f"    {backend:10} {kind:8} naive run {i + 1}: {r['persons']:,} persons in"
            f" {r['seconds']:.2f} s = {r['persons'] / r['seconds']:,.0f}/s",
            flush=True,
        )
    out = {
        "persons": fast[0]["persons"],
        "households": fast[0]["households"],
        "errors": fast[0]["errors"],
        "committed": fast[0]["committed"],
        "seconds": median([r["seconds"] for r in fast]),
        "rss": max(r["rss"] for r in fast),
        "naive_rate": median([r["persons"] / r["seconds"] for r in slow]),
        "naive_sample": slow[0]["persons"],
    }
    out["rate"] = out["persons"] / out["seconds"]
    out["naive_seconds"] = out["persons"] / out["naive_rate"]
    out["ratio"] = out["naive_seconds"] / out["seconds"]
    return out


LABELS = {
    "csv": "CSV, committed (B3)",
    "xlsx": ".xlsx, committed (B1)",
    "xlsx_bad": ".xlsx 1% bad rows: refused + error report (B1)",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="100,000 / 30,000 persons")
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--xlsx-persons", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up run")
    parser.add_argument("--naive-persons", type=int, default=3_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--only", default="csv,xlsx,xlsx_bad")
    parser.add_argument("--var", default=None, help="data directory (files, source registries)")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument(
        "--child", choices=["prepare", "bad_xlsx", "fast", "naive"], help=argparse.SUPPRESS
    )
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "prepare":
        print(json.dumps(child_prepare(args.var, args.persons, args.kind, args.file)))
        return
    if args.child == "bad_xlsx":
        print(json.dumps(child_bad_xlsx(args.file, args.out)))
        return
    if args.child == "fast":
        print(json.dumps(child_fast(args.db, args.var, args.persons, args.file), default=str))
        return
    if args.child == "naive":
        result = child_naive(args.db, args.var, args.persons, args.file, args.sample)
        print(json.dumps(result))
        return

    persons = args.persons or (100_000 if args.small else 1_000_000)
    xlsx_persons = args.xlsx_persons or (30_000 if args.small else 300_000)
    var = Path(args.var or ROOT / "var" / "bench_import")
    var.mkdir(parents=True, exist_ok=True)
    only = [k for k in args.only.split(",") if k]
    facts = machine()
    print(
        f"B1/B3 import: CSV {persons:,} persons, .xlsx {xlsx_persons:,} persons; {facts}",
        flush=True,
    )
    files = prepare(var, persons, xlsx_persons, set(only))
    lines = []
    for backend in [b for b in args.backends.split(",") if b]:
        for kind in only:
            n = persons if kind == "csv" else xlsx_persons
            m = measure(
                kind,
                backend,
                n,
                files[kind],
                str(var),
                args.runs,
                args.naive_persons,
                not args.no_warmup,
            )
            print(
                f"  {backend} {kind}: {m['seconds']:.2f} s, {m['rate']:,.0f} persons/s; naive"
                f" {m['naive_rate']:,.0f}/s → {m['naive_seconds']:,.0f} s; {m['ratio']:.0f}x;"
                f" peak RSS {m['rss']:,.0f} MiB",
                flush=True,
            )
            lines.append(
                f"| {backend} | {LABELS[kind]} | {m['persons']:,} ({m['households']:,} households)"
                f" | {m['errors']:,} | **{m['seconds']:.2f}** | {m['rate']:,.0f} | {m['rss']:,.0f}"
                f" | {m['naive_rate']:,.0f}/s (sample {m['naive_sample']:,}) →"
                f" {m['naive_seconds']:,.0f} | {m['ratio']:,.0f}x |"
            )
    if args.no_append:
        return
    body = [
        f"### {facts['date']}, commit {facts['commit']}: CSV {persons:,}, .xlsx {xlsx_persons:,} persons",
        "",
        f"Machine: {facts['nproc']} cores, {facts['memory']}; Python {facts['python']}; {facts['versions']}.",
        f"Workload: demo county Baiquan ({COUNTY}), seed {SEED}, scaled; its unmasked roster exported"
        " by the project's writers (CSV roster, .xlsx roster; the bad workbook is the CSV roster's rows"
        f" with {BAD_SHARE:.0%} damaged, written with openpyxl). Each run imports into a fresh database"
        " holding the county's regions and accounts, as the county account, in its own process."
        " Time = `do_commit_import` from the file's bytes to the committed transaction (read,"
        " validate, diff, scope, write, change log, audit), plus `build_report` for the refused"
        f" file. Median of {args.runs} runs"
        f"{' (no warm-up run)' if args.no_warmup else ' after a warm-up'}; peak RSS is the"
        " largest of the runs (the file's bytes are in it: read whole, as the web and CLI do)."
        f" Naive = csv.reader/openpyxl + per-row converters and ID check + a query per row for"
        f" village and person + ORM creates, {args.runs} runs on the first {args.naive_persons:,}"
        " persons of the same file, extrapolated.",
        "",
        "| database | workload | persons | errors | s | persons/s | peak RSS MiB"
        " | naive (extrapolated s) | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
        *lines,
    ]
    append_section("B1/B3 import (registry rosters, CSV and .xlsx)", "\n".join(body))


if __name__ == "__main__":
    main()
