"""The Django side of an indicator refresh: read the registry into DuckDB, store the figures.

Reading follows assessments/bulk.py: PostgreSQL is attached read-only in this process; SQLite is
read only in a child process (core/duck_child.py) that writes Parquet files, which this process
loads (ADR 0011). Only committed data is read, so a refresh must run outside a transaction.
Storing replaces the counties' rows (one per region and year, the figures as JSON: ADR 0036)
in one transaction (COPY on PostgreSQL, executemany on SQLite): running the same refresh twice
leaves the same rows.
"""

from __future__ import annotations

import csv
import datetime
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from jingzhun.access.models import HelperPairing
from jingzhun.assessments.models import AssessmentSummary
from jingzhun.core import duck
from jingzhun.core.fieldcrypt import encrypted_fields, open_in_duckdb
from jingzhun.regions.models import Region, RegionPopulation
from jingzhun.registry.models import Household, Member, StatusChange

from . import compute
from .models import RegionFigures

FIRST_YEAR = 2014
SEALED = {f.name for f in encrypted_fields(Member)}
MEMBER_ID = "member_id"
RAW_FROM_DB = ("hh", "mm", "sc", "pairs", "regions", "pop")
Progress = Callable[[str, int], None]


def _county_filter(column: str, counties: Sequence[str] | None) -> str:
    if counties is None:
        return "TRUE"
    if not counties:
        return "FALSE"
    return f"{column} IN ({', '.join(_lit(c) for c in counties)})"


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _cast(alias: str, column: str, kind: str) -> str:
    return f'CAST({alias}."{column}" AS {kind}) AS "{column}"'


def read_statements(
    counties: Sequence[str] | None, today: datetime.date, fields: set[str] | None = None
) -> list[str]:
    """DuckDB statements filling the raw tables of compute.RAW_TABLES from `reg`: every column,
    or the keys and the `fields` the definitions use (compute.fields_used; `age` needs
    birth_date)."""
    ht, mt, st = (m._meta.db_table for m in (Household, Member, StatusChange))
    pt, rt, popt = (
        HelperPairing._meta.db_table,
        Region._meta.db_table,
        RegionPopulation._meta.db_table,
    )
    column_of = {"village_code": "village_id"}
    keys = {"id", "village_code", "household_id", "joined_on", "left_on"}
    wanted = (
        None if fields is None else keys | fields | ({"birth_date"} if "age" in fields else set())
    )

    def used(table: str) -> list[tuple[str, str]]:
        return [(c, t) for c, t in compute.RAW_TABLES[table] if wanted is None or c in wanted]

    hcols = ", ".join(f'CAST(h."{column_of.get(c, c)}" AS {t}) AS "{c}"' for c, t in used("hh"))
    # encrypted member fields (PII-2) are read as tokens beside the member's key and opened
    # after the read (open_sealed); only when a definition uses them
    mcols = ", ".join(
        f'NULLIF(CAST(m."{c}" AS VARCHAR), \'\') AS "{c}"' if c in SEALED else _cast("m", c, t)
        for c, t in used("mm")
    )
    if any(c in SEALED for c, _ in used("mm")):
        mcols += f', CAST(m."id" AS BIGINT) AS "{MEMBER_ID}"'
    semi = "" if counties is None else "AND {col} IN (SELECT id FROM hh)"
    county_prefixes = None if counties is None else [c[:6] for c in counties]
    region_where = (
        "TRUE"
        if county_prefixes is None
        else "substr(r.code, 1, 6) IN (" + ", ".join(_lit(p) for p in county_prefixes) + ")"
    )
    day = _lit(today.isoformat())
    in_counties = _county_filter('h."county_code"', counties)
    return [
        f'CREATE OR REPLACE TABLE hh AS SELECT {hcols} FROM reg."{ht}" h '
        f'WHERE h."deleted_at" IS NULL AND {in_counties}',
        # live members and those who left on a date (counted until then,
        # ADR 0055)
        f'CREATE OR REPLACE TABLE mm AS SELECT {mcols} FROM reg."{mt}" m '
        f'WHERE (m."deleted_at" IS NULL OR m."left_on" IS NOT NULL) '
        f"{semi.format(col='m.household_id')}",
        f'CREATE OR REPLACE TABLE sc AS SELECT CAST(s."household_id" AS BIGINT) AS household_id, '
        f'CAST(s."status_to" AS VARCHAR) AS status_to, CAST(s."changed_on" AS DATE) AS changed_on, '
        f'CAST(s."id" AS BIGINT) AS id FROM reg."{st}" s WHERE TRUE {semi.format(col="s.household_id")}',
        f'CREATE OR REPLACE TABLE pairs AS SELECT DISTINCT CAST(p."household_id" AS BIGINT) '
        f'AS household_id FROM reg."{pt}" p WHERE CAST(p."start_date" AS DATE) <= DATE {day} '
        f'AND (p."end_date" IS NULL OR CAST(p."end_date" AS DATE) >= DATE {day}) '
        f"{semi.format(col='p.household_id')}",
        f'CREATE OR REPLACE TABLE regions AS SELECT CAST(r."code" AS VARCHAR) AS code, '
        f'CAST(r."level" AS VARCHAR) AS level, CAST(r."parent_id" AS VARCHAR) AS parent, '
        f'CAST(r."is_poor_village" AS BOOLEAN) AS is_poor_village FROM reg."{rt}" r '
        f"WHERE r.\"level\" IN ('county', 'township', 'village') AND {region_where}",
        f'CREATE OR REPLACE TABLE pop AS SELECT CAST(p."region_id" AS VARCHAR) AS code, '
        f'CAST(p."year" AS INTEGER) AS year, CAST(p."rural_population" AS BIGINT) AS '
        f'rural_population FROM reg."{popt}" p WHERE p."region_id" IN (SELECT code FROM regions)',
    ]


