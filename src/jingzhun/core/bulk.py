"""Set-wise inserts of generated columns: PostgreSQL COPY, SQLite executemany.

Columns come in as {column name: list of Python values}. Any concrete column of the model that
the generator did not produce gets the field's default, so a field added to a model later does not
break the generator. Primary keys are assigned by the caller; on PostgreSQL the identity sequences
are moved past them afterwards.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

from jingzhun.core.fieldcrypt import seal_columns

T = TypeVar("T")
_COPY_SPECIAL = ("\\", "\t", "\n", "\r")


def _copy_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _copy_text(field: models.Field[Any, Any], values: Iterable[Any], rows: int) -> list[str]:
    """One column as COPY text fields: \\N for NULL, t/f for booleans, escaped strings.

    Dispatches on the model field's type so that most columns convert at C speed."""
    if isinstance(values, itertools.repeat):
        return [_copy_value(next(iter(values)))] * rows
    column = values if isinstance(values, list) else list(values)
    if isinstance(field, models.BooleanField):
        return ["\\N" if v is None else "t" if v else "f" for v in column]
    has_null = None in column
    if isinstance(field, models.IntegerField | models.DecimalField | models.FloatField):
        return [_copy_value(v) for v in column] if has_null else list(map(str, column))
    if has_null or not all(type(v) is str for v in column):
        return [_copy_value(v) for v in column]
    if any(ch in "\x00".join(column) for ch in _COPY_SPECIAL):
        return [_copy_escape(v) for v in column]
    return column


def _copy_value(v: Any) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, bytes):  # bytea in hex form, its backslash escaped for COPY text
        return "\\\\x" + v.hex()
    return _copy_escape(v if isinstance(v, str) else str(v))


@dataclass
class Batch:
    """Rows ready to load into one table."""

    model: type[models.Model]
    sql: str
    rows: int
    payload: Any  # COPY text (bytes) or an iterable of parameter tuples


def next_id(model: type[models.Model]) -> int:
    """The first free primary key of an integer-keyed table."""
    top = model._base_manager.aggregate(m=models.Max("pk"))["m"]
    return int(top or 0) + 1


