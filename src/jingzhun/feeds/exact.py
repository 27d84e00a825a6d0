"""Exact matching of roster rows to residents on the ID number's blind index, in DuckDB (issue 22
items 2 and 7, B6; ADR XXXX exact-match-integer-key). Pure of Django: DuckDB tables in, a
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

- `plain`: the straightforward hash join of the two 64-character index strings;
- `keyed` (the default): the index is 256 bits written as 64 hex characters (HMAC-SM3 or
  HMAC-SHA256, `core.fieldcrypt.blind_index`), so it is read as four unsigned 64-bit words;
  the join is on the first word only (fixed width: no string hashing nor comparison, 8 bytes a
  row instead of 64) and the other three words are compared for the pairs the join produced
  (after the join, not as join keys), so a pair whose first 64 bits collide is never a match.
  `prepare_residents` writes the residents' words once, ordered by the first (a store that
  several rosters can be matched against: `exact_residents`).

Index values must be 64 hex characters (what `blind_index` writes); a row whose index is not is
refused by `prepare_rows` (it could match under `plain` and not under `keyed`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

WORDS: Final = ("k0", "k1", "k2", "k3")
RESIDENTS_IN: Final = "exact_residents_in"
ROWS_IN: Final = "exact_rows_in"
RESIDENTS: Final = "exact_residents"
ROWS: Final = "exact_rows"
MATCHED: Final = "exact_matched"

# the row's name is compared only when the roster gave one
_NAME_DIFFERS: Final = "(coalesce(r.name, '') <> '' AND r.name IS DISTINCT FROM p.name)"


def words_sql(column: str = "id_index") -> str:
    """The four 64-bit words of a 64-hex-character index column (NULL when not hex)."""
    return ", ".join(
        f"TRY_CAST(('0x' || substr({column}, {1 + 16 * i}, 16)) AS UBIGINT) AS {w}"
        for i, w in enumerate(WORDS)
    )


def word(index: str, i: int = 0) -> int:
    """Word `i` of index `index` (tests, tools): as `words_sql` reads it."""
    return int(index[16 * i : 16 * (i + 1)], 16)


def prepare_residents(con: Any, source: str = RESIDENTS_IN, target: str = RESIDENTS) -> int:
    """Write `target`: the residents' index as four words, ordered by the first, with
    member_id, household_id and name; returns the number of residents. Residents whose index is
    not 64 hex characters are left out (`blind_index` never writes one)."""
    con.execute(
        f"CREATE OR REPLACE TABLE {target} AS "
        f"SELECT * FROM (SELECT {words_sql()}, member_id, household_id, name FROM {source} "
        "WHERE length(id_index) = 64) WHERE k0 IS NOT NULL AND k1 IS NOT NULL "
        "AND k2 IS NOT NULL AND k3 IS NOT NULL ORDER BY k0"
    )
    return int(con.execute(f"SELECT count(*) FROM {target}").fetchone()[0])


def prepare_rows(con: Any, source: str = ROWS_IN, target: str = ROWS) -> None:
    """Write `target`: the roster rows' index as four words; refuses an index that is not 64
    hex characters."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {target} AS "
        f"SELECT {words_sql()}, row_id, name, length(id_index) = 64 AS whole FROM {source}"
    )
    bad = con.execute(
        f"SELECT count(*) FROM {target} WHERE NOT whole OR k0 IS NULL OR k1 IS NULL "
        "OR k2 IS NULL OR k3 IS NULL"
    ).fetchone()[0]
    if bad:
        raise ValueError(f"{bad} roster index values are not 64 hex characters")


def match_plain(con: Any) -> int:
    """The straightforward join of the index strings (`exact_residents_in` × `exact_rows_in`)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MATCHED} AS "
        f"SELECT r.row_id, p.member_id, p.household_id, {_NAME_DIFFERS} AS name_differs "
        f"FROM {ROWS_IN} r JOIN {RESIDENTS_IN} p ON r.id_index = p.id_index"
    )
    return _count(con)


def match_keyed(con: Any) -> int:
    """The join on the first 64-bit word of the index against `exact_residents`
    (`prepare_residents`, made once per store), the other three words compared for the joined
    pairs only. The comparison is written as an XOR so that DuckDB keeps it a filter over the
    join's output (an equality between the two sides would be made a join key)."""
    prepare_rows(con)
    rest = " | ".join(f"xor(r.{w}, p.{w})" for w in WORDS[1:])
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MATCHED} AS "
        f"SELECT r.row_id, p.member_id, p.household_id, {_NAME_DIFFERS} AS name_differs "
        f"FROM {ROWS} r JOIN {RESIDENTS} p ON r.k0 = p.k0 WHERE ({rest}) = 0"
    )
    return _count(con)


def _count(con: Any) -> int:
    return int(con.execute(f"SELECT count(*) FROM {MATCHED}").fetchone()[0])


MATCHERS: Final[dict[str, Callable[[Any], int]]] = {"plain": match_plain, "keyed": match_keyed}


def match(con: Any, method: str = "keyed") -> int:
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
