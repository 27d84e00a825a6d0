"""The Spark engine gives the DuckDB path's decisions, figures and matches (ADR spark-engine).

Generated registries (missing values included) are judged, counted and matched twice: on
DuckDB as the application does, and on Spark through core.spark.run_on_spark (a Parquet
snapshot partitioned by province and county, the same SQL transpiled by SQLGlot, Parquet
results loaded back). The rows must be identical.

One SparkSession for the module (local[1], two shuffle partitions, no UI): starting Spark
takes 10-20 s. Java is required: without it these tests fail (CI installs it, .ci/run).
"""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jingzhun.analytics import compute
from jingzhun.analytics.indicators import STATUS_GROUPS, load_indicators
from jingzhun.core import spark as engine
from jingzhun.feeds import matching
from jingzhun.policy import bulk
from jingzhun.policy.compiler import DUCKDB, SPARK
from jingzhun.policy.store import default_store
from jingzhun.policy.tests.test_passes import (
    VILLAGES,
    households_st,
    load_households,
    load_regions,
    region_rows_st,
)

# Starting Spark and its property runs take minutes: CI runs them once, in the PostgreSQL pass.
pytestmark = pytest.mark.postgresql_pass

YEAR = 2019
HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
EXAMPLES = settings(max_examples=4, deadline=None, suppress_health_check=HEALTH)
FEW = settings(max_examples=2, deadline=None, suppress_health_check=HEALTH)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail(
            "Java is missing: the Spark engine needs it (.ci/run installs default-jre-headless)"
        )
    local = tmp_path_factory.mktemp("spark-local")
    session = engine.session(
        "local[1]",
        local_dir=local,
        conf={
            "spark.sql.shuffle.partitions": "1",
            # a few rows a query: compiling generated code would cost more than it saves
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.adaptive.enabled": "false",
        },
    )
    yield session
    session.stop()


def _work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


# --- assessment ---------------------------------------------------------------------------------


def _judge_both(con: Any, cols: Any, standard_id: str, spark: Any, work: Path) -> None:
    _, member_columns, household_columns = cols
    store = default_store()

    def evaluate(c: Any, passes: Any) -> bulk.BulkOutcome:
        return bulk.evaluate(
            c,
            store,
            standard_id,
            YEAR,
            member_columns=member_columns,
            household_columns=household_columns,
            passes=passes,
        )

    on_duckdb = evaluate(con, DUCKDB)
    expected = con.execute("SELECT * FROM results ORDER BY household_id").fetchall()
    con.execute("DROP TABLE results")
    on_spark = engine.run_on_spark(
        con,
        lambda sc: evaluate(sc, SPARK),
        inputs=["h", "m"],
        outputs=["results"],
        households=["h"],
        work=work,
        spark=spark,
    )
    got = con.execute("SELECT * FROM results ORDER BY household_id").fetchall()
    assert got == expected
    assert (on_spark.households, on_spark.passed, on_spark.criteria) == (
        on_duckdb.households,
        on_duckdb.passed,
        on_duckdb.criteria,
    )


