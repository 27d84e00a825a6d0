"""Health details encrypted at rest like ID numbers (PII-2, ADR 0066): a member's health
status and disability grade are tokens in the database, read back as plaintext (the grade as an
int), bound to their row, refused as filters, written as tokens by imports, re-encrypted by key
rotation, never copied into a natural-change case, and opened set-wise by the bulk readers only
when they are read."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import World
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from jingzhun.core import duck, fieldcrypt, fieldkeys
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, household_rows, xlsx
from jingzhun.registry.actions import do_update_member
from jingzhun.registry.models import Household, Member

pytestmark = pytest.mark.django_db

HEALTH = ("healthy", "chronic", "serious_illness", "disabled")


def raw_health() -> dict[int, tuple[Any, Any]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, health_status, disability_grade FROM registry_member")
        return {pk: (h, g) for pk, h, g in cursor.fetchall()}


def assert_health_sealed() -> None:
    rows = raw_health()
    assert rows
    for health, grade in rows.values():
        assert health == "" or fieldcrypt.is_token(health), health
        assert grade is None or fieldcrypt.is_token(grade), grade
        assert not any(code in str(health) for code in HEALTH)


def _disable(world: World, member: Member, grade: int) -> Member:
    return do_update_member(
        member.pk,
        member.version,
        {"health_status": "disabled", "disability_grade": grade},
        actor=world.user("county"),
    )


def test_health_is_stored_as_tokens_and_read_as_plaintext(world: World) -> None:
    member = Member.objects.order_by("pk").first()
    assert member is not None
    _disable(world, member, 2)
    assert_health_sealed()
    health, grade = raw_health()[member.pk]
    assert fieldcrypt.is_token(health) and fieldcrypt.is_token(grade)
    again = Member.objects.get(pk=member.pk)
    assert again.health_status == "disabled" and again.disability_grade == 2
    assert isinstance(again.disability_grade, int)
    # set-wise: values() gives tokens, open_tokens opens them with their rows' keys
    pairs = list(Member.objects.values_list("pk", "health_status").order_by("pk"))
    opened = fieldcrypt.open_tokens(
        "registry_member",
        "health_status",
        [pk for pk, _ in pairs],
        [t.token if isinstance(t, fieldcrypt.Sealed) else t for _, t in pairs],
    )
    assert opened == [m.health_status or None for m in Member.objects.order_by("pk")]


def test_a_health_token_moved_to_another_row_fails_authentication(world: World) -> None:
    first, second = Member.objects.order_by("pk")[:2]
    _disable(world, first, 3)
    health, grade = raw_health()[first.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_member SET health_status = %s, disability_grade = %s WHERE id = %s",
            [health, grade, second.pk],
        )
    moved = Member.objects.get(pk=second.pk)
    with pytest.raises(fieldcrypt.FieldDecryptError, match="密文校验失败"):
        _ = moved.health_status
    with pytest.raises(fieldcrypt.FieldDecryptError, match="密文校验失败"):
        _ = moved.disability_grade
    with pytest.raises(
        fieldcrypt.FieldDecryptError, match=f"registry_member\\|health_status\\|{second.pk}"
    ):
        fieldcrypt.open_tokens("registry_member", "health_status", [second.pk], [health])
    # the token moved between the two columns of its own row fails too
    with pytest.raises(fieldcrypt.FieldDecryptError):
        fieldcrypt.open_tokens("registry_member", "disability_grade", [first.pk], [health])
    assert Member.objects.get(pk=first.pk).disability_grade == 3


def test_filters_on_health_are_refused(world: World) -> None:
    with pytest.raises(fieldcrypt.FieldKeyError, match="加密字段"):
        list(Member.objects.filter(health_status="disabled"))
    with pytest.raises(fieldcrypt.FieldKeyError, match="加密字段"):
        list(Member.objects.filter(disability_grade=2))
    # emptiness still filters (no secret in an empty value)
    assert Member.objects.filter(disability_grade__isnull=True).exists()


def test_the_grade_is_validated_in_python(world: World) -> None:
    member = Member.objects.order_by("pk").first()
    assert member is not None
    from jingzhun.core.errors import DomainError

    with pytest.raises(DomainError, match="应为 1 至 4 级"):
        _disable(world, member, 7)
    assert Member.objects.get(pk=member.pk).disability_grade is None


def test_an_import_with_health_columns_stores_tokens(world: World) -> None:
    header = [*FLAT_HEADER, "健康状况", "残疾等级"]
    rows = household_rows("HX1", VILLAGE, 401, 3)
    extra = [["大病", ""], ["残疾", "2"], ["健康", ""]]
    rows = [[*row, *more] for row, more in zip(rows, extra, strict=True)]
    outcome = do_commit_import(xlsx({"s": [header, *rows]}), "h.xlsx", actor=world.user("county"))
    assert outcome.committed, outcome
    assert_health_sealed()
    household = Household.objects.get(household_code="HX1")
    got = sorted((m.health_status, m.disability_grade) for m in household.members.all())
    assert got == [("disabled", 2), ("healthy", None), ("serious_illness", None)]


def test_key_rotation_re_encrypts_health(world: World, tmp_path: Path) -> None:
    member = Member.objects.order_by("pk").first()
    assert member is not None
    _disable(world, member, 1)
    before = {m.pk: (m.health_status, m.disability_grade) for m in Member.objects.all()}
    key_file = tmp_path / "field_keys"
    key_file.write_text("\n".join(settings.JINGZHUN_FIELD_KEYS) + "\n")
    (tmp_path / "index_key").write_text(settings.JINGZHUN_INDEX_KEY + "\n")
    old = fieldcrypt.keyring().current.version
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JINGZHUN_FIELD_KEY_FILE", str(key_file))
        mp.setenv("JINGZHUN_INDEX_KEY_FILE", str(tmp_path / "index_key"))
        mp.delenv("JINGZHUN_FIELD_KEY", raising=False)
        mp.delenv("JINGZHUN_INDEX_KEY", raising=False)
        mp.setattr(settings, "JINGZHUN_FIELD_KEYS", list(settings.JINGZHUN_FIELD_KEYS))
        mp.setattr(settings, "JINGZHUN_INDEX_KEY", settings.JINGZHUN_INDEX_KEY)
        call_command("keys", "rotate", stdout=StringIO(), stderr=StringIO())
        lines = [line for line in key_file.read_text().split("\n") if line]
        key_file.write_text("\n".join(lines[1:]) + "\n")  # the old key removed
        mp.setattr(
            settings, "JINGZHUN_FIELD_KEYS", fieldkeys.load_field_keys(tmp_path, create=False)
        )
        versions = {
            fieldcrypt.token_version(t)
            for pair in raw_health().values()
            for t in pair
            if t not in (None, "")
        }
        assert versions == {old + 1}
        after = {m.pk: (m.health_status, m.disability_grade) for m in Member.objects.all()}
        assert after == before


def test_a_natural_change_case_keeps_no_health(world: World) -> None:

    from conftest import make_id

    from jingzhun.workflows.changes import clean_change

    household = Household.objects.order_by("pk").first()
    assert household is not None
    today = timezone.localdate()
    change = clean_change(
        household,
        {
            "type": "move_in",
            "date": today.isoformat(),
            "member": {
                "name": "新成员",
                "id_number": make_id("230231", "19900101", 91),
                "relation": "other",
                "health_status": "serious_illness",
                "disability_grade": 2,
            },
        },
        today,
    )
    text = repr(change)
    assert "serious_illness" not in text and "disability" not in text
    assert set(change["member"]) == {"name", "id_number", "relation"}


@pytest.mark.django_db(transaction=True)
def test_the_indicator_reader_opens_health_only_when_used(world: World, tmp_path: Path) -> None:
    from jingzhun.analytics import refresh

    member = Member.objects.order_by("pk").first()
    assert member is not None
    _disable(world, member, 2)
    key = str
    expected = sorted(
        ((m.household_id, m.health_status or None) for m in Member.objects.all()), key=key
    )
    con = duck.connect()
    try:
        refresh.read_registry(con, None, tmp_path / "a", {"health_status"})
        got = sorted(con.execute("SELECT household_id, health_status FROM mm").fetchall(), key=key)
        assert got == expected
        assert "member_id" not in {r[0] for r in con.execute("DESCRIBE mm").fetchall()}
        refresh.read_registry(con, None, tmp_path / "b", {"sex"})
        columns = {r[0] for r in con.execute("DESCRIBE mm").fetchall()}
        assert "health_status" not in columns and "member_id" not in columns
    finally:
        con.close()


def test_open_in_duckdb_pairs_each_value_with_its_own_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """More rows than one DuckDB row group, two threads, insertion order not preserved: every
    opened value lands on its own row (joined on the key, not by position)."""
    monkeypatch.setattr(
        settings, "JINGZHUN_FIELD_KEYS", [fieldkeys.new_field_key_line(1, "aes-256-gcm")]
    )
    n = 130_000
    ring = fieldcrypt.keyring()
    codes = [HEALTH[(i * 7) % 4] for i in range(n)]
    tokens = [
        fieldcrypt.seal("registry_member", "health_status", i, code, ring)
        for i, code in enumerate(codes)
    ]
    con = duck.connect()
    try:
        con.execute("SET threads = 2")
        import numpy as np

        con.register(
            "t",
            {
                "member_id": np.arange(n, dtype=np.int64),
                "health_status": np.array(tokens, dtype=object),
                "expect": np.array(codes, dtype=object),
            },
        )
        con.execute("CREATE TABLE t2 AS SELECT * FROM t ORDER BY random()")
        bad = fieldcrypt.open_in_duckdb(
            con, "t2", Member, {"health_status": "VARCHAR"}, id_column="member_id", target="o"
        )
        assert bad is None
        row = con.execute("SELECT count(*), count_if(health_status = expect) FROM o").fetchone()
        assert row == (n, n)
    finally:
        con.close()
