"""Pass: DuckDB settings for the one statement that evaluates a standard (ADR 0044).

When the households' ids fill at least a quarter of a range of at most 2^24 (and there are at
least 100,000 of them), the statement that writes `results` (policy.bulk.evaluate) runs with
DuckDB's `perfect_ht_threshold` at 24 instead of its default 12, so that the grouped member pass
(hoisting) indexes an array by household id instead of hashing; the setting is reset after that
one statement, whatever happens.

Why it cannot change a result: the setting chooses how DuckDB finds a group's slot (an array
indexed by the key's value instead of a hash table), not which rows form a group nor how they are
aggregated; the query and its rows are the same. A registry with scattered ids gets the default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["PERFECT_HASH_BITS", "dense_keys", "statement_settings"]

# Member grouping by array instead of hashing for household ids within a range of 2^24
PERFECT_HASH_BITS = 24
MIN_HOUSEHOLDS = 100_000


def dense_keys(id_range: tuple[int, int], households: int) -> bool:
    """Whether the member grouping may use DuckDB's perfect hash table: ids within a range of
    at most 2^24, at least a quarter of it used (the table has a slot for every id in range, in
    each thread), and enough households for it to matter."""
    low, high = id_range
    span = high - low + 1
    return (
        households >= MIN_HOUSEHOLDS and span <= 1 << PERFECT_HASH_BITS and households * 4 >= span
    )


@contextmanager
def statement_settings(
    con: Any, id_range: tuple[int, int] | None, households: int, *, enabled: bool = True
) -> Iterator[None]:
    """Run the enclosed statement with the settings that suit these households' ids."""
    dense = enabled and id_range is not None and dense_keys(id_range, households)
    if dense:
        con.execute(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
    try:
        yield
    finally:
        if dense:
            con.execute("RESET perfect_ht_threshold")
