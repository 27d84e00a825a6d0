"""Pairing actions (issue 21 item 2, 8): pair, quota, end with a successor or a reason,
transfer; every refusal writes nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.access.models import HelperPairing
from jingzhun.assistance.actions import (
    do_end_pairing,
    do_pair_helper,
    do_save_helper_profile,
    do_transfer_helper,
)
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion

from .conftest import V1, V3, extra, snapshot

D = datetime.date(2024, 3, 1)


def _pair_many(world: Any, helper: str, codes: list[str]) -> list[HelperPairing]:
    return [
        do_pair_helper(extra(code).pk, world.user(helper).pk, D, actor=world.user("village"))
        for code in codes
    ]


def test_pair_writes_a_pairing_and_its_audit_event(paired: Any) -> None:
    household = extra("P01")
    pairing = do_pair_helper(
        household.pk, paired.user("helper").pk, D, actor=paired.user("village")
    )
    assert (pairing.helper_id, pairing.household_id, pairing.start_date) == (
        paired.user("helper").pk,
        household.pk,
        D,
    )
    event = AuditEvent.objects.filter(event="assistance.pairing.create").latest("id")
    assert event.object_id == str(pairing.pk) and event.actor_name == "village"
    assert event.diff["household"] == [None, "P01"]


def test_a_pairing_over_quota_is_refused_naming_the_rule(paired: Any) -> None:
    # the world's helper already holds one household; an other cadre's quota in Baiquan is 6
    _pair_many(paired, "helper", ["P01", "P02", "P03", "P04", "P05"])
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        do_pair_helper(extra("P06").pk, paired.user("helper").pk, D, actor=paired.user("village"))
    message = refused.value.message
    assert "已结对 6 户" in message and "上限 6 户" in message
    assert "其他干部每人包扶 6 户" in message  # the rule's own words
    assert "helper_quotas" in message and "tables/helper_quotas.yaml" in message
    assert "版本 baiquan-reports" in message
    assert snapshot() == before


def test_a_county_leader_has_the_larger_quota(paired: Any) -> None:
    codes = [f"P{i:02d}" for i in range(1, 9)]
    assert len(_pair_many(paired, "helper2", codes)) == 8
    with pytest.raises(DomainError, match="县级领导每人包扶 8 户"):
        do_pair_helper(
            paired.households[V1].pk, paired.user("helper2").pk, D, actor=paired.user("county")
        )


def test_a_helper_without_profile_is_refused(paired: Any) -> None:
    before = snapshot()
    with pytest.raises(DomainError, match="尚未登记工作单位和职级类别"):
        do_pair_helper(extra("P01").pk, paired.user("helper3").pk, D, actor=paired.user("village"))
    assert snapshot() == before


def test_a_pairing_to_an_out_of_scope_household_is_refused_and_writes_nothing(
    paired: Any,
) -> None:
    before = snapshot()
    other = paired.households[V3]  # township 101: not the village user's
    with pytest.raises(OutOfScope) as refused:
        do_pair_helper(other.pk, paired.user("helper").pk, D, actor=paired.user("village"))
    assert refused.value.message == "未找到该户，或您无权访问。"
    assert snapshot() == before


@pytest.mark.parametrize("role", ["helper", "auditor"])
def test_read_only_roles_may_not_pair(paired: Any, role: str) -> None:
    before = snapshot()
    with pytest.raises(Forbidden):
        do_pair_helper(extra("P01").pk, paired.user("helper").pk, D, actor=paired.user(role))
    assert snapshot() == before


def test_twice_the_same_pairing_and_a_future_start_are_refused(paired: Any) -> None:
    _pair_many(paired, "helper", ["P01"])
    before = snapshot()
    with pytest.raises(DomainError, match="不能重复结对"):
        _pair_many(paired, "helper", ["P01"])
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(DomainError, match="不能晚于今天"):
        do_pair_helper(
            extra("P02").pk, paired.user("helper").pk, tomorrow, actor=paired.user("county")
        )
    assert snapshot() == before


def test_ending_needs_a_successor_or_a_reason(paired: Any) -> None:
    (pairing,) = _pair_many(paired, "helper", ["P01"])
    before = snapshot()
    with pytest.raises(DomainError, match="须指定接续的帮扶责任人，或填写结束原因") as refused:
        do_end_pairing(pairing.pk, pairing.version, D, reason="  ", actor=paired.user("village"))
    assert refused.value.field == "reason"
    assert snapshot() == before
    ended = do_end_pairing(
        pairing.pk, pairing.version, D, reason="户已自然销户", actor=paired.user("village")
    )
    assert ended.pairing.end_date == D and ended.pairing.end_reason == "户已自然销户"
    assert ended.successor_pairing is None and ended.pairing.version == 2
    with pytest.raises(StaleVersion):
        do_end_pairing(pairing.pk, 1, D, reason="again", actor=paired.user("village"))


def test_ending_with_a_successor_hands_the_household_over(paired: Any) -> None:
    (pairing,) = _pair_many(paired, "helper", ["P01"])
    day = datetime.date(2025, 1, 2)
    ended = do_end_pairing(
        pairing.pk,
        pairing.version,
        day,
        successor_id=paired.user("helper2").pk,
        actor=paired.user("township"),
    )
    assert ended.pairing.successor_id == paired.user("helper2").pk
    follow = ended.successor_pairing
    assert follow is not None and follow.start_date == day and follow.end_date is None
    assert follow.helper_id == paired.user("helper2").pk


def test_a_successor_over_quota_is_refused_and_the_pairing_stays_open(paired: Any) -> None:
    _pair_many(paired, "helper2", [f"P{i:02d}" for i in range(1, 9)])  # helper2 full
    pairing = HelperPairing.objects.get(helper=paired.user("helper"), end_date__isnull=True)
    before = snapshot()
    with pytest.raises(DomainError, match="超过上限 8 户"):
        do_end_pairing(
            pairing.pk,
            pairing.version,
            D,
            successor_id=paired.user("helper2").pk,
            actor=paired.user("county"),
        )
    assert snapshot() == before


def test_transfer_moves_all_current_pairings_in_scope(paired: Any) -> None:
    _pair_many(paired, "helper", ["P01", "P02"])
    moved = do_transfer_helper(
        paired.user("helper").pk,
        paired.user("helper2").pk,
        D,
        "调离原岗位",
        actor=paired.user("village"),
    )
    assert len(moved.ended) == len(moved.created) == 3
    assert not HelperPairing.objects.filter(
        helper=paired.user("helper"), end_date__isnull=True
    ).exists()
    assert (
        HelperPairing.objects.filter(helper=paired.user("helper2"), end_date__isnull=True).count()
        == 3
    )


def test_transfer_over_the_successors_quota_writes_nothing(paired: Any) -> None:
    _pair_many(paired, "helper2", [f"P{i:02d}" for i in range(3, 9)])  # 6 of 8
    _pair_many(paired, "helper", ["P01", "P02"])  # with the world's pairing: 3
    before = snapshot()
    with pytest.raises(DomainError, match="再结对 3 户将超过上限 8 户"):
        do_transfer_helper(
            paired.user("helper").pk,
            paired.user("helper2").pk,
            D,
            "调离",
            actor=paired.user("county"),
        )
    assert snapshot() == before


def test_profile_is_versioned_and_checked(paired: Any) -> None:
    helper = paired.user("helper")
    profile = helper.helper_profile
    with pytest.raises(DomainError, match="职级类别"):
        do_save_helper_profile(helper.pk, "单位", "minister", actor=paired.user("county"))
    with pytest.raises(DomainError, match="工作单位不能为空"):
        do_save_helper_profile(helper.pk, " ", "other_cadre", actor=paired.user("county"))
    saved = do_save_helper_profile(
        helper.pk,
        "县教育局",
        "county_leader",
        "局长",
        expected_version=profile.version,
        actor=paired.user("county"),
    )
    assert (saved.unit, saved.kind, saved.version) == ("县教育局", "county_leader", 2)
    with pytest.raises(StaleVersion):
        do_save_helper_profile(
            helper.pk, "县财政局", "other_cadre", expected_version=1, actor=paired.user("county")
        )
    with pytest.raises(DomainError, match="帮扶责任人"):
        do_save_helper_profile(
            paired.user("village").pk, "x", "other_cadre", actor=paired.user("county")
        )
