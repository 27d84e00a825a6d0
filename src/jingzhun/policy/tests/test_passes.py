"""Each optimisation pass of the rule compiler changes no decision (policy/passes/).

For every standard in policies/standards (each provincial variant through the households'
village codes), generated registries (missing values included: the strategies of
test_agreement.py) are judged by policy.bulk.evaluate with every pass on (compiler.DUCKDB, what
the bulk run uses), with each pass switched off in turn, and with none (the plain compiler); the
`results` tables must be identical. The plain compiler's SQL for a few criteria is pinned below
as golden text, so that a reader can check it against docs/development/rule-language.md.
"""

from __future__ import annotations

import dataclasses
import functools
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jingzhun.policy import bulk, parse
from jingzhun.policy.compiler import DUCKDB, PLAIN, Passes, compile_sql
from jingzhun.policy.lang import Node
from jingzhun.policy.passes import engine_settings
from jingzhun.policy.store import PolicyStore, default_store
from jingzhun.policy.tests.test_agreement import (
    BOOL_FIELDS,
    INCOME_FIELDS,
    MEMBER_ORDER,
    household_st,
    maybe,
)

YEAR = 2019
STANDARDS = sorted({f.doc.id for f in default_store().standards()})
# Each pass off in turn (member flags only exist with hoisting), and none at all.
WITHOUT = {
    **{
        f"without {f.name}": dataclasses.replace(DUCKDB, **{f.name: False})
        for f in dataclasses.fields(Passes)
    },
    "plain": PLAIN,
}
# Villages in provinces with and without their own variant (Guizhou: national rules; Gansu:
# household_exit's blockers; Heilongjiang: village and county exit), and no village code.
VILLAGES = ["522628001001", "621126001001", "230100001001", None]

# --- the registry ----------------------------------------------------------------------------

MEMBER_TYPES = {
    "name": "VARCHAR",
    "birth_date": "DATE",
    "school_status": "VARCHAR",
    "health_status": "VARCHAR",
    "basic_medical_insured": "BOOLEAN",
    "critical_illness_insured": "BOOLEAN",
}
households_st = st.lists(
    st.tuples(
        household_st,
        st.sampled_from(VILLAGES),
        st.sampled_from(["national", "national", "provincial", None]),
    ),
    min_size=1,
    max_size=12,
)


def _walk(node: Any) -> list[Any]:
    out = [node]
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        for child in value if isinstance(value, tuple) else (value,):
            if dataclasses.is_dataclass(child):
                out += _walk(child)
    return out


@functools.cache
def region_inputs(standard_id: str) -> dict[str, str]:
    """The names a region standard (no members) reads, with a DuckDB type each: booleans where
    a criterion compares the name with true/false or reads it as a condition, else numbers."""
    from jingzhun.policy.lang import BoolOp, Compare, Literal, Name, Not

    names: dict[str, str] = {}
    for compiled in bulk._all_variants(default_store(), standard_id, YEAR):
        known = {*compiled.standard.parameters, *compiled.variables, "year", "reference_date"}
        nodes: list[Node] = [n for _, n in compiled.criteria] + list(compiled.variables.values())
        for root in nodes:
            for node in _walk(root):
                if isinstance(node, Name) and node.parts[0] not in known:
                    names.setdefault(node.parts[0], "DECIMAL(18,4)")
            for node in _walk(root):
                pairs: list[Any] = []
                if isinstance(node, Compare):
                    pairs = [(node.left, node.right), (node.right, node.left)]
                elif isinstance(node, BoolOp | Not):
                    ops = node.operands if isinstance(node, BoolOp) else (node.operand,)
                    pairs = [(o, Literal(True)) for o in ops]
                elif node is root and isinstance(node, Name):
                    pairs = [(node, Literal(True))]
                for a, b in pairs:
                    bool_literal = isinstance(b, Literal) and isinstance(b.value, bool)
                    if isinstance(a, Name) and a.parts[0] in names and bool_literal:
                        names[a.parts[0]] = "BOOLEAN"
    return names


