"""Indicators in bulk: DuckDB passes over the registry's tables, every level at once.

Pure Python and DuckDB, no Django. The caller fills these tables in the connection:
  hh(id, village_code, <HOUSEHOLD_FIELDS except status, persons,
     paired, is_poor_village>)                           live households of the counties
  sc(household_id, status_to, changed_on, id)            their status history
  mm(household_id, birth_date, joined_on, left_on, <MEMBER_FIELDS except age>)
                                                         their members, live or left (dated)
(the columns of hh and mm that no definition uses may be left out: fields_used)
  pairs(household_id)                                    households with a pairing running today
  regions(code, level, parent, is_poor_village)          county, townships and villages
  pop(code, year, rural_population)                      own rural population figures
  crit(village_code, year, criterion, households, passed, failed, unknown)
                                                         latest exit-standard counts per village
`compute` leaves the result in table `out`
  (indicator, year, level, region_code, dimension, numerator, denominator).

The status of a household at the end of a year is its last status change on or before 31
December (ADR 0004), so year-end counts equal `registry_stats`. Each source (households or
members, yearly or for the current year) is counted per village and field values, the statuses
expanded to years as the rows stream (ADR 0037); a township's and a county's figures are the sums
of their villages' rows. Persons at a year end are the members present on 31 December: joined
by then (or undated) and not yet left (ADR 0055); most members are
undated, so a household's undated members are counted once (hb.persons) and its dated ones added
per year (hd).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .indicators import (
    DERIVED_HOUSEHOLD_FIELDS,
    HOUSEHOLD_FIELDS,
    MEMBER_FIELDS,
    IndicatorDef,
    condition_sql,
)

__all__ = [
    "ANCHOR",
    "OUT_COLUMNS",
    "RAW_TABLES",
    "compute",
    "create_raw_tables",
    "fill_missing",
    "missing_figure",
    "prepare",
    "resolve_population",
    "sparse",
]

OUT_COLUMNS = ("indicator", "year", "level", "region_code", "dimension", "numerator", "denominator")
LEVELS = ("county", "township", "village")
ANCHOR = "registered_households"  # never sparse: its rows mark the computed regions and years
# The registry's columns the definitions may read (analytics.indicators, from the dictionary).
_STORED_HOUSEHOLD = {k: v for k, v in HOUSEHOLD_FIELDS.items() if k not in DERIVED_HOUSEHOLD_FIELDS}
_HOUSEHOLD_TEXT = [k for k, kind in _STORED_HOUSEHOLD.items() if kind == "text"]
_HOUSEHOLD_INT = [k for k, kind in _STORED_HOUSEHOLD.items() if kind == "int"]
_HOUSEHOLD_BOOL = [k for k, kind in _STORED_HOUSEHOLD.items() if kind == "bool"]
_MEMBER_TEXT = [k for k, kind in MEMBER_FIELDS.items() if kind == "text"]
_MEMBER_BOOL = [k for k, kind in MEMBER_FIELDS.items() if kind == "bool"]
# table -> [(column, DuckDB type)]: what the reader must provide
RAW_TABLES: dict[str, list[tuple[str, str]]] = {
    "hh": [
        ("id", "BIGINT"),
        ("village_code", "VARCHAR"),
        *((c, "VARCHAR") for c in _HOUSEHOLD_TEXT),
        *((c, "INTEGER") for c in _HOUSEHOLD_INT),
        *((c, "BOOLEAN") for c in _HOUSEHOLD_BOOL),
    ],
    "mm": [
        ("household_id", "BIGINT"),
        ("birth_date", "DATE"),
        ("joined_on", "DATE"),
        ("left_on", "DATE"),
        *((c, "VARCHAR") for c in _MEMBER_TEXT),
        *((c, "BOOLEAN") for c in _MEMBER_BOOL),
    ],
    "sc": [
        ("household_id", "BIGINT"),
        ("status_to", "VARCHAR"),
        ("changed_on", "DATE"),
        ("id", "BIGINT"),
    ],
    "pairs": [("household_id", "BIGINT")],
    "regions": [
        ("code", "VARCHAR"),
        ("level", "VARCHAR"),
        ("parent", "VARCHAR"),
        ("is_poor_village", "BOOLEAN"),
    ],
    "pop": [("code", "VARCHAR"), ("year", "INTEGER"), ("rural_population", "BIGINT")],
    "crit": [
        ("village_code", "VARCHAR"),
        ("year", "INTEGER"),
        ("criterion", "VARCHAR"),
        ("households", "BIGINT"),
        ("passed", "BIGINT"),
        ("failed", "BIGINT"),
        ("unknown", "BIGINT"),
    ],
}


def create_raw_tables(con: Any, only: Sequence[str] | None = None) -> None:
    """Empty input tables with the schema `compute` expects (the reader fills them)."""
    for table, columns in RAW_TABLES.items():
        if only is not None and table not in only:
            continue
        cols = ", ".join(f"{c} {t}" for c, t in columns)
        con.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")


def prepare(con: Any, years: Sequence[int]) -> None:
    """Derived tables: households with persons and pairing (hb), each status change with the
    years it is in force at year end (hs: from its year until the year of the next change).
    Households x years is never materialised: `compute` expands hs to the years it is given
    inside its aggregations (`years` is accepted for the callers and not needed here)."""
    con.execute(
        "CREATE OR REPLACE TABLE hp AS SELECT household_id, count(*)::BIGINT AS persons "
        "FROM mm WHERE joined_on IS NULL AND left_on IS NULL GROUP BY 1"
    )
    # members with a date of joining or leaving: counted in the years they are present
    con.execute(
        "CREATE OR REPLACE TABLE hd AS SELECT household_id AS id, year(joined_on) AS j, "
        "year(left_on) AS l FROM mm WHERE joined_on IS NOT NULL OR left_on IS NOT NULL"
    )
    con.execute(
        "CREATE OR REPLACE TABLE hb AS SELECT hh.*, coalesce(hp.persons, 0) AS persons, "
        "(pr.household_id IS NOT NULL) AS paired, coalesce(r.is_poor_village, FALSE) "
        "AS is_poor_village FROM hh LEFT JOIN hp ON hp.household_id = hh.id "
        "LEFT JOIN (SELECT DISTINCT household_id FROM pairs) pr ON pr.household_id = hh.id "
        "LEFT JOIN regions r ON r.code = hh.village_code"
    )
    con.execute("DROP TABLE hp")
    # the change in force at the end of each year: from its year until the year of the next one
    con.execute(
        "CREATE OR REPLACE TABLE hs AS SELECT household_id AS id, status_to AS status, "
        "year(changed_on) AS y0, year(lead(changed_on) OVER (PARTITION BY household_id "
        "ORDER BY changed_on, id)) AS y1 FROM sc WHERE household_id IN (SELECT id FROM hh)"
    )
    # each village's township and county: the passes group by village only and add the
    # villages' rows up to these
    con.execute(
        "CREATE OR REPLACE TABLE vmap AS SELECT v.code AS village_code, t.code AS township_code, "
        "t.parent AS county_code FROM regions v JOIN regions t ON t.code = v.parent "
        "WHERE v.level = 'village'"
    )


def fields_used(definitions: Sequence[IndicatorDef]) -> set[str]:
    """The household and member fields the definitions' conditions and breakdowns name."""
    return set().union(*(d.fields() for d in definitions))


