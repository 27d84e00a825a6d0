"""AUDIT-2: audit events cannot be updated or deleted, through the ORM or raw SQL; the chain is
verified by `jingzhun audit verify`, which names the first broken event and exits non-zero."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from jingzhun.audit.actions import record_now, verify_chain
from jingzhun.audit.models import AuditEvent
from jingzhun.audit.tests.tamper import triggers_dropped


@pytest.fixture
def events(db: Any) -> list[AuditEvent]:
    return [record_now(f"test.event.{n}", actor=None, diff={"n": n}) for n in range(5)]


def _refused(action: Any) -> None:
    with pytest.raises((DatabaseError, PermissionError)), transaction.atomic():
        action()


def test_orm_update_and_delete_are_refused(events: list[AuditEvent]) -> None:
    victim = events[2]
    _refused(lambda: AuditEvent.objects.filter(pk=victim.pk).update(reason="改"))
    _refused(lambda: AuditEvent.objects.all().update(outcome="failure"))
    _refused(lambda: AuditEvent.objects.filter(pk=victim.pk).delete())
    _refused(lambda: victim.delete())
    victim.reason = "改"
    _refused(lambda: victim.save())
    victim.reason = ""
    _refused(lambda: AuditEvent.objects.bulk_update([victim], ["reason"]))
    assert AuditEvent.objects.count() == 5
    assert verify_chain() is None


def test_raw_sql_update_and_delete_are_refused(events: list[AuditEvent]) -> None:
    table = AuditEvent._meta.db_table
    for sql in (
        f"UPDATE {table} SET reason = 'x' WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [events[1].pk])
    assert AuditEvent.objects.count() == 5
    assert verify_chain() is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncate_is_refused_on_postgresql(events: list[AuditEvent]) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {AuditEvent._meta.db_table} CASCADE")


def test_the_triggers_exist_after_all_migrations(db: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = {"audit_event_no_update", "audit_event_guarded_delete"}
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass"
                " AND NOT tgisinternal"
            )
            expected = {"audit_event_guard", "audit_event_guard_truncate"}
        assert expected <= {row[0] for row in cursor.fetchall()}


def test_verify_command_passes_on_an_intact_chain(events: list[AuditEvent]) -> None:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "完整" in out.getvalue()


@pytest.mark.parametrize("change", ["reason", "diff", "actor_name", "at"])
def test_verify_command_names_the_altered_event(events: list[AuditEvent], change: str) -> None:
    victim = events[3]
    values = {
        "reason": "篡改",
        "diff": {"n": 99},
        "actor_name": "someone",
        "at": victim.at.replace(year=victim.at.year - 1),
    }
    with triggers_dropped():
        AuditEvent.objects.filter(pk=victim.pk).update(**{change: values[change]})
    with pytest.raises(CommandError, match=f"#{victim.pk}"):
        call_command("audit", "verify")


def test_verify_command_finds_a_deleted_event(events: list[AuditEvent]) -> None:
    with triggers_dropped():
        AuditEvent.objects.filter(pk=events[2].pk).delete()
    with pytest.raises(CommandError, match=f"#{events[3].pk}"):
        call_command("audit", "verify")


def test_verify_command_finds_removed_newest_events(events: list[AuditEvent]) -> None:
    with triggers_dropped():
        AuditEvent.objects.filter(pk=events[4].pk).delete()
    with pytest.raises(CommandError, match=f"#{events[3].pk}"):
        call_command("audit", "verify")


def test_verify_exits_non_zero_from_the_command_line(events: list[AuditEvent]) -> None:
    from django.core.management import ManagementUtility

    with triggers_dropped():
        AuditEvent.objects.filter(pk=events[1].pk).update(reason="篡改")
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["jingzhun", "audit", "verify"]).execute()
    assert exit_info.value.code != 0
