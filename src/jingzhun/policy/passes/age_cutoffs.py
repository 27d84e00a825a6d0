"""Pass: age comparisons as comparisons of the birth date with cut-off dates (ADR 0039).

Rewrites `age_on(d, 'MM-DD') <op> k` (either side; <, <=, >, >=, ==, !=) and
`age_on(d, 'MM-DD') [not] between lo and hi`, where k, lo and hi are whole numbers (literals,
`year`, or scalar parameters: constants of the compiled SQL), into comparisons of d with dates
computed here, so that no member's age is computed (year/month/day of millions of dates).

Why it cannot change a result: `age_on(d, MM-DD) >= k` holds exactly when (birth year, month,
day) <= (year - k, MM, DD) (interpreter.age_on: the year difference, less one before the
birthday), and that triple is the date `birth_cutoff(year - k)`, or the month's last day where it
does not exist (02-29 of a common year: no birth date lies between 02-28 and 03-01). `>` k is
`>=` k + 1, `<` and `<=` are their negations, `==` and `between` their conjunctions. A null d
gives null in both forms (a comparison with null). Other comparisons (fractions, expressions, a
cut-off outside the years 1..9998) are left to the plain form.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING

from jingzhun.policy.lang import Between, Call, Compare

if TYPE_CHECKING:
    from jingzhun.policy.compiler import _Compiler

__all__ = ["between", "birth_cutoff", "compare"]

FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def birth_cutoff(year: int, month: int, day: int, k: int) -> str:
    """The latest birth date at which age_on(…, MM-DD) in `year` is at least k."""
    y = year - k
    last = calendar.monthrange(y, month)[1]
    return f"DATE '{date(y, month, min(day, last)).isoformat()}'"


def _in_range(year: int, k: int) -> bool:
    return 1 <= year - k - 1 <= 9998


def compare(compiler: _Compiler, node: Compare, member: bool) -> str | None:
    """`age_on(d, MM-DD) <op> k` as date comparisons on d; None where the pass does not apply."""
    if isinstance(node.left, Call) and node.left.func == "age_on":
        call, other, op = node.left, node.right, node.op
    elif isinstance(node.right, Call) and node.right.func == "age_on":
        call, other, op = node.right, node.left, FLIP.get(node.op, node.op)
    else:
        return None
    k = compiler.whole_constant(other, member)
    if k is None or op not in FLIP or not _in_range(compiler.year, k):
        return None
    d, month, day = compiler.age_parts(call, member)
    at_least = birth_cutoff(compiler.year, month, day, k)  # age >= k  <=>  d <= at_least
    above = birth_cutoff(compiler.year, month, day, k + 1)  # age >  k  <=>  d <= above
    return {
        ">=": f"({d} <= {at_least})",
        ">": f"({d} <= {above})",
        "<": f"({d} > {at_least})",
        "<=": f"({d} > {above})",
        "==": f"({d} <= {at_least} AND {d} > {above})",
        "!=": f"(NOT ({d} <= {at_least} AND {d} > {above}))",
    }[op]


def between(compiler: _Compiler, node: Between, member: bool) -> str | None:
    """`age_on(d, MM-DD) BETWEEN lo AND hi` as date comparisons (without the `NOT` of `not
    between`, which the compiler puts in front); None where the pass does not apply."""
    if not (isinstance(node.operand, Call) and node.operand.func == "age_on"):
        return None
    lo = compiler.whole_constant(node.low, member)
    hi = compiler.whole_constant(node.high, member)
    if lo is None or hi is None or not all(_in_range(compiler.year, k) for k in (lo, hi)):
        return None
    d, month, day = compiler.age_parts(node.operand, member)
    return (
        f"({d} <= {birth_cutoff(compiler.year, month, day, lo)} "
        f"AND {d} > {birth_cutoff(compiler.year, month, day, hi + 1)})"
    )
