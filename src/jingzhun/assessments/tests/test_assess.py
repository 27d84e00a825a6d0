"""Stored assessments: one per household, year, standard and policy version."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import VILLAGES, World

from jingzhun.assessments.actions import do_assess_households
from jingzhun.assessments.models import Assessment
from jingzhun.assessments.selectors import latest_assessment
from jingzhun.audit.models import AuditEvent
from jingzhun.policy.store import PolicyStore, default_root
from jingzhun.registry.actions import do_record_income, do_update_household
from jingzhun.registry.models import Household
from jingzhun.registry.selectors import households_for

VILLAGE = VILLAGES["230231100000"][0]


def _complete(world: World) -> Household:
    """Make the fixture household of VILLAGE meet every criterion of the exit standard in 2019."""
    household = world.households[VILLAGE]
    county = world.user("county")
    do_update_household(
        household.pk,
        household.version,
        {
            "food_secure": True,
            "clothing_secure": True,
            "house_safety_grade": "A",
            "water_quantity_ok": True,
            "water_quality_ok": True,
            "water_convenience_ok": True,
            "water_reliability_ok": True,
        },
        actor=county,
    )
    do_record_income(household.pk, 2019, {"wage_income": "9000"}, actor=county)
    return Household.objects.get(pk=household.pk)


def test_assessing_stores_a_decision_with_trace_and_inputs(world: World) -> None:
    household = _complete(world)
    result = do_assess_households(
        households_for(world.user("township")), "household_exit", 2019, actor=None
    )
    assert (result.households, result.created, result.unchanged) == (2, 2, 0)
    stored = latest_assessment(household)
    assert stored is not None and stored.passed and stored.failed == [] and stored.unknown == []
    assert len(stored.policy.version) == 64 and stored.year == 2019
    assert stored.run.method == "per_household" and stored.run.finished_at is not None
    assert [c["id"] for c in stored.criteria] == [
        "income",
        "food",
        "clothing",
        "education",
        "medical",
        "housing",
        "water",
    ]
    assert stored.facts["income"]["wage_income"] == 9000
    other = Assessment.objects.exclude(household=household).get()
    assert not other.passed and "income" in other.unknown  # no income record for 2019
    assert AuditEvent.objects.filter(event="assessments.run", object_id=result.run_id).count() == 1


def test_rerunning_the_same_policy_version_changes_nothing(world: World) -> None:
    _complete(world)
    qs = households_for(world.user("county"))
    first = do_assess_households(qs, "household_exit", 2019, actor=None)
    before = list(
        Assessment.objects.order_by("household_id", "policy_id").values_list(
            "household_id", "policy_id", "run_id", "created_at"
        )
    )
    second = do_assess_households(qs, "household_exit", 2019, actor=None)
    assert (first.created, second.created, second.unchanged) == (4, 0, 4)
    assert (
        list(
            Assessment.objects.order_by("household_id", "policy_id").values_list(
                "household_id", "policy_id", "run_id", "created_at"
            )
        )
        == before
    )


def test_a_new_policy_version_adds_assessments_and_keeps_the_old(
    world: World, tmp_path: Path
) -> None:
    household = _complete(world)
    qs = households_for(world.user("village"))
    do_assess_households(qs, "household_exit", 2019, actor=None)
    policies = tmp_path / "policies"
    shutil.copytree(default_root(), policies)
    table = policies / "tables" / "poverty_line.yaml"
    table.write_text(table.read_text(encoding="utf-8").replace("3218", "9500"), encoding="utf-8")
    result = do_assess_households(
        qs, "household_exit", 2019, actor=None, store=PolicyStore.load(policies)
    )
    assert result.created == 1
    old, new = Assessment.objects.filter(household=household).order_by("created_at")
    assert old.passed and not new.passed and new.failed == ["income"]
    assert old.policy.version != new.policy.version
    assert latest_assessment(household) == new


def test_the_household_card_shows_each_criterion(world: World, client) -> None:  # type: ignore[no-untyped-def]
    household = _complete(world)
    do_assess_households(households_for(world.user("village")), "household_exit", 2019, actor=None)
    client.force_login(world.user("village"))
    body = client.get(f"/households/{household.pk}/").content.decode()
    assert "贫困户退出标准" in body and "2019" in body
    assert body.count('class="criterion passed"') == 7
    assert "判定之后有修改" not in body
    # the income is corrected afterwards: the card says the decision predates the change
    do_record_income(household.pk, 2019, {"wage_income": "100"}, actor=world.user("county"))
    body = client.get(f"/households/{household.pk}/").content.decode()
    assert "该户信息在这次判定之后有修改" in body
    assert body.count('class="criterion passed"') == 7  # still the stored decision
