"""The plain rule compiler: a rule AST to one SQL expression, readable against the language doc.

Read beside docs/development/rule-language.md: each construct of the language is one SQL
construct here, over a row of the household table `h` (household fields as columns of the same
name, the year's income fields as `income_<field>`) and the member table `m` (`household_id` plus
the member fields):

- `and`/`or`/`not`, comparisons, `in`, `between`, `is null`, `coalesce`: SQL's own, which has the
  language's three-valued logic;
- numbers: every numeric operand is cast to DECIMAL(18,4) (DuckDB rounds half away from zero);
  `+`/`-` are exact, `*` is cast back to DECIMAL(18,4); `/` is computed on BIGINTs scaled by 10^4
  and rounded half away from zero to 4 places (DuckDB's decimal division returns DOUBLE), null
  when the divisor is zero (the interpreter's rules, interpreter.py);
- `age_on(d, 'MM-DD')`: the year minus the birth year, less one before the birthday;
- `count`, `any`, `all`, `sum` over members: correlated subqueries over `m`, `any`/`all` as
  `EXISTS` tests in the order the doc states them ("true if COND is true for some member; else
  null if COND is null for some member; else false").

Without passes (`Passes()`) that is all, and the output is standard SQL apart from two spellings
of DuckDB's (`//` for integer division, `sign`). The optimisation passes in `policy/passes/` are
switched on by `Passes`: each rewrites one construct into a faster form with the same value
(age cut-offs: passes/age_cutoffs.py; hoisting: passes/hoisting.py; packed member flags:
passes/member_flags.py; per-statement engine settings: passes/engine_settings.py, applied by
policy/bulk.py). `DUCKDB` is the set the bulk run uses; each pass is tested to change no decision
(policy/tests/test_passes.py).

Safety: names are lowercase identifiers checked against the known columns and quoted; parameter
values become literals (numbers rendered from Decimal, strings with quotes doubled); nothing of the
policy text reaches the SQL otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from jingzhun.policy.interpreter import lookup_param, normalize, parse_month_day
from jingzhun.policy.lang import (
    NAME_RE,
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
from jingzhun.policy.passes import age_cutoffs

__all__ = [
    "DUCKDB",
    "PLAIN",
    "SPARK",
    "Correlated",
    "MemberForm",
    "Passes",
    "compile_sql",
    "sql_literal",
]

# 64-bit decimals: DuckDB's 128-bit DECIMAL(38,4) arithmetic and casts were 10-100 times slower
# (0.3 s per million casts to BIGINT). Magnitudes beyond 10^14 (and divisions of operands beyond
# about 4.6e10) overflow, which DuckDB reports as an error, never as a wrong result.
NUM = "DECIMAL(18,4)"


def sql_literal(value: object, pos: int | None = None) -> str:
    v = normalize(value, pos)
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, Decimal):
        return f"CAST('{format(v, 'f')}' AS {NUM})"
    if isinstance(v, date):
        return f"DATE '{v.isoformat()}'"
    if "\x00" in v:
        raise RuleError("字符串中不能包含空字符", pos)
    return "'" + v.replace("'", "''") + "'"


def _ident(name: str) -> str:
    if not NAME_RE.fullmatch(name):  # pragma: no cover - the tokenizer already refuses these
        raise RuleError(f"无效名称 {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class Passes:
    """The optimisation passes to apply (none by default: the plain compiler's output)."""

    age_cutoffs: bool = False  # passes/age_cutoffs.py
    hoisting: bool = False  # passes/hoisting.py (policy.bulk: one grouped pass over m)
    member_flags: bool = False  # passes/member_flags.py (with hoisting)
    engine_settings: bool = False  # passes/engine_settings.py (policy.bulk, per statement)


PLAIN = Passes()
DUCKDB = Passes(age_cutoffs=True, hoisting=True, member_flags=True, engine_settings=True)
# The Spark engine (core.spark, ADR spark-engine): the member quantifiers as one grouped pass
# (bool_or, count_if, sum: aggregates Spark has), not DuckDB's packed flags and settings.
SPARK = Passes(age_cutoffs=True, hoisting=True)


class MemberForm:
    """How the member quantifiers are written: each method gets the member condition (or
    number) compiled over a row of `m` and returns SQL over `h`. `Correlated` is the plain form;
    passes/hoisting.py's MemberAggregates the hoisted one."""

    def count(self, condition: str | None) -> str:
        raise NotImplementedError

    def any(self, condition: str) -> str:
        raise NotImplementedError

    def all(self, condition: str) -> str:
        raise NotImplementedError

    def sum(self, number: str) -> str:
        raise NotImplementedError

    def reads_household_in_condition(self) -> None:
        """A member condition reads a household field (h.x)."""


class Correlated(MemberForm):
    """The plain form: one correlated subquery over the household's members per test.

    Each count is wrapped in COALESCE(…, 0): DuckDB's decorrelated subqueries yield NULL, not 0,
    for a household without members. The member condition is wrapped in
    `CASE WHEN m.household_id IS NOT NULL THEN … END` inside an aggregate, so that the aggregate
    always reads `m` (SQL makes `sum(h.x)` an aggregate of the outer query)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.members = f"FROM m WHERE m.household_id = {key}"

    def _exists(self, condition: str) -> str:
        return f"EXISTS (SELECT 1 {self.members} AND {condition})"

    def count(self, condition: str | None) -> str:
        where = "" if condition is None else f" AND ({condition})"
        return f"CAST(COALESCE((SELECT count(*) {self.members}{where}), 0) AS {NUM})"

    def any(self, condition: str) -> str:
        return (
            f"(CASE WHEN {self._exists(f'({condition})')} THEN TRUE "
            f"WHEN {self._exists(f'({condition}) IS NULL')} THEN NULL ELSE FALSE END)"
        )

    def all(self, condition: str) -> str:
        return (
            f"(CASE WHEN {self._exists(f'NOT ({condition})')} THEN FALSE "
            f"WHEN {self._exists(f'({condition}) IS NULL')} THEN NULL ELSE TRUE END)"
        )

    def sum(self, number: str) -> str:
        total = (
            f"(SELECT sum(CASE WHEN m.household_id IS NOT NULL THEN {number} END) {self.members})"
        )
        return (
            f"(CASE WHEN {self._exists(f'({number}) IS NULL')} THEN NULL "
            f"ELSE CAST(COALESCE({total}, 0) AS {NUM}) END)"
        )


class _Compiler:
    def __init__(
        self,
        params: Mapping[str, object],
        variables: Mapping[str, Node],
        year: int,
        member_columns: Collection[str],
        household_columns: Collection[str],
        household_key: str,
        members: MemberForm | None = None,
        passes: Passes = PLAIN,
    ) -> None:
        self.params = params
        self.variables = variables
        self.year = year
        self.member_columns = frozenset(member_columns)
        self.household_columns = frozenset(household_columns)
        self.household_key = household_key
        self.var_stack: list[str] = []
        self.counter: Iterator[int] = itertools.count(1)
        self.members = members or Correlated(f"h.{_ident(household_key)}")
        self.passes = passes
        self.read_household: set[str] = set()
        self.read_members: set[str] = set()
        self.in_member_condition = False
        for col in (*self.member_columns, *self.household_columns, household_key):
            if not NAME_RE.fullmatch(col):
                raise RuleError(f"无效列名 {col!r}")

    def name(self, node: Name, member: bool) -> str:
        parts = node.parts
        head = parts[0]
        if parts == ("members",):
            raise RuleError("members 只能作为 count/any/all/sum 的第一个参数", node.pos)
        if member and len(parts) == 1 and head in self.member_columns:
            self.read_members.add(head)
            return f"m.{_ident(head)}"
        if len(parts) == 1 and head in self.variables:
            if head in self.var_stack:
                raise RuleError(f"变量 {head!r} 循环引用", node.pos)
            self.var_stack.append(head)
            try:
                return f"({self.sql(self.variables[head], False)})"
            finally:
                self.var_stack.pop()
        if parts == ("year",):
            return sql_literal(self.year)
        found, raw = lookup_param(self.params, parts)
        if found and not isinstance(raw, Mapping):
            return sql_literal(raw, node.pos)
        if parts == ("reference_date",):
            return sql_literal(date(self.year, 12, 31))
        if head == "income" and len(parts) == 2:
            col = f"income_{parts[1]}"
            if col not in self.household_columns:
                raise RuleError(f"未知的收入字段 {node.dotted!r}", node.pos)
            return self._household(col)
        if len(parts) == 1 and head in self.household_columns and head not in ("members", "income"):
            return self._household(head)
        raise RuleError(f"未知名称 {node.dotted!r}", node.pos)

    def _household(self, col: str) -> str:
        self.read_household.add(col)
        if self.in_member_condition:
            self.members.reads_household_in_condition()
        return f"h.{_ident(col)}"

    def num(self, node: Node, member: bool) -> str:
        return f"CAST({self.sql(node, member)} AS {NUM})"

    def sql(self, node: Node, member: bool) -> str:
        if isinstance(node, Literal):
            return sql_literal(node.value, node.pos)
        if isinstance(node, Name):
            return self.name(node, member)
        if isinstance(node, Not):
            return f"(NOT {self.sql(node.operand, member)})"
        if isinstance(node, BoolOp):
            joiner = " AND " if node.op == "and" else " OR "
            return "(" + joiner.join(self.sql(o, member) for o in node.operands) + ")"
        if isinstance(node, Neg):
            return f"(-{self.num(node.operand, member)})"
        if isinstance(node, Binary):
            a, b = self.num(node.left, member), self.num(node.right, member)
            if node.op in ("+", "-"):
                return f"CAST({a} {node.op} {b} AS {NUM})"
            if node.op == "*":
                return f"CAST({a} * {b} AS {NUM})"
            # Exact division rounded half away from zero to 4 places in 64-bit integers (DuckDB's
            # decimal division returns DOUBLE): with A = |a|*10^4 = q|B| + r, the result is
            # q*10^4 + (r*20000 + |B|) // (2|B|). Overflow is an error, as in the interpreter.
            # Operands are repeated in the text; DuckDB evaluates common subexpressions once.
            # A zero divisor becomes null (NULLIF) rather than a CASE branch, so that the
            # repeated operands stay outside any CASE, where DuckDB computes them once.
            sa, sb = f"CAST({a} * 10000 AS BIGINT)", f"NULLIF(CAST({b} * 10000 AS BIGINT), 0)"
            n = (
                f"(abs({sa}) // abs({sb})) * 10000 "
                f"+ ((abs({sa}) % abs({sb})) * 20000 + abs({sb})) // (2 * abs({sb}))"
            )
            return (
                f"CAST(CAST(sign({sa}) * sign({sb}) * ({n}) "
                f"AS DECIMAL(18,0)) * CAST('0.0001' AS {NUM}) AS {NUM})"
            )
        if isinstance(node, Compare):
            if self.passes.age_cutoffs and (by_date := age_cutoffs.compare(self, node, member)):
                return by_date
            op = {"==": "=", "!=": "<>"}.get(node.op, node.op)
            return f"({self.sql(node.left, member)} {op} {self.sql(node.right, member)})"
        if isinstance(node, InList):
            items = ", ".join(sql_literal(i.value, i.pos) for i in node.items)
            neg = "NOT " if node.negated else ""
            return f"({self.sql(node.operand, member)} {neg}IN ({items}))"
        if isinstance(node, Between):
            neg = "NOT " if node.negated else ""
            if self.passes.age_cutoffs and (by_date := age_cutoffs.between(self, node, member)):
                return f"({neg}{by_date})"
            return (
                f"({self.sql(node.operand, member)} {neg}BETWEEN {self.sql(node.low, member)} "
                f"AND {self.sql(node.high, member)})"
            )
        if isinstance(node, IsNull):
            return f"({self.sql(node.operand, member)} IS {'NOT ' if node.negated else ''}NULL)"
        return self.call(node, member)

    def call(self, node: Call, member: bool) -> str:
        f = node.func
        if f in ("count", "any", "all", "sum"):
            if member:
                raise RuleError(f"成员函数 {f} 不能嵌套在另一个成员函数中", node.pos)
            return self.quantifier(node)
        if f == "age_on":
            d, month, day = self.age_parts(node, member)
            return (
                f"CAST({self.year} - EXTRACT(YEAR FROM {d}) - CASE WHEN EXTRACT(MONTH FROM {d}) "
                f"> {month} OR (EXTRACT(MONTH FROM {d}) = {month} AND EXTRACT(DAY FROM {d}) "
                f"> {day}) THEN 1 ELSE 0 END AS {NUM})"
            )
        if f == "coalesce":
            return "COALESCE(" + ", ".join(self.sql(a, member) for a in node.args) + ")"
        return f"({self.sql(node.args[0], member)} IS NOT NULL)"

    def age_parts(self, node: Call, member: bool) -> tuple[str, int, int]:
        """age_on(date, MM-DD): (the date as SQL, month, day)."""
        arg = node.args[1]
        if isinstance(arg, Literal):
            mmdd: object = arg.value
        elif isinstance(arg, Name):
            found, mmdd = lookup_param(self.params, arg.parts)
            if not found:
                raise RuleError(f"未知参数 {arg.dotted!r}", arg.pos)
        else:
            raise RuleError("age_on 的第二个参数应为常量或参数", arg.pos)
        month, day = parse_month_day(mmdd, arg.pos)
        return f"CAST({self.sql(node.args[0], member)} AS DATE)", month, day

    def whole_constant(self, node: Node, member: bool) -> int | None:
        """The node's value when it is a whole-number literal, the year or a scalar parameter
        (resolved as `name` would resolve it); None otherwise."""
        value: object = None
        if isinstance(node, Literal):
            value = node.value
        elif isinstance(node, Name):
            parts = node.parts
            if member and len(parts) == 1 and parts[0] in self.member_columns:
                return None
            if len(parts) == 1 and parts[0] in self.variables:
                return None
            if parts == ("year",):
                return self.year
            found, raw = lookup_param(self.params, parts)
            if not found or isinstance(raw, Mapping):
                return None
            value = raw
        else:
            return None
        v = normalize(value, node.pos)
        if isinstance(v, bool) or not isinstance(v, Decimal) or v != v.to_integral_value():
            return None
        k = int(v)
        return k if abs(k) <= 200 else None

    def quantifier(self, node: Call) -> str:
        """count/any/all/sum over members, in the form self.members writes (plain: Correlated)."""
        if len(node.args) == 1:
            return self.members.count(None)
        self.in_member_condition = True
        try:
            inner = self.sql(node.args[1], True)
        finally:
            self.in_member_condition = False
        if node.func == "count":
            return self.members.count(inner)
        if node.func == "any":
            return self.members.any(inner)
        if node.func == "all":
            return self.members.all(inner)
        return self.members.sum(inner)


def compile_sql(
    node: Node,
    *,
    params: Mapping[str, object],
    variables: Mapping[str, Node] | None = None,
    year: int,
    member_columns: Collection[str],
    household_columns: Collection[str],
    household_key: str = "id",
    passes: Passes = PLAIN,
    hoist: MemberForm | None = None,
    reads: tuple[set[str], set[str]] | None = None,
) -> str:
    """One SQL expression over `h` (households) and `m` (members, joined on household_id).

    By default the plain compiler's output. `passes` switches optimisation passes on; with
    `hoist` (passes.hoisting.MemberAggregates or passes.member_flags.PackedMemberAggregates),
    member quantifiers become columns of its grouped query (alias `ma`, to be LEFT JOINed on
    household_id) instead of correlated subqueries. With `reads`, the household and member
    columns the expression reads are added to those two sets.
    """
    compiler = _Compiler(
        params, variables or {}, year, member_columns, household_columns, household_key,
        hoist, passes,
    )  # fmt: skip
    sql = compiler.sql(node, False)
    if reads is not None:
        reads[0].update(compiler.read_household)
        reads[1].update(compiler.read_members)
    return sql
