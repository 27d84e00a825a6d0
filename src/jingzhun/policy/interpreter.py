"""Evaluate a rule AST for one household, with Kleene logic and a trace.

Numbers are `decimal.Decimal` with the same rounding as the SQL compiler (see compiler.py):
- every number read (facts, parameters, literals) is rounded to 4 decimal places, half away from
  zero (DuckDB's rounding when casting to DECIMAL(18,4));
- `+` and `-` are exact; `*` is rounded to 4 places half away from zero;
- `/` is rounded to 4 places half away from zero, computed on scaled integers so it is exact;
  division by zero gives null.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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
    Node,
    Not,
    RuleError,
)
from jingzhun.registry import dictionary

__all__ = [
    "DEFAULT_MEMBER_FIELDS",
    "Facts",
    "MemberRef",
    "QuantifierTrace",
    "Result",
    "Trace",
    "Value",
    "evaluate",
    "lookup_param",
    "parse_month_day",
]

Value = Decimal | str | bool | date | None
Facts = Mapping[str, Any]

SCALE = Decimal("0.0001")
# Numbers are DECIMAL(18,4) in the SQL: operands and results must stay below 10^14 in magnitude
# (DuckDB raises an error otherwise, and so does the interpreter, so both agree).
LIMIT = Decimal(10) ** 14
INT64_MAX = 2**63 - 1
_MMDD_RE = re.compile(r"(\d{2})-(\d{2})")

# Member fields of domain.md 2.3 (the data dictionary's, registry.dictionary: pure Python); bare
# names inside a member quantifier resolve to these (and to any key the members actually carry)
# unless `member_columns` is given explicitly.
DEFAULT_MEMBER_FIELDS = frozenset(dictionary.keys("member", on="policy", stored=True))


@dataclass(frozen=True)
class MemberRef:
    index: int
    name: str | None


@dataclass
class QuantifierTrace:
    """Members classified by the condition (count/any/all) or term (sum) of one quantifier.

    For `sum`, `true` holds the members whose term is known and `unknown` those whose term is null.
    """

    func: str
    pos: int
    value: Value = None
    true: list[MemberRef] = field(default_factory=list)
    false: list[MemberRef] = field(default_factory=list)
    unknown: list[MemberRef] = field(default_factory=list)


@dataclass
class Trace:
    reads: dict[str, Value] = field(default_factory=dict)
    variables: dict[str, Value] = field(default_factory=dict)
    quantifiers: list[QuantifierTrace] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    value: Value
    trace: Trace


# --- value helpers ---------------------------------------------------------------------------


def round4(value: Decimal) -> Decimal:
    """Round to 4 places half away from zero; values with fewer decimals keep their exponent
    (3 stays 3, not 3.0000: equal in value, nicer in traces)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        return value.quantize(SCALE, rounding=ROUND_HALF_UP)
    return value


def to_number(value: Decimal | int | float) -> Decimal:
    if isinstance(value, float):
        value = Decimal(str(value))
    return round4(Decimal(value))


def normalize(value: object, pos: int | None = None) -> Value:
    """A Python value from facts or parameters as a rule value."""
    if value is None or isinstance(value, bool | str | date):
        return value
    if isinstance(value, Decimal | int | float):
        return to_number(value)
    raise RuleError(f"不支持的取值类型 {type(value).__name__}", pos)


def to_date(value: Value, pos: int) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise RuleError(f"无效日期 {value!r}", pos) from exc
    raise RuleError("此处应为日期", pos)


def parse_month_day(value: object, pos: int) -> tuple[int, int]:
    """'MM-DD' → (month, day); 02-29 is allowed."""
    if isinstance(value, str) and (m := _MMDD_RE.fullmatch(value)):
        month, day = int(m.group(1)), int(m.group(2))
        try:
            date(2000, month, day)
        except ValueError:
            pass
        else:
            return month, day
    raise RuleError(f"age_on 的第二个参数应为 'MM-DD' 格式的月日，实际为 {value!r}", pos)


def age_on(birth: date, month: int, day: int, year: int) -> int:
    """Whole years on (month, day) of `year`. A 29 February birthday counts as reached on 1 March
    in common years (on 28 February such a person has not yet had the birthday)."""
    return year - birth.year - (1 if (month, day) < (birth.month, birth.day) else 0)


def in_range(value: Decimal, pos: int | None = None) -> Decimal:
    if abs(value) >= LIMIT:
        raise RuleError("数值超出范围（绝对值应小于 10^14）", pos)
    return value


def divide(a: Decimal, b: Decimal, pos: int | None = None) -> Decimal | None:
    """a / b to 4 places, half away from zero, exact: the SQL's 64-bit integer formula
    q * 10^4 + (r * 20000 + |b|) // (2|b|) on the operands scaled by 10^4."""
    ai = int(a.scaleb(4))
    bi = int(b.scaleb(4))
    if bi == 0:
        return None
    sign = (1 if ai >= 0 else -1) * (1 if bi > 0 else -1)
    q, r = divmod(abs(ai), abs(bi))
    if r * 20000 + abs(bi) > INT64_MAX:
        raise RuleError("数值超出范围（除数过大）", pos)
    n = q * 10000 + (r * 20000 + abs(bi)) // (2 * abs(bi))
    return in_range(Decimal(sign * n).scaleb(-4).quantize(SCALE), pos)