def read_registry(
    con: Any, counties: Sequence[str] | None, work: Path, fields: set[str] | None = None
) -> str:
    """Fill the raw tables from the database (committed data; the columns of `fields` only,
    see read_statements); returns the source name."""
    statements = read_statements(counties, timezone.localdate(), fields)
    sqlite_file = duck.sqlite_path()
    if sqlite_file is None:
        vendor = duck.attach_database(con)
        try:
            for statement in statements:
                con.execute(statement)
        finally:
            con.execute("DETACH reg")
        open_sealed(con)
        return vendor
    work.mkdir(parents=True, exist_ok=True)
    exports = [(t, work / f"{t}.parquet") for t in RAW_FROM_DB]
    duck.sqlite_export(sqlite_file, statements, exports)
    for table, path in exports:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet({_lit(path.as_posix())})"
        )
    open_sealed(con)
    return "sqlite"


def open_sealed(con: Any) -> None:
    """mm read with encrypted member fields (tokens beside MEMBER_ID): open them set-wise
    (core.fieldcrypt.open_in_duckdb) and cast them to the types compute expects."""
    names = [str(r[0]) for r in con.execute("DESCRIBE mm").fetchall()]
    if MEMBER_ID not in names:
        return
    types = dict(compute.RAW_TABLES["mm"])
    con.execute("ALTER TABLE mm RENAME TO mm_sealed")
    bad = open_in_duckdb(
        con,
        "mm_sealed",
        Member,
        {n: types[n] for n in names if n in SEALED},
        id_column=MEMBER_ID,
        target="mm",
    )
    assert bad is None  # no allowed lists given: every value passes
    con.execute("DROP TABLE mm_sealed")


def read_criteria(con: Any, counties: Sequence[str] | None, work: Path, standard: str) -> None:
    """crit: each village's latest finished bulk run per year (as the overview's criterion_counts)."""
    compute.create_raw_tables(con, only=["crit"])
    q = Q(run__standard=standard, run__finished_at__isnull=False)
    if counties is not None:
        scope = Q(pk__in=[])
        for c in counties:
            scope |= Q(village_code__startswith=c[:6])
        q &= scope
    rows = (
        AssessmentSummary.objects.filter(q)
        .order_by("village_code", "run__year", "-run__finished_at")
        .values_list("village_code", "run__year", "run_id", "households", "passed", "criteria")
    )
    chosen: dict[tuple[str, int], str] = {}
    path = work / "crit.csv"
    work.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        for village, year, run_id, households, passed, per in rows.iterator(chunk_size=5000):
            if chosen.setdefault((village, year), run_id) != run_id:
                continue  # an older run of the village for the year
            out.writerow([village, year, "all", households, passed, households - passed, 0])
            n += 1
            for criterion, counts in (per or {}).items():
                total, ok, bad, unknown = counts
                out.writerow([village, year, criterion, total, ok, bad, unknown])
    if n:
        con.execute(
            f"INSERT INTO crit SELECT * FROM read_csv({_lit(path.as_posix())}, header = false, "
            "columns = {'v': 'VARCHAR', 'y': 'INTEGER', 'c': 'VARCHAR', 'h': 'BIGINT', "
            "'p': 'BIGINT', 'f': 'BIGINT', 'u': 'BIGINT'})"
        )


