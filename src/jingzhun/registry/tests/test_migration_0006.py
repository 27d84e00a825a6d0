"""Migration 0006 encrypts the health status and disability grade already stored (PII-2,
ADR 0066); its reverse decrypts them back into plain columns (the grade an integer)."""

from __future__ import annotations

import pytest
from conftest import make_id
from django.db import connection

from jingzhun.core import fieldcrypt
from jingzhun.registry.tests.migration_state import executor, one_household

# A data migration, run back and forth over the whole schema (a minute): CI runs it on the
# production database only (.ci/run, marker postgresql_pass).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql_pass]

BEFORE = [("registry", "0005_encrypt_sensitive_fields")]
AFTER = [("registry", "0006_encrypt_health")]


def _raw() -> list[tuple[str, object]]:
    with connection.cursor() as cur:
        cur.execute("SELECT health_status, disability_grade FROM registry_member ORDER BY id")
        return cur.fetchall()


def test_existing_health_is_encrypted_and_decrypted_back() -> None:
    runner = executor()
    runner.migrate(BEFORE)
    try:
        apps, household = one_household(BEFORE)
        member = apps.get_model("registry", "Member")
        for seq, (health, grade, relation) in enumerate(
            [("disabled", 3, "head"), ("", None, "son"), ("serious_illness", None, "spouse")],
            start=11,
        ):
            member.objects.create(
                id=seq,  # the 0005 state encrypts the ID number with the row's key
                household_id=household.pk,
                id_number=make_id("230231", "19800101", seq),
                name=f"甲{seq}",
                sex="male",
                birth_date="1980-01-01",
                relation=relation,
                health_status=health,
                disability_grade=grade,
            )
        executor().migrate(AFTER)
        rows = _raw()
        assert fieldcrypt.is_token(rows[0][0]) and fieldcrypt.is_token(rows[0][1])
        assert rows[1] == ("", None)
        assert fieldcrypt.is_token(rows[2][0]) and rows[2][1] is None
        from jingzhun.registry.models import Member

        got = [(m.health_status, m.disability_grade) for m in Member.objects.order_by("pk")]
        assert got == [("disabled", 3), ("", None), ("serious_illness", None)]
        executor().migrate(BEFORE)
        back = _raw()
        assert [(h, None if g is None else int(g)) for h, g in back] == [
            ("disabled", 3),
            ("", None),
            ("serious_illness", None),
        ]
    finally:
        runner = executor()
        runner.migrate(runner.loader.graph.leaf_nodes())
