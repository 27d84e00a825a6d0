"""The database-level guard of the audit table (AUDIT-2): UPDATE always fails, DELETE fails
unless the connection is in a deletion mode and, for a purge, the row is archived and older
than 180 days. The triggers are created by migration 0002; this module sets the mode.

SQLite has no session variables, so the trigger asks a function registered on every connection
Django opens (`jingzhun_audit_delete_mode()`); on a connection that lacks it (the sqlite3 shell)
the trigger fails, so the delete fails too. PostgreSQL reads the setting `jingzhun.audit_delete_mode`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError, connections

MODES = {"none": 0, "purge": 1, "flush": 2}
_mode: contextvars.ContextVar[str] = contextvars.ContextVar("audit_delete_mode", default="none")
SQLITE_FUNCTION = "jingzhun_audit_delete_mode"
PG_SETTING = "jingzhun.audit_delete_mode"
FLOOR_DAYS = 180


def current_mode() -> int:
    return MODES[_mode.get()]


def register_sqlite_function(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created hook: give every SQLite connection the mode function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 0, current_mode, deterministic=False)


@contextlib.contextmanager
def deletion_mode(mode: str, using: str = "default") -> Iterator[None]:
    """Allow the guarded deletes of `mode` ("purge" or "flush") inside the block."""
    if mode not in MODES:
        raise ValueError(mode)
    token = _mode.set(mode)
    connection = connections[using]
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, false)", [PG_SETTING, mode])
        yield
    finally:
        _mode.reset(token)
        if connection.vendor == "postgresql" and connection.connection is not None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, %s, false)", [PG_SETTING, "none"])
            except DatabaseError:
                # The transaction failed: its rollback undoes the set_config above as well.
                pass


SQLITE_SQL = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    f"""CREATE TRIGGER audit_event_guarded_delete BEFORE DELETE ON audit_auditevent
    WHEN {SQLITE_FUNCTION}() != 2 AND NOT (
        {SQLITE_FUNCTION}() = 1
        AND OLD.at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-{FLOOR_DAYS} days')
        AND EXISTS (SELECT 1 FROM audit_auditarchive a WHERE OLD.id BETWEEN a.first_id AND a.last_id)
    )
    BEGIN SELECT RAISE(ABORT, 'audit events are deleted only when archived and 180 days old'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_guarded_delete",
]

PG_SQL = [
    f"""CREATE OR REPLACE FUNCTION audit_event_guard() RETURNS trigger AS $$
    DECLARE mode text := coalesce(current_setting('{PG_SETTING}', true), 'none');
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'audit events are append-only';
        END IF;
        IF TG_OP = 'TRUNCATE' THEN
            IF mode = 'flush' THEN RETURN NULL; END IF;
            RAISE EXCEPTION 'audit events are append-only';
        END IF;
        IF mode = 'flush' THEN RETURN OLD; END IF;
        IF mode = 'purge' AND OLD.at < now() - interval '{FLOOR_DAYS} days' AND EXISTS (
            SELECT 1 FROM audit_auditarchive a WHERE OLD.id BETWEEN a.first_id AND a.last_id
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are deleted only when archived and 180 days old';
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_event_guard BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_guard()""",
    """CREATE TRIGGER audit_event_guard_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_guard()""",
]
PG_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_guard_truncate ON audit_auditevent",
    "DROP TRIGGER IF EXISTS audit_event_guard ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_event_guard()",
]


def install(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_SQL, "postgresql": PG_SQL}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def uninstall(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": PG_REVERSE}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql)
