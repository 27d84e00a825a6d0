"""The kinds a dynamic adjustment round bundles besides identification and exit (domain.md §4):
returns (返贫), removals of wrongly included households (清退/错评) and natural changes (births,
deaths, marriages, moves, 自然销户), through the real actions, with their refusals."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import COUNTY, make_id
from django.utils import timezone

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden
from jingzhun.registry.actions import do_change_household_status, do_remove_member
from jingzhun.registry.models import Household, Member, StatusChange, id_index
from jingzhun.workflows.actions import (
    CaseDetails,
    PostingIn,
    do_move_case,
    do_open_case,
    do_open_round,
)
from jingzhun.workflows.models import Case
from jingzhun.workflows.selectors import inbox, round_counts
from jingzhun.workflows.transitions import FLOWS

from .conftest import VILLAGE, move, walk

pytestmark = pytest.mark.django_db


def _actors(world: Any) -> dict[str, Any]:
    return {r: world.user(r) for r in ("village", "township", "county")}


def _exited(world: Any) -> Household:
    household = world.households[VILLAGE]
    return do_change_household_status(
        household.pk, "exited_with_policy", datetime.date(2019, 12, 1), "2019年脱贫", actor=None
    )


def _state(case: Case) -> tuple[str, int, int, int]:
    case = Case.objects.get(pk=case.pk)
    return case.state, case.version, case.steps.count(), AuditEvent.objects.count()


# --- return (返贫) -------------------------------------------------------------------------------


def test_return_end_to_end_marks_the_household_returned(world: Any) -> None:
    actors = _actors(world)
    household = _exited(world)
    case = do_open_case(
        household.pk, "return", CaseDetails(summary="因病返贫"), actor=actors["village"]
    )
    path = FLOWS["return"].required_path()
    # the township reviews the village's proposal before the posting goes up
    assert path.index("review") < path.index("post") < path.index("approve")
    case = walk(case, path, actors)
    assert case.state == "returned" and case.closed_on == timezone.localdate()
    household.refresh_from_db()
    assert household.poverty_status == "returned"
    change = StatusChange.objects.filter(household=household).latest("id")
    assert (change.status_from, change.status_to) == ("exited_with_policy", "returned")
    assert f"案件 {case.pk}" in change.reason and change.actor == actors["county"]
    # a returned household may go through exit again
    assert do_open_case(household.pk, "exit", CaseDetails(), actor=actors["village"]).pk


def test_return_only_for_exited_households_and_not_approved_by_its_submitter(
    world: Any, second_county: Any
) -> None:
    actors = _actors(world)
    with pytest.raises(DomainError, match="只有已脱贫户才能认定返贫"):
        do_open_case(world.households[VILLAGE].pk, "return", CaseDetails(), actor=actors["village"])
    household = _exited(world)
    case = do_open_case(household.pk, "return", CaseDetails(), actor=actors["county"])
    path = FLOWS["return"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    before = _state(case)
    with pytest.raises(Forbidden, match="提交人不能"):
        do_move_case(case.pk, "approve", case.version, actor=actors["county"])
    assert _state(case) == before
    case = move(case, "approve", second_county)
    assert case.state == "approved"


def test_return_approval_waits_for_the_posting_and_its_checklist(world: Any) -> None:
    actors = _actors(world)
    household = _exited(world)
    case = do_open_case(household.pk, "return", CaseDetails(), actor=actors["village"])
    path = FLOWS["return"].required_path()
    case = walk(case, path[: path.index("post")], actors)
    case = Case.objects.get(pk=case.pk)
    case = do_move_case(
        case.pk,
        "post",
        case.version,
        actor=actors["township"],
        posting=PostingIn(timezone.localdate(), 5, "days"),
    )
    with pytest.raises(DomainError, match="核查清单尚未完成"):
        do_move_case(case.pk, "approve", case.version, actor=actors["county"])
    with pytest.raises(DomainError, match="公示期尚未结束"):
        move(case, "approve", actors["county"])
    assert Case.objects.get(pk=case.pk).state == "posting"


# --- removal (清退/错评) --------------------------------------------------------------------------


def test_removal_needs_comparison_evidence_then_marks_the_household_removed(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    case = do_open_case(
        household.pk,
        "removal",
        CaseDetails(summary="比对发现家庭成员有商品房"),
        actor=actors["village"],
    )
    before = _state(case)
    with pytest.raises(DomainError, match="入户核查记录、数据比对结果"):
        do_move_case(case.pk, "check", case.version, actor=actors["village"])
    assert _state(case) == before
    case = walk(case, FLOWS["removal"].required_path(), actors)
    assert case.state == "removed" and case.postings.count() == 1
    household.refresh_from_db()
    assert household.poverty_status == "removed"
    assert StatusChange.objects.filter(household=household, status_to="removed").exists()
    # the approval needed the three corroborations
    approve = FLOWS["removal"].move("approve")
    assert approve is not None and {"corroborate_neighbours", "corroborate_archive"} <= set(
        approve.checklist
    )
    # off the registry: no further change of any kind
    for kind in ("removal", "natural_change", "exit"):
        with pytest.raises(DomainError):
            do_open_case(household.pk, kind, CaseDetails(), actor=actors["village"])


def test_an_objection_to_a_removal_sends_it_back(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    case = do_open_case(household.pk, "removal", CaseDetails(), actor=actors["village"])
    path = FLOWS["removal"].required_path()
    case = walk(case, path[: path.index("post")], actors)
    case = move(case, "post", actors["village"], posting=PostingIn(timezone.localdate(), 7, "days"))
    case = do_move_case(
        case.pk, "object", case.version, actor=actors["township"], reason="村民反映该户确属困难"
    )
    assert case.state == "proposed"
    assert Household.objects.get(pk=household.pk).poverty_status == "not_exited"


# --- natural change (自然变更) --------------------------------------------------------------------


def _natural(world: Any, change: dict[str, Any], actor: str = "village") -> Case:
    household = world.households[VILLAGE]
    return do_open_case(
        household.pk, "natural_change", CaseDetails(change=change), actor=world.user(actor)
    )


def test_a_birth_adds_the_member_when_announced(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    born = timezone.localdate() - datetime.timedelta(days=30)
    baby = make_id("230231", born.strftime("%Y%m%d"), 77)
    case = _natural(
        world,
        {
            "type": "birth",
            "date": born,
            "member": {"name": "张小宝", "id_number": baby, "relation": "grandchild"},
        },
    )
    assert case.change["member"]["id_number"] == baby
    opened = AuditEvent.objects.get(event="workflows.case.open", object_id=str(case.pk))
    assert baby not in str(opened.diff)  # masked in the audit diff
    assert not Member.objects.filter(
        id_number_index=id_index(baby)
    ).exists()  # nothing changes before approval
    version = Household.objects.get(pk=household.pk).version
    case = walk(case, FLOWS["natural_change"].required_path(), actors)
    assert case.state == "changed"
    member = Member.objects.get(id_number_index=id_index(baby))
    assert member.household_id == household.pk and member.birth_date == born
    assert member.sex == "male" and member.relation == "grandchild"
    assert member.joined_on == born  # a member from the day of the birth (year-end counts)
    assert Household.objects.get(pk=household.pk).version > version
    assert AuditEvent.objects.filter(event="registry.member.add", object_id=str(member.pk)).exists()
    assert case.steps.latest("id").outcome.startswith("已增加成员")


def test_the_head_dies_and_the_named_member_becomes_head(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    head = household.members.get(relation="head")
    heir = household.members.exclude(pk=head.pk).get()
    day = timezone.localdate() - datetime.timedelta(days=3)
    with pytest.raises(DomainError, match="新户主"):
        _natural(world, {"type": "death", "date": day, "member_id": head.pk})
    case = _natural(
        world, {"type": "death", "date": day, "member_id": head.pk, "new_head_id": heir.pk}
    )
    walk(case, FLOWS["natural_change"].required_path(), actors)
    household.refresh_from_db()
    assert household.head_name == heir.name
    assert Member.objects.get(pk=heir.pk).relation == "head"
    gone = Member.all_objects.get(pk=head.pk)
    assert gone.deleted_at is not None and "死亡" in gone.deleted_reason
    assert gone.left_on == day  # counted at year ends before the day of the death


def test_a_change_that_no_longer_applies_is_refused_at_announcement(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    daughter = household.members.exclude(relation="head").get()
    case = _natural(
        world, {"type": "move_out", "date": timezone.localdate(), "member_id": daughter.pk}
    )
    path = FLOWS["natural_change"].required_path()
    case = walk(case, path[:-1], actors)
    # meanwhile the member was taken off by another case's action
    do_remove_member(daughter.pk, "婚出（另案）", actor=actors["village"])
    before = _state(case)
    with pytest.raises(DomainError, match="已不在本户"):
        do_move_case(case.pk, "announce", case.version, actor=actors["county"])
    assert _state(case) == before


def test_closing_a_household_takes_every_member_off_and_sets_closed(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    # the last member cannot simply be taken off: the household is closed instead
    only = world.households["230231100202"]
    last = only.members.exclude(relation="head").get()
    do_remove_member(last.pk, "迁出", actor=world.user("township"))
    with pytest.raises(DomainError, match="自然销户"):
        do_open_case(
            only.pk,
            "natural_change",
            CaseDetails(
                change={
                    "type": "death",
                    "date": timezone.localdate(),
                    "member_id": only.members.get().pk,
                }
            ),
            actor=world.user("township"),
        )
    case = _natural(world, {"type": "close", "date": timezone.localdate()})
    walk(case, FLOWS["natural_change"].required_path(), actors)
    household.refresh_from_db()
    assert household.poverty_status == "closed"
    assert not household.members.exists()
    assert Member.all_objects.filter(household=household).count() == 2
    assert StatusChange.objects.filter(household=household, status_to="closed").exists()
    for kind in FLOWS:
        with pytest.raises(DomainError, match="已自然销户"):
            do_open_case(household.pk, kind, CaseDetails(), actor=actors["village"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "wedding"}, "变更类型"),
        ({"type": "death", "date": "2999-01-01", "member_id": 1}, "不能晚于今天"),
        (
            {
                "type": "birth",
                "date": "2020-01-01",
                "member": {"name": "某", "id_number": "123", "relation": "son"},
            },
            "证件号码无效",
        ),
        ({"type": "move_out", "date": "2020-01-01", "member_id": 999999}, "本户在册"),
    ],
)
def test_an_invalid_change_is_refused_when_the_case_is_opened(
    world: Any, change: dict[str, Any], field: str
) -> None:
    before = (Case.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError, match=field):
        _natural(world, change)
    assert (Case.objects.count(), AuditEvent.objects.count()) == before


def test_a_member_of_another_household_cannot_be_named(world: Any) -> None:
    other = world.households["230231100202"].members.get(relation="head")
    with pytest.raises(DomainError, match="本户在册"):
        _natural(world, {"type": "death", "date": "2024-01-01", "member_id": other.pk})


# --- rounds and the inbox -------------------------------------------------------------------------


def test_a_round_bundles_every_kind_and_counts_them(world: Any) -> None:
    actors = _actors(world)
    today = timezone.localdate()
    round_ = do_open_round(
        COUNTY, "2026年动态调整", today, today + datetime.timedelta(days=30), actor=actors["county"]
    )
    exited = _exited(world)
    details = CaseDetails(round_id=round_.pk)
    do_open_case(exited.pk, "return", details, actor=actors["village"])
    other = world.households["230231100202"]
    do_open_case(other.pk, "removal", details, actor=actors["township"])
    do_open_case(
        other.pk,
        "natural_change",
        CaseDetails(round_id=round_.pk, change={"type": "close", "date": today}),
        actor=actors["township"],
    )
    counts = round_counts(actors["county"], round_, today=today)
    by_kind = {kind: {s: n for s, _l, n in states} for kind, _l, states, _n in counts.rows}
    assert {kind: n for kind, _l, _s, n in counts.rows}["removal"] == 1
    assert set(by_kind) == set(FLOWS)
    assert by_kind["return"]["proposed"] == 1 and by_kind["removal"]["proposed"] == 1
    assert by_kind["natural_change"]["proposed"] == 1 and counts.total == 3
    # the village's inbox shows its next step on each of them (in its village)
    box = inbox(actors["village"], today=today)
    assert {c.kind for c in box.todo} == {"return"}
    assert {c.kind for c in inbox(actors["township"], today=today).todo} == set()
    township_all = {c.kind for c in inbox(actors["township"], today=today).waiting}
    assert {"return", "removal", "natural_change"} <= township_all


def test_demo_cases_include_the_adjustment_kinds(world: Any) -> None:
    from jingzhun.registry.actions import do_create_household
    from jingzhun.workflows.demo import seed_demo_cases

    _exited(world)
    # the demo monitors two exited households first; the return and the removal take two more
    for n in range(3):
        extra = do_create_household(
            f"D10020{n}",
            VILLAGE,
            {"attribute": "general"},
            [
                {
                    "id_number": make_id("230231", "19750505", 93 + n),
                    "name": "周九",
                    "relation": "head",
                }
            ],
            actor=None,
        )
        do_change_household_status(
            extra.pk, "exited_with_policy", datetime.date(2019, 12, 1), "2019年脱贫", actor=None
        )
    assert seed_demo_cases(COUNTY) >= 3
    states = dict(
        Case.objects.filter(kind__in=["return", "removal", "natural_change"]).values_list(
            "kind", "state"
        )
    )
    assert states == {"return": "reviewed", "removal": "checked", "natural_change": "verified"}
    birth = Case.objects.get(kind="natural_change").change
    assert birth["type"] == "birth" and birth["member"]["relation"] == "grandchild"
