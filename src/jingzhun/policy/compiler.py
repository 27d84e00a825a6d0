"""Compile a rule AST to one DuckDB SQL expression.

The expression is evaluated per row of the household table aliased `h` (one row per household;
household fields as columns of the same name, the year's income fields as `income_<field>`).
Member functions are correlated scalar subqueries over the member table `m` (column
`household_id` plus the member fields), which DuckDB decorrelates into one grouped join.

Numbers (the same rules as the interpreter, see interpreter.py): every numeric operand is cast
to DECIMAL(18,4) (DuckDB rounds half away from zero); `+`/`-` are exact, `*` is cast back to
DECIMAL(18,4); `/` is computed on BIGINTs scaled by 10^4 and rounded half away from zero to 4
places (DuckDB's own decimal division returns DOUBLE), null when the divisor is zero.

Safety: names are lowercase identifiers checked against the known columns and quoted; parameter
values become literals (numbers rendered from Decimal, strings with quotes doubled); nothing of the
policy text reaches the SQL otherwise.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Collection, Iterator, Mapping
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

__all__ = ["MemberAggregates", "compile_sql", "sql_literal"]

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


class MemberAggregates:
    """Member aggregates hoisted out of many compiled expressions into one grouped query.

    In hoisting mode each quantifier registers its aggregates here (deduplicated by their SQL
    text, so criteria that share a condition share a column) and compiles to a reference to
    column `ma."aN"`; `query()` is then one `GROUP BY household_id` pass over the members,
    which is much faster over millions of rows than one correlated subquery per quantifier.

    The three-valued "some member" tests that any/all/sum need (is the condition true for
    some member, is it unknown for some member) are not an aggregate each: each is a flag, two
    bits per condition of one `bit_or` over a small integer (`coalesce(CAST(c AS UTINYINT), 2)`
    is 1 when c holds, 0 when not, 2 when unknown), so the grouped pass keeps one narrow state
    for all of them instead of two booleans per quantifier (ADR 0044).
    """

    FLAGS_PER_COLUMN = 32  # two bits each in a UBIGINT

    def __init__(self, alias: str = "ma") -> None:
        self.alias = alias
        self.columns: dict[str, str] = {}  # aggregate SQL -> column name
        self.flags: dict[str, int] = {}  # condition SQL -> flag index
        self.reads_household = False

    def column(self, expr: str) -> str:
        if expr not in self.columns:
            self.columns[expr] = f"a{len(self.columns)}"
        return f'{self.alias}."{self.columns[expr]}"'

    def _flag(self, condition: str, bit: int) -> str:
        """SQL: whether bit `bit` (0: true for some member, 1: unknown for some member) of the
        condition's flag is set; FALSE for a household without members."""
        if condition not in self.flags:
            self.flags[condition] = len(self.flags)
        index = self.flags[condition]
        col, pos = divmod(index, self.FLAGS_PER_COLUMN)
        mask = 1 << (2 * pos + bit)
        return f'((COALESCE({self.alias}."f{col}", 0) & {mask}) <> 0)'

    def some(self, condition: str) -> str:
        """SQL: some member satisfies the condition (FALSE without members)."""
        return self._flag(condition, 0)

    def some_unknown(self, condition: str) -> str:
        """SQL: the condition is unknown (null) for some member (FALSE without members)."""
        return self._flag(condition, 1)

    def query(self, members: str = "m", households: str = "h", key: str = "id") -> str:
        """The grouped query: one row per household with members, one column per aggregate."""
        cols = [f'{expr} AS "{name}"' for expr, name in self.columns.items()]
        conditions = list(self.flags)
        for col in range(0, len(conditions), self.FLAGS_PER_COLUMN):
            chunk = conditions[col : col + self.FLAGS_PER_COLUMN]
            width = len(chunk) * 2
            kind = next(
                t for t, bits in (("UTINYINT", 8), ("USMALLINT", 16), ("UINTEGER", 32),
                                  ("UBIGINT", 64)) if width <= bits
            )  # fmt: skip
            parts = [
                f"(CAST(coalesce(CAST(({c}) AS UTINYINT), 2) AS {kind}) << {2 * i})"
                for i, c in enumerate(chunk)
            ]
            cols.append(f'bit_or({" | ".join(parts)}) AS "f{col // self.FLAGS_PER_COLUMN}"')
        source = (
            f"{members} AS m JOIN {households} AS h ON m.household_id = h.{_ident(key)}"
            if self.reads_household
            else f"{members} AS m"
        )
        return f"SELECT m.household_id{''.join(', ' + c for c in cols)} FROM {source} GROUP BY 1"


