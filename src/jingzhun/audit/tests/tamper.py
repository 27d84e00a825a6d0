"""Test helper: act as someone with the rights to drop the audit table's triggers (a DBA)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

from jingzhun.audit.guard import PG_REVERSE, PG_SQL, SQLITE_REVERSE, SQLITE_SQL


@contextlib.contextmanager
def triggers_dropped() -> Iterator[None]:
    """Drop the append-only triggers for the block and create them again afterwards."""
    drop, create = {
        "sqlite": (SQLITE_REVERSE, SQLITE_SQL),
        "postgresql": (PG_REVERSE, PG_SQL),
    }[connection.vendor]
    with connection.cursor() as cursor:
        for sql in drop:
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in create:
                cursor.execute(sql)