def lookup_param(params: Mapping[str, object], parts: tuple[str, ...]) -> tuple[bool, object]:
    """Find a parameter by dotted name: flat keys ("school_age.min") or nested mappings."""
    dotted = ".".join(parts)
    if dotted in params:
        return True, params[dotted]
    current: object = params
    for part in parts:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def and3(values: Sequence[Value], pos: int) -> bool | None:
    result: bool | None = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
        elif v is not True:
            raise RuleError("and 的操作数应为布尔值", pos)
    return result


def or3(values: Sequence[Value], pos: int) -> bool | None:
    result: bool | None = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
        elif v is not False:
            raise RuleError("or 的操作数应为布尔值", pos)
    return result


def not3(value: Value, pos: int) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise RuleError("not 的操作数应为布尔值", pos)
    return not value


def _comparable(a: Value, b: Value, pos: int) -> tuple[Any, Any]:
    if isinstance(a, date) and isinstance(b, str):
        return a, to_date(b, pos)
    if isinstance(b, date) and isinstance(a, str):
        return to_date(a, pos), b
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a, b
    elif type(a) is type(b):
        return a, b
    raise RuleError("比较的两边类型不同", pos)


def compare(op: str, a: Value, b: Value, pos: int) -> bool | None:
    if a is None or b is None:
        return None
    x, y = _comparable(a, b, pos)
    if op == "==":
        return bool(x == y)
    if op == "!=":
        return bool(x != y)
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


# --- the evaluator ---------------------------------------------------------------------------


