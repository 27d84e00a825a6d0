"""Pass: member quantifiers hoisted into one grouped pass over the members (ADR 0011).

Rewrites every member quantifier (`count`, `any`, `all`, `sum` over members) of every criterion
compiled with the same `MemberAggregates` from correlated subqueries over `m` (the plain form,
compiler.Correlated) into columns of one query, `SELECT m.household_id, <aggregates> FROM m GROUP
BY 1`, that the caller LEFT JOINs to `h` as `ma` on household_id (policy.bulk). Aggregates are
deduplicated by their SQL text, so criteria that share a condition share a column. Over millions
of rows one grouped pass is much faster than one decorrelated subquery per quantifier.

Why it cannot change a result: each correlated subquery aggregates the rows of `m` whose
household_id is the household's id; the grouped query computes the same aggregate over the same
rows, one row per household_id, and the LEFT JOIN puts it on the household's row. A household
without members has no row in the grouped query, so every column is null there, and each is read
through COALESCE with the value of an aggregate over no rows (0 for counts and sums, FALSE for
"some member"), as the plain form's COALESCE does. `any`/`all`/`sum` keep the plain form's
three-valued CASE, over "some member satisfies c" (bool_or(c)) and "c is unknown for some member"
(bool_or(c IS NULL)) instead of EXISTS tests: the same truth values.
"""

from __future__ import annotations

from jingzhun.policy.compiler import NUM, MemberForm, _ident

__all__ = ["MemberAggregates"]


class MemberAggregates(MemberForm):
    """Member aggregates of many compiled expressions, as columns of one grouped query."""

    def __init__(self, alias: str = "ma") -> None:
        self.alias = alias
        self.columns: dict[str, str] = {}  # aggregate SQL -> column name
        self.reads_household = False

    def reads_household_in_condition(self) -> None:
        self.reads_household = True

    def column(self, expr: str) -> str:
        if expr not in self.columns:
            self.columns[expr] = f"a{len(self.columns)}"
        return f'{self.alias}."{self.columns[expr]}"'

    def _agg(self, expr: str, default: str = "0") -> str:
        return f"COALESCE({self.column(expr)}, {default})"

    def some(self, condition: str) -> str:
        """SQL: some member satisfies the condition (FALSE without members)."""
        return self._agg(f"bool_or({condition})", "FALSE")

    def some_unknown(self, condition: str) -> str:
        """SQL: the condition is unknown (null) for some member (FALSE without members)."""
        return self._agg(f"bool_or(({condition}) IS NULL)", "FALSE")

    def count(self, condition: str | None) -> str:
        expr = "count(*)" if condition is None else f"count_if({condition})"
        return f"CAST({self._agg(expr)} AS {NUM})"

    def any(self, condition: str) -> str:
        some, unknown = self.some(condition), self.some_unknown(condition)
        return f"(CASE WHEN {some} THEN TRUE WHEN {unknown} THEN NULL ELSE FALSE END)"

    def all(self, condition: str) -> str:
        # "no member fails": the tests over NOT c (unknown exactly where c is)
        cond = f"NOT ({condition})"
        some, unknown = self.some(cond), self.some_unknown(cond)
        return f"(CASE WHEN {some} THEN FALSE WHEN {unknown} THEN NULL ELSE TRUE END)"

    def sum_unknown(self, number: str) -> str:
        """SQL: the number is unknown for some member."""
        return self.some_unknown(number)

    def sum(self, number: str) -> str:
        unknown = self.sum_unknown(number)
        total = self._agg(f"sum(CAST({number} AS {NUM}))", f"CAST(0 AS {NUM})")
        return f"(CASE WHEN {unknown} THEN NULL ELSE CAST({total} AS {NUM}) END)"

    def select_list(self) -> list[str]:
        return [f'{expr} AS "{name}"' for expr, name in self.columns.items()]

    def query(self, members: str = "m", households: str = "h", key: str = "id") -> str:
        """The grouped query: one row per household with members, one column per aggregate."""
        cols = self.select_list()
        source = (
            f"{members} AS m JOIN {households} AS h ON m.household_id = h.{_ident(key)}"
            if self.reads_household
            else f"{members} AS m"
        )
        return f"SELECT m.household_id{''.join(', ' + c for c in cols)} FROM {source} GROUP BY 1"
