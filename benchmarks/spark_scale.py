"""B13 spark_scale: the bulk jobs on Spark local mode against DuckDB, in the same run.

    uv run python benchmarks/spark_scale.py --parquet DIR [--master local[*]] [--no-append]

DIR: a demo province written by `jingzhun demo --province 23 --counties N --scale S --parquet
DIR` (ADR 0083: `<table>/province=/county=/part-0.parquet`). The registry tables are views over
it (a DuckDB schema `reg`), read by the application's own reading statements (the bulk
assessment's `_load_statements`, the refresh's `read_statements`), so that both engines start
from the tables the application would have read. Then, each on DuckDB and on Spark
(core.spark.run_on_spark: partitioned Parquet snapshot, the job, Parquet results loaded back):

- assessment: policy.bulk.evaluate of household_exit (DuckDB: every pass; Spark: compiler.SPARK);
- indicators: analytics.compute.prepare + compute, every definition;
- exact matching: feeds.matching.match, a roster of 1% of the members' ID numbers plus as many
  unknown ones, against every member.

Spark's time is split into the snapshot export, the session start (once), the job, and the
results' load; the outputs of the two engines are compared (they must be equal). No database:
storing is the same code for both engines and is not measured here (B4, B5 measure it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import append_section, machine  # noqa: E402

YEAR = 2019


def _setup(var_dir: str) -> None:
    os.environ["JINGZHUN_VAR_DIR"] = var_dir
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var_dir}/unused.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    import django

    django.setup()


def _views(con: Any, folder: Path) -> None:
    """The registry's tables as views over the demo's Parquet (named as the models' tables);
    what the demo does not write (regions, pairings, populations, member dates) is derived from
    the households' village codes or empty."""
    from jingzhun.access.models import HelperPairing
    from jingzhun.regions.models import Region, RegionPopulation
    from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

    con.execute("CREATE SCHEMA IF NOT EXISTS reg")

    def files(name: str) -> str:
        path = (folder / name).as_posix()
        return f"read_parquet('{path}/**/*.parquet', hive_partitioning = true)"

    # ids made unique by the county's code: Parquet written before 2026-12-08 numbered each
    # county's rows from 1 (demo.province.write_parquet now numbers on across counties, for
    # which the offset changes nothing)
    def unique(*columns: str) -> str:
        return ", ".join(f"CAST(county AS BIGINT) * 100000000 + {c} AS {c}" for c in columns)

    for model, name, keys in (
        (Household, "households", ("id",)),
        (IncomeRecord, "incomes", ("id", "household_id")),
        (StatusChange, "status_changes", ("id", "household_id")),
    ):
        con.execute(
            f'CREATE OR REPLACE VIEW reg."{model._meta.db_table}" AS SELECT * '
            f"REPLACE ({unique(*keys)}) FROM {files(name)}"
        )
    con.execute(
        f'CREATE OR REPLACE VIEW reg."{Member._meta.db_table}" AS SELECT * '
        f"REPLACE ({unique('id', 'household_id')}), "
        f"CAST(NULL AS DATE) AS joined_on, CAST(NULL AS DATE) AS left_on FROM {files('members')}"
    )
    con.execute(
        f'CREATE OR REPLACE TABLE reg."{HelperPairing._meta.db_table}" '
        "(household_id BIGINT, start_date DATE, end_date DATE)"
    )
    con.execute(
        f'CREATE OR REPLACE TABLE reg."{RegionPopulation._meta.db_table}" '
        "(region_id VARCHAR, year INTEGER, rural_population BIGINT)"
    )
    villages = f"(SELECT DISTINCT CAST(village_id AS VARCHAR) AS v FROM {files('households')})"
    con.execute(
        f'CREATE OR REPLACE TABLE reg."{Region._meta.db_table}" AS '
        f"SELECT v AS code, 'village' AS level, substr(v, 1, 9) || '000' AS parent_id, "
        f"FALSE AS is_poor_village FROM {villages} UNION ALL "
        f"SELECT DISTINCT substr(v, 1, 9) || '000', 'township', substr(v, 1, 6) || '000000', "
        f"FALSE FROM {villages} UNION ALL "
        f"SELECT DISTINCT substr(v, 1, 6) || '000000', 'county', NULL, FALSE FROM {villages}"
    )


def _timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parquet", type=Path, required=True)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spark-scale-"))
    _setup(str(work / "var"))

    import duckdb

    from jingzhun.analytics import compute
    from jingzhun.analytics.indicators import load_indicators
    from jingzhun.analytics.refresh import read_statements
    from jingzhun.assessments.bulk import _load_statements, household_columns, member_columns
    from jingzhun.core import spark as engine
    from jingzhun.feeds import matching
    from jingzhun.policy import bulk
    from jingzhun.policy.compiler import DUCKDB, SPARK
    from jingzhun.policy.store import default_store

    info = machine()
    load_before = os.getloadavg()
    con = duckdb.connect(str(work / "bench.duckdb"))
    _views(con, args.parquet)
    store = default_store()
    hmap, mmap = household_columns(), member_columns()
    hcols, mcols = bulk.columns_read(
        store,
        "household_exit",
        YEAR,
        member_columns=set(mmap),
        household_columns=set(hmap),
        provinces={"23"},
    )
    hcols = sorted({"village_code", *hcols})
    for statement in _load_statements(YEAR, None, hcols, mcols):
        con.execute(statement)
    households = con.execute("SELECT count(*) FROM h").fetchone()[0]
    members = con.execute("SELECT count(*) FROM m").fetchone()[0]
    seconds: dict[str, float] = {}
    spark = None

    def session() -> Any:
        nonlocal spark
        if spark is None:
            spark, seconds["spark session start"] = _timed(
                lambda: engine.session(args.master, local_dir=work / "spark-local")
            )
        return spark

    def evaluate(c: Any, passes: Any) -> Any:
        return bulk.evaluate(
            c,
            store,
            "household_exit",
            YEAR,
            member_columns=set(mmap),
            household_columns=set(hmap),
            passes=passes,
        )

    def on_spark(name: str, job: Any, inputs: list[str], outputs: list[str], hh: list[str]) -> Any:
        s = session()
        part = work / name
        _, seconds[f"{name} spark export"] = _timed(
            lambda: engine.export_snapshot(con, part / "snapshot", inputs, households=hh)
        )
        sc = engine.SparkConnection(s)
        t = time.perf_counter()
        for table in inputs:
            sc.register_parquet(table, part / "snapshot" / table)
        value = job(sc)
        for table in outputs:
            sc.write_parquet(table, part / "results" / table)
        seconds[f"{name} spark job"] = time.perf_counter() - t
        sc.close()
        for table in outputs:
            con.execute(f"ALTER TABLE {table} RENAME TO {table}_duckdb")
        _, seconds[f"{name} spark load"] = _timed(
            lambda: engine.load_outputs(con, part / "results", outputs)
        )
        return value

    def same(table: str) -> bool:
        diff = con.execute(
            f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL SELECT * FROM "
            f"{table}_duckdb) UNION ALL (SELECT * FROM {table}_duckdb EXCEPT ALL "
            f"SELECT * FROM {table}))"
        ).fetchone()[0]
        if diff:
            for a, b in ((table, f"{table}_duckdb"), (f"{table}_duckdb", table)):
                rows = con.execute(f"SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b} LIMIT 3")
                print(f"only in {a}:", rows.fetchall())
        return diff == 0

    # assessment
    _, seconds["assessment duckdb"] = _timed(lambda: evaluate(con, DUCKDB))
    on_spark("assessment", lambda sc: evaluate(sc, SPARK), ["h", "m"], ["results"], ["h"])
    equal = {"assessment": same("results")}
    # indicators
    for statement in read_statements(None, __import__("datetime").date.today()):
        con.execute(statement)
    compute.create_raw_tables(con, ["crit"])
    defs = load_indicators()
    current = con.execute("SELECT max(year(changed_on)) FROM sc").fetchone()[0]
    years = list(range(2014, int(current) + 1))

    def indicators(c: Any) -> int:
        compute.prepare(c, years)
        return int(compute.compute(c, defs, years, int(current)))

    _, seconds["indicators duckdb"] = _timed(lambda: indicators(con))
    on_spark("indicators", indicators, list(compute.RAW_TABLES), ["out"], ["hh"])
    equal["indicators"] = same("out")
    # exact matching
    mt = "registry_member"
    con.execute(
        f'CREATE OR REPLACE TABLE people AS SELECT CAST(m."id" AS BIGINT) AS member_id, '
        f'CAST(m."household_id" AS BIGINT) AS household_id, CAST(m."id_number" AS VARCHAR) '
        f'AS id_index, CAST(hh."village_id" AS VARCHAR) AS village_code FROM reg."{mt}" m '
        f'JOIN reg."registry_household" hh ON hh."id" = m."household_id"'
    )
    con.execute(
        "CREATE OR REPLACE TABLE roster AS SELECT row_number() OVER () AS row_id, id_index FROM "
        "(SELECT id_index FROM people USING SAMPLE 1 PERCENT (bernoulli, 7) UNION ALL "
        "SELECT 'X' || CAST(member_id AS VARCHAR) FROM people USING SAMPLE 1 PERCENT "
        "(bernoulli, 8))"
    )
    roster_rows = con.execute("SELECT count(*) FROM roster").fetchone()[0]
    people_rows = con.execute("SELECT count(*) FROM people").fetchone()[0]
    _, seconds["matching duckdb"] = _timed(lambda: matching.match(con))
    on_spark("matching", matching.match, ["roster", "people"], ["matches"], [])
    equal["matching"] = same("matches")
    if spark is not None:
        spark.stop()
    load_after = os.getloadavg()
    lines = [
        f"- {info.get('date', '')}, commit {info.get('commit', '')}, {info.get('cpus', '')} cores, "
        f"master `{args.master}`; load average before {load_before[0]:.1f}, "
        f"after {load_after[0]:.1f} (1 min)",
        f"- data: {households:,} registered households, {members:,} members "
        f"({args.parquet}); roster {roster_rows:,} rows against {people_rows:,} members",
        "- equal outputs: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in equal.items()),
        "",
        "| phase | seconds |",
        "|---|---|",
        *(f"| {k} | {v:.2f} |" for k, v in seconds.items()),
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_append:
        append_section("B13 spark_scale", body)


if __name__ == "__main__":
    main()
