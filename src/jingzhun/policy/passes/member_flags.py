"""Pass: the hoisted "some member" tests as packed bits of one bit_or (ADR 0044).

With hoisting, `any`/`all`/`sum` read two tests per member condition c: "c is true for some
member" and "c is unknown for some member", each a bool_or column (hoisting.MemberAggregates).
This pass writes them as flags instead: each member's `coalesce(CAST(c AS UTINYINT), 2)` is 1
when c holds, 0 when not, 2 when unknown; shifted by 2 x the condition's index and OR-ed, one
`bit_or` aggregate carries up to 32 conditions (UBIGINT), so the grouped pass keeps one narrow
state for all of them instead of two booleans per quantifier.

Why it cannot change a result: bit 0 of a condition's pair is set in the household's bit_or
exactly when some member's value is 1 (c true), which is bool_or(c); bit 1 exactly when some
member's value is 2 (c null), which is bool_or(c IS NULL); different conditions occupy disjoint
bit pairs, so OR-ing them loses nothing. A household without members has no row, its flag
column is null, read as 0 through COALESCE: both tests FALSE, as the bool_or columns read.
`sum` over a number reads only "unknown", as the flag of `(e) IS NULL` (never null itself).
"""

from __future__ import annotations

from .hoisting import MemberAggregates

__all__ = ["PackedMemberAggregates"]

_WIDTHS = (("UTINYINT", 8), ("USMALLINT", 16), ("UINTEGER", 32), ("UBIGINT", 64))


class PackedMemberAggregates(MemberAggregates):
    """MemberAggregates whose "some member" tests are bits of bit_or columns `f0`, `f1`, …"""

    FLAGS_PER_COLUMN = 32  # two bits each in a UBIGINT

    def __init__(self, alias: str = "ma") -> None:
        super().__init__(alias)
        self.flags: dict[str, int] = {}  # condition SQL -> flag index

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
        return self._flag(condition, 0)

    def some_unknown(self, condition: str) -> str:
        return self._flag(condition, 1)

    def sum_unknown(self, number: str) -> str:
        # a number cannot be cast to the flag's 0/1: the flag of `(e) IS NULL`, bit 0
        return self.some(f"({number}) IS NULL")

    def select_list(self) -> list[str]:
        cols = super().select_list()
        conditions = list(self.flags)
        for col in range(0, len(conditions), self.FLAGS_PER_COLUMN):
            chunk = conditions[col : col + self.FLAGS_PER_COLUMN]
            kind = next(t for t, bits in _WIDTHS if len(chunk) * 2 <= bits)
            parts = [
                f"(CAST(coalesce(CAST(({c}) AS UTINYINT), 2) AS {kind}) << {2 * i})"
                for i, c in enumerate(chunk)
            ]
            cols.append(f'bit_or({" | ".join(parts)}) AS "f{col // self.FLAGS_PER_COLUMN}"')
        return cols
