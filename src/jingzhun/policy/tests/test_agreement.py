"""The interpreter and the DuckDB compiler agree on every household (property test).

Random households are loaded into an in-memory DuckDB as tables `h` and `m`; random expressions
(and the fixed criteria of the national household exit standard) are compiled to SQL and evaluated
by the interpreter; both must give the same true/false/null (or the same number).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jingzhun.policy import RuleError, compile_sql, evaluate, parse
from jingzhun.policy.compiler import DUCKDB, Passes
from jingzhun.policy.passes.hoisting import MemberAggregates
from jingzhun.policy.passes.member_flags import PackedMemberAggregates

YEAR = 2019
PARAMS: dict[str, object] = {
    "poverty_line": Decimal("3218"),
    "school_age": {"min": 6, "max": 15, "reference": "08-31"},
}

BOOL_FIELDS = [
    "food_secure",
    "clothing_secure",
    "relocated",
    "relocation_moved_in",
    "water_quantity_ok",
    "water_quality_ok",
    "water_convenience_ok",
    "water_reliability_ok",
]
INCOME_FIELDS = [
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "business_costs",
]
MEMBER_BOOL = ["basic_medical_insured", "critical_illness_insured"]
SCHOOL = ["not_student", "primary", "junior", "senior", "dropped_out", "home_taught", "exempt"]
HEALTH = ["healthy", "chronic", "serious_illness", "disabled"]

HOUSEHOLD_COLUMNS = frozenset(
    [*BOOL_FIELDS, "house_safety_grade", *(f"income_{f}" for f in INCOME_FIELDS)]
)
MEMBER_COLUMNS = frozenset(["name", "birth_date", "school_status", "health_status", *MEMBER_BOOL])

EXIT_VARIABLES = {
    "household_size": parse("count(members)"),
    "per_capita_net_income": parse(
        "(income.wage_income + income.business_income + income.property_income"
        " + income.transfer_income - income.business_costs) / household_size"
    ),
}
EXIT_CRITERIA = {
    "income": "per_capita_net_income > poverty_line",
    "food": "food_secure",
    "clothing": "clothing_secure",
    "education": (
        "not any(members, age_on(birth_date, school_age.reference)"
        " between school_age.min and school_age.max and school_status == 'dropped_out')"
    ),
    "medical": "all(members, basic_medical_insured == true)",
    "housing": (
        "(relocated == true and relocation_moved_in == true) or house_safety_grade in ('A', 'B')"
    ),
    "water": (
        "water_quantity_ok and water_quality_ok and water_convenience_ok and water_reliability_ok"
    ),
}

# --- households ------------------------------------------------------------------------------

BOUNDARY_BIRTHS = [
    date(y, m, d)
    for y in (2003, 2004, 2012, 2013, 2014)
    for m, d in ((8, 30), (8, 31), (9, 1), (2, 28), (2, 29) if y % 4 == 0 else (3, 1))
]
birth_dates = st.one_of(
    st.none(),
    st.sampled_from(BOUNDARY_BIRTHS),
    st.dates(min_value=date(1940, 1, 1), max_value=date(2019, 12, 31)),
)
money = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=60000, places=2),
    st.sampled_from([Decimal(0), Decimal("3218"), Decimal("6436"), Decimal("9654.01")]),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


members_st = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["甲", "乙", "丙", "丁"]),
        "birth_date": birth_dates,
        "school_status": maybe(st.sampled_from(SCHOOL)),
        "health_status": maybe(st.sampled_from(HEALTH)),
        "basic_medical_insured": maybe(st.booleans()),
        "critical_illness_insured": maybe(st.booleans()),
    }
)
household_st = st.fixed_dictionaries(
    {
        **{f: maybe(st.booleans()) for f in BOOL_FIELDS},
        "house_safety_grade": maybe(st.sampled_from(["A", "B", "C", "D"])),
        "members": st.lists(members_st, max_size=7),
        "income": maybe(st.fixed_dictionaries({f: money for f in INCOME_FIELDS})),
    }
)

# --- expressions (a small typed grammar, generated as text) ----------------------------------

num_literal = st.sampled_from(["0", "1", "2", "3", "1.5", "0.3333", "3218", "100"])
member_num_leaf = st.one_of(
    num_literal,
    st.sampled_from(["age_on(birth_date, '08-31')", "age_on(birth_date, '02-29')"]),
)


@functools.cache
def _num(depth: int, member: bool) -> st.SearchStrategy[str]:
    leaf = member_num_leaf if member else household_num_leaf
    if depth == 0:
        return leaf
    sub = _num(depth - 1, member)
    parts = [
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda s: f"-{s}"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
    ]
    if not member:
        parts.append(_bool(depth - 1, True).map(lambda s: f"count(members, {s})"))
        parts.append(_num(depth - 1, True).map(lambda s: f"sum(members, {s})"))
    return st.one_of(*parts)


household_num_leaf = st.one_of(
    num_literal,
    st.sampled_from([f"income.{f}" for f in INCOME_FIELDS]),
    st.just("count(members)"),
    st.just("poverty_line"),
    st.just("per_capita_net_income"),
)


@functools.cache
def _bool(depth: int, member: bool) -> st.SearchStrategy[str]:
    leaves: list[st.SearchStrategy[str]] = [
        st.sampled_from(BOOL_FIELDS),
        st.sampled_from(["true", "false", "null"]),
        st.lists(st.sampled_from(["'A'", "'B'", "'C'", "'D'", "null"]), min_size=1, max_size=3).map(
            lambda items: f"house_safety_grade in ({', '.join(items)})"
        ),
        st.sampled_from(["house_safety_grade == 'A'", "house_safety_grade is null"]),
    ]
    if member:
        leaves += [
            st.sampled_from(MEMBER_BOOL),
            st.sampled_from([f"school_status == '{s}'" for s in SCHOOL]),
            st.sampled_from(
                [
                    "school_status not in ('dropped_out', 'home_taught')",
                    "health_status is not null",
                    "is_known(birth_date)",
                    "age_on(birth_date, '08-31') between 6 and 15",
                    "age_on(birth_date, school_age.reference) not between 16 and 60",
                ]
            ),
        ]
    leaf = st.one_of(*leaves)
    if depth == 0:
        return leaf
    sub = _bool(depth - 1, member)
    num = _num(depth - 1, member)
    parts = [
        leaf,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda s: f"not {s}"),
        st.tuples(num, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        st.tuples(num, num, num).map(lambda t: f"{t[0]} between {t[1]} and {t[2]}"),
        num.map(lambda s: f"is_known({s})"),
        st.tuples(sub, sub).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
    ]
    if not member:
        parts.append(
            st.tuples(st.sampled_from(["any", "all", "count"]), _bool(depth - 1, True)).map(
                lambda t: (
                    f"{t[0]}(members, {t[1]})" if t[0] != "count" else f"count(members, {t[1]}) > 1"
                )
            )
        )
    return st.one_of(*parts)


expressions = st.one_of(_bool(3, False), _num(3, False))

MEMBER_ORDER = [
    "name",
    "birth_date",
    "school_status",
    "health_status",
    "basic_medical_insured",
    "critical_illness_insured",
]

# --- the harness -----------------------------------------------------------------------------


@functools.cache
def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    hcols = ", ".join(
        [f"{f} BOOLEAN" for f in BOOL_FIELDS]
        + ["house_safety_grade VARCHAR"]
        + [f"income_{f} DECIMAL(18,4)" for f in INCOME_FIELDS]
    )
    con.execute(f"CREATE TABLE h (id INTEGER, {hcols})")
    con.execute(
        "CREATE TABLE m (household_id INTEGER, name VARCHAR, birth_date DATE,"
        " school_status VARCHAR, health_status VARCHAR, basic_medical_insured BOOLEAN,"
        " critical_illness_insured BOOLEAN)"
    )
    return con


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    if rows:
        one = "(" + ", ".join("?" * len(rows[0])) + ")"
        values = [v for row in rows for v in row]
        con.execute(f"INSERT INTO {table} VALUES {', '.join([one] * len(rows))}", values)


def load(households: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    """Households as tables h and m of a shared in-memory DuckDB (emptied first)."""
    con = _connection()
    con.execute("DELETE FROM h")
    con.execute("DELETE FROM m")
    hrows: list[list[Any]] = []
    mrows: list[list[Any]] = []
    for hid, hh in enumerate(households):
        income = hh["income"] or {}
        row = [hid, *(hh[f] for f in BOOL_FIELDS), hh["house_safety_grade"]]
        hrows.append(row + [income.get(f) for f in INCOME_FIELDS])
        mrows += [[hid, *(mem[c] for c in MEMBER_ORDER)] for mem in hh["members"]]
    _insert(con, "h", hrows)
    _insert(con, "m", mrows)
    return con


def as_facts(hh: dict[str, Any]) -> dict[str, Any]:
    """The JSON exchange format: dates as ISO strings."""
    members = [
        {**m, "birth_date": m["birth_date"].isoformat() if m["birth_date"] else None}
        for m in hh["members"]
    ]
    return {**hh, "members": members}


def assert_agree(
    con: duckdb.DuckDBPyConnection, households: list[dict[str, Any]], *texts: str
) -> None:
    """One query computes every expression for every household; the interpreter must agree."""
    nodes = [parse(text) for text in texts]
    forms: list[tuple[MemberAggregates | None, Passes]] = [
        (None, Passes()),  # the plain compiler
        (None, Passes(age_cutoffs=True)),
        (MemberAggregates(), Passes(age_cutoffs=True, hoisting=True)),
        (PackedMemberAggregates(), DUCKDB),
    ]
    for hoist, passes in forms:
        columns = [to_sql(node, hoist, passes) for node in nodes]
        source = "h"
        if hoist is not None:  # the bulk form: one grouped member query, LEFT JOINed
            source = f"h LEFT JOIN ({hoist.query()}) AS ma ON ma.household_id = h.id"
        try:
            rows = con.execute(
                f"SELECT h.id, {', '.join(columns)} FROM {source} ORDER BY h.id"
            ).fetchall()
        except (duckdb.OutOfRangeException, duckdb.ConversionException) as exc:
            # A value beyond DECIMAL(18,4) (or a 64-bit division step): the interpreter must
            # refuse at least one household the same way.
            assert _interpreter_overflows(households, nodes), (texts, households, exc)
            continue
        _check(households, texts, nodes, rows)


def _interpreter_overflows(households: list[dict[str, Any]], nodes: list[Any]) -> bool:
    for hh in households:
        for node in nodes:
            try:
                evaluate(
                    node,
                    as_facts(hh),
                    params=PARAMS,
                    variables=EXIT_VARIABLES,
                    year=YEAR,
                    member_columns=MEMBER_COLUMNS,
                    household_columns=HOUSEHOLD_COLUMNS,
                )
            except RuleError as exc:
                if "数值超出范围" in exc.message:
                    return True
    return False


def _check(
    households: list[dict[str, Any]], texts: tuple[str, ...], nodes: list[Any], rows: list[Any]
) -> None:
    assert len(rows) == len(households)
    for hid, *got_values in rows:
        for text, node, got in zip(texts, nodes, got_values, strict=True):
            try:
                result = evaluate(
                    node,
                    as_facts(households[hid]),
                    params=PARAMS,
                    variables=EXIT_VARIABLES,
                    year=YEAR,
                    member_columns=MEMBER_COLUMNS,
                    household_columns=HOUSEHOLD_COLUMNS,
                )
            except RuleError as exc:
                # out of range in the interpreter, which evaluates every operand; DuckDB may skip
                # an operand that cannot change the result (and then has no value to overflow)
                assert "数值超出范围" in exc.message, exc.message
                continue
            assert result.value == got and type(result.value) is type(got), (
                text,
                households[hid],
                result.value,
                got,
            )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households=st.lists(household_st, min_size=1, max_size=5), text=expressions)
def test_random_expressions_agree(households: list[dict[str, Any]], text: str) -> None:
    con = load(households)
    assert_agree(con, households, text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households=st.lists(household_st, min_size=1, max_size=8))
def test_exit_standard_agrees(households: list[dict[str, Any]]) -> None:
    con = load(households)
    assert_agree(con, households, *EXIT_CRITERIA.values(), "per_capita_net_income")


# Many distinct member conditions in one query: 42 flags (2 bits each, 32 a column) fill a 64-bit
# bit_or column and part of a second one, 32 bits wide; a wrong bit position or column in either
# makes some household disagree with the interpreter.
MANY_QUANTIFIERS = [
    f"{q}(members, {cond})"
    for i in range(14)
    for q, cond in (
        ("any", f"school_status == '{SCHOOL[i % len(SCHOOL)]}' and age_on(birth_date, '08-31') > {i}"),
        ("all", f"health_status != '{HEALTH[i % len(HEALTH)]}' or age_on(birth_date, '08-31') < {i}"),
        ("sum", f"age_on(birth_date, '08-31') + {i}"),
    )
]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households=st.lists(household_st, min_size=1, max_size=6))
def test_many_quantifiers_in_one_query_agree(households: list[dict[str, Any]]) -> None:
    con = load(households)
    assert_agree(con, households, *MANY_QUANTIFIERS)
    hoist = PackedMemberAggregates()
    for text in MANY_QUANTIFIERS:
        to_sql(parse(text), hoist, DUCKDB)
    assert len(hoist.flags) == 42 and '"f1"' in hoist.query()


def test_exit_standard_on_a_known_household() -> None:
    # given a household of 3 with net income 3 x 3218 + 0.03 and a 15-year-old who dropped out
    hh: dict[str, Any] = {
        **{f: True for f in BOOL_FIELDS},
        "relocated": False,
        "house_safety_grade": "B",
        "income": {
            "wage_income": Decimal("9000"),
            "business_income": Decimal("654.03"),
            "property_income": Decimal(0),
            "transfer_income": Decimal(0),
            "business_costs": Decimal(0),
        },
        "members": [
            {
                "name": "甲",
                "birth_date": date(2003, 8, 31),
                "school_status": "dropped_out",
                "health_status": "healthy",
                "basic_medical_insured": True,
                "critical_illness_insured": None,
            },
            {
                "name": "乙",
                "birth_date": date(1970, 1, 1),
                "school_status": None,
                "health_status": None,
                "basic_medical_insured": None,
                "critical_illness_insured": None,
            },
            {
                "name": "丙",
                "birth_date": None,
                "school_status": "not_student",
                "health_status": None,
                "basic_medical_insured": False,
                "critical_illness_insured": None,
            },
        ],
    }
    con = load([hh])
    # when / then: both agree, and the values are the expected ones
    expected = {
        "income": True,  # 9654.03 / 3 = 3218.01
        "education": True,  # 16 on 31 August 2019 (born 31 Aug 2003): not of school age
        "medical": False,
        "housing": True,
        "food": True,
    }
    for key, value in expected.items():
        assert_agree(con, [hh], EXIT_CRITERIA[key])
        got = evaluate(
            parse(EXIT_CRITERIA[key]),
            as_facts(hh),
            params=PARAMS,
            variables=EXIT_VARIABLES,
            year=YEAR,
        ).value
        assert got is value, key


def to_sql(node: Any, hoist: MemberAggregates | None = None, passes: Passes = DUCKDB) -> str:
    """`node` compiled with this module's parameters, variables, year and columns."""
    return compile_sql(
        node,
        params=PARAMS,
        variables=EXIT_VARIABLES,
        year=YEAR,
        member_columns=MEMBER_COLUMNS,
        household_columns=HOUSEHOLD_COLUMNS,
        passes=passes,
        hoist=hoist,
    )