class BulkWriter:
    """Writes column blocks into model tables in the current transaction."""

    def __init__(self, conn: BaseDatabaseWrapper | None = None) -> None:
        # The wrapper itself, not the thread-local proxy: writes may run in a worker thread.
        self.conn = conn or connections[DEFAULT_DB_ALIAS]
        self.vendor = self.conn.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"bulk load is not implemented for {self.vendor}")
        self.written: dict[type[models.Model], int] = {}
        self._sqlite_cache: int | None = None
        self._suspended: list[tuple[str, str, str, str]] = []

    def __enter__(self) -> BulkWriter:
        self.conn.ensure_connection()
        if self.vendor == "sqlite":
            with self.conn.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self._sqlite_cache = int(cursor.fetchone()[0])
                # A large page cache keeps index inserts (ID numbers, codes) off the disk.
                cursor.execute("PRAGMA cache_size = -131072")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.vendor == "sqlite" and self._sqlite_cache is not None:
            with self.conn.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {self._sqlite_cache}")

    def _layout(
        self, model: type[models.Model], columns: dict[str, list[Any]]
    ) -> tuple[list[str], list[Iterable[Any]]]:
        names: list[str] = []
        values: list[Iterable[Any]] = []
        rows = len(next(iter(columns.values())))
        for field in model._meta.concrete_fields:
            column = str(field.column)
            names.append(column)
            if column in columns:
                data = columns[column]
                if len(data) != rows:
                    raise ValueError(
                        f"{model.__name__}.{column}: {len(data)} values for {rows} rows"
                    )
                if self.vendor == "postgresql" and isinstance(field, models.DateTimeField):
                    data = [None if v is None else f"{v}+00" for v in data]
                values.append(data)
            else:
                default = field.get_default()
                if isinstance(field, models.JSONField):
                    default = json.dumps(default)
                else:
                    default = field.get_db_prep_save(default, self.conn)
                values.append(itertools.repeat(default, rows))
        unknown = set(columns) - set(names)
        if unknown:
            raise ValueError(f"{model.__name__}: unknown columns {sorted(unknown)}")
        return names, values

    @property
    def overlaps_io(self) -> bool:
        """True when loading waits on another process (PostgreSQL), so that generating the next
        batch in parallel pays off. SQLite works inside this process and holds the GIL."""
        return self.vendor == "postgresql"

    def prepare(self, model: type[models.Model], columns: dict[str, list[Any]]) -> Batch | None:
        """Everything needed to load the rows, done in the calling thread: COPY text for
        PostgreSQL, parameter rows for SQLite."""
        if not columns:
            return None
        rows = len(next(iter(columns.values())))
        if rows == 0:
            return None
        columns = seal_columns(model, columns)  # sensitive values encrypted (PII-2)
        names, values = self._layout(model, columns)
        quote = self.conn.ops.quote_name
        table = quote(model._meta.db_table)
        column_sql = ", ".join(quote(n) for n in names)
        if self.vendor == "postgresql":
            fields = model._meta.concrete_fields
            text_columns = [_copy_text(f, v, rows) for f, v in zip(fields, values, strict=True)]
            block = "\n".join(map("\t".join, zip(*text_columns, strict=True))) + "\n"
            return Batch(
                model, f"COPY {table} ({column_sql}) FROM STDIN", rows, block.encode("utf-8")
            )
        marks = ", ".join("?" * len(names))
        return Batch(
            model,
            f"INSERT INTO {table} ({column_sql}) VALUES ({marks})",
            rows,
            zip(*values, strict=True),
        )

    def load(self, batch: Batch | None) -> int:
        """Insert a prepared batch (may run in a worker thread); returns the number of rows."""
        if batch is None:
            return 0
        raw = self.conn.connection
        if self.vendor == "postgresql":
            with raw.cursor() as cursor, cursor.copy(batch.sql) as copy:
                copy.write(batch.payload)
        else:
            cursor = raw.cursor()
            try:
                cursor.executemany(batch.sql, batch.payload)
            finally:
                cursor.close()
        self.written[batch.model] = self.written.get(batch.model, 0) + batch.rows
        return batch.rows

    def write(self, model: type[models.Model], columns: dict[str, list[Any]]) -> int:
        """Insert the rows; returns how many."""
        return self.load(self.prepare(model, columns))

    def suspend_constraints(
        self, models_: Iterable[type[models.Model]], *, indexes: bool = False
    ) -> None:
        """PostgreSQL: drop the loaded tables' foreign keys (and optionally secondary indexes) for
        the load; `restore_constraints` puts them back and validates every row in one pass each,
        inside the same transaction, so a bad row still fails the whole load."""
        if self.vendor == "sqlite":
            if indexes:
                with self.conn.cursor() as cursor:
                    for model in models_:
                        cursor.execute(
                            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                            " AND sql IS NOT NULL ORDER BY name",
                            [model._meta.db_table],
                        )
                        for name, definition in cursor.fetchall():
                            self._suspended.append(
                                (model._meta.db_table, "index", name, definition)
                            )
                            cursor.execute(f"DROP INDEX {self.conn.ops.quote_name(name)}")
            return
        with self.conn.cursor() as cursor:
            # Fire the checks still pending from earlier statements of this transaction first:
            # a table with pending trigger events cannot be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for model in models_:
                table = model._meta.db_table
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    self._suspended.append((table, "constraint", name, definition))
                    cursor.execute(
                        f"ALTER TABLE {self.conn.ops.quote_name(table)} DROP CONSTRAINT {self.conn.ops.quote_name(name)}"
                    )
                if indexes:
                    cursor.execute(
                        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                        " LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid"
                        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND c.oid IS NULL",
                        [table],
                    )
                    for name, definition in cursor.fetchall():
                        self._suspended.append((table, "index", name, definition))
                        cursor.execute(f"DROP INDEX {name}")

    def restore_constraints(self) -> None:
        quote = self.conn.ops.quote_name
        with self.conn.cursor() as cursor:
            for _table, kind, _name, definition in self._suspended:
                if kind == "index":
                    cursor.execute(definition)
            for table, kind, name, definition in self._suspended:
                if kind == "constraint" and self.vendor == "postgresql":
                    cursor.execute(
                        f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition} NOT VALID"
                    )
                    cursor.execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(name)}")
        self._suspended.clear()

    def analyze(self, models_: Iterable[type[models.Model]]) -> None:
        """Refresh the planner statistics of freshly loaded tables (PostgreSQL plans joins on them;
        without statistics it may pick nested loops over the whole registry)."""
        if self.vendor != "postgresql":
            return
        with self.conn.cursor() as cursor:
            for model in models_:
                cursor.execute(f"ANALYZE {self.conn.ops.quote_name(model._meta.db_table)}")

    def reset_sequences(self, models_: Iterable[type[models.Model]]) -> None:
        """Move PostgreSQL identity sequences past the ids the generator assigned."""
        if self.vendor != "postgresql":
            return
        with self.conn.cursor() as cursor:
            for model in models_:
                pk = model._meta.pk
                if not isinstance(
                    pk, models.AutoField | models.BigAutoField | models.SmallAutoField
                ):
                    continue
                table, column = model._meta.db_table, str(pk.column)
                q_column, q_table = (
                    self.conn.ops.quote_name(column),
                    self.conn.ops.quote_name(table),
                )
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({q_column}), 1),"
                    f" MAX({q_column}) IS NOT NULL) FROM {q_table}",
                    [table, column],
                )


