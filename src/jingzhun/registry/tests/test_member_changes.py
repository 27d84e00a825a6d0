"""Adding and taking off members and closing a household (the registry actions behind natural
changes): scoped, refused for read-only roles, audited, and a refusal changes nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import VILLAGES, make_id

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.registry.actions import do_add_member, do_close_household, do_remove_member
from jingzhun.registry.models import Household, Member

pytestmark = pytest.mark.django_db
VILLAGE = VILLAGES["230231100000"][0]


def _counts() -> tuple[int, int, int]:
    return Member.objects.count(), Member.all_objects.count(), AuditEvent.objects.count()


def test_add_member_is_audited_with_the_id_number_masked(world: Any) -> None:
    household = world.households[VILLAGE]
    id_number = make_id("230231", "19900305", 41)
    member = do_add_member(
        household.pk,
        {"name": "钱八", "id_number": id_number, "relation": "son_in_law"},
        "婚入",
        actor=world.user("village"),
    )
    assert member.sex == "male" and member.birth_date == datetime.date(1990, 3, 5)
    event = AuditEvent.objects.get(event="registry.member.add")
    assert event.reason == "婚入" and id_number not in str(event.diff)


def test_member_changes_are_refused_out_of_scope_for_readers_and_without_reason(
    world: Any,
) -> None:
    household = world.households[VILLAGE]
    data = {"name": "钱八", "id_number": make_id("230231", "19900305", 41), "relation": "other"}
    daughter = household.members.exclude(relation="head").get()
    before = _counts()
    with pytest.raises(OutOfScope):
        do_add_member(household.pk, data, "迁入", actor=world.user("other_township"))
    with pytest.raises(Forbidden):
        do_add_member(household.pk, data, "迁入", actor=world.user("auditor"))
    with pytest.raises(Forbidden):
        do_remove_member(daughter.pk, "迁出", actor=world.user("helper"))
    with pytest.raises(DomainError, match="原因"):
        do_remove_member(daughter.pk, " ", actor=world.user("village"))
    with pytest.raises(DomainError, match="户主"):
        do_add_member(household.pk, {**data, "relation": "head"}, "迁入", actor=None)
    with pytest.raises(DomainError, match="另一名在册成员"):
        do_add_member(household.pk, {**data, "id_number": daughter.id_number}, "迁入", actor=None)
    with pytest.raises(OutOfScope):
        do_close_household(
            household.pk, datetime.date(2024, 1, 1), "全户死亡", actor=world.user("other_township")
        )
    assert _counts() == before


def test_removing_the_head_needs_a_new_head_and_the_last_member_needs_closing(world: Any) -> None:
    household = world.households[VILLAGE]
    head = household.members.get(relation="head")
    daughter = household.members.exclude(pk=head.pk).get()
    before = _counts()
    with pytest.raises(DomainError, match="新户主"):
        do_remove_member(head.pk, "死亡", actor=None)
    with pytest.raises(DomainError, match="只有户主减少"):
        do_remove_member(daughter.pk, "迁出", actor=None, new_head_id=head.pk)
    assert _counts() == before
    do_remove_member(head.pk, "死亡", actor=None, new_head_id=daughter.pk)
    assert Household.objects.get(pk=household.pk).head_name == daughter.name
    with pytest.raises(DomainError, match="自然销户"):
        do_remove_member(daughter.pk, "死亡", actor=None)
    closed = do_close_household(household.pk, datetime.date(2024, 1, 1), "全户死亡", actor=None)
    assert closed.poverty_status == "closed" and not closed.members.exists()
    with pytest.raises(DomainError, match="不能再变更成员"):
        do_add_member(
            household.pk,
            {"name": "钱八", "id_number": make_id("230231", "19900305", 41), "relation": "other"},
            "迁入",
            actor=None,
        )
