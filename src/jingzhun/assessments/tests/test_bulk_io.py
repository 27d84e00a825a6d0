"""The bulk path's plumbing: key order of the inputs, and the pipe into PostgreSQL's COPY."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from jingzhun.assessments.bulk import _key_order, _stream_through_pipe
from jingzhun.policy.bulk import _positional_aggregates
from jingzhun.policy.compiler import MemberAggregates


def _tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET preserve_insertion_order = true")
    con.execute("CREATE TABLE h AS SELECT * FROM (VALUES (3), (1), (2)) t(id)")
    con.execute(
        "CREATE TABLE m AS SELECT * FROM (VALUES (2, TRUE), (1, FALSE), (3, TRUE), (1, TRUE)) "
        "t(household_id, flag)"
    )


def test_inputs_out_of_key_order_are_sorted_once() -> None:
    con = duckdb.connect()
    _tables(con)
    aggregates = MemberAggregates()
    aggregates.column("count(*)", "count")
    aggregates.column("count_if(m.flag)", "count_if", "m.flag")
    assert not _positional_aggregates(con, aggregates)  # not in key order: grouped form instead
    _key_order(con)
    assert [r[0] for r in con.execute("SELECT id FROM h").fetchall()] == [1, 2, 3]
    keys = [r[0] for r in con.execute("SELECT household_id FROM m").fetchall()]
    assert keys == [1, 1, 2, 3]
    assert _positional_aggregates(con, aggregates)
    got = con.execute("SELECT h.id, ma.a0, ma.a1 FROM h POSITIONAL JOIN ma").fetchall()
    assert got == [(1, 2, 1), (2, 1, 1), (3, 1, 1)]


def test_positional_counts_handle_households_without_members() -> None:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute("CREATE TABLE h AS SELECT range AS id FROM range(1, 6)")
    con.execute(
        "CREATE TABLE m AS SELECT * FROM (VALUES (2, NULL), (2, TRUE), (5, TRUE)) t(household_id, flag)"
    )
    aggregates = MemberAggregates()
    aggregates.column("count(*)", "count")
    aggregates.column("count_if(m.flag IS NULL)", "count_if", "m.flag IS NULL")
    assert _positional_aggregates(con, aggregates)
    counts = np.array(con.execute("SELECT a0, a1 FROM ma").fetchall())
    assert counts.tolist() == [[0, 0], [2, 1], [0, 0], [0, 0], [1, 0]]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named pipes: Linux only")
def test_the_pipe_carries_what_duckdb_writes(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE fresh AS SELECT range AS n, 'x' || range AS s FROM range(200000)")
    received: list[bytes] = []
    pipe = tmp_path / "rows.csv"
    _stream_through_pipe(
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
        _stream_through_pipe(con, f"COPY missing TO '{pipe}' (FORMAT csv)", pipe, print)
    assert not pipe.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="named pipes: Linux only")
def test_a_failing_reader_stops_the_writer(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE fresh AS SELECT range AS n FROM range(5000000)")
    pipe = tmp_path / "rows.csv"

    def refuse(_block: bytes) -> None:
        raise ValueError("COPY refused")

    with pytest.raises(ValueError, match="COPY refused"):
        _stream_through_pipe(con, f"COPY fresh TO '{pipe}' (FORMAT csv)", pipe, refuse)
    assert not pipe.exists()