def resolve_population(
    regions: Sequence[tuple[str, str | None]], own: dict[tuple[str, int], int], years: Sequence[int]
) -> list[tuple[str, int, int]]:
    """(code, year, population): a region's own figure, else the sum of its children's resolved
    figures when any is known (the rule of registry.selectors.rural_population)."""
    children: dict[str, list[str]] = {}
    for code, parent in regions:
        if parent is not None:
            children.setdefault(parent, []).append(code)
    out = []
    for year in years:
        memo: dict[str, int | None] = {}

        def population(
            code: str, year: int = year, memo: dict[str, int | None] = memo
        ) -> int | None:
            if code not in memo:
                if (code, year) in own:
                    memo[code] = own[(code, year)]
                else:
                    known = [
                        v for v in (population(c) for c in children.get(code, [])) if v is not None
                    ]
                    memo[code] = sum(known) if known else None
            return memo[code]

        for code, _parent in regions:
            value = population(code)
            if value is not None:
                out.append((code, year, value))
    return out


def _source(d: IndicatorDef) -> tuple[str, str]:
    """(table, measure): the weighted table the indicator is counted from (n = households, or
    members for a member-level count; p = persons), or the criterion counts."""
    if d.grain == "criterion":
        return "crit", f"sum({d.numerator.get('count', 'passed')})"
    member = d.grain == "person" and d.member_level()
    table = ("wm_" if member else "wh_") + d.period
    if d.grain == "person" and not member:
        return table, "sum(p)"
    return table, "sum(n)"


