"""Household facts (domain.md 2.5) built from the registry."""

from __future__ import annotations

import json

from conftest import VILLAGES, World

from jingzhun.registry.actions import do_record_income
from jingzhun.registry.facts import facts_for, household_facts
from jingzhun.registry.models import Household
from jingzhun.registry.selectors import households_for

VILLAGE = VILLAGES["230231100000"][0]


def test_facts_carry_household_members_and_that_years_income(world: World) -> None:
    household = world.households[VILLAGE]
    do_record_income(
        household.pk, 2019, {"wage_income": "3000.50", "transfer_income": 800}, actor=None
    )
    do_record_income(household.pk, 2018, {"wage_income": "100"}, actor=None)
    facts = household_facts(Household.objects.get(pk=household.pk), 2019)
    json.dumps(facts)  # JSON-ready
    assert facts["household_code"] == household.household_code
    assert facts["village_code"] == VILLAGE and facts["year"] == 2019
    assert facts["income"]["wage_income"] == 3000.5 and facts["income"]["transfer_income"] == 800
    assert [m["relation"] for m in facts["members"]] == ["head", "daughter"]
    assert facts["members"][0]["birth_date"] == "1970-01-01"
    assert facts["food_secure"] is None  # unknown stays unknown, never false


def test_sensitive_values_are_absent_or_masked_unless_asked(world: World) -> None:
    household = Household.objects.get(pk=world.households[VILLAGE].pk)
    head = household.members.get(relation="head")
    facts = household_facts(household, 2019)
    masked = json.dumps(facts, ensure_ascii=False)
    # no ID fragment at all: the masked form's ends plus the birth date would rebuild the number
    assert head.id_number not in masked and head.id_number[-4:] not in masked
    assert {m["id_number"] for m in facts["members"]} == {None}
    assert household.phone not in masked and household.bank_account not in masked
    unmasked = household_facts(household, 2019, unmasked=True)
    assert unmasked["members"][0]["id_number"] == head.id_number


def test_facts_for_a_scoped_queryset_follow_the_scope(world: World) -> None:
    facts = [f for _pk, f in facts_for(households_for(world.user("township")), 2019)]
    assert sorted(f["village_code"] for f in facts) == sorted(VILLAGES["230231100000"])
    assert all(f["income"] is None for f in facts)


def test_the_rule_languages_member_fields_are_the_models() -> None:
    # policy.interpreter cannot import Django, so it lists member fields itself; this keeps the
    # list equal to what the facts builder derives from the Member model.
    from jingzhun.policy.interpreter import DEFAULT_MEMBER_FIELDS
    from jingzhun.registry.facts import MEMBER_FIELDS

    assert set(DEFAULT_MEMBER_FIELDS) == set(MEMBER_FIELDS)
