"""Migration 0005 encrypts the ID numbers, phones and bank accounts already stored (PII-2) and
fills the blind index; its reverse decrypts them."""

from __future__ import annotations

import pytest
from conftest import card_number, make_id
from django.db import connection

from jingzhun.core import fieldcrypt
from jingzhun.registry.tests.migration_state import executor, one_household

# A data migration, run back and forth over the whole schema (a minute): CI runs it on the
# production database only (.ci/run, marker postgresql_pass).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql_pass]

BEFORE = [("registry", "0004_member_joined_left")]
AFTER = [("registry", "0005_encrypt_sensitive_fields")]
ID = make_id("230231", "19800101", 11)
PHONE = "13900001111"
BANK = card_number("622202000000001")


def _raw() -> tuple[str, str, str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT phone, bank_account FROM registry_household")
        phone, bank = cur.fetchone()
        cur.execute("SELECT id_number FROM registry_member")
        (number,) = cur.fetchone()
        index = ""
        cur.execute("SELECT * FROM registry_member")
        names = [c[0] for c in cur.description]
        if "id_number_index" in names:
            cur.execute("SELECT id_number_index FROM registry_member")
            (index,) = cur.fetchone()
    return phone, bank, number, index


def test_existing_rows_are_encrypted_and_decrypted_back() -> None:
    runner = executor()
    runner.migrate(BEFORE)
    try:
        apps, household = one_household(BEFORE, phone=PHONE, bank_account=BANK)
        apps.get_model("registry", "Member").objects.create(
            household_id=household.pk,
            id_number=ID,
            name="甲",
            sex="male",
            birth_date="1980-01-01",
            relation="head",
        )
        executor().migrate(AFTER)
        phone, bank, number, index = _raw()
        assert all(fieldcrypt.is_token(v) for v in (phone, bank, number))
        from jingzhun.registry.models import Household, Member, id_index

        assert index == id_index(ID)
        member = Member.objects.get(id_number_index=id_index(ID))
        assert member.id_number == ID
        assert (
            Household.objects.get().phone == PHONE and Household.objects.get().bank_account == BANK
        )
        executor().migrate(BEFORE)
        assert _raw() == (PHONE, BANK, ID, "")
    finally:
        runner = executor()
        runner.migrate(runner.loader.graph.leaf_nodes())