@EXAMPLES
@given(rows=households_st)
def test_household_exit_decisions_are_the_same_on_spark(
    rows: Any, spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cols = load_households(rows)
    _judge_both(cols[0], cols, "household_exit", spark, _work(tmp_path_factory))


@FEW
@given(data=st.data())
def test_village_exit_decisions_are_the_same_on_spark(
    data: st.DataObject, spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rows = data.draw(region_rows_st("village_exit"))
    cols = load_regions("village_exit", rows)
    _judge_both(cols[0], cols, "village_exit", spark, _work(tmp_path_factory))


# --- indicators -----------------------------------------------------------------------------------

COUNTY = "230231000000"
TOWNSHIPS = ["230231001000", "230231002000"]
VILLAGE_CODES = ["230231001001", "230231001002", "230231002001"]
YEARS = [2019, 2020, 2021]
ALL_DEFINITIONS = load_indicators()


def _one_of_each_form() -> list[Any]:
    """One definition for each form of SQL compute writes (grain, period, breakdown or not,
    population rate, member-level count) and the anchor: each Spark query costs a fraction of
    a second even on a few rows, and the whole set is ~35 passes (checked with every definition
    by hand: ADR spark-engine)."""
    seen: dict[tuple[Any, ...], Any] = {}
    for d in ALL_DEFINITIONS:
        key = (d.grain, d.period, bool(d.dimension), d.uses_population, d.member_level())
        if d.id == compute.ANCHOR:
            key = ("anchor",)
        seen.setdefault(key, d)
    return list(seen.values())


DEFINITIONS = _one_of_each_form()


def _literals() -> dict[str, list[Any]]:
    """Field -> the values the definitions compare it with (and a value none names)."""
    found: dict[str, list[Any]] = {}

    def walk(cond: Any) -> None:
        if not isinstance(cond, dict):
            return
        for key, test in cond.items():
            if key == "any":
                for sub in test:
                    walk(sub)
                continue
            values = []
            for raw in test.values() if isinstance(test, dict) else [test]:
                values += raw if isinstance(raw, list) else [raw]
            for v in values:
                for item in STATUS_GROUPS.get(v, (v,)) if isinstance(v, str) else (v,):
                    if isinstance(item, str) and item not in found.setdefault(key, []):
                        found[key].append(item)

    for d in ALL_DEFINITIONS:
        walk(d.filters)
        walk(d.numerator.get("where") or {})
        walk((d.denominator or {}).get("where") or {})
    return found


LITERALS = _literals()
STATUSES = sorted({s for group in STATUS_GROUPS.values() for s in group} | {"not_registered"})


def _value(column: str, kind: str) -> st.SearchStrategy[Any]:
    if kind == "BOOLEAN":
        return st.one_of(st.none(), st.booleans())
    if kind == "INTEGER":
        return st.one_of(st.none(), st.integers(2013, 2022))
    if kind == "DATE":
        return st.one_of(
            st.none(), st.dates(datetime.date(1935, 1, 1), datetime.date(2022, 12, 31))
        )
    return st.one_of(st.none(), st.sampled_from([*LITERALS.get(column, []), "zz"]))


def _row(table: str, skip: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {c: _value(c, t) for c, t in compute.RAW_TABLES[table] if c not in skip}
    )


date_st = st.dates(datetime.date(2015, 1, 1), datetime.date(2022, 6, 30))
household_rows_st = st.tuples(
    _row("hh", {"id", "village_code"}),
    st.sampled_from(VILLAGE_CODES),
    st.lists(st.tuples(st.sampled_from(STATUSES), date_st), min_size=0, max_size=3),
    st.lists(
        st.tuples(
            _row("mm", {"household_id", "joined_on", "left_on"}),
            st.one_of(st.none(), date_st),
            st.one_of(st.none(), st.none(), date_st),
        ),
        max_size=4,
    ),
    st.booleans(),
)
registry_st = st.tuples(
    st.lists(household_rows_st, min_size=1, max_size=10),
    st.lists(
        st.tuples(
            st.sampled_from([COUNTY, *VILLAGE_CODES]), st.sampled_from(YEARS), st.integers(0, 500)
        ),
        max_size=3,
        unique_by=lambda t: (t[0], t[1]),
    ),
    st.lists(
        st.tuples(
            st.sampled_from(VILLAGE_CODES),
            st.sampled_from(YEARS),
            st.sampled_from(["income", "housing"]),
            st.integers(0, 9),
            st.integers(0, 9),
            st.integers(0, 9),
            st.integers(0, 9),
        ),
        max_size=4,
    ),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=3, max_size=3),
)


def _insert(con: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    for row in rows:
        con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", list(row))


def load_registry(data: Any) -> Any:
    households, population, criteria, poor = data
    con = duckdb.connect()
    compute.create_raw_tables(con)
    hh_cols = [c for c, _ in compute.RAW_TABLES["hh"]]
    mm_cols = [c for c, _ in compute.RAW_TABLES["mm"]]
    change = 0
    for hid, (fields, village, changes, members, paired) in enumerate(households, start=1):
        row = {**fields, "id": hid, "village_code": village}
        _insert(con, "hh", [tuple(row[c] for c in hh_cols)])
        for status, on in changes:
            change += 1
            _insert(con, "sc", [(hid, status, on, change)])
        for mem, joined, left in members:
            m = {**mem, "household_id": hid, "joined_on": joined, "left_on": left}
            _insert(con, "mm", [tuple(m[c] for c in mm_cols)])
        if paired:
            _insert(con, "pairs", [(hid,)])
    regions = [(COUNTY, "county", None, None)]
    regions += [(t, "township", COUNTY, None) for t in TOWNSHIPS]
    regions += [(v, "village", v[:9] + "000", p) for v, p in zip(VILLAGE_CODES, poor, strict=True)]
    _insert(con, "regions", regions)
    _insert(con, "pop", population)
    _insert(con, "crit", criteria)
    return con


def _indicators(c: Any) -> int:
    compute.prepare(c, YEARS)
    return compute.compute(c, DEFINITIONS, YEARS, YEARS[-1])


@FEW
@given(data=registry_st)
def test_indicator_figures_are_the_same_on_spark(
    data: Any, spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    con = load_registry(data)
    n = engine.run_on_spark(
        con,
        _indicators,
        inputs=list(compute.RAW_TABLES),
        outputs=["out"],
        households=["hh"],
        work=_work(tmp_path_factory),
        spark=spark,
    )
    got = sorted(con.execute("SELECT * FROM out").fetchall(), key=repr)
    assert _indicators(con) == n == len(got)
    expected = sorted(con.execute("SELECT * FROM out").fetchall(), key=repr)
    assert got == expected


# --- exact matching -------------------------------------------------------------------------------

index_st = st.one_of(st.none(), st.just(""), st.sampled_from(["a1", "b2", "c3", "d4", "e5"]))


@EXAMPLES
@given(
    roster=st.lists(index_st, max_size=12),
    people=st.lists(
        st.tuples(st.sampled_from(["a1", "b2", "c3", "d4", "x9"]), st.integers(1, 4)),
        max_size=6,
        unique_by=lambda t: t[0],
    ),
)
def test_exact_matches_are_the_same_on_spark(
    roster: list[str | None],
    people: list[tuple[str, int]],
    spark: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    con = duckdb.connect()
    matching.create_tables(con)
    _insert(con, "roster", [(i, index) for i, index in enumerate(roster, start=1)])
    _insert(
        con,
        "people",
        [(100 + i, hid, index, VILLAGE_CODES[hid % 3]) for i, (index, hid) in enumerate(people)],
    )
    n = engine.run_on_spark(
        con,
        matching.match,
        inputs=["roster", "people"],
        outputs=["matches"],
        work=_work(tmp_path_factory),
        spark=spark,
    )
    got = con.execute("SELECT * FROM matches ORDER BY row_id").fetchall()
    assert matching.match(con) == n == len(got)
    assert con.execute("SELECT * FROM matches ORDER BY row_id").fetchall() == got
    known = dict(people)
    assert [r[0] for r in got] == [i for i, index in enumerate(roster, start=1) if index in known]


def test_statements_are_written_in_spark_sql() -> None:
    node = engine.sqlglot.parse_one(
        'SELECT sign(a) * (abs(a) // abs(b)), count_if(x), "c" FROM t GROUP BY ALL', read="duckdb"
    )
    assert engine.to_spark_sql(node) == (
        "SELECT CAST(SIGN(a) AS BIGINT) * (ABS(a) DIV ABS(b)), COUNT_IF(x), `c` FROM t GROUP BY ALL"
    )
    assert VILLAGES  # the assessment's villages: provinces with and without variants


# --- the application's runs ---------------------------------------------------------------------


@pytest.mark.single_database  # the registry is read as the DuckDB path reads it (tested on both)
@pytest.mark.django_db(transaction=True)
def test_the_bulk_run_and_the_refresh_on_spark_store_what_duckdb_stores(
    world: Any, spark: Any
) -> None:
    from jingzhun.analytics.actions import do_refresh_indicators
    from jingzhun.analytics.models import RegionFigures
    from jingzhun.assessments.bulk import do_assess_bulk
    from jingzhun.assessments.models import AssessmentRun
    from jingzhun.assessments.tests.test_bulk import _complete, per_household, stored
    from jingzhun.registry.models import Household

    _complete(world)
    result = do_assess_bulk("household_exit", 2019, actor=None, engine="spark")
    assert (result.households, result.created, result.passed) == (4, 4, 1)
    assert stored(2019) == per_household(Household.objects.all(), 2019)
    assert AssessmentRun.objects.get(pk=result.run_id).snapshot_sha256

    def figures() -> list[Any]:
        rows = RegionFigures.objects.values_list("region_code", "year", "figures")
        return sorted(((code, year, json.loads(text)) for code, year, text in rows), key=repr)

    # the refresh's seam (its SQL is compared above): the anchor and the criterion counts
    few = [d for d in DEFINITIONS if d.id == compute.ANCHOR or d.grain == "criterion"]
    do_refresh_indicators(actor=None, engine="spark", definitions=few)
    on_spark = figures()
    do_refresh_indicators(actor=None, definitions=few)
    assert on_spark and figures() == on_spark