class _Compiler:
    def __init__(
        self,
        params: Mapping[str, object],
        variables: Mapping[str, Node],
        year: int,
        member_columns: Collection[str],
        household_columns: Collection[str],
        household_key: str,
        hoist: MemberAggregates | None = None,
    ) -> None:
        self.params = params
        self.variables = variables
        self.year = year
        self.member_columns = frozenset(member_columns)
        self.household_columns = frozenset(household_columns)
        self.household_key = household_key
        self.var_stack: list[str] = []
        self.counter: Iterator[int] = itertools.count(1)
        self.hoist = hoist
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
        if self.hoist is not None and self.in_member_condition:
            self.hoist.reads_household = True
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
            if (by_date := self.age_compare(node, member)) is not None:
                return by_date
            op = {"==": "=", "!=": "<>"}.get(node.op, node.op)
            return f"({self.sql(node.left, member)} {op} {self.sql(node.right, member)})"
        if isinstance(node, InList):
            items = ", ".join(sql_literal(i.value, i.pos) for i in node.items)
            neg = "NOT " if node.negated else ""
            return f"({self.sql(node.operand, member)} {neg}IN ({items}))"
        if isinstance(node, Between):
            neg = "NOT " if node.negated else ""
            if (by_date := self.age_between(node, member)) is not None:
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
                f"CAST({self.year} - year({d}) - CASE WHEN month({d}) > {month} OR "
                f"(month({d}) = {month} AND day({d}) > {day}) THEN 1 ELSE 0 END AS {NUM})"
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

    def birth_cutoff(self, month: int, day: int, k: int) -> str:
        """The latest birth date at which age_on(…, MM-DD) in the year is at least k: age >= k
        exactly when (birth year, month, day) <= (year - k, MM, DD) (interpreter.age_on), and
        that triple as a date, or the month's last day where it does not exist (02-29 of a
        common year)."""
        y = self.year - k
        last = calendar.monthrange(y, month)[1]
        return f"DATE '{date(y, month, min(day, last)).isoformat()}'"

    def age_compare(self, node: Compare, member: bool) -> str | None:
        """`age_on(d, MM-DD) <op> k` (or `k <op> age_on(…)`) with a whole constant k as date
        comparisons on d: the same truth values (null where d is null) without computing every
        member's age (year/month/day of millions of dates)."""
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
        if isinstance(node.left, Call) and node.left.func == "age_on":
            call, other, op = node.left, node.right, node.op
        elif isinstance(node.right, Call) and node.right.func == "age_on":
            call, other, op = node.right, node.left, flip.get(node.op, node.op)
        else:
            return None
        k = self.whole_constant(other, member)
        if k is None or op not in flip or not 1 <= self.year - k - 1 <= 9998:
            return None
        d, month, day = self.age_parts(call, member)
        at_least = self.birth_cutoff(month, day, k)  # age >= k  <=>  d <= at_least
        above = self.birth_cutoff(month, day, k + 1)  # age >  k  <=>  d <= above
        return {
            ">=": f"({d} <= {at_least})",
            ">": f"({d} <= {above})",
            "<": f"({d} > {at_least})",
            "<=": f"({d} > {above})",
            "==": f"({d} <= {at_least} AND {d} > {above})",
            "!=": f"(NOT ({d} <= {at_least} AND {d} > {above}))",
        }[op]

    def age_between(self, node: Between, member: bool) -> str | None:
        """`age_on(d, MM-DD) BETWEEN lo AND hi` with whole constants, as date comparisons."""
        if not (isinstance(node.operand, Call) and node.operand.func == "age_on"):
            return None
        lo, hi = self.whole_constant(node.low, member), self.whole_constant(node.high, member)
        if lo is None or hi is None:
            return None
        if not all(1 <= self.year - k - 1 <= 9998 for k in (lo, hi)):
            return None
        d, month, day = self.age_parts(node.operand, member)
        return (
            f"({d} <= {self.birth_cutoff(month, day, lo)} "
            f"AND {d} > {self.birth_cutoff(month, day, hi + 1)})"
        )

    def quantifier(self, node: Call) -> str:
        f = node.func
        key = f"h.{_ident(self.household_key)}"

        # Each aggregate is its own scalar subquery wrapped in COALESCE: DuckDB's decorrelated
        # subqueries yield NULL (not 0) for households without members. In hoisting mode it is
        # a column of the grouped member query instead (null for households without members).
        def agg(expr: str, default: str = "0") -> str:
            if self.hoist is not None:
                return f"COALESCE({self.hoist.column(expr)}, {default})"
            return f"COALESCE((SELECT {expr} FROM m WHERE m.household_id = {key}), {default})"

        if len(node.args) == 1:
            return f"CAST({agg('count(*)')} AS {NUM})"
        # Wrapped so that the aggregate always references `m`: an aggregate over outer columns
        # only (e.g. count_if(h.food_secure)) would otherwise belong to the outer query.
        self.in_member_condition = True
        try:
            inner = self.sql(node.args[1], True)
        finally:
            self.in_member_condition = False
        # (In hoisting mode the aggregate runs over `m` itself and needs no wrapper.)
        c = (
            inner
            if self.hoist is not None
            else (f"(CASE WHEN m.household_id IS NOT NULL THEN {inner} END)")
        )
        # "some member …" and "… unknown for some member": flags of one bit_or in hoisting
        # mode, otherwise bool_or (null only without members, hence COALESCE … FALSE). `all` is
        # "no member fails": its flag is over NOT c (unknown exactly where c is).
        if f == "count":
            return f"CAST({agg(f'count_if({c})')} AS {NUM})"
        cond = f"NOT ({c})" if f == "all" else c
        if self.hoist is not None and f == "sum":
            # c is a number here: only "unknown for some member" is read, as the flag of
            # `c IS NULL` (a number cannot be cast to the flag's 0/1).
            some, unknown = "", self.hoist.some(f"({c}) IS NULL")
        elif self.hoist is not None:
            some, unknown = self.hoist.some(cond), self.hoist.some_unknown(cond)
        else:
            some = agg(f"bool_or({cond})", "FALSE")
            unknown = agg(f"bool_or({c} IS NULL)", "FALSE")
        if f == "any":
            return f"(CASE WHEN {some} THEN TRUE WHEN {unknown} THEN NULL ELSE FALSE END)"
        if f == "all":
            return f"(CASE WHEN {some} THEN FALSE WHEN {unknown} THEN NULL ELSE TRUE END)"
        total = agg(f"sum(CAST({c} AS {NUM}))", f"CAST(0 AS {NUM})")
        return f"(CASE WHEN {unknown} THEN NULL ELSE CAST({total} AS {NUM}) END)"


def compile_sql(
    node: Node,
    *,
    params: Mapping[str, object],
    variables: Mapping[str, Node] | None = None,
    year: int,
    member_columns: Collection[str],
    household_columns: Collection[str],
    household_key: str = "id",
    hoist: MemberAggregates | None = None,
    reads: tuple[set[str], set[str]] | None = None,
) -> str:
    """One SQL expression over `h` (households) and `m` (members, joined on household_id).

    With `hoist`, member quantifiers become columns of `hoist`'s grouped query (alias `ma`,
    to be LEFT JOINed on household_id) instead of correlated subqueries. With `reads`, the
    household and member columns the expression reads are added to those two sets.
    """
    compiler = _Compiler(
        params, variables or {}, year, member_columns, household_columns, household_key, hoist
    )
    sql = compiler.sql(node, False)
    if reads is not None:
        reads[0].update(compiler.read_household)
        reads[1].update(compiler.read_members)
    return sql
