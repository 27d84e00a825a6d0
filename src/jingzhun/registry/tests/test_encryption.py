"""Sensitive fields encrypted at rest (security.md PII-2, core.fieldcrypt, registry.keys):
raw SQL shows no plaintext, values round-trip, a token moved to another row fails
authentication, rotation leaves every row readable with the new key only, the blind index finds
and keeps unique a full ID number, and a missing key is a clear Chinese error."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import World, card_number, make_id
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from jingzhun.core import fieldcrypt, fieldkeys
from jingzhun.core.errors import DomainError
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, household_rows, xlsx
from jingzhun.registry.actions import do_add_member, do_update_household
from jingzhun.registry.idcard import check as check_id
from jingzhun.registry.models import Household, Member, id_index
from jingzhun.registry.selectors import HouseholdFilters, households_for

pytestmark = pytest.mark.django_db

ID_PATTERN = re.compile(r"\d{17}[\dXx]")


def raw(table: str, *columns: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(columns)} FROM {table} ORDER BY id")
        return cursor.fetchall()


def assert_no_plaintext() -> None:
    """No valid ID number, no phone or bank-account digits in the encrypted columns."""
    members = raw("registry_member", "id_number", "id_number_index")
    households = raw("registry_household", "phone", "bank_account")
    assert members and households
    for _pk, token, index in members:
        assert fieldcrypt.is_token(token), token
        assert not any(check_id(m).valid for m in ID_PATTERN.findall(token))
        assert re.fullmatch(r"[0-9a-f]{64}", index)
    for _pk, phone, bank in households:
        for token in (phone, bank):
            assert token == "" or fieldcrypt.is_token(token)
            assert not re.search(r"\d{7}", token.split(":", 1)[-1])


def test_raw_columns_hold_tokens_and_the_orm_reads_plaintext(world: World) -> None:
    assert_no_plaintext()
    household = Household.objects.filter(phone__gt="").first()
    assert household is not None and re.fullmatch(r"1390000\d{4}", household.phone)
    member = Member.objects.first()
    assert member is not None and check_id(member.id_number).valid
    # values() gives the token, not the number; open_column decrypts it with the row's key
    pk, token = Member.objects.values_list("pk", "id_number").get(pk=member.pk)
    assert isinstance(token, fieldcrypt.Sealed)
    assert fieldcrypt.open_column(Member, "id_number", [(pk, token)]) == [member.id_number]


def test_an_import_stores_tokens(world: World) -> None:
    user = world.user("township")
    header = [*FLAT_HEADER, "联系电话", "银行账号"]
    rows = [
        [*row, "13912345678", card_number("622202000000123")]
        for row in household_rows("E1", VILLAGE, 301, 3)
    ]
    outcome = do_commit_import(xlsx({"s": [header, *rows]}), "e.xlsx", actor=user)
    assert outcome.committed, outcome
    assert_no_plaintext()
    household = Household.objects.get(household_code="E1")
    assert household.phone == "13912345678"
    assert household.bank_account == card_number("622202000000123")
    assert {m.id_number for m in household.members.all()} == {r[3] for r in rows}


def test_a_token_moved_to_another_row_fails_authentication(world: World) -> None:
    first, second = Member.objects.order_by("pk")[:2]
    token = raw("registry_member", "id_number")[0][1]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_member SET id_number = %s WHERE id = %s", [token, second.pk]
        )
    with pytest.raises(fieldcrypt.FieldDecryptError, match="密文校验失败"):
        _ = Member.objects.get(pk=second.pk).id_number
    assert check_id(Member.objects.get(pk=first.pk).id_number).valid


def test_updates_re_encrypt_for_the_row(world: World) -> None:
    household = Household.objects.filter(phone__gt="").first()
    assert household is not None
    do_update_household(
        household.pk, household.version, {"phone": "13800138000"}, actor=world.user("county")
    )
    assert Household.objects.get(pk=household.pk).phone == "13800138000"
    assert_no_plaintext()


def test_lookup_by_full_id_through_the_blind_index_and_uniqueness(world: World) -> None:
    member = Member.objects.select_related("household").first()
    assert member is not None
    found = households_for(world.user("county"), HouseholdFilters(q=member.id_number.lower()))
    assert list(found) == [member.household]
    assert Member.objects.get(id_number_index=id_index(member.id_number)) == member
    other = Household.objects.exclude(pk=member.household_id).first()
    data = {
        "name": "重复", "id_number": member.id_number, "sex": member.sex,
        "birth_date": member.birth_date, "relation": "other",
    }  # fmt: skip
    with pytest.raises(DomainError, match="已属于另一名在册成员"):
        do_add_member(other.pk, data, "迁入", actor=world.user("county"))
    fresh = make_id("230231", "19900101", 77)
    data = {**data, "id_number": fresh, "sex": "male", "birth_date": "1990-01-01"}
    do_add_member(other.pk, data, "迁入", actor=world.user("county"))
    assert Member.objects.get(id_number_index=id_index(fresh)).household_id == other.pk


def test_plaintext_filters_are_refused(world: World) -> None:
    member = Member.objects.first()
    assert member is not None
    with pytest.raises(fieldcrypt.FieldKeyError, match="加密字段"):
        list(Member.objects.filter(id_number=member.id_number))


def test_a_missing_key_is_a_clear_chinese_error(world: World) -> None:
    member_pk = Member.objects.first().pk  # type: ignore[union-attr]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(settings, "JINGZHUN_FIELD_KEYS", [])
        with pytest.raises(fieldcrypt.FieldKeyError, match="未配置字段加密密钥"):
            _ = Member.objects.get(pk=member_pk).id_number
        mp.setattr(settings, "JINGZHUN_FIELD_KEYS", [fieldkeys.new_field_key_line(9)])
        with pytest.raises(fieldcrypt.FieldKeyError, match="缺少第 1 版字段加密密钥"):
            _ = Member.objects.get(pk=member_pk).id_number


def test_rotation_then_the_old_key_removed(world: World, tmp_path: Path) -> None:
    key_file = tmp_path / "field_keys"
    index_file = tmp_path / "index_key"
    key_file.write_text("\n".join(settings.JINGZHUN_FIELD_KEYS) + "\n")
    index_file.write_text(settings.JINGZHUN_INDEX_KEY + "\n")
    before = {m.pk: m.id_number for m in Member.objects.all()}
    phones = {h.pk: h.phone for h in Household.objects.all()}
    old_version = fieldcrypt.keyring().current.version
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JINGZHUN_FIELD_KEY_FILE", str(key_file))
        mp.setenv("JINGZHUN_INDEX_KEY_FILE", str(index_file))
        mp.delenv("JINGZHUN_FIELD_KEY", raising=False)
        mp.delenv("JINGZHUN_INDEX_KEY", raising=False)
        mp.setattr(settings, "JINGZHUN_FIELD_KEYS", list(settings.JINGZHUN_FIELD_KEYS))
        mp.setattr(settings, "JINGZHUN_INDEX_KEY", settings.JINGZHUN_INDEX_KEY)
        out = StringIO()
        call_command("keys", "rotate", stdout=out, stderr=StringIO())
        assert f"第 {old_version + 1} 版" in out.getvalue()
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        # the old key removed from the file: every row still decrypts
        lines = key_file.read_text().split("\n")
        key_file.write_text("\n".join(line for line in lines[1:] if line) + "\n")
        mp.setattr(
            settings, "JINGZHUN_FIELD_KEYS", fieldkeys.load_field_keys(tmp_path, create=False)
        )
        assert sorted(fieldcrypt.keyring().keys) == [old_version + 1]
        assert {m.pk: m.id_number for m in Member.objects.all()} == before
        assert {h.pk: h.phone for h in Household.objects.all()} == phones
        versions = {fieldcrypt.token_version(t) for _pk, t in raw("registry_member", "id_number")}
        assert versions == {old_version + 1}
        # a new blind-index key: lookups still work, with the new index only
        old_index = raw("registry_member", "id_number_index")
        call_command("keys", "rotate-index", stdout=StringIO(), stderr=StringIO())
        assert index_file.read_text().strip() == settings.JINGZHUN_INDEX_KEY
        assert raw("registry_member", "id_number_index") != old_index
        some = next(iter(before.items()))
        assert Member.objects.get(id_number_index=id_index(some[1])).pk == some[0]
        status = StringIO()
        call_command("keys", "status", stdout=status)
        assert f"第 {old_version + 1} 版" in status.getvalue()
    assert {e for e in ("registry.keys.rotate", "registry.keys.rotate_index")} <= set(
        world_events()
    )
    assert_no_plaintext()


def world_events() -> list[str]:
    from jingzhun.audit.models import AuditEvent

    return list(AuditEvent.objects.values_list("event", flat=True))
