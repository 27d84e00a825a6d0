"""B1/B3 floor: how fast could any import of these files be on this machine?

    uv run python benchmarks/import_floor.py [--persons 1000000] [--xlsx-persons 300000]
        [--runs 3] [--var DIR] [--only csv,xlsx] [--no-append]

The files are the B1/B3 rosters (`import_registry.py` prepares them under the same --var). For
each file, in the same invocation:

  import   the project's `do_commit_import` of the file as the county account into a fresh
           PostgreSQL database (as in import_registry.py), end to end;
  write    the rows that import wrote (households, members, first status entries, change log,
           masked copy) are dumped with COPY TO, the tables emptied, and the same bytes loaded
           again with COPY FROM in one transaction, then committed: PostgreSQL's own work for
           exactly those rows, with the schema's indexes and (deferred) foreign keys, and no
           client work at all. `--runs` times; medians;
  read     the file's cells read and nothing else: CSV with the standard library's csv.reader
           and with DuckDB's read_csv (every column as text, into a table); .xlsx with
           python-calamine's row iterator (the reader the import uses).

write + the fastest read is a floor for the import of that file on this machine: no code of the
project's can go under it without writing fewer rows or indexes, or dropping the foreign keys.
"""

from __future__ import annotations

import argparse
import csv
import io
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
    PG_ADMIN_URL,
    append_section,
    drop_postgres,
    fresh_postgres,
    machine,
    median,
    run_child,
)

PG_DB = os.environ.get("JZ_BENCH_FLOOR_DB", "jz_imp_floor")  # dropped and re-created per file
TABLES = (
    "registry_household",
    "registry_member",
    "registry_statuschange",
    "imports_importchange",
    "imports_importcreatedcopy",
)


def _db_url() -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"


# ---------------------------------------------------------------- child side
def child_import(var: str, persons: int, path: str, dump: str) -> dict[str, Any]:
    """The project's import, then the rows it wrote dumped to `dump`/<table>.copy."""
    from benchmarks import import_registry as ir

    ir._setup(_db_url(), var)
    actor = ir._target(persons)
    import gc

    from django.db import connection

    from jingzhun.imports.actions import do_commit_import

    gc.collect()
    started = time.perf_counter()
    data = Path(path).read_bytes()
    outcome = do_commit_import(data, Path(path).name, actor=actor)
    seconds = time.perf_counter() - started
    if not outcome.committed:
        raise SystemExit(f"{path}: refused ({len(outcome.result.errors)} errors)")
    tables: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            target = Path(dump) / f"{table}.copy"
            with target.open("wb") as f, cursor.cursor.copy(f"COPY {table} TO STDOUT") as copy:
                for block in copy:
                    f.write(block)
            cursor.execute(f"SELECT count(*) FROM {table}")
            row = cursor.fetchone()
            tables[table] = {"rows": int(row[0]) if row else 0, "bytes": target.stat().st_size}
    counts = outcome.result.counts()
    return {
        "seconds": seconds,
        "phases": dict(getattr(outcome.result, "seconds", {})),
        "persons": counts["members_new"],
        "households": counts["households_new"],
        "tables": tables,
    }


def child_write(dump: str) -> dict[str, Any]:
    """The dumped rows loaded again: COPY per table in one transaction, then COMMIT."""
    import psycopg

    with psycopg.connect(_db_url()) as conn:
        conn.execute("TRUNCATE " + ", ".join(TABLES) + " CASCADE")
        conn.commit()
        conn.execute("CHECKPOINT")  # each run starts with the same clean buffers
        out: dict[str, float] = {}
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for table in TABLES:
                t = time.perf_counter()
                with (
                    cursor.copy(f"COPY {table} FROM STDIN") as copy,
                    (Path(dump) / f"{table}.copy").open("rb") as f,
                ):
                    while block := f.read(1 << 20):
                        copy.write(block)
                out[table] = time.perf_counter() - t
        out["copy"] = time.perf_counter() - started
        t = time.perf_counter()
        conn.commit()
        out["commit"] = time.perf_counter() - t
        out["seconds"] = time.perf_counter() - started
    return out


def child_read(path: str, kind: str, tmp: str) -> dict[str, Any]:
    """The file's cells read by the candidate readers, nothing else."""
    data = Path(path).read_bytes()
    out: dict[str, Any] = {}
    if kind == "csv":
        t = time.perf_counter()
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        rows = sum(1 for _ in csv.reader(text))
        out["csv.reader"] = {"seconds": time.perf_counter() - t, "rows": rows}
        import duckdb

        con = duckdb.connect(config={"temp_directory": tmp})
        t = time.perf_counter()
        con.execute(
            "CREATE TABLE cells AS SELECT * FROM read_csv(?, all_varchar = true, header = false,"
            " skip = 2, strict_mode = false)",
            [path],
        )
        counted = con.execute("SELECT count(*) FROM cells").fetchone()
        out["duckdb read_csv"] = {
            "seconds": time.perf_counter() - t,
            "rows": int(counted[0]) if counted else 0,
        }
        con.close()
    else:
        import python_calamine as calamine

        t = time.perf_counter()
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = sum(1 for _ in book.get_sheet_by_name(book.sheet_names[0]).iter_rows())
        out["python-calamine iter_rows"] = {"seconds": time.perf_counter() - t, "rows": rows}
    return out


