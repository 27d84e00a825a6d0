"""The bulk assessment's storage: Parquet snapshots, the COPY through a named pipe, SQLite staging.

assessments/bulk.py reads, evaluates and decides what to store; the ways the rows reach the
database and the disk are here, each chosen for speed and measured in the ADRs cited:

- `write_snapshot`: the run's inputs as Parquet files in read order (ADR 0011, 0042), on their own
  DuckDB cursor beside the store (ADR 0022, 0039);
- `store_decisions`: the decisions of table `fresh` into the assessment table, on PostgreSQL by
  `copy_postgres` (DuckDB writes CSV into a named pipe that psycopg streams into COPY, ADR 0022),
  on SQLite by `insert_staged` from the file `stage_sqlite` wrote before the transaction
  (ADR 0044);
- `write_rows`: a few thousand rows (per-village counts) by COPY or executemany.

Nothing here decides what is stored; each function writes what it is given, in the caller's
transaction where there is one.
"""

from __future__ import annotations

import hashlib
import os
import select
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from jingzhun.core import duck
from jingzhun.core.duck_child import SNAPSHOT_PARQUET_OPTIONS

from .models import Assessment

__all__ = [
    "SNAPSHOT_FILES",
    "copy_postgres",
    "insert_staged",
    "quote_path",
    "stage",
    "stage_sqlite",
    "store_decisions",
    "stream_through_pipe",
    "timed_snapshot",
    "unstage",
    "write_rows",
    "write_snapshot",
]

SNAPSHOT_FILES = ("households.parquet", "members.parquet")
STAGE_ALIAS = "jz_stage"


def stage(con: Any, work: Path) -> Path | None:
    """Before the transaction: on SQLite, table `fresh` staged in a file attached to Django's
    connection (stage_sqlite); nothing to do on PostgreSQL. Returns the staged file or None."""
    if connection.vendor == "sqlite":
        return stage_sqlite(con, work)
    return None


def unstage(staged: Path | None) -> None:
    """After the transaction (committed or not): detach what `stage` attached."""
    if staged is not None:
        with connection.cursor() as cur:
            cur.execute(f"DETACH DATABASE {STAGE_ALIAS}")


def store_decisions(con: Any, run_id: str, year: int, policy_id: str) -> None:
    """Inside the transaction: the rows of DuckDB table `fresh` into the assessment table
    (`policy_id`: SQL over `fresh` giving each row's policy version id)."""
    if connection.vendor == "postgresql":
        copy_postgres(con, run_id, year, policy_id)
    else:
        insert_staged(run_id, year, policy_id, timezone.now())


def quote_path(path: Path) -> str:
    return path.as_posix().replace("'", "''")


