"""A separate process in which DuckDB reads a SQLite file (see duck.sqlite_export).

DuckDB's SQLite scanner carries its own copy of the SQLite library. Two copies of SQLite in one
process must not open the same database file: POSIX file locks belong to the process, so when one
copy closes the file it silently drops the other's locks (https://www.sqlite.org/howtocorrupt.html,
2.2.1). Seen here as a SIGBUS in a bulk run. So Django's process never attaches its own SQLite
file in DuckDB; this child does, runs the statements it is given and writes the named tables to
Parquet. The bulk store on SQLite uses it the other way round (`writable`): it writes a staging
SQLite file of its own from Parquet, which Django's connection attaches only after this process
has closed it. No Django here: the job (JSON on stdin) carries everything.
"""

from __future__ import annotations

import json
import sys

import duckdb

# How every Parquet file of ours is written (the SQLite path here, bulk.py's snapshot beside the
# store): one format, whichever database the run read.
PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
# A bulk assessment's input snapshot: row groups of 8,192 rows, so that a household card's
# replay of one household (assessments.selectors.snapshot_facts) skips all groups but one by
# their min/max of the key; with one group of 122,880 households (a county of 100,000) the card
# read the whole file: 25-40 ms against 9-18 ms a card (issue 26, B12; ADR
# 0087-pages-counted-apart).
SNAPSHOT_PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 8192)"


def main() -> None:
    job = json.load(sys.stdin)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute(f"SET temp_directory = '{job['temp_directory']}'")
    con.execute("SET preserve_insertion_order = false")
    if job.get("memory_limit"):
        con.execute(f"SET memory_limit = '{job['memory_limit']}'")
    con.execute(f"LOAD '{job['extension']}'")
    mode = "" if job.get("writable") else ", READ_ONLY"
    con.execute(f"ATTACH '{job['database']}' AS reg (TYPE sqlite{mode})")
    for statement in job["statements"]:
        con.execute(statement)
    con.execute("DETACH reg")
    options = job.get("parquet_options") or PARQUET_OPTIONS
    for table, path in job["exports"]:
        con.execute(f"COPY (SELECT * FROM {table}) TO '{path}' {options}")
    con.close()


if __name__ == "__main__":
    main()