class _Evaluator:
    def __init__(
        self,
        facts: Facts,
        params: Mapping[str, object],
        variables: Mapping[str, Node],
        year: int,
        member_columns: Collection[str] | None,
        household_columns: Collection[str] | None,
    ) -> None:
        self.facts = facts
        self.params = params
        self.variables = variables
        self.year = year
        members = facts.get("members") or []
        self.members: list[Mapping[str, Any]] = list(members)
        if member_columns is None:
            cols = set(DEFAULT_MEMBER_FIELDS)
            for m in self.members:
                cols.update(m.keys())
            self.member_columns: Collection[str] = cols
        else:
            self.member_columns = member_columns
        self.household_columns = household_columns
        self.trace = Trace()
        self.var_cache: dict[str, Value] = {}
        self.var_stack: list[str] = []

    # names
    def name(self, node: Name, member: int | None) -> Value:
        parts = node.parts
        head = parts[0]
        if parts == ("members",):
            raise RuleError("members 只能作为 count/any/all/sum 的第一个参数", node.pos)
        if member is not None and len(parts) == 1 and head in self.member_columns:
            value = normalize(self.members[member].get(head), node.pos)
            self.trace.reads[f"members[{member}].{head}"] = value
            return value
        if len(parts) == 1 and head in self.variables:
            return self.variable(head, node.pos)
        if parts == ("year",):
            return Decimal(self.year)
        found, raw = lookup_param(self.params, parts)
        if found and not isinstance(raw, Mapping):
            value = normalize(raw, node.pos)
            self.trace.reads[node.dotted] = value
            return value
        if parts == ("reference_date",):
            return date(self.year, 12, 31)
        if head == "income" and len(parts) == 2:
            col = f"income_{parts[1]}"
            if self.household_columns is not None and col not in self.household_columns:
                raise RuleError(f"未知的收入字段 {node.dotted!r}", node.pos)
            income = self.facts.get("income")
            value = normalize(income.get(parts[1]) if income else None, node.pos)
            self.trace.reads[node.dotted] = value
            return value
        if len(parts) == 1 and (self.household_columns is None or head in self.household_columns):
            if head in ("members", "income"):
                raise RuleError(f"名称 {head!r} 不能单独使用", node.pos)
            value = normalize(self.facts.get(head), node.pos)
            self.trace.reads[head] = value
            return value
        raise RuleError(f"未知名称 {node.dotted!r}", node.pos)

    def variable(self, name: str, pos: int) -> Value:
        if name in self.var_cache:
            return self.var_cache[name]
        if name in self.var_stack:
            raise RuleError(f"变量 {name!r} 循环引用", pos)
        self.var_stack.append(name)
        try:
            value = self.eval(self.variables[name], None)
        finally:
            self.var_stack.pop()
        self.var_cache[name] = value
        self.trace.variables[name] = value
        return value

    def number(self, value: Value, pos: int) -> Decimal | None:
        if value is None:
            return value
        if isinstance(value, Decimal):
            return in_range(value, pos)
        raise RuleError("算术运算的操作数应为数字", pos)

    # nodes
    def eval(self, node: Node, member: int | None) -> Value:
        if isinstance(node, Literal):
            return to_number(node.value) if isinstance(node.value, Decimal) else node.value
        if isinstance(node, Name):
            return self.name(node, member)
        if isinstance(node, Not):
            return not3(self.eval(node.operand, member), node.pos)
        if isinstance(node, BoolOp):
            values = [self.eval(o, member) for o in node.operands]
            return and3(values, node.pos) if node.op == "and" else or3(values, node.pos)
        if isinstance(node, Neg):
            n = self.number(self.eval(node.operand, member), node.pos)
            return None if n is None else -n
        if isinstance(node, Binary):
            a = self.number(self.eval(node.left, member), node.pos)
            b = self.number(self.eval(node.right, member), node.pos)
            if a is None or b is None:
                return None
            if node.op == "+":
                return in_range(a + b, node.pos)
            if node.op == "-":
                return in_range(a - b, node.pos)
            if node.op == "*":
                return in_range(round4(a * b), node.pos)
            return divide(a, b, node.pos)
        if isinstance(node, Compare):
            return compare(
                node.op, self.eval(node.left, member), self.eval(node.right, member), node.pos
            )
        if isinstance(node, InList):
            x = self.eval(node.operand, member)
            result: bool | None
            if x is None:
                result = None
            else:
                items = [self.eval(i, member) for i in node.items]
                hits = [compare("==", x, i, node.pos) for i in items]
                result = or3(hits, node.pos)
            return not3(result, node.pos) if node.negated else result
        if isinstance(node, Between):
            x = self.eval(node.operand, member)
            lo = self.eval(node.low, member)
            hi = self.eval(node.high, member)
            inside = and3(
                [compare(">=", x, lo, node.pos), compare("<=", x, hi, node.pos)], node.pos
            )
            return not3(inside, node.pos) if node.negated else inside
        if isinstance(node, IsNull):
            v = self.eval(node.operand, member)
            return (v is not None) if node.negated else (v is None)
        return self.call(node, member)

    def call(self, node: Call, member: int | None) -> Value:
        f = node.func
        if f in ("count", "any", "all", "sum"):
            if member is not None:
                raise RuleError(f"成员函数 {f} 不能嵌套在另一个成员函数中", node.pos)
            return self.quantifier(node)
        if f == "age_on":
            birth = to_date(self.eval(node.args[0], member), node.pos)
            month, day = parse_month_day(self.eval(node.args[1], member), node.args[1].pos)
            if birth is None:
                return None
            return Decimal(age_on(birth, month, day, self.year))
        if f == "coalesce":
            values = [self.eval(a, member) for a in node.args]
            return next((v for v in values if v is not None), None)
        # is_known
        return self.eval(node.args[0], member) is not None

    def quantifier(self, node: Call) -> Value:
        f = node.func
        qt = QuantifierTrace(f, node.pos)
        if len(node.args) == 1:  # count(members)
            value: Value = Decimal(len(self.members))
            qt.true = [self.ref(i) for i in range(len(self.members))]
        else:
            outcomes = [self.eval(node.args[1], i) for i in range(len(self.members))]
            for i, v in enumerate(outcomes):
                if f != "sum" and v is not None and not isinstance(v, bool):
                    raise RuleError(f"{f} 的条件应为布尔值", node.args[1].pos)
                if f == "sum" and v is not None and not isinstance(v, Decimal):
                    raise RuleError("sum 的表达式应为数字", node.args[1].pos)
                bucket = qt.unknown if v is None else (qt.false if v is False else qt.true)
                bucket.append(self.ref(i))
            if f == "count":
                value = Decimal(len(qt.true))
            elif f == "any":
                value = True if qt.true else (None if qt.unknown else False)
            elif f == "all":
                value = False if qt.false else (None if qt.unknown else True)
            else:
                total = Decimal(0)
                for v in outcomes:
                    if v is not None:
                        assert isinstance(v, Decimal)
                        total += v
                value = None if qt.unknown else in_range(total, node.pos)
        qt.value = value
        self.trace.quantifiers.append(qt)
        return value

    def ref(self, index: int) -> MemberRef:
        name = self.members[index].get("name")
        return MemberRef(index, name if isinstance(name, str) else None)


def evaluate(
    node: Node,
    facts: Facts,
    *,
    params: Mapping[str, object],
    variables: Mapping[str, Node] | None = None,
    year: int,
    member_columns: Collection[str] | None = None,
    household_columns: Collection[str] | None = None,
) -> Result:
    """Evaluate `node` for one household (facts as in domain.md 2.5).

    With `household_columns` given (household fields plus `income_<field>` names), unknown names
    raise RuleError as the SQL compiler does; without it, a missing field reads as null.
    """
    ev = _Evaluator(facts, params, variables or {}, year, member_columns, household_columns)
    value = ev.eval(node, None)
    return Result(value, ev.trace)