def latest_year(con: Any) -> int:
    row = con.execute("SELECT max(year(changed_on)) FROM sc").fetchone()
    return int(row[0]) if row and row[0] is not None else timezone.localdate().year


# one JSON object per region and year, {indicator: {dimension: [numerator, denominator]}},
# written as text (indicator ids are [a-z0-9_], dimension values go through to_json)
_PAIR = "':[' || numerator || ',' || coalesce(CAST(denominator AS VARCHAR), 'null') || ']'"
FIGURES_SQL = (
    "CREATE OR REPLACE TABLE fig AS SELECT region_code, year, any_value(level) AS level, "
    "'{' || string_agg('\"' || indicator || '\":{' || v || '}', ',') || '}' AS figures FROM ("
    f"SELECT region_code, year, level, indicator, '\"\"' || {_PAIR} AS v FROM out "
    "WHERE dimension = '' UNION ALL "
    "SELECT region_code, year, any_value(level), indicator, "
    f"string_agg(CAST(to_json(dimension) AS VARCHAR) || {_PAIR}, ',') FROM out "
    "WHERE dimension <> '' GROUP BY region_code, year, indicator) GROUP BY region_code, year"
)


def store(con: Any, counties: Sequence[str] | None, stamp: datetime.datetime) -> int:
    """Replace the counties' figures by table `out`, one row per region and year (ADR 0036; the
    caller holds the transaction). Returns the number of rows stored."""
    stale = RegionFigures.objects.all()
    if counties is not None:
        scope = Q(pk__in=[])
        for c in counties:
            scope |= Q(region_code__startswith=c[:6])
        stale = stale.filter(scope)
    stale._raw_delete(stale.db)  # derived rows, no relations: one DELETE statement
    con.execute(FIGURES_SQL)
    row = con.execute("SELECT count(*) FROM fig").fetchone()
    total = int(row[0]) if row else 0
    if not total:
        return 0
    columns = ["region_code", "year", "level", "figures", "refreshed_at"]
    names = ", ".join(f'"{c}"' for c in columns)
    table = RegionFigures._meta.db_table
    if connection.vendor == "postgresql":
        tmp = Path(settings.VAR_DIR) / "duckdb_tmp" / f"indicators-{uuid.uuid4().hex}.csv"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            con.execute(
                f"COPY (SELECT region_code, year, level, figures, {_lit(stamp.isoformat())} "
                f"FROM fig) TO {_lit(tmp.as_posix())} (FORMAT csv, HEADER false)"
            )
            with (
                connection.cursor() as cur,
                cur.connection.cursor() as pc,
                pc.copy(f'COPY "{table}" ({names}) FROM STDIN (FORMAT csv)') as copy,
                tmp.open("rb") as fh,
            ):
                for block in iter(lambda: fh.read(1 << 20), b""):
                    copy.write(block)
        finally:
            tmp.unlink(missing_ok=True)
        return total
    sql = f'INSERT INTO "{table}" ({names}) VALUES (?, ?, ?, ?, {_lit(stamp.isoformat(sep=" "))})'
    reader = con.cursor()
    try:
        reader.execute("SELECT region_code, year, level, figures FROM fig ORDER BY 1, 2")
        with connection.cursor() as cur:
            raw = cur.connection
            while True:
                rows = reader.fetchmany(20_000)
                if not rows:
                    break
                raw.executemany(sql, rows)
    finally:
        reader.close()
    return total


class Workspace:
    """A DuckDB connection and a scratch folder under var/duckdb_tmp, removed afterwards."""

    def __init__(self, memory_limit: str | None = None) -> None:
        self.con = duck.connect(memory_limit=memory_limit)
        self.work = Path(settings.VAR_DIR) / "duckdb_tmp" / f"indicators-{uuid.uuid4().hex}"

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.work, ignore_errors=True)


def timed(seconds: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    try:
        return fn()
    finally:
        seconds[name] = round(time.perf_counter() - t, 3)
