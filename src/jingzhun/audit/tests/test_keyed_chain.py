"""The audit chain is keyed (HMAC with a key outside the database) and anchored: a chain rewritten
with recomputed hashes, keyed or not, is caught."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jingzhun.audit.actions import (
    GENESIS,
    _chain_fields,
    check_chain,
    event_digest,
    read_anchor,
    record_now,
    verify_chain,
)
from jingzhun.audit.keys import AuditKey, signing_key
from jingzhun.audit.models import AuditChainHead, AuditEvent
from jingzhun.audit.tests.tamper import triggers_dropped


@pytest.fixture
def events(db: Any) -> list[AuditEvent]:
    return [record_now(f"test.event.{n}", actor=None, diff={"n": n}) for n in range(5)]


def rewrite(victim: AuditEvent, key: AuditKey | None) -> None:
    """What someone with write access to the database does: change one event, then recompute every
    hash from there on (with `key`, or unkeyed SHA-256 as the chain was before), head included."""
    with triggers_dropped():
        AuditEvent.objects.filter(pk=victim.pk).update(reason="篡改")
        prev = AuditEvent.objects.filter(id__lt=victim.pk).order_by("-id").first()
        last = prev.hash if prev else GENESIS
        for row in AuditEvent.objects.filter(id__gte=victim.pk).order_by("id"):
            digest = event_digest(last, _chain_fields(row), key)
            AuditEvent.objects.filter(pk=row.pk).update(prev_hash=last, hash=digest)
            last = digest
        AuditChainHead.objects.filter(id=1).update(last_hash=last)


def anchor_to(tmp_path: Path, name: str = "anchor.json") -> Path:
    out = tmp_path / name
    call_command("audit", "anchor", "-o", str(out), stdout=io.StringIO())
    return out


def test_new_events_carry_the_keys_mac_not_a_plain_hash(events: list[AuditEvent]) -> None:
    first = events[0]
    fields = _chain_fields(first)
    assert first.hash == event_digest(GENESIS, fields, signing_key())
    assert first.hash != event_digest(GENESIS, fields)
    assert check_chain().legacy == 0 and verify_chain() is None


def test_a_rewrite_with_recomputed_plain_hashes_is_caught(events: list[AuditEvent]) -> None:
    rewrite(events[2], key=None)
    assert verify_chain() == events[2].pk


def test_a_rewrite_with_a_guessed_key_is_caught(events: list[AuditEvent]) -> None:
    rewrite(events[2], key=AuditKey("guess", b"not the key"))
    assert verify_chain() == events[2].pk


def test_a_whole_chain_rewritten_without_the_key_is_caught_by_the_anchor(
    events: list[AuditEvent], tmp_path: Path
) -> None:
    out = anchor_to(tmp_path)
    anchor = read_anchor(out)
    assert verify_chain(anchor) is None
    # every event rewritten as an unkeyed chain from the genesis: on its own it looks like an
    # old, pre-key chain ...
    rewrite(events[0], key=None)
    assert verify_chain() is None and check_chain().legacy == len(events) + 1
    # ... but not against the anchor the audit administrator kept
    assert verify_chain(anchor) == anchor["last_id"]
    with pytest.raises(CommandError, match="锚点"):
        call_command("audit", "verify", "--anchor", str(out))


def test_the_anchor_is_signed(events: list[AuditEvent], tmp_path: Path) -> None:
    out = anchor_to(tmp_path)
    rewrite(events[0], key=None)  # the whole chain, so that only the anchor can tell
    anchored = AuditEvent.objects.order_by("-id").first()
    assert anchored is not None
    # the rewriter edits the anchor file to match, but cannot sign it
    forged = {**json.loads(out.read_text()), "last_hash": anchored.hash}
    out.write_text(json.dumps(forged))
    report = check_chain(read_anchor(out))
    assert not report.intact and "签名无效" in report.problem


def test_verify_uses_the_latest_anchor_of_a_directory(
    events: list[AuditEvent], tmp_path: Path
) -> None:
    anchor_to(tmp_path, "a.json")
    record_now("test.event.later", actor=None)
    anchor_to(tmp_path, "b.json")
    latest = read_anchor(tmp_path)
    assert latest["last_id"] == AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    out = io.StringIO()
    call_command("audit", "verify", "--anchor", str(tmp_path), stdout=out)
    assert "与锚点一致" in out.getvalue()
    assert AuditEvent.objects.filter(event="audit.anchor").count() == 2


def test_an_old_unkeyed_chain_still_verifies_and_is_reported(db: Any) -> None:
    # events written before the key existed: plain SHA-256
    prev = GENESIS
    for n in range(3):
        row = record_now(f"test.old.{n}", actor=None)
        digest = event_digest(prev, _chain_fields(row))
        with triggers_dropped():
            AuditEvent.objects.filter(pk=row.pk).update(prev_hash=prev, hash=digest)
            AuditChainHead.objects.filter(id=1).update(last_hash=digest)
        prev = digest
    record_now("test.new", actor=None)
    report = check_chain()
    assert report.intact and report.legacy == 3 and report.events == 4
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "3 条早于审计密钥启用" in out.getvalue()
    # an unkeyed event after a keyed one is not accepted
    record_now("test.after", actor=None)
    rewrite(AuditEvent.objects.get(event="test.after"), key=None)
    assert verify_chain() == AuditEvent.objects.get(event="test.after").pk


def test_a_retired_key_still_verifies_its_events(events: list[AuditEvent], settings: Any) -> None:
    settings.JINGZHUN_AUDIT_KEYS = [*settings.JINGZHUN_AUDIT_KEYS, "a-new-key-" + "0" * 40]
    record_now("test.after.rotation", actor=None)
    assert verify_chain() is None
    settings.JINGZHUN_AUDIT_KEYS = settings.JINGZHUN_AUDIT_KEYS[-1:]  # the old key lost
    assert verify_chain() == events[0].pk


def test_keys_come_from_a_file_outside_the_database_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jingzhun.settings.base import load_audit_keys

    key_file = tmp_path / "audit_key"
    monkeypatch.setenv("JINGZHUN_AUDIT_KEY_FILE", str(key_file))
    monkeypatch.delenv("JINGZHUN_AUDIT_KEY", raising=False)
    first = load_audit_keys()  # made once, private to the server's account
    assert len(first) == 1 and len(first[0]) == 64
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_audit_keys() == first and list(tmp_path.iterdir()) == [key_file]
    key_file.write_text(f"{first[0]}\nthe-next-key\n")  # a key change: one more line
    assert load_audit_keys() == [first[0], "the-next-key"]
    monkeypatch.setenv("JINGZHUN_AUDIT_KEY", "from-the-environment")
    assert load_audit_keys() == [first[0], "the-next-key", "from-the-environment"]
