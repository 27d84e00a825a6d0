"""Migration 0006 encrypts the health status and disability grade already stored (PII-2,
ADR 0066); its reverse decrypts them back into plain columns (the grade an integer)."""

from __future__ import annotations

import pytest
from conftest import make_id
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jingzhun.core import fieldcrypt

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("registry", "0005_encrypt_sensitive_fields")]
AFTER = [("registry", "0006_encrypt_health")]


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def _raw() -> list[tuple[str, object]]:
    with connection.cursor() as cur:
        cur.execute("SELECT health_status, disability_grade FROM registry_member ORDER BY id")
        return cur.fetchall()


def test_existing_health_is_encrypted_and_decrypted_back() -> None:
    executor = _executor()
    executor.migrate(BEFORE)
    try:
        apps = _executor().loader.project_state(BEFORE).apps
        region = apps.get_model("regions", "Region")
        for code, level, parent in (
            ("230231000000", "county", None),
            ("230231100000", "township", "230231000000"),
            ("230231100201", "village", "230231100000"),
        ):
            region.objects.create(code=code, name=code, level=level, parent_id=parent)
        household = apps.get_model("registry", "Household").objects.create(
            household_code="M1",
            village_id="230231100201",
            township_code="230231100000",
            county_code="230231000000",
        )
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
        _executor().migrate(AFTER)
        rows = _raw()
        assert fieldcrypt.is_token(rows[0][0]) and fieldcrypt.is_token(rows[0][1])
        assert rows[1] == ("", None)
        assert fieldcrypt.is_token(rows[2][0]) and rows[2][1] is None
        from jingzhun.registry.models import Member

        got = [(m.health_status, m.disability_grade) for m in Member.objects.order_by("pk")]
        assert got == [("disabled", 3), ("", None), ("serious_illness", None)]
        _executor().migrate(BEFORE)
        back = _raw()
        assert [(h, None if g is None else int(g)) for h, g in back] == [
            ("disabled", 3),
            ("", None),
            ("serious_illness", None),
        ]
    finally:
        executor = _executor()
        executor.migrate(executor.loader.graph.leaf_nodes())