# ---------------------------------------------------------------- parent side
def measure(kind: str, persons: int, path: Path, var: Path, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jz_floor_", dir=var) as tmp:
        fresh_postgres(PG_DB)
        try:
            imported = run_child(
                [__file__, "--child", "import", "--var", tmp, "--persons", str(persons),
                 "--file", str(path), "--dump", tmp]
            )  # fmt: skip
            print(
                f"  {kind}: import {imported.result['seconds']:.2f} s"
                f" {imported.result['phases']}; RSS {imported.peak_rss_mib:,.0f} MiB",
                flush=True,
            )
            writes = []
            for run in range(runs):
                w = run_child([__file__, "--child", "write", "--dump", tmp]).result
                writes.append(w)
                per_table = ", ".join(f"{t} {w[t]:.2f}" for t in TABLES)
                print(
                    f"    write run {run + 1}: {w['seconds']:.2f} s (COPY {w['copy']:.2f},"
                    f" commit {w['commit']:.2f}); {per_table}",
                    flush=True,
                )
        finally:
            drop_postgres(PG_DB)
        reads = []
        for run in range(runs):
            r = run_child([__file__, "--child", "read", "--kind", kind, "--file", str(path),
                           "--dump", tmp]).result  # fmt: skip
            reads.append(r)
            print(f"    read run {run + 1}: {json.dumps(r)}", flush=True)
    readers = {
        name: median([r[name]["seconds"] for r in reads]) for name in reads[0]
    }  # fmt: skip
    return {
        "import": imported.result,
        "write": median([w["seconds"] for w in writes]),
        "copy": median([w["copy"] for w in writes]),
        "commit": median([w["commit"] for w in writes]),
        "writes": [w["seconds"] for w in writes],
        "readers": readers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--xlsx-persons", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--var", default=None, help="data directory (the B1/B3 rosters)")
    parser.add_argument("--only", default="csv,xlsx")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--child", choices=["import", "write", "read"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "import":
        print(json.dumps(child_import(args.var, args.persons, args.file, args.dump)))
        return
    if args.child == "write":
        print(json.dumps(child_write(args.dump)))
        return
    if args.child == "read":
        print(json.dumps(child_read(args.file, args.kind, args.dump)))
        return

    from benchmarks.import_registry import prepare

    var = Path(args.var or ROOT / "var" / "bench_import")
    var.mkdir(parents=True, exist_ok=True)
    only = [k for k in args.only.split(",") if k]
    facts = machine()
    print(f"B1/B3 floor: {facts}", flush=True)
    files = prepare(var, args.persons, args.xlsx_persons, set(only))
    lines = []
    for kind in only:
        n = args.persons if kind == "csv" else args.xlsx_persons
        m = measure(kind, n, files[kind], var, args.runs)
        imp = m["import"]
        fastest = min(m["readers"], key=m["readers"].__getitem__)
        floor = m["write"] + m["readers"][fastest]
        rows = imp["tables"]
        written = (
            f"{rows['registry_household']['rows']:,} / {rows['registry_member']['rows']:,} /"
            f" {rows['registry_statuschange']['rows']:,} / {rows['imports_importchange']['rows']:,}"
            f" / {rows['imports_importcreatedcopy']['rows']:,}"
        )
        readers = "; ".join(f"{name} {s:.2f}" for name, s in m["readers"].items())
        label = "CSV" if kind == "csv" else ".xlsx"
        print(
            f"  {kind}: import {imp['seconds']:.2f} s; write floor {m['write']:.2f} s"
            f" (COPY {m['copy']:.2f} + commit {m['commit']:.2f}); readers {readers};"
            f" floor {floor:.2f} s = {n / floor:,.0f} persons/s",
            flush=True,
        )
        lines.append(
            f"| {label} {n:,} persons | {written} | {imp['seconds']:.2f} |"
            f" {m['copy']:.2f} + {m['commit']:.2f} = **{m['write']:.2f}** | {readers} |"
            f" **{floor:.2f}** | {n / floor:,.0f} |"
        )
    if args.no_append:
        return
    body = "\n".join(
        [
            f"### {facts['date']}, commit {facts['commit']}: PostgreSQL write floor and reader"
            " floor",
            "",
            f"Machine: {facts['nproc']} cores, {facts['memory']}; Python {facts['python']};"
            f" {facts['versions']}.",
            "Command: `uv run python benchmarks/import_floor.py"
            f" --persons {args.persons} --xlsx-persons {args.xlsx_persons} --runs {args.runs}`."
            " Import = `do_commit_import` end to end, one run. Write floor = the rows that import"
            " wrote, reloaded by COPY FROM in one transaction and committed (median of"
            f" {args.runs}; the commit is where PostgreSQL runs the deferred foreign-key checks"
            " of every row). Readers: the file's cells read and nothing else (median of"
            f" {args.runs}). Floor = write floor + fastest reader.",
            "",
            "| file | rows written (households / members / status / change log / copy parts) |"
            " import s | write floor s (COPY + commit) | readers s | floor s | persons/s at"
            " the floor |",
            "|---|---|---|---|---|---|---|",
            *lines,
        ]
    )
    append_section("B1/B3 import (registry rosters, CSV and .xlsx)", body)


if __name__ == "__main__":
    main()
