"""The bulk assessment with health encrypted at rest (PII-2, ADR 0066): on a generated
Gansu county the bulk decisions equal the per-household evaluator's (which reads plaintext
through the model), the serious-illness blocker fires, the run's snapshot keeps the health
column as tokens (and the card's replay opens them), and the national standard never reads
the sealed columns."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.conf import settings

from jingzhun.assessments import bulk as assess_bulk
from jingzhun.assessments.bulk import do_assess_bulk
from jingzhun.assessments.models import Assessment
from jingzhun.assessments.selectors import snapshot_facts
from jingzhun.assessments.tests.test_bulk import per_household, stored
from jingzhun.core import fieldcrypt
from jingzhun.core.errors import DomainError
from jingzhun.core.models import action_writes
from jingzhun.demo import counties
from jingzhun.demo.actions import DemoSpec, do_generate_demo_county
from jingzhun.policy import bulk as policy_bulk
from jingzhun.policy.store import default_store
from jingzhun.registry.models import Household, Member

pytestmark = pytest.mark.django_db(transaction=True)

GANSU = "621126"


def _generate(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    if code not in counties.COUNTIES:
        monkeypatch.setitem(
            counties.COUNTIES, code, dataclasses.replace(counties.COUNTIES["522628"], code=code)
        )
    do_generate_demo_county(DemoSpec(county=code, scale=0.03, seed=3, password="Demo-pass-2026"))


def test_gansu_bulk_equals_the_per_household_evaluator_on_encrypted_health(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _generate(monkeypatch, GANSU)
    # some members seriously ill (the generator's share may be small at this scale)
    ill = 0
    with action_writes():
        for pk in list(Member.objects.order_by("pk").values_list("pk", flat=True))[::40]:
            Member.objects.filter(pk=pk).update(health_status="serious_illness")
            ill += 1
    assert ill
    result = do_assess_bulk("household_exit", 2019, actor=None)
    got = stored(2019)
    assert len(got) == result.households > 0  # registered households (ordinary ones are not)
    expected = per_household(Household.objects.filter(pk__in=list(got)), 2019)
    assert got == expected
    assert any("blocker_serious_illness" in failed for _p, failed, _u in got.values())
    # the snapshot keeps the health column as tokens, with the member key beside it
    members = Path(settings.VAR_DIR) / result.snapshot / "members.parquet"
    con = duckdb.connect()
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE FROM read_parquet('{members}')").fetchall()]
        values = [
            r[0]
            for r in con.execute(
                f"SELECT health_status FROM read_parquet('{members}') "
                "WHERE health_status IS NOT NULL"
            ).fetchall()
        ]
    finally:
        con.close()
    assert "member_id" in names and values
    assert all(fieldcrypt.is_token(v) for v in values)
    # the card's replay opens them again
    household = Assessment.objects.filter(failed__contains="blocker_serious_illness").first()
    if household is None:  # CriterionIdsField may not support contains: look in Python
        pk = next(pk for pk, (_p, f, _u) in got.items() if "blocker_serious_illness" in f)
    else:
        pk = household.household_id
    from jingzhun.assessments.models import AssessmentRun

    facts = snapshot_facts(AssessmentRun.objects.get(pk=result.run_id), pk)
    assert facts is not None
    assert "serious_illness" in {m["health_status"] for m in facts["members"]}
    assert all("member_id" not in m for m in facts["members"])
    # a value outside the code list (only a direct database write could leave it) stops the
    # run, naming the household and the field but not the value
    member = Member.objects.order_by("pk").first()
    assert member is not None
    with action_writes():
        Member.objects.filter(pk=member.pk).update(health_status="糖尿病")
    with pytest.raises(DomainError) as refused:
        do_assess_bulk("household_exit", 2019, actor=None)
    message = str(refused.value)
    assert member.household.household_code in message and "health_status" in message
    assert "糖尿病" not in message


def test_the_national_standard_reads_no_sealed_column(monkeypatch: pytest.MonkeyPatch) -> None:
    store = default_store()
    members = set(assess_bulk.member_columns())
    households = set(assess_bulk.household_columns())

    def read(provinces: Any) -> list[str]:
        return policy_bulk.columns_read(
            store,
            "household_exit",
            2019,
            member_columns=members,
            household_columns=households,
            provinces=provinces,
        )[1]

    assert "health_status" not in read({"52"})
    assert "health_status" in read({"52", "62"}) and "health_status" in read(None)
    opened: list[Any] = []
    real = fieldcrypt.open_tokens
    monkeypatch.setattr(
        fieldcrypt, "open_tokens", lambda *a, **k: opened.append(a) or real(*a, **k)
    )
    assert assess_bulk.provinces_in_scope(None) == set()
    _generate(monkeypatch, "522628")
    assert assess_bulk.provinces_in_scope(None) == {"52"}
    result = do_assess_bulk("household_exit", 2019, actor=None)
    assert opened == [] and result.households > 0
    folder = Path(settings.VAR_DIR) / result.snapshot / "members.parquet"
    con = duckdb.connect()
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE FROM read_parquet('{folder}')").fetchall()]
    finally:
        con.close()
    assert "health_status" not in names and "member_id" not in names
