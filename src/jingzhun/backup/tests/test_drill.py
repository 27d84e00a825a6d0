"""BAK-1 drill: seed data → backup → restore into a fresh database → the same row counts and an
intact audit chain; a flipped byte, a wrong key or a non-empty target is refused. Runs on SQLite
and PostgreSQL (whichever DATABASE_URL names). Committed data: the backup reads its own
connection (SQLite backup API) or a separate session (pg_dump)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from jingzhun.audit.models import AuditEvent
from jingzhun.backup.actions import (
    _pg_counts_of,
    _pg_url,
    create_backup,
    pg_scratch_database,
    restore_backup,
    verify_backup,
)
from jingzhun.backup.archive import BackupError, Key
from jingzhun.registry.models import Household

pytestmark = pytest.mark.django_db(transaction=True)

PASSPHRASE = "drill-passphrase-2026"


@pytest.fixture
def seeded(world: Any, settings: Any, tmp_path: Path) -> Path:
    """The world with a case and one uploaded evidence file under a private VAR_DIR."""
    from jingzhun.workflows.actions import CaseDetails, do_open_case, do_upload_evidence
    from jingzhun.workflows.transitions import EVIDENCE_KINDS

    settings.VAR_DIR = tmp_path / "var"
    village = world.user("village")
    household = world.households["230231100201"]
    case = do_open_case(household.pk, "exit", CaseDetails(year=2019), actor=village)
    do_upload_evidence(
        case.pk, next(iter(EVIDENCE_KINDS)), "minutes.pdf", b"%PDF-1.4\n%%EOF\n", actor=village
    )
    return settings.VAR_DIR


def _jingzhun(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jingzhun.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


def _fresh_database(tmp_path: Path, stack: Any) -> tuple[str, Any]:
    """A new, empty database of the kind under test: its URL and a row-count function."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        path = tmp_path / "restored.sqlite3"

        def counts() -> dict[str, int]:
            with sqlite3.connect(path) as conn:
                names = [
                    r[0]
                    for r in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type='table'"
                        " AND name NOT LIKE 'sqlite_%'"
                    )
                ]
                return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}

        return f"sqlite:///{path}", counts
    name = stack.enter_context(pg_scratch_database(db))
    return _pg_url(db, name), lambda: _pg_counts_of(db, name)


def test_backup_restore_drill(seeded: Path, tmp_path: Path) -> None:
    from contextlib import ExitStack

    key = Key.passphrase(PASSPHRASE)
    artefact = tmp_path / "county.jzb"
    # When the operator makes a backup
    manifest = create_backup(artefact, key)
    # Then it is private, lists the evidence file with its hash and the row counts of the snapshot
    assert artefact.stat().st_mode & 0o777 == 0o600
    assert manifest["tables"]["registry_household"] == Household.objects.count() == 4
    assert manifest["tables"]["audit_auditevent"] == AuditEvent.objects.count() - 1  # + create
    evidence = [f for f in manifest["files"] if f["path"].startswith("files/evidence/")]
    assert len(evidence) == 1 and evidence[0]["size"] == len(b"%PDF-1.4\n%%EOF\n")
    assert b"registry_household" not in artefact.read_bytes()  # encrypted, not just packed
    assert AuditEvent.objects.filter(event="backup.create").count() == 1
    # And the scratch check passes
    assert verify_backup(artefact, key).problems == []
    # When it is restored into a fresh, empty database and data directory (a second site)
    with ExitStack() as stack:
        url, counts = _fresh_database(tmp_path, stack)
        var2 = tmp_path / "var2"
        env = {
            "DATABASE_URL": url,
            "JINGZHUN_VAR_DIR": str(var2),
            "JINGZHUN_BACKUP_PASSPHRASE": PASSPHRASE,
        }
        # (the scratch check also runs on the second site's still empty database)
        checked = _jingzhun("backup", "verify", str(artefact), env=env)
        assert checked.returncode == 0 and "备份核对通过" in checked.stdout, checked.stderr
        done = _jingzhun("backup", "restore", str(artefact), env=env)
        assert done.returncode == 0, done.stderr
        assert "已恢复并核对" in done.stdout
        # Then every table has the manifest's rows, plus the restore's own audit event
        restored = counts()
        restored["audit_auditevent"] -= 1
        assert restored == manifest["tables"]
        # and the evidence file is back, and the restored audit chain holds
        path = evidence[0]["path"].removeprefix("files/")
        assert (var2 / path).read_bytes() == (seeded / path).read_bytes()
        chain = _jingzhun("audit", "verify", env=env)
        assert chain.returncode == 0, chain.stderr
        # A second restore into the now non-empty database is refused
        again = _jingzhun("backup", "restore", str(artefact), env=env)
        assert again.returncode == 1 and "不是空的" in again.stderr


def test_a_flipped_byte_or_a_wrong_key_fails(seeded: Path, tmp_path: Path) -> None:
    key = Key.passphrase(PASSPHRASE)
    artefact = tmp_path / "county.jzb"
    create_backup(artefact, key)
    data = artefact.read_bytes()
    for position in (20, len(data) // 2, len(data) - 1):  # the salt, the body, the tag
        bad = bytearray(data)
        bad[position] ^= 0x01
        flipped = tmp_path / f"flipped-{position}.jzb"
        flipped.write_bytes(bytes(bad))
        with pytest.raises(BackupError, match="校验失败"):
            verify_backup(flipped, key)
    with pytest.raises(BackupError, match="校验失败"):
        verify_backup(artefact, Key.passphrase("another-passphrase-1"))
    with pytest.raises(BackupError, match="不是空的"):
        restore_backup(artefact, key)
    assert AuditEvent.objects.filter(event="backup.restore").count() == 0


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(BackupError, match="至少"):
        Key.passphrase("short")


def test_the_command_reports_a_missing_passphrase(tmp_path: Path, db: Any) -> None:
    from django.core.management import CommandError, call_command

    os.environ.pop("JINGZHUN_BACKUP_PASSPHRASE", None)
    with pytest.raises(CommandError, match="JINGZHUN_BACKUP_PASSPHRASE"):
        call_command("backup", "create", "-o", str(tmp_path / "x.jzb"))
    assert not (tmp_path / "x.jzb").exists()
