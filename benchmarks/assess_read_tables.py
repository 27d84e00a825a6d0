"""Diagnostic for B4: the bulk read into plain or TEMP DuckDB tables, then evaluation.

    DATABASE_URL=postgresql://…/jz_b4_10m JINGZHUN_VAR_DIR=… \\
        uv run python benchmarks/assess_read_tables.py plain|temp

Prints the seconds of each read statement of `assessments.bulk._load_statements` (household
exit standard, 2019, every household), of `policy.bulk.evaluate`, and the peak RSS. Run each
variant in its own process, alternately (docs/benchmarks.md, 2026-12-04).
"""

from __future__ import annotations

import os
import resource
import sys
import time


def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else "plain"
    if variant not in ("plain", "temp"):
        raise SystemExit("usage: assess_read_tables.py plain|temp")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    import django

    django.setup()
    from jingzhun.assessments import bulk as ab
    from jingzhun.core import duck
    from jingzhun.policy import bulk as pb
    from jingzhun.policy.store import default_store

    store = default_store()
    hmap, mmap = ab.household_columns(), ab.member_columns()
    hcols, mcols = pb.columns_read(
        store, "household_exit", 2019, member_columns=set(mmap), household_columns=set(hmap)
    )
    statements = ab._load_statements(
        2019, None, sorted({"village_code", *hcols}), sorted({"name", *mcols})
    )
    if variant == "temp":
        statements = [
            s.replace("CREATE OR REPLACE TABLE", "CREATE OR REPLACE TEMP TABLE") for s in statements
        ]
    con = duck.connect()
    duck.attach_database(con)
    for statement, table in zip(statements, ("h", "m"), strict=True):
        t = time.perf_counter()
        con.execute(statement)
        print(f"{variant} read {table}: {time.perf_counter() - t:.1f} s", flush=True)
    con.execute("DETACH reg")
    t = time.perf_counter()
    outcome = pb.evaluate(
        con, store, "household_exit", 2019, member_columns=set(mmap), household_columns=set(hmap)
    )
    print(f"{variant} evaluate: {time.perf_counter() - t:.1f} s, {outcome.households:,} households")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{variant} peak RSS: {peak} MiB")


if __name__ == "__main__":
    main()
