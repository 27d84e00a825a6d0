"""Registry actions: validation, constraints, optimistic locking, soft delete, audit."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import VILLAGES, World, make_id
from django.db import IntegrityError, transaction

from jingzhun.audit.actions import verify_chain
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.registry.actions import (
    do_change_household_status,
    do_create_household,
    do_delete_household,
    do_record_income,
    do_update_household,
    do_update_member,
)
from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

VILLAGE = VILLAGES["230231100000"][0]


def head(seq: int = 901, **extra: Any) -> dict[str, Any]:
    return {
        "id_number": make_id("230231", "19650315", seq),
        "name": "孙七",
        "relation": "head",
        **extra,
    }


def test_create_normalises_the_id_and_derives_sex_and_birth_date(world: World) -> None:
    raw = make_id("230231", "19650315", 901)
    spaced = " ".join([raw[:6], raw[6:14], raw[14:]]).replace("1", "１")
    household = do_create_household(
        "H-NEW", VILLAGE, {}, [head(id_number=spaced)], actor=world.user("village")
    )
    member = household.members.get()
    assert member.id_number == raw
    assert member.sex == "male"
    assert member.birth_date == datetime.date(1965, 3, 15)
    assert household.township_code == "230231100000" and household.county_code == "230231000000"
    assert household.head_name == "孙七"
    assert (
        AuditEvent.objects.filter(
            event="registry.household.create", object_id=str(household.pk)
        ).count()
        == 1
    )


@pytest.mark.parametrize(
    ("member", "field"),
    [
        ({"id_number": "230231196503159012"}, "id_number"),
        ({"sex": "female"}, "sex"),
        ({"birth_date": "1965-03-16"}, "birth_date"),
        ({"relation": "uncle"}, "relation"),
    ],
)
def test_invalid_members_are_refused_and_nothing_is_written(
    world: World, member: dict[str, Any], field: str
) -> None:
    before = (Household.objects.count(), Member.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError) as excinfo:
        do_create_household("H-BAD", VILLAGE, {}, [head(**member)], actor=world.user("county"))
    assert excinfo.value.field == field
    assert (Household.objects.count(), Member.objects.count(), AuditEvent.objects.count()) == before


def test_a_household_needs_exactly_one_head(world: World) -> None:
    second = {"id_number": make_id("230231", "19660101", 903), "name": "周八", "relation": "head"}
    with pytest.raises(DomainError, match="有且只有一名户主"):
        do_create_household("H-2HEADS", VILLAGE, {}, [head(), second], actor=world.user("county"))
    assert not Household.objects.filter(household_code="H-2HEADS").exists()


def test_an_id_number_belongs_to_one_live_member(world: World) -> None:
    taken = world.households[VILLAGE].members.first().id_number
    with pytest.raises(DomainError, match="重复"):
        do_create_household(
            "H-DUP", VILLAGE, {}, [head(id_number=taken)], actor=world.user("county")
        )
    assert not Household.objects.filter(household_code="H-DUP").exists()


def test_database_constraints_back_the_rules(world: World) -> None:
    household = world.households[VILLAGE]
    with pytest.raises(IntegrityError), transaction.atomic():
        IncomeRecord(household=household, year=2019, wage_income=Decimal("-1")).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Member(
            household=household,
            id_number=make_id("230231", "19800101", 905),
            name="甲",
            sex="male",
            birth_date=datetime.date(1980, 1, 1),
            relation="head",
        ).save()


def test_stale_edit_is_refused_and_changes_nothing(world: World) -> None:
    household = world.households[VILLAGE]
    county = world.user("county")
    do_update_household(household.pk, household.version, {"group_name": "一组"}, actor=county)
    with pytest.raises(StaleVersion):
        do_update_household(household.pk, household.version, {"group_name": "二组"}, actor=county)
    household.refresh_from_db()
    assert household.group_name == "一组"
    assert household.version == 2


def test_update_audits_a_masked_diff(world: World) -> None:
    household = world.households[VILLAGE]
    do_update_household(household.pk, 1, {"phone": "13912345678"}, actor=world.user("township"))
    event = AuditEvent.objects.get(event="registry.household.update")
    assert event.diff["phone"][1] == "139****5678"
    assert "13912345678" not in str(event.diff)
    assert event.actor_name == "township"


def test_writes_are_scoped_and_role_checked(world: World) -> None:
    household = world.households[VILLAGE]
    before = AuditEvent.objects.count()
    with pytest.raises(OutOfScope):
        do_update_household(
            household.pk, 1, {"group_name": "x"}, actor=world.user("other_township")
        )
    with pytest.raises(Forbidden):
        do_update_household(household.pk, 1, {"group_name": "x"}, actor=world.user("auditor"))
    with pytest.raises(Forbidden):
        do_update_household(household.pk, 1, {"group_name": "x"}, actor=world.user("helper"))
    household.refresh_from_db()
    assert household.group_name == "" and household.version == 1
    assert AuditEvent.objects.count() == before


def test_soft_delete_hides_and_frees_the_id_number(world: World) -> None:
    household = world.households[VILLAGE]
    id_number = household.members.get(relation="head").id_number
    do_delete_household(household.pk, "错录，重新登记", actor=world.user("county"))
    assert not Household.objects.filter(pk=household.pk).exists()
    assert Household.all_objects.get(pk=household.pk).deleted_reason == "错录，重新登记"
    again = do_create_household(
        "H-AGAIN", VILLAGE, {}, [head(id_number=id_number)], actor=world.user("county")
    )
    assert again.members.get().id_number == id_number


def test_hard_deletes_are_refused(world: World) -> None:
    with pytest.raises(PermissionError):
        Household.objects.filter(pk=world.households[VILLAGE].pk).delete()
    with pytest.raises(PermissionError):
        world.households[VILLAGE].delete()
    assert Household.objects.filter(pk=world.households[VILLAGE].pk).exists()


@pytest.mark.parametrize("model", [Household, Member, IncomeRecord])
def test_set_wise_writes_are_refused_outside_actions(world: World, model: Any) -> None:
    household = world.households[VILLAGE]
    rows = (
        model.all_objects.filter(pk=household.pk)
        if model is Household
        else (model.all_objects.filter(household=household))
    )
    before = list(rows.values_list("pk", "version"))
    with pytest.raises(PermissionError, match="update"):
        rows.update(version=99)
    with pytest.raises(PermissionError, match="bulk_update"):
        model.objects.bulk_update(list(rows), ["version"])
    with pytest.raises(PermissionError):
        rows.delete()
    if model is Household:
        with pytest.raises(PermissionError):
            household.members.update(name="改")
    assert list(rows.values_list("pk", "version")) == before
    # through an action the same kind of write goes through
    do_update_household(
        household.pk, household.version, {"phone": "13800000000"}, actor=world.user("village")
    )
    assert Household.objects.get(pk=household.pk).version == household.version + 1


def test_status_change_appends_history(world: World) -> None:
    household = world.households[VILLAGE]
    do_change_household_status(
        household.pk,
        "exited_with_policy",
        datetime.date(2019, 11, 30),
        "脱贫退出",
        actor=world.user("county"),
    )
    household.refresh_from_db()
    assert household.poverty_status == "exited_with_policy" and household.exit_year == 2019
    last = StatusChange.objects.filter(household=household).order_by("-id").first()
    assert (last.status_from, last.status_to, last.actor_name) == (
        "not_exited",
        "exited_with_policy",
        "county",
    )


def test_income_is_recorded_with_non_negative_amounts(world: World) -> None:
    household = world.households[VILLAGE]
    income = do_record_income(
        household.pk,
        2019,
        {"wage_income": "3000", "transfer_income": 800, "business_costs": "200"},
        actor=world.user("village"),
    )
    assert income.net_income == Decimal("3600")
    with pytest.raises(DomainError, match="不能为负数"):
        do_record_income(household.pk, 2019, {"wage_income": -5}, actor=world.user("village"))
    assert IncomeRecord.objects.get(household=household, year=2019).wage_income == Decimal("3000")


def test_saving_the_same_income_writes_nothing_and_a_stale_version_is_refused(
    world: World,
) -> None:
    household = world.households[VILLAGE]
    village = world.user("village")
    do_record_income(household.pk, 2019, {"wage_income": "3000.5"}, actor=village)
    household.refresh_from_db()
    state = household.version, AuditEvent.objects.count()
    same = do_record_income(
        household.pk, 2019, {"wage_income": 3000.50}, actor=village, expected_version=1
    )
    household.refresh_from_db()
    assert same.version == 1 and (household.version, AuditEvent.objects.count()) == state
    with pytest.raises(StaleVersion):
        do_record_income(household.pk, 2019, {"wage_income": 1}, actor=village, expected_version=0)
    with pytest.raises(Forbidden):
        do_record_income(household.pk, 2019, {"wage_income": 1}, actor=world.user("auditor"))
    with pytest.raises(OutOfScope):
        other = world.households[VILLAGES["230231101000"][0]]
        do_record_income(other.pk, 2019, {"wage_income": 1}, actor=village)
    assert IncomeRecord.objects.get(household=household).wage_income == Decimal("3000.50")


def test_member_update_keeps_id_sex_and_birth_consistent(world: World) -> None:
    member = world.households[VILLAGE].members.get(relation="daughter")
    with pytest.raises(DomainError):
        do_update_member(member.pk, member.version, {"sex": "male"}, actor=world.user("village"))
    updated = do_update_member(
        member.pk, member.version, {"school_status": "junior"}, actor=world.user("village")
    )
    assert updated.school_status == "junior" and updated.version == 2


def test_audit_chain_verifies_and_detects_tampering(world: World) -> None:
    assert AuditEvent.objects.exists()
    assert verify_chain() is None
    victim = AuditEvent.objects.order_by("id")[1]
    from jingzhun.audit.tests.tamper import triggers_dropped

    with triggers_dropped():  # the database refuses the edit otherwise (AUDIT-2)
        AuditEvent.objects.filter(pk=victim.pk).update(reason="篡改")
    assert verify_chain() == victim.pk


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"attribute": "rich"}, "attribute"),
        ({"house_safety_grade": "E"}, "house_safety_grade"),
        ({"other_causes": ["illness", "illness"]}, "other_causes"),
        ({"other_causes": ["illness", "lack_land", "disaster"]}, "other_causes"),
        ({"risk_types": ["meteor"]}, "risk_types"),
        ({"cultivated_land_mu": "很多"}, "cultivated_land_mu"),
        ({"food_secure": "maybe"}, "food_secure"),
    ],
)
def test_field_values_are_validated_by_the_model(
    world: World, changes: dict[str, Any], field: str
) -> None:
    household = world.households[VILLAGE]
    with pytest.raises(DomainError) as excinfo:
        do_update_household(household.pk, 1, changes, actor=world.user("county"))
    assert excinfo.value.field == field
    household.refresh_from_db()
    assert household.version == 1


def test_valid_values_are_converted(world: World) -> None:
    household = world.households[VILLAGE]
    updated = do_update_household(
        household.pk,
        1,
        {"cultivated_land_mu": "12.5", "food_secure": True, "other_causes": ["lack_land"]},
        actor=world.user("county"),
    )
    assert updated.cultivated_land_mu == Decimal("12.5") and updated.food_secure is True
    assert updated.other_causes == ["lack_land"]


def test_rural_population_is_own_figure_or_sum_of_children(world: World) -> None:
    from jingzhun.regions.models import RegionPopulation
    from jingzhun.registry.selectors import rural_population

    assert rural_population("230231000000", 2019) == 10000  # the county's own figure
    assert rural_population("230231100000", 2019) is None  # nothing under the township
    RegionPopulation.objects.create(region_id="230231100201", year=2019, rural_population=700)
    RegionPopulation.objects.create(region_id="230231100202", year=2019, rural_population=450)
    RegionPopulation.objects.create(region_id="230231101201", year=2019, rural_population=300)
    assert rural_population("230231100000", 2019) == 1150
    assert rural_population("230200000000", 2019) == 10000  # the county's own figure wins
    assert rural_population("230231100000", 2018) is None