def region_rows_st(standard_id: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    inputs = region_inputs(standard_id)
    value = {
        "BOOLEAN": maybe(st.booleans()),
        "DECIMAL(18,4)": maybe(
            st.one_of(st.integers(0, 3000).map(Decimal), st.sampled_from([Decimal(0)]))
        ),
    }
    return st.lists(
        st.fixed_dictionaries(
            {"village_code": st.sampled_from(VILLAGES), **{n: value[t] for n, t in inputs.items()}}
        ),
        min_size=1,
        max_size=12,
    )


def load_households(rows: list[tuple[dict[str, Any], str | None, str | None]]) -> Any:
    con = duckdb.connect()
    hcols = (
        ["id BIGINT", "village_code VARCHAR", "identification_standard VARCHAR"]
        + [f"{f} BOOLEAN" for f in BOOL_FIELDS]
        + ["house_safety_grade VARCHAR"]
        + [f"income_{f} DECIMAL(18,4)" for f in INCOME_FIELDS]
    )
    con.execute(f"CREATE TABLE h ({', '.join(hcols)})")
    mcols = ", ".join(f"{c} {MEMBER_TYPES[c]}" for c in MEMBER_ORDER)
    con.execute(f"CREATE TABLE m (household_id BIGINT, {mcols})")
    for hid, (hh, village, standard) in enumerate(rows, start=1):
        income = hh["income"] or {}
        values = [hid, village, standard, *(hh[f] for f in BOOL_FIELDS), hh["house_safety_grade"]]
        values += [income.get(f) for f in INCOME_FIELDS]
        con.execute(f"INSERT INTO h VALUES ({', '.join('?' * len(values))})", values)
        for mem in hh["members"]:
            mvalues = [hid, *(mem[c] for c in MEMBER_ORDER)]
            con.execute(f"INSERT INTO m VALUES ({', '.join('?' * len(mvalues))})", mvalues)
    columns = {str(r[0]) for r in con.execute("DESCRIBE h").fetchall()} - {"id"}
    return con, set(MEMBER_TYPES), columns


def load_regions(standard_id: str, rows: list[dict[str, Any]]) -> Any:
    inputs = region_inputs(standard_id)
    con = duckdb.connect()
    cols = ", ".join(f'"{n}" {t}' for n, t in inputs.items())
    con.execute(f"CREATE TABLE h (id BIGINT, village_code VARCHAR, {cols})")
    con.execute("CREATE TABLE m (household_id BIGINT)")  # regions have no members
    for rid, row in enumerate(rows, start=1):
        values = [rid, row["village_code"], *(row[n] for n in inputs)]
        con.execute(f"INSERT INTO h VALUES ({', '.join('?' * len(values))})", values)
    return con, set(), {"village_code", *inputs}


def judged(con: Any, store: PolicyStore, standard_id: str, cols: Any, passes: Passes) -> Any:
    _, member_columns, household_columns = cols
    outcome = bulk.evaluate(
        con,
        store,
        standard_id,
        YEAR,
        member_columns=member_columns,
        household_columns=household_columns,
        passes=passes,
    )
    rows = con.execute("SELECT * FROM results ORDER BY household_id").fetchall()
    assert len(rows) == outcome.households > 0
    return rows


def assert_passes_change_nothing(standard_id: str, cols: Any) -> None:
    con, store = cols[0], default_store()
    with_all = judged(con, store, standard_id, cols, DUCKDB)
    for name, passes in WITHOUT.items():
        assert judged(con, store, standard_id, cols, passes) == with_all, name


@pytest.fixture(autouse=True)
def _engine_settings_on_small_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The perfect-hash setting applies from 100,000 households: here from one, so that the
    runs with every pass on do use it."""
    monkeypatch.setattr(engine_settings, "MIN_HOUSEHOLDS", 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=households_st)
def test_household_exit_decisions_are_the_same_with_and_without_each_pass(
    rows: list[tuple[dict[str, Any], str | None, str | None]],
) -> None:
    assert_passes_change_nothing("household_exit", load_households(rows))


@pytest.mark.parametrize("standard_id", [s for s in STANDARDS if s != "household_exit"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_region_standards_decisions_are_the_same_with_and_without_each_pass(
    standard_id: str, data: st.DataObject
) -> None:
    rows = data.draw(region_rows_st(standard_id))
    assert_passes_change_nothing(standard_id, load_regions(standard_id, rows))


def test_every_standard_is_covered() -> None:
    # a standard added to policies/standards is covered by one of the two tests above
    assert "household_exit" in STANDARDS and len(STANDARDS) >= 3
    for standard_id in STANDARDS:
        if standard_id != "household_exit":
            assert region_inputs(standard_id), standard_id


def test_the_engine_setting_holds_for_one_statement_only() -> None:
    con = duckdb.connect()
    default = con.execute("SELECT current_setting('perfect_ht_threshold')").fetchone()
    with engine_settings.statement_settings(con, (1, 200_000), 200_000):
        inside = con.execute("SELECT current_setting('perfect_ht_threshold')").fetchone()
    after = con.execute("SELECT current_setting('perfect_ht_threshold')").fetchone()
    assert inside == (engine_settings.PERFECT_HASH_BITS,) and after == default != inside
    with engine_settings.statement_settings(con, (1, 200_000), 200_000, enabled=False):
        assert con.execute("SELECT current_setting('perfect_ht_threshold')").fetchone() == default


# --- the plain compiler's SQL, as a reader sees it ---------------------------------------------

PARAMS: dict[str, object] = {
    "poverty_line": Decimal("3218"),
    "school_age": {"min": 6, "max": 15, "reference": "08-31"},
}
HCOLS = {"food_secure", "house_safety_grade", "relocated", "relocation_moved_in"}
MCOLS = {"birth_date", "school_status", "basic_medical_insured"}


def plain(text: str) -> str:
    return compile_sql(
        parse(text), params=PARAMS, year=YEAR, member_columns=MCOLS, household_columns=HCOLS
    )


GOLDEN = {
    "food_secure": 'h."food_secure"',
    "(relocated == true and relocation_moved_in == true) or house_safety_grade in ('A', 'B')": (
        '(((h."relocated" = TRUE) AND (h."relocation_moved_in" = TRUE)) '
        """OR (h."house_safety_grade" IN ('A', 'B')))"""
    ),
    "all(members, basic_medical_insured == true)": (
        '(CASE WHEN EXISTS (SELECT 1 FROM m WHERE m.household_id = h."id" '
        'AND NOT ((m."basic_medical_insured" = TRUE))) THEN FALSE '
        'WHEN EXISTS (SELECT 1 FROM m WHERE m.household_id = h."id" '
        'AND ((m."basic_medical_insured" = TRUE)) IS NULL) THEN NULL ELSE TRUE END)'
    ),
    "not any(members, age_on(birth_date, school_age.reference) between school_age.min and "
    "school_age.max and school_status == 'dropped_out')": (
        '(NOT (CASE WHEN EXISTS (SELECT 1 FROM m WHERE m.household_id = h."id" AND '
        '(((CAST(2019 - EXTRACT(YEAR FROM CAST(m."birth_date" AS DATE)) - CASE WHEN '
        'EXTRACT(MONTH FROM CAST(m."birth_date" AS DATE)) > 8 OR (EXTRACT(MONTH FROM '
        'CAST(m."birth_date" AS DATE)) = 8 AND EXTRACT(DAY FROM CAST(m."birth_date" AS '
        "DATE)) > 31) THEN 1 ELSE 0 END AS DECIMAL(18,4)) BETWEEN CAST('6' AS "
        "DECIMAL(18,4)) AND CAST('15' AS DECIMAL(18,4))) AND (m.\"school_status\" = "
        "'dropped_out')))) THEN TRUE WHEN EXISTS (SELECT 1 FROM m WHERE m.household_id "
        '= h."id" AND (((CAST(2019 - EXTRACT(YEAR FROM CAST(m."birth_date" AS DATE)) - '
        'CASE WHEN EXTRACT(MONTH FROM CAST(m."birth_date" AS DATE)) > 8 OR '
        '(EXTRACT(MONTH FROM CAST(m."birth_date" AS DATE)) = 8 AND EXTRACT(DAY FROM '
        'CAST(m."birth_date" AS DATE)) > 31) THEN 1 ELSE 0 END AS DECIMAL(18,4)) '
        "BETWEEN CAST('6' AS DECIMAL(18,4)) AND CAST('15' AS DECIMAL(18,4))) AND "
        "(m.\"school_status\" = 'dropped_out'))) IS NULL) THEN NULL ELSE FALSE END))"
    ),
    "count(members) > 2": (
        '(CAST(COALESCE((SELECT count(*) FROM m WHERE m.household_id = h."id"), 0) '
        "AS DECIMAL(18,4)) > CAST('2' AS DECIMAL(18,4)))"
    ),
}


@pytest.mark.parametrize("text", list(GOLDEN))
def test_the_plain_compiler_writes_each_criterion_as_the_language_doc_reads(text: str) -> None:
    assert plain(text) == GOLDEN[text]


def test_the_plain_compiler_uses_no_pass() -> None:
    # none of the passes' forms: no hoisted column, no flag, no birth-date cut-off
    sql = plain("any(members, age_on(birth_date, '08-31') >= 16 and school_status == 'junior')")
    assert "ma." not in sql and "bit_or" not in sql and "DATE '" not in sql
    fast = compile_sql(
        parse("any(members, age_on(birth_date, '08-31') >= 16)"),
        params=PARAMS,
        year=YEAR,
        member_columns=MCOLS,
        household_columns=HCOLS,
        passes=DUCKDB,
    )
    assert "DATE '2003-08-31'" in fast and "EXTRACT" not in fast
