"""Exact matching of roster rows to residents on the ID number's blind index, in DuckDB (issue 22
items 2 and 7, B6; ADR 0084 exact-match-in-duckdb). Pure of Django: DuckDB tables in, a
DuckDB table out, so B6 measures the application's code (benchmarks/crossmatch_exact.py).

Inputs, on one connection:

- `exact_residents_in(member_id BIGINT, household_id BIGINT, name VARCHAR, id_index VARCHAR)`:
  every live resident with an ID number (`Member.id_number_index`: unique among live members);
- `exact_rows_in(row_id BIGINT, name VARCHAR, id_index VARCHAR)`: the roster rows with a valid
  ID number (`FeedRow.id_index`).

Output: `exact_matched(row_id, member_id, household_id, name_differs)`, one row per matched roster
row; `name_differs` when the row carries a name and it is not the resident's.

Two matchers behind one seam (`MATCHERS`, chosen by `settings.FEEDS_EXACT["method"]` in the
application), which give the same rows (feeds/tests/test_exact.py):

- `plain` (the default): the straightforward hash join of the two 64-character index strings;
- `keyed`: a fixed-width 64-bit key derived from the index (`KEY`: DuckDB's
  `hash` of the string) is the join key, so the join hashes and compares 8-byte integers; the
  residents' keys are computed once per store (`prepare_residents`: `exact_residents`, which
  several rosters can be matched against), the rows' within the match. The whole index strings
  are compared for the pairs the join produced only (after the join, not as a join key), so two
  indexes whose keys collide are never a match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

RESIDENTS_IN: Final = "exact_residents_in"
ROWS_IN: Final = "exact_rows_in"
RESIDENTS: Final = "exact_residents"
MATCHED: Final = "exact_matched"
# The join key of `keyed`: any 64-bit function of the index string computed alike on both sides
# (the full strings are compared after the join). DuckDB's hash costs ~0.06 CPU s per million
# strings; reading the first 16 hex characters as an integer costs twice that (ADR).
KEY: Final = "hash({column})"

# the row's name is compared only when the roster gave one
_NAME_DIFFERS: Final = "(coalesce(r.name, '') <> '' AND r.name IS DISTINCT FROM p.name)"


def prepare_residents(con: Any, source: str = RESIDENTS_IN, target: str = RESIDENTS) -> int:
    """Write `target`: the residents with the join key of their index; returns their number."""
    con.execute(
        f"CREATE OR REPLACE TABLE {target} AS SELECT {KEY.format(column='id_index')} AS k, "
        f"member_id, household_id, name, id_index FROM {source}"
    )
    return int(con.execute(f"SELECT count(*) FROM {target}").fetchone()[0])


def match_plain(con: Any) -> int:
    """The straightforward join of the index strings (`exact_residents_in` × `exact_rows_in`)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MATCHED} AS "
        f"SELECT r.row_id, p.member_id, p.household_id, {_NAME_DIFFERS} AS name_differs "
        f"FROM {ROWS_IN} r JOIN {RESIDENTS_IN} p ON r.id_index = p.id_index"
    )
    return _count(con)


def match_keyed(con: Any) -> int:
    """The join on the 64-bit key against `exact_residents` (`prepare_residents`, made once per
    store), the index strings compared for the joined pairs only. The comparison is written as
    `starts_with` of two strings of one length (equality, for them) so that DuckDB keeps it a
    filter over the join's output (an equality between the two sides would become a join key,
    hashing the strings again)."""
    key = KEY.format(column="id_index")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MATCHED} AS "
        f"SELECT r.row_id, p.member_id, p.household_id, {_NAME_DIFFERS} AS name_differs "
        f"FROM (SELECT {key} AS k, row_id, name, id_index FROM {ROWS_IN}) r "
        f"JOIN {RESIDENTS} p ON r.k = p.k "
        "WHERE starts_with(r.id_index, p.id_index) AND length(r.id_index) = length(p.id_index)"
    )
    return _count(con)


def _count(con: Any) -> int:
    return int(con.execute(f"SELECT count(*) FROM {MATCHED}").fetchone()[0])


MATCHERS: Final[dict[str, Callable[[Any], int]]] = {"plain": match_plain, "keyed": match_keyed}


def match(con: Any, method: str = "plain") -> int:
    """Match `exact_rows_in` against the residents with matcher `method` (for `keyed`, the
    residents' store `exact_residents` is prepared here when the connection has none);
    writes `exact_matched` and returns its number of rows."""
    if method not in MATCHERS:
        raise ValueError(f"unknown exact matcher {method!r}; one of {sorted(MATCHERS)}")
    if method == "keyed" and not _has_table(con, RESIDENTS):
        prepare_residents(con)
    return MATCHERS[method](con)


def _has_table(con: Any, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[
            0
        ]
    )