def _weighted(
    con: Any, table: str, defs: Sequence[IndicatorDef], years: list[int], current_year: int
) -> None:
    """A source of counts: households (wh_*) or members (wm_*) at each year end with the
    fields the definitions use, n (households or members) and p (persons). The year-end
    statuses are expanded from hs as the rows stream (ADR 0037). When several passes read the
    source (breakdowns), it is a table grouped by region and field values (n and p summed);
    for a single pass, a view of one row each."""
    grouped = any(d.dimension for d in defs)
    wanted = sorted({y for d in defs for y in (years if d.period == "yearly" else [current_year])})
    fields = sorted(fields_used(defs) - {"status"})
    member = table.startswith("wm_")
    first, last = (min(wanted), max(wanted)) if wanted else (0, -1)
    # each change expanded to the years it is in force at year end (from its year to the year of
    # the next change), one row each: streamed into the aggregation, never stored
    spans = (
        "SELECT hb.*, s.status, unnest(range(greatest(s.y0, {first}), "
        "least(coalesce(s.y1, {last1}), {last1}))) AS year FROM hs s JOIN hb ON hb.id = s.id "
        "WHERE s.y0 <= {last} AND (s.y1 IS NULL OR s.y1 > {first})"
    ).format(first=first, last=last, last1=last + 1)
    persons = "hb.persons"
    if wanted and con.execute("SELECT count(*) FROM hd").fetchone()[0]:
        # the dated members present at each wanted year end, added to the undated ones
        present = (
            "SELECT d.id, y.year, count(*) AS extra FROM hd d, "
            f"(SELECT unnest([{', '.join(str(int(y)) for y in wanted)}]) AS year) y "
            "WHERE (d.j IS NULL OR d.j <= y.year) AND (d.l IS NULL OR d.l > y.year) GROUP BY 1, 2"
        )
        spans = (
            "SELECT sp.*, coalesce(hx.extra, 0) AS extra "
            f"FROM ({spans}) sp LEFT JOIN ({present}) hx ON hx.id = sp.id AND hx.year = sp.year"
        )
        persons = "(hb.persons + hb.extra)"
    keys = []
    for f in fields:
        if f == "age":
            keys.append("(hb.year - year(mm.birth_date)) AS age")
        elif member and f in MEMBER_FIELDS:
            keys.append(f"mm.{f}")
        elif f == "persons":
            keys.append(f"{persons} AS persons")
        else:
            keys.append(f"hb.{f}")
    select = ", ".join(["hb.year", "hb.village_code", "hb.status", *keys])
    if grouped:
        group = "GROUP BY " + ", ".join(str(i) for i in range(1, len(keys) + 4))
        measures = "count(*)::BIGINT AS n" + ("" if member else f", sum({persons})::BIGINT AS p")
    else:  # one row each, counted once by the pass that reads the view
        group = ""
        measures = "1::BIGINT AS n" + ("" if member else f", {persons}::BIGINT AS p")
    present_member = (
        "AND (mm.joined_on IS NULL OR year(mm.joined_on) <= hb.year) "
        "AND (mm.left_on IS NULL OR year(mm.left_on) > hb.year) "
    )
    con.execute(
        f"CREATE OR REPLACE {'TABLE' if grouped else 'VIEW'} {table} AS "
        f"SELECT {select}, {measures} FROM ({spans}) hb "
        + ("JOIN mm ON mm.household_id = hb.id " + present_member if member else "")
        + f"WHERE hb.year IN ({', '.join(str(int(y)) for y in wanted) or 'NULL'}) "
        + group
    )


