"""Parser, interpreter and compiler of the rule language (pure Python, no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from jingzhun.policy import RuleError, compile_sql, evaluate, parse
from jingzhun.policy.lang import (
    Between,
    Binary,
    BoolOp,
    Call,
    Compare,
    InList,
    IsNull,
    Literal,
    Name,
    Neg,
    Not,
)

YEAR = 2019
PARAMS: dict[str, object] = {
    "poverty_line": 3218,
    "school_age": {"min": 6, "max": 15, "reference": "08-31"},
}


def ev(text: str, facts: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    kwargs.setdefault("params", PARAMS)
    kwargs.setdefault("year", YEAR)
    return evaluate(parse(text), facts or {}, **kwargs).value


# --- parser ----------------------------------------------------------------------------------


def test_precedence_or_and_not_cmp() -> None:
    node = parse("not a == 1 or b and c")
    assert isinstance(node, BoolOp) and node.op == "or"
    left, right = node.operands
    assert isinstance(left, Not) and isinstance(left.operand, Compare)
    assert isinstance(right, BoolOp) and right.op == "and"


def test_precedence_arithmetic() -> None:
    node = parse("1 + 2 * -3 - 4 / 5")
    # ((1 + (2 * -3)) - (4 / 5))
    assert isinstance(node, Binary) and node.op == "-"
    assert isinstance(node.left, Binary) and node.left.op == "+"
    mul = node.left.right
    assert isinstance(mul, Binary) and mul.op == "*" and isinstance(mul.right, Neg)
    assert isinstance(node.right, Binary) and node.right.op == "/"
    assert ev("1 + 2 * -3 - 4 / 5") == Decimal("-5.8")
    assert ev("(1 + 2) * 3") == Decimal(9)


def test_every_construct_parses() -> None:
    assert parse("x in ('A', \"B\", 1, -2.5, true, null)") == InList(
        Name(("x",), 0),
        (
            Literal("A", 6),
            Literal("B", 11),
            Literal(Decimal(1), 16),
            Literal(Decimal("-2.5"), 19),
            Literal(True, 25),
            Literal(None, 31),
        ),
        False,
        2,
    )
    node = parse("x not in ('A')")
    assert isinstance(node, InList) and node.negated
    node = parse("age not between school_age.min and 1 + 2")
    assert isinstance(node, Between) and node.negated
    assert node.low == Name(("school_age", "min"), 16)
    assert isinstance(parse("x is null"), IsNull)
    node = parse("x is not null")
    assert isinstance(node, IsNull) and node.negated
    call = parse("any(members, school_status == 'dropped_out')")
    assert isinstance(call, Call) and call.func == "any" and len(call.args) == 2
    assert parse("income.wage_income") == Name(("income", "wage_income"), 0)
    for op in ("==", "!=", "<", "<=", ">", ">="):
        cmp = parse(f"a {op} b")
        assert isinstance(cmp, Compare) and cmp.op == op
    assert isinstance(parse("coalesce(a, b, 1)"), Call)
    assert isinstance(parse("is_known(a)"), Call)
    assert isinstance(parse("count(members)"), Call)
    assert isinstance(parse("not not true"), Not)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("a ==", 4, "表达式"),
        ("(a", 2, "“)”"),
        ("a == 'abc", 5, "引号"),
        ("a $ b", 2, "无法识别"),
        ("evil(1)", 0, "未知函数"),
        ("count(1)", 0, "members"),
        ("age_on(a)", 0, "参数个数"),
        ("a b", 2, "多余"),
        ("x in (y)", 6, "常量"),
        ("x between 1", 11, "between"),
        ("x is 1", 5, "null"),
        ("Name == 1", 0, "小写"),
        ("", 0, "为空"),
        ("a.", 2, "名称"),
        ("and", 0, "关键字"),
    ],
)
def test_parse_errors_have_position_and_chinese_message(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(RuleError) as info:
        parse(text)
    assert info.value.position == position
    assert fragment in info.value.message


# --- Kleene logic ----------------------------------------------------------------------------

T, F, N = "true", "false", "null"
PY = {T: True, F: False, N: None}


@pytest.mark.parametrize("a", [T, F, N])
@pytest.mark.parametrize("b", [T, F, N])
def test_and_or_truth_tables(a: str, b: str) -> None:
    x, y = PY[a], PY[b]
    expected_and = False if False in (x, y) else (None if None in (x, y) else True)
    expected_or = True if True in (x, y) else (None if None in (x, y) else False)
    assert ev(f"{a} and {b}") is expected_and
    assert ev(f"{a} or {b}") is expected_or


def test_not_and_null_comparisons() -> None:
    assert ev("not null") is None
    assert ev("not true") is False
    assert ev("null == null") is None
    assert ev("1 < null") is None
    assert ev("null in ('A')") is None
    assert ev("'C' in ('A', null)") is None
    assert ev("'A' in ('A', null)") is True
    assert ev("'C' not in ('A', 'B')") is True
    assert ev("null is null") is True
    assert ev("is_known(null)") is False
    assert ev("coalesce(null, 2, 3)") == 2
    assert ev("5 between 5 and 6") is True
    assert ev("7 between 5 and 6") is False
    assert ev("5 between null and 4") is False
    assert ev("5 between null and 6") is None


def test_arithmetic_with_null_and_division_by_zero() -> None:
    assert ev("1 + null") is None
    assert ev("-null") is None
    assert ev("1 / 0") is None
    assert ev("1 / 0 > 1") is None
    assert ev("10 / 3") == Decimal("3.3333")
    assert ev("20 / 3") == Decimal("6.6667")
    assert ev("-20 / 3") == Decimal("-6.6667")
    assert ev("0.00005 * 1") == Decimal("0.0001")  # literals rounded to 4 places, half up


def test_type_errors_are_rule_errors() -> None:
    with pytest.raises(RuleError):
        ev("1 + 'a'")
    with pytest.raises(RuleError):
        ev("1 and true")
    with pytest.raises(RuleError):
        ev("'a' < 1")


# --- names -----------------------------------------------------------------------------------


def test_names_resolve_to_fields_params_income_variables() -> None:
    facts = {"food_secure": True, "income": {"wage_income": 100}, "members": [{}, {}]}
    variables = {"size": parse("count(members)"), "pc": parse("income.wage_income / size")}
    result = evaluate(
        parse("food_secure and pc < poverty_line and school_age.min == 6 and year == 2019"),
        facts,
        params=PARAMS,
        variables=variables,
        year=YEAR,
    )
    assert result.value is True
    assert result.trace.variables == {"size": Decimal(2), "pc": Decimal(50)}
    assert result.trace.reads["food_secure"] is True
    assert result.trace.reads["income.wage_income"] == Decimal(100)
    assert result.trace.reads["poverty_line"] == Decimal(3218)


def test_missing_income_reads_as_null() -> None:
    assert ev("income.wage_income", {"income": None}) is None


def test_unknown_names_are_refused() -> None:
    with pytest.raises(RuleError, match="未知名称") as info:
        ev("nosuch == 1", household_columns={"food_secure"})
    assert info.value.position == 0
    with pytest.raises(RuleError, match="未知的收入字段"):
        ev("income.nosuch", household_columns={"food_secure"})
    with pytest.raises(RuleError, match="members"):
        ev("members")
    with pytest.raises(RuleError, match="循环"):
        evaluate(parse("a"), {}, params={}, variables={"a": parse("a + 1")}, year=YEAR)
    with pytest.raises(RuleError, match="嵌套"):
        ev("any(members, count(members) > 1)", {"members": [{}]})


# --- quantifiers -----------------------------------------------------------------------------

MEMBERS = [
    {"name": "甲", "basic_medical_insured": True, "work_months": 3},
    {"name": "乙", "basic_medical_insured": None, "work_months": None},
    {"name": "丙", "basic_medical_insured": False, "work_months": 5},
]


def test_quantifiers_with_nulls_and_trace() -> None:
    facts = {"members": MEMBERS}
    result = evaluate(parse("all(members, basic_medical_insured)"), facts, params={}, year=YEAR)
    assert result.value is False
    (q,) = result.trace.quantifiers
    assert [r.name for r in q.false] == ["丙"]
    assert [r.index for r in q.unknown] == [1]
    assert [r.index for r in q.true] == [0]
    assert result.trace.reads["members[2].basic_medical_insured"] is False
    assert ev("any(members, basic_medical_insured)", facts) is True
    assert ev("any(members, not basic_medical_insured)", facts) is True
    assert ev("any(members, basic_medical_insured)", {"members": MEMBERS[1:2]}) is None
    assert ev("any(members, basic_medical_insured)", {"members": MEMBERS[1:]}) is None
    assert ev("all(members, basic_medical_insured)", {"members": MEMBERS[:2]}) is None
    assert ev("count(members)", facts) == 3
    assert ev("count(members, basic_medical_insured)", facts) == 1
    assert ev("sum(members, work_months)", facts) is None
    assert ev("sum(members, coalesce(work_months, 0))", facts) == 8


def test_quantifiers_over_no_members() -> None:
    for facts in ({"members": []}, {}):
        assert ev("any(members, basic_medical_insured)", facts) is False
        assert ev("all(members, basic_medical_insured)", facts) is True
        assert ev("count(members)", facts) == 0
        assert ev("count(members, basic_medical_insured)", facts) == 0
        assert ev("sum(members, work_months)", facts) == 0


# --- age_on ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "age"),
    [
        ("2013-08-31", 6),  # sixth birthday on the day
        ("2013-09-01", 5),  # one day short
        ("2004-08-31", 15),
        ("2003-09-01", 15),
        ("2003-08-31", 16),
        (date(2003, 8, 30), 16),
    ],
)
def test_age_on_31_august(birth: str | date, age: int) -> None:
    facts = {"members": [{"birth_date": birth}]}
    assert ev("sum(members, age_on(birth_date, school_age.reference))", facts) == age
    school = "any(members, age_on(birth_date, '08-31') between 6 and 15)"
    assert ev(school, facts) is (6 <= age <= 15)


def test_age_on_29_february_and_null() -> None:
    leapling = {"members": [{"birth_date": "2004-02-29"}]}
    assert ev("sum(members, age_on(birth_date, '02-28'))", leapling) == 14  # 2019: not yet
    assert ev("sum(members, age_on(birth_date, '03-01'))", leapling) == 15
    assert ev("sum(members, age_on(birth_date, '02-29'))", leapling) == 15
    assert ev("count(members, age_on(birth_date, '08-31') is null)", {"members": [{}]}) == 1
    with pytest.raises(RuleError, match="MM-DD"):
        ev("sum(members, age_on(birth_date, '02-30'))", leapling)
    with pytest.raises(RuleError, match="MM-DD"):
        ev("sum(members, age_on(birth_date, '8-31'))", leapling)


# --- SQL safety ------------------------------------------------------------------------------

HCOLS = {"house_safety_grade", "food_secure"}
MCOLS = {"name", "birth_date"}


def sql(text: str, params: dict[str, object] | None = None) -> str:
    return compile_sql(
        parse(text),
        params=params if params is not None else PARAMS,
        year=YEAR,
        member_columns=MCOLS,
        household_columns=HCOLS,
    )


def run(expr: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE h (id INTEGER, house_safety_grade VARCHAR, food_secure BOOLEAN)")
    con.execute("CREATE TABLE m (household_id INTEGER, name VARCHAR, birth_date DATE)")
    con.execute("INSERT INTO h VALUES (1, 'A''; DROP TABLE h; --', TRUE)")
    rows = con.execute(f"SELECT {expr} FROM h").fetchall()
    assert con.execute("SELECT count(*) FROM h").fetchone() == (1,)
    return rows


def test_strings_in_policy_text_are_quoted() -> None:
    evil = 'house_safety_grade == "A\'; DROP TABLE h; --"'
    assert run(sql(evil)) == [(True,)]
    assert ev(evil, {"house_safety_grade": "A'; DROP TABLE h; --"}) is True


def test_string_parameters_are_quoted() -> None:
    params: dict[str, object] = {"grade": "x') OR TRUE OR ('", "slash": "\\' OR TRUE --"}
    assert run(sql("house_safety_grade == grade", params)) == [(False,)]
    assert run(sql("house_safety_grade == slash", params)) == [(False,)]
    with pytest.raises(RuleError, match="空字符"):
        sql("house_safety_grade == nul", {"nul": "a\x00b"})


def test_names_are_checked_against_known_columns() -> None:
    with pytest.raises(RuleError, match="未知名称"):
        sql("password == 1")
    with pytest.raises(RuleError):
        sql('"food_secure; DROP TABLE h" == 1 and h.id')
    with pytest.raises(RuleError, match="无法识别"):
        sql("food_secure; DROP TABLE h")
    with pytest.raises(RuleError, match="小写"):
        sql("FOOD_SECURE")
    with pytest.raises(RuleError, match="无效列名"):
        compile_sql(
            parse("1"), params={}, year=YEAR, member_columns={"x y"}, household_columns=set()
        )
    with pytest.raises(RuleError, match="字段"):
        sql("income.nosuch > 1")


def test_non_constant_age_reference_is_refused_in_sql() -> None:
    with pytest.raises(RuleError, match="常量或参数"):
        sql("any(members, age_on(birth_date, coalesce('08-31')) > 1)")
    assert run(sql("any(members, age_on(birth_date, school_age.reference) > 1)")) == [(False,)]
