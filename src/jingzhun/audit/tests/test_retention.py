"""AUDIT-3: retention never below 180 days; the purge deletes only archived events older than the
retention, and the remaining chain still verifies."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.utils import timezone

from jingzhun.audit.actions import (
    do_archive_audit_events,
    do_purge_audit_events,
    record_now,
    verify_chain,
)
from jingzhun.audit.guard import deletion_mode
from jingzhun.audit.models import AuditArchive, AuditEvent
from jingzhun.audit.retention import retention_days


@pytest.mark.parametrize("value", [90, 179, "0", "abc"])
def test_retention_below_180_days_is_refused(settings: Any, value: Any) -> None:
    settings.JINGZHUN_AUDIT_RETENTION_DAYS = value
    with pytest.raises(ImproperlyConfigured):
        retention_days()


def test_retention_of_180_and_more_is_accepted(settings: Any) -> None:
    settings.JINGZHUN_AUDIT_RETENTION_DAYS = "365"
    assert retention_days() == 365


def _event_aged(days: int, name: str) -> AuditEvent:
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days), tick=False):
        return record_now(name, actor=None)


def _archive(before_days: float, path: Path) -> AuditArchive | None:
    """Archive what is older than `before_days`, as an operator would have done back then."""
    before = timezone.now() - datetime.timedelta(days=before_days)
    with time_machine.travel(before, tick=False):
        return do_archive_audit_events(before, path, actor=None)


def test_purge_keeps_exactly_the_young_and_the_unarchived(db: Any, tmp_path: Path) -> None:
    # Given events aged 400 and 181 days, archived, then 180.8 and 179 days, not archived
    a400 = _event_aged(400, "seed.a400")
    assert _archive(300, tmp_path / "one.jsonl") is not None
    a181 = _event_aged(181, "seed.a181")
    assert _archive(180.9, tmp_path / "two.jsonl") is not None
    with time_machine.travel(timezone.now() - datetime.timedelta(days=180.8), tick=False):
        u181 = record_now("seed.u181", actor=None)
    u179 = _event_aged(179, "seed.u179")
    # When the purge runs with the minimum retention
    deleted = do_purge_audit_events(actor=None)
    # Then only the archived events older than 180 days are gone, and the chain still verifies
    assert deleted == 3  # a400, the first archive's own event, a181
    survivors = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"seed.u181", "seed.u179"} <= survivors
    assert not AuditEvent.objects.filter(pk__in=[a400.pk, a181.pk]).exists()
    assert AuditEvent.objects.filter(pk__in=[u181.pk, u179.pk]).count() == 2
    assert verify_chain() is None
    assert AuditEvent.objects.filter(event="audit.purge").count() == 1


def test_purge_keeps_archived_events_younger_than_the_retention(
    db: Any, tmp_path: Path, settings: Any
) -> None:
    settings.JINGZHUN_AUDIT_RETENTION_DAYS = 365
    _event_aged(400, "seed.a400")
    _event_aged(300, "seed.a300")
    archive = _archive(1, tmp_path / "all.jsonl")
    assert archive is not None and archive.event_count == 2
    assert archive.last_at < timezone.now() - datetime.timedelta(days=299)
    assert do_purge_audit_events(actor=None) == 0  # one archive, its last event only 300 days old
    assert AuditEvent.objects.filter(event__startswith="seed.").count() == 2


def test_the_database_refuses_to_delete_a_young_archived_event(db: Any, tmp_path: Path) -> None:
    young = _event_aged(179, "seed.y179")
    assert _archive(1, tmp_path / "y.jsonl") is not None
    with pytest.raises(DatabaseError), transaction.atomic(), deletion_mode("purge"):
        AuditEvent.objects.filter(pk=young.pk).delete()
    assert AuditEvent.objects.filter(pk=young.pk).exists()


def test_the_database_refuses_to_delete_an_old_unarchived_event(db: Any) -> None:
    old = _event_aged(400, "seed.u400")
    with pytest.raises(DatabaseError), transaction.atomic(), deletion_mode("purge"):
        AuditEvent.objects.filter(pk=old.pk).delete()
    assert AuditEvent.objects.filter(pk=old.pk).exists()


def test_archive_file_holds_the_events_and_the_command_works(db: Any, tmp_path: Path) -> None:
    _event_aged(400, "seed.a400")
    out = tmp_path / "cmd.jsonl"
    day = (timezone.localdate() - datetime.timedelta(days=200)).isoformat()
    call_command("audit", "archive", "--before", day, "--out", str(out))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["event"] for line in lines] == ["seed.a400"]
    call_command("audit", "purge")
    assert not AuditEvent.objects.filter(event="seed.a400").exists()
    call_command("audit", "verify")
