"""The exact match on the blind index (issue 22 items 2 and 7; ADR 0084 exact-match-in-duckdb):
the keyed DuckDB matcher (a 64-bit key of the index as the join key, the strings compared after
the join) gives the same rows as the plain join of the index strings, including when keys
collide (planted with a weak key: the first 16 characters); the application's DuckDB path gives
the same rows as its database path (called by test_feeds' golden roster test)."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from jingzhun.feeds import actions, exact
from jingzhun.feeds.models import FeedRow

HEAD = "0123456789abcdef"  # the first 16 characters, shared by the planted collisions
WEAK_KEY = "hash(substr({column}, 1, 16))"  # a key under which those collide


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
    (2, 10, "李四", idx(HEAD, "b2")),  # the first 16 characters of member 1
    (3, 11, "王五", idx("fedcba9876543210", "c3")),
    (4, 12, "赵六", idx("ffffffffffffffff", "ff" * 24)),  # the largest hex
]
ROWS = [
    (100, "张三", idx(HEAD, "a1")),  # member 1, same name
    (101, "李四四", idx(HEAD, "b2")),  # member 2 (the other of the colliding pair), name differs
    (102, "外人", idx(HEAD, "d4")),  # members 1 and 2's first 16 characters, the rest nobody's
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


@pytest.mark.parametrize("key", [exact.KEY, WEAK_KEY])
@pytest.mark.parametrize("method", sorted(exact.MATCHERS))
def test_both_matchers_give_the_planted_matches_even_when_keys_collide(
    method: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exact, "KEY", key)
    assert matched(core(RESIDENTS, ROWS), method) == EXPECTED


def test_keyed_and_plain_agree_on_random_indexes_with_planted_collisions() -> None:
    import hashlib

    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    residents = [(i, i // 3, f"名{i % 7}", h(f"r{i}")) for i in range(3000)]
    rows = [(10_000 + i, f"名{i % 5}", h(f"r{i * 2}")) for i in range(1000)]  # half residents
    # every tenth resident's first 16 characters with another tail (must not match)
    rows += [(20_000 + i, "撞", h(f"r{i}")[:16] + h(f"x{i}")[16:]) for i in range(0, 3000, 10)]
    plain = matched(core(residents, rows), "plain")
    assert matched(core(residents, rows), "keyed") == plain
    assert len(plain) == 1000 and all(r[0] < 20_000 for r in plain)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(exact, "KEY", WEAK_KEY)  # every planted row now collides with a resident
        assert matched(core(residents, rows), "keyed") == plain


def test_an_unknown_matcher_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown exact matcher"):
        exact.match(core(RESIDENTS, ROWS), "fuzzy")


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
