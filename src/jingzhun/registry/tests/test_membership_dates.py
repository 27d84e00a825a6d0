"""Dated membership (issue 19 item 3, ADR 0055): a year end counts the
members present on 31 December, so a member who left in 2020 is in 2019's persons and not in
2020's, and a child born in 2020 is in 2020's and not in 2019's."""

from __future__ import annotations

import datetime

import pytest
from conftest import World, make_id
from django.utils import timezone

from jingzhun.core.errors import DomainError
from jingzhun.registry.actions import (
    do_add_member,
    do_change_household_status,
    do_close_household,
    do_remove_member,
)
from jingzhun.registry.models import Member
from jingzhun.registry.selectors import registry_stats

V100_1, V100_2 = "230231100201", "230231100202"
D = datetime.date


def _registered_since_2015(world: World, village: str) -> None:
    # the fixture registers households today; a backdated entry puts them on the registry in 2015
    do_change_household_status(
        world.households[village].pk, "not_exited", D(2015, 3, 1), "建档", actor=None
    )


def _persons(village: str, year: int) -> int:
    return registry_stats(village, year).registered_persons


def test_a_member_who_left_in_2020_counts_in_2019_and_not_in_2020(world: World) -> None:
    _registered_since_2015(world, V100_1)
    daughter = world.households[V100_1].members.get(relation="daughter")
    assert (_persons(V100_1, 2019), _persons(V100_1, 2020)) == (2, 2)

    do_remove_member(daughter.pk, "迁出", actor=world.user("village"), left_on=D(2020, 6, 1))

    assert Member.all_objects.get(pk=daughter.pk).left_on == D(2020, 6, 1)
    assert (_persons(V100_1, 2019), _persons(V100_1, 2020), _persons(V100_1, 2021)) == (2, 1, 1)


def test_a_child_born_in_2020_counts_in_2020_and_not_in_2019(world: World) -> None:
    _registered_since_2015(world, V100_2)
    born = D(2020, 3, 1)
    baby = {
        "id_number": make_id("230231", "20200301", 77),
        "name": "李小宝",
        "relation": "grandchild",
    }

    member = do_add_member(
        world.households[V100_2].pk, baby, "出生", actor=world.user("township"), joined_on=born
    )

    assert member.joined_on == born
    assert (_persons(V100_2, 2019), _persons(V100_2, 2020)) == (2, 3)


def test_leaving_on_31_december_is_gone_at_that_year_end(world: World) -> None:
    _registered_since_2015(world, V100_1)
    daughter = world.households[V100_1].members.get(relation="daughter")
    do_remove_member(daughter.pk, "死亡", actor=None, left_on=D(2019, 12, 31))
    assert (_persons(V100_1, 2018), _persons(V100_1, 2019)) == (2, 1)


def test_a_member_taken_off_without_a_date_is_never_counted_and_dates_are_checked(
    world: World,
) -> None:
    _registered_since_2015(world, V100_1)
    household = world.households[V100_1]
    daughter = household.members.get(relation="daughter")
    future = timezone.localdate() + datetime.timedelta(days=2)
    with pytest.raises(DomainError, match="晚于今天"):
        do_remove_member(daughter.pk, "迁出", actor=None, left_on=future)
    with pytest.raises(DomainError, match="晚于今天"):
        do_add_member(
            household.pk,
            {"id_number": make_id("230231", "20200301", 79), "name": "甲", "relation": "other"},
            "迁入",
            actor=None,
            joined_on=future,
        )
    late = do_add_member(
        household.pk,
        {"id_number": make_id("230231", "19900301", 81), "name": "乙", "relation": "other"},
        "迁入",
        actor=None,
        joined_on=D(2021, 5, 1),
    )
    with pytest.raises(DomainError, match="不能早于"):
        do_remove_member(late.pk, "迁出", actor=None, left_on=D(2021, 4, 1))


def test_closing_a_household_dates_its_members_leaving(world: World) -> None:
    _registered_since_2015(world, V100_1)
    household = world.households[V100_1]
    do_close_household(household.pk, D(2020, 8, 1), "全户迁出", actor=None)
    assert set(
        Member.all_objects.filter(household=household).values_list("left_on", flat=True)
    ) == {D(2020, 8, 1)}
    assert _persons(V100_1, 2019) == 2  # on the registry in 2019 with both members
    assert registry_stats(V100_1, 2020).registered_households == 0
