"""The bulk path's plumbing: the named pipe from DuckDB into PostgreSQL's COPY."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from jingzhun.assessments.storage import stream_through_pipe


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named pipes: Linux only")
def test_the_pipe_carries_what_duckdb_writes(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE fresh AS SELECT range AS n, 'x' || range AS s FROM range(200000)")
    received: list[bytes] = []
    pipe = tmp_path / "rows.csv"
    stream_through_pipe(
        con, f"COPY fresh TO '{pipe}' (FORMAT csv, HEADER false)", pipe, received.append
    )
    lines = b"".join(received).decode().splitlines()
    assert len(lines) == 200000 and lines[0] == "0,x0" and lines[-1] == "199999,x199999"
    assert not pipe.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named pipes: Linux only")
def test_a_query_that_fails_before_writing_does_not_hang(tmp_path: Path) -> None:
    con = duckdb.connect()
    pipe = tmp_path / "rows.csv"
    with pytest.raises(duckdb.CatalogException):
        stream_through_pipe(con, f"COPY missing TO '{pipe}' (FORMAT csv)", pipe, print)
    assert not pipe.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named pipes: Linux only")
def test_a_failing_reader_stops_the_writer(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE fresh AS SELECT range AS n FROM range(5000000)")
    pipe = tmp_path / "rows.csv"

    def refuse(_block: bytes) -> None:
        raise ValueError("COPY refused")

    with pytest.raises(ValueError, match="COPY refused"):
        stream_through_pipe(con, f"COPY fresh TO '{pipe}' (FORMAT csv)", pipe, refuse)
    assert not pipe.exists()


def test_the_snapshot_is_written_in_small_row_groups(tmp_path: Path) -> None:
    """A card replays one household from the snapshot; DuckDB skips the row groups whose key
    range misses it, so the groups are small (8,192 rows; issue 26 item 3): 20,000 households
    make 3 groups, and reading one household reads one group."""
    from jingzhun.assessments.storage import write_snapshot

    con = duckdb.connect()
    con.execute("CREATE TABLE h AS SELECT range AS id, 'v' || range AS village FROM range(20000)")
    con.execute("CREATE TABLE m AS SELECT range AS household_id, 'x' AS name FROM range(20000)")
    write_snapshot(con, tmp_path / "snap")
    groups = con.execute(
        "SELECT row_group_id, row_group_num_rows FROM parquet_metadata(?) WHERE column_id = 0",
        [(tmp_path / "snap" / "households.parquet").as_posix()],
    ).fetchall()
    assert [n for _, n in groups] == [8192, 8192, 3616]