def one_member_households(
    births: Iterable[date | None], school_status: str | None = None
) -> list[dict[str, Any]]:
    """One household per birth date, each with one member born then and nothing else known."""
    return [
        {
            **{f: None for f in BOOL_FIELDS},
            "house_safety_grade": None,
            "income": None,
            "members": [
                {
                    "name": "甲",
                    "birth_date": birth,
                    "school_status": school_status,
                    "health_status": None,
                    "basic_medical_insured": None,
                    "critical_illness_insured": None,
                }
            ],
        }
        for birth in births
    ]


def test_age_on_boundaries_in_sql() -> None:
    # given members born so that they are 5, 6, 15 and 16 on 31 August 2019, and a 29 Feb birth
    births = {
        date(2013, 9, 1): 5,
        date(2013, 8, 31): 6,
        date(2003, 9, 1): 15,
        date(2003, 8, 31): 16,
        date(2004, 2, 29): 15,
    }
    households = one_member_households(births, school_status="dropped_out")
    con = load(households)
    # when
    rows = con.execute(
        "SELECT id, "
        + compile_sql(
            parse("sum(members, age_on(birth_date, school_age.reference))"),
            params=PARAMS,
            year=YEAR,
            member_columns=MEMBER_COLUMNS,
            household_columns=HOUSEHOLD_COLUMNS,
        )
        + " FROM h ORDER BY id"
    ).fetchall()
    # then
    assert [age for _, age in rows] == list(births.values())
    assert_agree(con, households, EXIT_CRITERIA["education"])