def write_snapshot(con: Any, folder: Path, *, written: bool = False) -> str:
    """Write h and m as the run's snapshot (unless already `written`); returns their SHA-256.
    Runs on its own DuckDB cursor, beside storing.

    In the order read, not sorted (ADR 0042): the scanner reads the registry in nearly key
    order, so a card's replay (a filter on the key) still skips almost every row group, and
    sorting 34 million members took 5 of the snapshot's 12.5 seconds at 10 million
    households, taken from PostgreSQL's COPY running beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    digest = hashlib.sha256()
    tables = {str(r[0]) for r in con.execute("SHOW TABLES").fetchall()}
    members = "m_sealed" if "m_sealed" in tables else "m"  # sealed fields stay tokens
    for table, name in zip(("h", members), SNAPSHOT_FILES, strict=True):
        path = folder / name
        if not written:
            con.execute(
                f"COPY (SELECT * FROM {table}) TO '{quote_path(path)}' {SNAPSHOT_PARQUET_OPTIONS}"
            )
            os.chmod(path, 0o600)
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def timed_snapshot(cursor: Any, folder: Path, written: bool, seconds: dict[str, float]) -> str:
    t = time.perf_counter()
    try:
        return write_snapshot(cursor, folder, written=written)
    finally:
        cursor.close()
        seconds["snapshot"] = time.perf_counter() - t


def copy_postgres(con: Any, run_id: str, year: int, policy_id: str) -> None:
    """DuckDB writes the rows as CSV and psycopg streams them into COPY. On Linux through a
    named pipe, so that DuckDB's CSV encoding and PostgreSQL's parsing run at the same time;
    elsewhere through a temporary file."""
    tmp = Path(settings.VAR_DIR) / "duckdb_tmp" / f"assess-{run_id}.csv"
    export = (
        f"COPY (SELECT household_id, {int(year)}, {policy_id}, household_version, '{run_id}', "
        f"passed, failed, unknown FROM fresh ORDER BY household_id) TO '{quote_path(tmp)}' "
        "(FORMAT csv, HEADER false)"
    )  # in key order: the primary key's index is filled left to right
    table = Assessment._meta.db_table
    # created_at: the column's default, the transaction's time (one parse fewer per row)
    sql = (
        f'COPY "{table}" ("household_id", "year", "policy_id", "household_version", "run_id", '
        '"passed", "failed", "unknown") FROM STDIN (FORMAT csv)'
    )
    with (
        connection.cursor() as cur,
        cur.connection.cursor() as pc,  # psycopg 3
        pc.copy(sql) as copy,
    ):
        if sys.platform.startswith("linux"):
            stream_through_pipe(con, export, tmp, copy.write)
        else:
            try:
                con.execute(export)
                with tmp.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        copy.write(block)
            finally:
                tmp.unlink(missing_ok=True)


def stream_through_pipe(
    con: Any, export: str, pipe: Path, write: Callable[[bytes], object]
) -> None:
    """Run `export` (a DuckDB COPY TO `pipe`) on a second cursor and pass what it writes to
    `write` as it comes. The read end is opened first, without blocking: on Linux a FIFO
    reports no hang-up before its first writer, so waiting for data cannot end early, and a
    query that fails before opening the pipe is noticed by polling its future."""
    os.mkfifo(pipe, 0o600)
    fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    writer = con.cursor()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv")
    try:
        exporting = pool.submit(writer.execute, export)
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        while True:
            if not poller.poll(100):
                if exporting.done():
                    exporting.result()  # raises the query's error
                    # finished without opening the pipe (a writer that closed it would leave
                    # a hang-up to see)
                    raise RuntimeError("DuckDB 未写入管道")
                continue
            try:
                block = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not block:  # the writer closed the pipe
                break
            write(block)
        exporting.result()
    finally:
        os.close(fd)  # a writer still writing now fails instead of waiting
        pool.shutdown(wait=True)
        writer.close()
        pipe.unlink(missing_ok=True)


def stage_sqlite(con: Any, work: Path) -> Path:
    """SQLite: table `fresh` copied into a staging SQLite file and attached to Django's
    connection as `jz_stage`, before the transaction (SQLite refuses ATTACH inside one), so
    that the store is one INSERT … SELECT run by SQLite itself instead of a Python loop over
    ten million rows (ADR 0044). The file is written by a DuckDB child process from Parquet
    (duck_child.py: DuckDB's own SQLite library never opens a file in this process)."""
    parquet, staged = work / "fresh.parquet", work / "fresh.sqlite3"
    con.execute(f"COPY (SELECT * FROM fresh) TO '{quote_path(parquet)}' (FORMAT parquet)")
    duck.sqlite_write(
        staged,
        [
            "SET preserve_insertion_order = true",  # rows in key order: the index fills in order
            f"CREATE TABLE reg.fresh AS SELECT * FROM read_parquet('{quote_path(parquet)}') "
            "ORDER BY household_id",
        ],
    )
    parquet.unlink()
    with connection.cursor() as cur:
        cur.execute(f"ATTACH DATABASE %s AS {STAGE_ALIAS}", [staged.as_posix()])
    return staged


def insert_staged(run_id: str, year: int, policy_id: str, created_at: datetime) -> None:
    table = Assessment._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f'INSERT INTO "{table}" ("household_id", "year", "policy_id", "household_version", '
            '"run_id", "passed", "failed", "unknown", "created_at") '
            f"SELECT household_id, {int(year)}, {policy_id}, household_version, %s, passed, "
            f"failed, unknown, %s FROM {STAGE_ALIAS}.fresh",
            [run_id, created_at.isoformat(sep=" ")],
        )


def write_rows(model: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Many rows in the current transaction: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    table = model._meta.db_table
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with (
                cur.connection.cursor() as pc,
                pc.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cur.connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