def compute(
    con: Any,
    definitions: Sequence[IndicatorDef],
    years: Sequence[int],
    current_year: int,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> int:
    """Fill `out` with every indicator for every region and year; returns the number of rows."""
    regions = con.execute("SELECT code, parent FROM regions ORDER BY code").fetchall()
    own = {
        (str(code), int(year)): int(n)
        for code, year, n in con.execute("SELECT code, year, rural_population FROM pop").fetchall()
    }
    con.execute(
        "CREATE OR REPLACE TABLE popr (code VARCHAR, year INTEGER, rural_population BIGINT)"
    )
    resolved = resolve_population(regions, own, years)
    if resolved and hasattr(con, "insert_rows"):  # core.spark.SparkConnection
        con.insert_rows("popr", resolved)
    elif resolved:
        # a scan of numpy columns: executemany costs milliseconds a row (minutes at 10M persons)
        codes_, years_, values = zip(*resolved, strict=True)
        src = {  # noqa: F841 - read by name in the query below (DuckDB replacement scan)
            "code": np.array(codes_, dtype=object),
            "year": np.array(years_, dtype=np.int32),
            "rural_population": np.array(values, dtype=np.int64),
        }
        con.execute("INSERT INTO popr SELECT code, year, rural_population FROM src")
    con.execute(
        "CREATE OR REPLACE TABLE out (indicator VARCHAR, year INTEGER, level VARCHAR, "
        "region_code VARCHAR, dimension VARCHAR, numerator BIGINT, denominator BIGINT)"
    )
    by_table: dict[str, list[IndicatorDef]] = {}
    for d in definitions:
        by_table.setdefault(_source(d)[0], []).append(d)
    steps = len(by_table) + len(definitions)
    done = 0
    for source, members in by_table.items():
        if progress:
            progress(done, steps, ", ".join(d.id for d in members[:3]))
        if source != "crit":
            _weighted(con, source, members, list(years), current_year)
        flat = [d for d in members if not d.dimension]
        if flat:
            _grouped(con, source, flat, list(years), current_year)
        done += 1 + len(flat)
        for d in members:
            if d.dimension:
                if progress:
                    progress(done, steps, d.id)
                _one(con, d, list(years) if d.period == "yearly" else [current_year])
                done += 1
        if source != "crit":
            con.execute(f"DROP {'TABLE' if any(d.dimension for d in members) else 'VIEW'} {source}")
    if progress:
        progress(steps, steps, "")
    row = con.execute("SELECT count(*) FROM out").fetchone()
    return int(row[0]) if row else 0


def sparse(d: IndicatorDef) -> bool:
    """Whether the indicator's rows equal to its missing_figure are left out of `out` (ADR 0027):
    yearly figures without a breakdown, except the ANCHOR (its rows say which regions and years
    were computed). Breakdowns keep the values that occur; `current` figures and the anchor
    have a row for every region."""
    return not d.dimension and d.period == "yearly" and d.id != ANCHOR


def missing_figure(d: IndicatorDef) -> tuple[int, int | None]:
    """What a left-out row of a sparse indicator stands for: zero counted, and a zero
    denominator for a rate over counted rows (a population rate: no population known)."""
    return (0, 0) if d.is_rate and not d.uses_population else (0, None)


def fill_missing(
    figures: dict[tuple[str, int, str, str], tuple[int, int | None]],
    definitions: Sequence[IndicatorDef],
) -> dict[tuple[str, int, str, str], tuple[int, int | None]]:
    """{(indicator, year, region, dimension): figure} with the left-out rows of the sparse
    indicators put back for every region and year that has an ANCHOR row (for readers of whole
    tables: tests, comparisons)."""
    computed = [(year, region) for (i, year, region, _dim) in figures if i == ANCHOR]
    out = dict(figures)
    for d in definitions:
        if sparse(d):
            for year, region in computed:
                out.setdefault((d.id, year, region, ""), missing_figure(d))
    return out


def _measures(d: IndicatorDef, years: list[int]) -> tuple[str, str]:
    """(numerator, denominator) aggregates of one indicator inside a grouped pass."""
    _src, measure = _source(d)
    scope = f"year IN ({', '.join(str(int(y)) for y in years) or 'NULL'}) AND {condition_sql(d.filters)}"
    numerator = f"coalesce({measure} FILTER (WHERE {scope} AND {condition_sql(d.numerator.get('where') or {})}), 0)"
    if d.denominator and "where" in d.denominator:
        total = "sum(households)" if d.grain == "criterion" else measure
        den = f"coalesce({total} FILTER (WHERE {scope} AND {condition_sql(d.denominator['where'] or {})}), 0)"
    else:
        den = "NULL"
    return numerator, den


def _grouped(
    con: Any, source: str, defs: Sequence[IndicatorDef], years: list[int], current_year: int
) -> None:
    """Every indicator without a breakdown over one source in one GROUPING SETS pass (one pair
    of filtered aggregates per indicator), then one row per indicator, region and year into
    `out`: sparse indicators only where the figure is not the missing one, the others for every
    region and year of their period."""
    picked = {d.id: list(years) if d.period == "yearly" else [current_year] for d in defs}
    every = sorted({y for ys in picked.values() for y in ys})
    columns = []
    for i, d in enumerate(defs):
        n, den = _measures(d, picked[d.id])
        columns.append(f"CAST({n} AS BIGINT) AS n{i}, CAST({den} AS BIGINT) AS d{i}")
    _rolled_up(
        con,
        f"SELECT year, village_code, {', '.join(columns)} "
        f"FROM {source} WHERE year IN ({', '.join(str(int(y)) for y in every) or 'NULL'}) "
        "GROUP BY year, village_code",
        [f"{c}{i}" for i in range(len(defs)) for c in ("n", "d")],
        [],
    )
    parts = []
    for i, d in enumerate(defs):
        name = d.id.replace("'", "")
        year_list = ", ".join(str(int(y)) for y in picked[d.id]) or "NULL"
        if d.uses_population:
            den = "p.rural_population"
        elif d.is_rate:
            den = f"coalesce(a.d{i}, 0)"
        else:
            den = "NULL"
        if sparse(d) and not d.uses_population:
            _n0, d0 = missing_figure(d)
            keep = f"a.n{i} <> 0" + (f" OR a.d{i} <> {d0}" if d0 is not None else "")
            parts.append(
                f"SELECT '{name}', a.year, r.level, r.code, '', a.n{i}, {den} FROM agg a "
                f"JOIN regions r ON r.code = a.region_code WHERE a.year IN ({year_list}) "
                f"AND ({keep})"
            )
            continue
        # every region and year (a region without households still has a population or a row)
        keep = ""
        if sparse(d):  # a population rate: kept where counted or a population is known
            keep = f"AND (coalesce(a.n{i}, 0) <> 0 OR {den} IS NOT NULL)"
        parts.append(
            f"SELECT '{name}', y.year, r.level, r.code, '', coalesce(a.n{i}, 0), "
            f"{den} FROM regions r "
            f"CROSS JOIN (SELECT unnest([{year_list}]::INTEGER[]) AS year) y "
            "LEFT JOIN agg a ON a.region_code = r.code AND a.year = y.year "
            + (
                "LEFT JOIN popr p ON p.code = r.code AND p.year = y.year "
                if d.uses_population
                else ""
            )
            + f"WHERE r.level IN ('county', 'township', 'village') {keep}"
        )
    con.execute("INSERT INTO out " + " UNION ALL ".join(parts))


def _rolled_up(con: Any, village_sql: str, sums: list[str], keys: list[str]) -> None:
    """agg(year, region_code, *keys, *sums): the per-village sums of `village_sql` (columns
    year, village_code, *keys, *sums) and their totals per township and county (vmap).
    Aggregating the large tables once per village and adding the village rows up gives the same
    figures as grouping the large table by every level."""
    con.execute(f"CREATE OR REPLACE TABLE agg_v AS {village_sql}")
    extra = "".join(f", {k}" for k in keys)
    totals = ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in sums)
    plain = ", ".join(sums)
    con.execute(
        f"CREATE OR REPLACE TABLE agg AS SELECT year, village_code AS region_code{extra}, {plain} "
        f"FROM agg_v UNION ALL SELECT year, m.township_code{extra}, {totals} FROM agg_v "
        f"JOIN vmap m USING (village_code) GROUP BY year, m.township_code{extra} UNION ALL "
        f"SELECT year, m.county_code{extra}, {totals} FROM agg_v JOIN vmap m USING (village_code) "
        f"GROUP BY year, m.county_code{extra}"
    )
    con.execute("DROP TABLE agg_v")