def test_numbers_beyond_the_decimal_range_are_errors_in_both() -> None:
    hh: dict[str, Any] = {
        **{f: True for f in BOOL_FIELDS},
        "house_safety_grade": "A",
        "members": [],
        "income": {f: Decimal("60000") for f in INCOME_FIELDS},
    }
    con = load([hh])
    text = "income.wage_income * income.wage_income * income.wage_income > 1"  # 2.16e14
    node = parse(text)
    sql = to_sql(node)
    with pytest.raises((duckdb.OutOfRangeException, duckdb.ConversionException)):
        con.execute(f"SELECT {sql} FROM h").fetchall()
    with pytest.raises(RuleError, match="数值超出范围"):
        evaluate(node, as_facts(hh), params=PARAMS, year=YEAR)
    # the same product below the limit is an ordinary number in both
    small = parse("income.wage_income * income.wage_income * 2")
    assert_agree(con, [hh], "income.wage_income * income.wage_income * 2")
    assert evaluate(small, as_facts(hh), params=PARAMS, year=YEAR).value == Decimal("7200000000")


def test_age_comparisons_as_dates_agree_with_the_interpreter_at_every_boundary() -> None:
    """`age_on(d, MM-DD) <op> k` and `between` with whole constants compile to date comparisons
    (no per-member year/month/day); they must give the interpreter's age_on truth value for
    births on each side of every cutoff, 29 February births and references included."""
    from datetime import timedelta

    references = ["08-31", "02-29", "02-28", "03-01", "01-01", "12-31"]
    constants = [0, 1, 5, 6, 15, 16, 60]
    births: set[date] = {date(2000, 2, 29), date(2004, 2, 29), date(2003, 2, 28), date(2003, 3, 1)}
    for k in constants:
        for ref in references:
            month, day = int(ref[:2]), int(ref[3:])
            for y in (YEAR - k, YEAR - k - 1):
                anchor = (
                    date(y, month, min(day, 28)) if (month, day) == (2, 29) else date(y, month, day)
                )
                births.update(anchor + timedelta(days=n) for n in range(-3, 4))
    ordered: list[date | None] = [*sorted(births), None]
    households = one_member_households(ordered)
    con = load(households)
    texts = []
    for ref in references:
        age = f"age_on(birth_date, '{ref}')"
        for k in constants:
            for op in ("==", "!=", "<", "<=", ">", ">="):
                texts += [f"{age} {op} {k}", f"{k} {op} {age}"]
            texts += [f"{age} between {k} and {k + 10}", f"{age} not between {k} and {k + 10}"]
        texts.append(f"{age} between school_age.min and school_age.max")
    for text in texts:
        node = parse(f"any(members, {text})")
        sql = to_sql(node)
        assert "EXTRACT(" not in sql, text  # the rewrite happened: no member's age is computed
        got = [v for _, v in con.execute(f"SELECT id, {sql} FROM h ORDER BY id").fetchall()]
        expected = [
            evaluate(node, as_facts(hh), params=PARAMS, year=YEAR).value for hh in households
        ]
        assert got == expected, text
        assert got[-1] is None  # an unknown birth date stays unknown