def reserve_ids(writer: BulkWriter, model: type[models.Model], n: int) -> list[int]:
    """`n` unused primary keys of `model`. PostgreSQL: drawn from the table's identity sequence
    (safe beside concurrent inserts). SQLite: after the current maximum, which no one else can
    take: this transaction holds the database's write lock since it wrote the batch row."""
    if n == 0:
        return []
    table, column = model._meta.db_table, str(model._meta.pk.column)
    if writer.vendor == "postgresql":
        with writer.conn.cursor() as cursor:
            # One row back: the range drawn, or (when another writer drew in between) the keys.
            cursor.execute(
                "WITH drawn AS (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS v"
                " FROM generate_series(1, %s))"
                " SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL"
                " ELSE array_agg(v ORDER BY v) END FROM drawn",
                [table, column, n],
            )
            low, high, keys = cursor.fetchone()
            return list(range(int(low), int(high) + 1)) if keys is None else list(map(int, keys))
    first = next_id(model)
    return list(range(first, first + n))


def pipelined(items: Iterable[T], consume: Callable[[T], None], *, depth: int = 1) -> None:
    """Produce items in this thread while a second thread consumes them (writes to the database).

    Database drivers release the GIL while the server (or SQLite's engine) works, so generation
    and loading overlap on two cores. At most `depth` items wait in between (bounded memory). The
    consumer's first error is re-raised here; the producer stops at the next item."""
    handoff: queue.Queue[tuple[T] | None] = queue.Queue(maxsize=depth)
    errors: list[BaseException] = []

    def work() -> None:
        while True:
            item = handoff.get()
            if item is None:
                return
            if errors:
                continue  # drain after a failure so the producer never blocks
            try:
                consume(item[0])
            except BaseException as exc:
                errors.append(exc)

    worker = threading.Thread(target=work, name="bulk-writer", daemon=True)
    worker.start()
    try:
        for item in items:
            if errors:
                break
            handoff.put((item,))
    finally:
        handoff.put(None)
        worker.join()
    if errors:
        raise errors[0]
