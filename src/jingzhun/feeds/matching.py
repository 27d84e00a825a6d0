"""Exact matching of department rosters on the blind index, as one SQL statement for any engine.

Pure Python (no Django): the caller fills two tables in a DuckDB connection or a
core.spark.SparkConnection,

  roster(row_id, id_index)                     the roster rows (blind index of the ID number;
                                               '' or null: no valid number)
  people(member_id, household_id, id_index,    the live members (the index is unique among them,
         village_code)                         `member_id_index_live_unique`; the village
                                               partitions a snapshot by province and county)

and `match` leaves table `matches(row_id, member_id, household_id)`: each roster row whose index
is a live member's. It is the join actions.match_batch makes in the database, for rosters matched
at province scale on DuckDB or Spark (ADR spark-engine).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MATCH_SQL", "TABLES", "create_tables", "match"]

TABLES = {
    "roster": "row_id BIGINT, id_index VARCHAR",
    "people": "member_id BIGINT, household_id BIGINT, id_index VARCHAR, village_code VARCHAR",
}
MATCH_SQL = (
    "CREATE OR REPLACE TABLE matches AS SELECT r.row_id, p.member_id, p.household_id "
    "FROM roster r JOIN people p ON p.id_index = r.id_index WHERE r.id_index <> ''"
)


def create_tables(con: Any) -> None:
    for table, columns in TABLES.items():
        con.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")


def match(con: Any) -> int:
    """Fill `matches`; returns how many roster rows matched."""
    con.execute(MATCH_SQL)
    row = con.execute("SELECT count(*) FROM matches").fetchone()
    return int(row[0]) if row else 0