def test_division_by_zero_is_unknown_in_both() -> None:
    # given a household without members (household size 0) and a zero literal divisor
    hh = {
        **{f: True for f in BOOL_FIELDS},
        "house_safety_grade": "A",
        "members": [],
        "income": {f: Decimal("100") for f in INCOME_FIELDS},
    }
    con = load([hh])
    for text in ("income.wage_income / 0", "per_capita_net_income", "1 / (2 - 2) > 0"):
        node = parse(text)
        # when
        got = con.execute(f"SELECT {to_sql(node)} FROM h").fetchone()
        # then
        assert got == (None,), text
        assert (
            evaluate(node, as_facts(hh), params=PARAMS, variables=EXIT_VARIABLES, year=YEAR).value
            is None
        ), text


def test_the_member_grouping_uses_an_array_only_for_many_dense_household_ids() -> None:
    from jingzhun.policy.passes.engine_settings import dense_keys as _dense_keys

    # given ten million households numbered 1..10.4M, or scattered, or a village's worth
    assert _dense_keys((1, 10_419_725), 10_419_725)
    assert not _dense_keys((1, 40_000_000), 10_000_000)  # a quarter of the range, beyond 2^24
    assert not _dense_keys((1, 16_000_000), 3_000_000)  # under a quarter of the range used
    assert _dense_keys((5_000_001, 5_000_000 + (1 << 24)), 1 << 22)  # offset, exactly 2^24 ids
    assert not _dense_keys((1, 1000), 1000)  # too few to matter
