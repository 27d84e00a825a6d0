"""Keyset pagination: a page of rows after (or before) a key, never OFFSET (issue 26, B12).

OFFSET paging reads and throws away every row before the page (page 100 of the county's
household list read 5,000 rows to show 50), and its "page N of M" needs an exact COUNT over the
whole filtered set on every page. A keyset page reads the page's rows from an index on the
ordering key, whatever its depth; the count is exact up to `cap` and "more than cap" above it
(ADR 0070).

The key must be unique among the rows (the household code among live households), so "after
the last row shown" and "before the first row shown" are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet

PAGE_SIZE = 50
COUNT_CAP = 1_000


@dataclass(frozen=True)
class KeysetPage:
    """The rows of one page and the keys that open its neighbours ("" when there is none)."""

    rows: list[Any]
    count: int  # exact when not `count_capped`; else the cap
    count_capped: bool  # more rows than `count`
    next_after: str  # the key to pass as `after` for the next page
    previous_before: str  # the key to pass as `before` for the previous page
    first_key: str  # the keys of the first and last rows shown ("" without rows)
    last_key: str

    @property
    def has_next(self) -> bool:
        return bool(self.next_after)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_before)


def capped_count(qs: QuerySet[Any], cap: int | None = None) -> tuple[int, bool]:
    """(count, capped): the exact number of rows up to `cap` (default COUNT_CAP), else
    (cap, True). One query that stops reading after cap + 1 rows."""
    cap = COUNT_CAP if cap is None else cap
    n = qs.order_by()[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


def keyset_page(
    qs: QuerySet[Any],
    key: str,
    *,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    counted: QuerySet[Any] | None = None,
    cap: int | None = None,
) -> KeysetPage:
    """The page of `qs` (ordered by the unique field `key`) after the key `after`, or before
    `before` (the previous page), or the first page. Two queries: the rows (one more than a page,
    to know whether another follows) and the capped count of `counted` (default `qs`)."""
    if before:
        found = list(qs.filter(**{f"{key}__lt": before}).order_by(f"-{key}")[: size + 1])
        more_before = len(found) > size
        rows = list(reversed(found[:size]))
        more_after = True  # the row `before` itself follows
    else:
        window = qs.filter(**{f"{key}__gt": after}) if after else qs
        found = list(window.order_by(key)[: size + 1])
        rows = found[:size]
        more_after = len(found) > size
        more_before = bool(after)
    count, capped = capped_count(counted if counted is not None else qs, cap)
    first, last = (getattr(rows[0], key), getattr(rows[-1], key)) if rows else ("", "")
    return KeysetPage(
        rows=rows,
        count=count,
        count_capped=capped,
        next_after=str(last) if more_after and rows else "",
        previous_before=str(first) if more_before and rows else "",
        first_key=str(first),
        last_key=str(last),
    )


class CountedPaginator(Paginator):
    """Django's paginator told the number of rows, counted another way (e.g. the assistance
    lists' count_without, issue 26), so it does not COUNT the list's own query: the rows of a
    page are still read with LIMIT/OFFSET from that query."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count