def _one(con: Any, d: IndicatorDef, years: list[int]) -> None:
    """One breakdown indicator: its own pass with the dimension as a key."""
    source, measure = _source(d)
    filters = condition_sql(d.filters)
    numerator = condition_sql(d.numerator.get("where") or {})
    if d.denominator and "where" in d.denominator:
        total = "sum(households)" if d.grain == "criterion" else measure
        den = f"{total} FILTER (WHERE {condition_sql(d.denominator['where'] or {})})"
    else:
        den = "NULL"
    dim = f"coalesce(CAST(src.{d.dimension} AS VARCHAR), '')" if d.dimension else "''"
    year_list = ", ".join(str(int(y)) for y in years) or "NULL"
    _rolled_up(
        con,
        f"SELECT year, village_code, dim AS dimension, "
        f"CAST(coalesce({measure} FILTER (WHERE {numerator}), 0) AS BIGINT) AS numerator, "
        f"CAST({den} AS BIGINT) AS denominator "
        f"FROM (SELECT *, {dim} AS dim FROM {source} src WHERE year IN ({year_list}) "
        f"AND {filters}) GROUP BY year, village_code, dim",
        ["numerator", "denominator"],
        ["dimension"],
    )
    name = d.id.replace("'", "")
    # a breakdown keeps only the values that occur
    con.execute(
        f"INSERT INTO out SELECT '{name}', a.year, r.level, a.region_code, a.dimension, "
        "a.numerator, a.denominator FROM agg a JOIN regions r ON r.code = a.region_code"
    )
