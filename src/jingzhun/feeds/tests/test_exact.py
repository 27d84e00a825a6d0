"""The exact match on the blind index (issue 22 items 2 and 7; ADR XXXX exact-match-integer-key):
the keyed DuckDB matcher (the index's first 64 bits as the join key) gives the same rows as the
plain join of the index strings, including when two indexes share their first 64 bits; the
application's DuckDB path gives the same rows as its database path."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from jingzhun.feeds import actions, exact
from jingzhun.feeds.models import FeedRow

HEAD = "0123456789abcdef"  # the first 64 bits shared by the planted collisions


def idx(head: str, tail: str) -> str:
    return head + tail.ljust(48, "0")


def core(residents: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]) -> Any:
    import pyarrow as pa

    def table(data: list[tuple[Any, ...]], names: tuple[str, ...], ints: int) -> Any:
        columns = list(zip(*data, strict=True)) if data else [[] for _ in names]
        return pa.table(
            {
                n: pa.array(col, pa.int64() if i < ints else pa.string())
                for i, (n, col) in enumerate(zip(names, columns, strict=True))
            }
        )

    con = duckdb.connect()
    con.register("r_in", table(residents, ("member_id", "household_id", "name", "id_index"), 2))
    con.register("q_in", table(rows, ("row_id", "name", "id_index"), 1))
    con.execute(f"CREATE TABLE {exact.RESIDENTS_IN} AS SELECT * FROM r_in")
    con.execute(f"CREATE TABLE {exact.ROWS_IN} AS SELECT * FROM q_in")
    return con


def matched(con: Any, method: str) -> list[tuple[Any, ...]]:
    exact.match(con, method)
    return con.execute(f"SELECT * FROM {exact.MATCHED} ORDER BY row_id").fetchall()


RESIDENTS = [
    (1, 10, "张三", idx(HEAD, "a1")),
    (2, 10, "李四", idx(HEAD, "b2")),  # same first 64 bits as member 1
    (3, 11, "王五", idx("fedcba9876543210", "c3")),
    (4, 12, "赵六", idx("ffffffffffffffff", "ff" * 24)),  # the largest words
]
ROWS = [
    (100, "张三", idx(HEAD, "a1")),  # member 1, same name
    (101, "李四四", idx(HEAD, "b2")),  # member 2 (the other of the colliding pair), name differs
    (102, "外人", idx(HEAD, "d4")),  # first 64 bits of members 1 and 2, the rest nobody's
    (103, "", idx("fedcba9876543210", "c3")),  # member 3, no name in the roster
    (104, "赵六", idx("ffffffffffffffff", "ff" * 24)),
    (105, "路人", idx("0000000000000001", "e5")),  # nobody
]
EXPECTED = [
    (100, 1, 10, False),
    (101, 2, 10, True),
    (103, 3, 11, False),
    (104, 4, 12, False),
]


@pytest.mark.parametrize("method", sorted(exact.MATCHERS))
def test_both_matchers_give_the_planted_matches_despite_a_64_bit_collision(method: str) -> None:
    assert exact.word(idx(HEAD, "a1")) == exact.word(idx(HEAD, "d4"))
    assert matched(core(RESIDENTS, ROWS), method) == EXPECTED


def test_keyed_and_plain_agree_on_random_indexes_with_planted_collisions() -> None:
    import hashlib

    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    residents = [(i, i // 3, f"名{i % 7}", h(f"r{i}")) for i in range(3000)]
    rows = [(10_000 + i, f"名{i % 5}", h(f"r{i * 2}")) for i in range(1000)]  # half residents
    # every tenth row: a resident's first 64 bits with another tail (must not match)
    rows += [(20_000 + i, "撞", h(f"r{i}")[:16] + h(f"x{i}")[16:]) for i in range(0, 3000, 10)]
    plain = matched(core(residents, rows), "plain")
    assert matched(core(residents, rows), "keyed") == plain
    assert len(plain) == 1000 and all(r[0] < 20_000 for r in plain)


def test_a_roster_index_that_is_not_64_hex_characters_is_refused() -> None:
    con = core(RESIDENTS, [(1, "张三", "not-an-index")])
    with pytest.raises(ValueError, match="64 hex"):
        exact.match(con, "keyed")
    with pytest.raises(ValueError, match="unknown exact matcher"):
        exact.match(con, "fuzzy")


def test_no_residents_or_no_rows_match_nothing() -> None:
    for method in exact.MATCHERS:
        assert matched(core([], ROWS), method) == []
        assert matched(core(RESIDENTS, []), method) == []


def _outcome(batch: Any) -> list[tuple[Any, ...]]:
    return list(
        FeedRow.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list(
            "row_number", "status", "member_id", "household_id", "match_method", "name_differs"
        )
    )


def check_duckdb_matches_as_the_database(batch: Any, settings: Any) -> None:
    """Re-match loaded `batch` (matched in the database) in DuckDB with both matchers: the same
    rows. Called by test_feeds' golden roster test (one roster load for both)."""
    in_database = _outcome(batch)
    for method in ("keyed", "plain"):
        FeedRow.objects.filter(batch=batch).exclude(id_index="").update(
            status="unmatched", member=None, household=None, match_method="", name_differs=False
        )
        settings.FEEDS_EXACT = {**settings.FEEDS_EXACT, "duckdb_rows": 0, "method": method}
        counts = actions.match_batch(batch.pk, batch.rows_total)
        assert counts["matched"] == batch.matched and counts["unmatched"] == batch.unmatched
        assert _outcome(batch) == in_database, method
