"""Cases through the real actions: the identification and exit flows to the end, and each refusal
(wrong role, self-approval, stale version, missing evidence, posting not ended, failing
assessment, risk-elimination preconditions) changing nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.registry.models import Household, StatusChange
from jingzhun.registry.selectors import registry_stats
from jingzhun.workflows.actions import (
    CaseDetails,
    PostingIn,
    do_assess_case_household,
    do_move_case,
    do_open_case,
    do_upload_evidence,
    eligibility_problem,
)
from jingzhun.workflows.models import Case, Evidence, Posting, Step
from jingzhun.workflows.selectors import inbox
from jingzhun.workflows.transitions import FLOWS

from .conftest import COUNTY, PDF, VILLAGE, move, secure_household, walk

pytestmark = pytest.mark.django_db


def _actors(world: Any) -> dict[str, Any]:
    return {r: world.user(r) for r in ("village", "township", "county")}


def _snapshot(case: Case) -> tuple[Any, ...]:
    case = Case.objects.get(pk=case.pk)
    return (
        case.state,
        case.version,
        Step.objects.filter(case=case).count(),
        Posting.objects.filter(case=case).count(),
        Evidence.objects.filter(case=case, step__isnull=True).count(),
        AuditEvent.objects.count(),
    )


def test_identification_end_to_end_registers_the_household(world: Any, applicant: Any) -> None:
    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    case = walk(case, FLOWS["identification"].required_path(), actors)
    assert case.state == "registered" and case.closed_on == timezone.localdate()
    household = Household.objects.get(pk=applicant.pk)
    assert household.identified_year == case.year
    assert household.poverty_status == "not_exited"
    history = StatusChange.objects.filter(household=household).order_by("id")
    assert [(h.status_from, h.status_to) for h in history] == [
        ("", "not_registered"),
        ("not_registered", "not_exited"),
    ]
    moves = list(case.steps.order_by("id").values_list("move", flat=True))
    assert moves == ["open", *FLOWS["identification"].required_path()]
    assert case.postings.count() == 2
    # every evidence file is linked to the step it was uploaded for
    assert not case.evidence.filter(step__isnull=True).exists()
    events = set(AuditEvent.objects.filter(object_type="case").values_list("event", flat=True))
    assert {"workflows.case.open", "workflows.case.approve", "workflows.case.announce"} <= events


def test_an_applicant_is_not_counted_until_announced_and_a_rejection_leaves_it_ordinary(
    world: Any, applicant: Any, second_county: Any
) -> None:
    # issue 19: a household applying to be identified is an ordinary household (未建档立卡), not a
    # remaining poor one, while its case runs and after a rejection.
    actors = _actors(world)
    year = timezone.localdate().year
    before = registry_stats(COUNTY, year)
    assert applicant.poverty_status == "not_registered"
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    path = FLOWS["identification"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    during = registry_stats(COUNTY, year)
    assert during.remaining_households == before.remaining_households
    assert during.registered_households == before.registered_households
    assert during.ordinary_households == before.ordinary_households >= 1
    case = move(case, "reject", second_county, reason="经核查收入超过标准")
    assert case.state == "rejected"
    household = Household.objects.get(pk=applicant.pk)
    assert household.poverty_status == "not_registered" and household.identified_year is None
    assert list(
        StatusChange.objects.filter(household=household).values_list("status_to", flat=True)
    ) == ["not_registered"]
    assert registry_stats(COUNTY, year) == during


def test_a_registered_household_cannot_be_identified_again(world: Any) -> None:
    household = world.households[VILLAGE]
    assert eligibility_problem("identification", household) == "该户已是建档立卡户，无需识别。"


def test_self_approval_is_refused_and_changes_nothing(
    world: Any, applicant: Any, second_county: Any
) -> None:
    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["county"])
    path = FLOWS["identification"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    before = _snapshot(case)
    with pytest.raises(Forbidden, match="提交人不能审核"):
        move(case, "approve", actors["county"])
    # the checklist ticks made by `move` count as changes; the refused move itself wrote nothing
    after = _snapshot(case)
    assert after[0] == before[0] == "compared"
    assert after[2:5] == before[2:5]
    case = move(case, "approve", second_county)
    assert case.state == "approved"


def test_stale_version_is_refused(world: Any, applicant: Any) -> None:
    village = world.user("village")
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=village)
    do_upload_evidence(case.pk, "visit_record", "v.pdf", PDF, actor=village)
    stale = case.version
    case = do_move_case(case.pk, "check", stale, actor=village)
    before = _snapshot(case)
    with pytest.raises(StaleVersion):
        do_move_case(case.pk, "appraise", stale, actor=village)
    assert _snapshot(case) == before


def test_missing_evidence_wrong_role_and_scope_are_refused(world: Any, applicant: Any) -> None:
    village = world.user("village")
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=village)
    before = _snapshot(case)
    with pytest.raises(DomainError, match="入户核查记录"):
        do_move_case(case.pk, "check", case.version, actor=village)
    with pytest.raises(Forbidden):
        do_move_case(case.pk, "check", case.version, actor=world.user("township"))
    with pytest.raises(OutOfScope):
        do_move_case(case.pk, "check", case.version, actor=world.user("other_township"))
    with pytest.raises(Forbidden):
        do_move_case(case.pk, "check", case.version, actor=world.user("auditor"))
    assert _snapshot(case) == before


def test_review_waits_for_the_posting_to_end(world: Any, applicant: Any) -> None:
    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    case = walk(case, ["check", "appraise"], actors)
    today = timezone.localdate()
    case = move(case, "post_first", actors["village"], posting=PostingIn(today, 5, "days"))
    posting = case.postings.get()
    assert posting.end == today + datetime.timedelta(days=4)
    before = _snapshot(case)
    with pytest.raises(DomainError, match="公示期尚未结束"):
        move(case, "review", actors["township"])
    assert _snapshot(case) == before


def test_posting_shorter_than_five_days_is_refused(world: Any, applicant: Any) -> None:
    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    case = walk(case, ["check", "appraise"], actors)
    before = _snapshot(case)
    with pytest.raises(DomainError, match="公示期应为"):
        move(case, "post_first", actors["village"], posting=PostingIn(timezone.localdate(), 4))
    assert _snapshot(case) == before


def test_objection_sends_the_case_back_and_complaints_must_be_rechecked(
    world: Any, applicant: Any
) -> None:
    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    case = walk(case, ["check", "appraise"], actors)
    today = timezone.localdate()
    case = move(case, "post_first", actors["village"], posting=PostingIn(today, 7))
    case = move(case, "object", actors["village"], reason="邻居反映该户有商品房")
    assert case.state == "applied"
    posting = case.postings.get()
    assert posting.objected and posting.objections.get().content == "邻居反映该户有商品房"
    # the whole path again, and approval needs the complaints re-check on the checklist
    case = walk(case, FLOWS["identification"].required_path(), actors)
    assert case.state == "registered"
    assert "recheck_complaints" in case.checklist


def test_exit_needs_a_passing_assessment(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    case = do_open_case(household.pk, "exit", CaseDetails(year=2019), actor=actors["village"])
    path = FLOWS["exit"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    before = _snapshot(case)
    with pytest.raises(DomainError, match="尚无该户 2019 年度的脱贫标准判定"):
        move(case, "approve", actors["county"])
    assessment = do_assess_case_household(case.pk, actor=actors["county"])
    assert assessment is not None
    # the fixture's household has no income record: the income criterion is unknown, never passed
    assert not assessment.passed
    with pytest.raises(DomainError, match="不能批准退出"):
        move(case, "approve", actors["county"])
    assert Case.objects.get(pk=case.pk).state == before[0]
    assert Household.objects.get(pk=household.pk).poverty_status == "not_exited"


def test_exit_end_to_end_with_a_passing_assessment(world: Any) -> None:
    from jingzhun.registry.actions import do_record_income

    actors = _actors(world)
    household = world.households[VILLAGE]
    household = secure_household(household)
    do_record_income(household.pk, 2019, {"wage_income": 20000}, actor=None)
    case = do_open_case(household.pk, "exit", CaseDetails(year=2019), actor=actors["village"])
    path = FLOWS["exit"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    assessment = do_assess_case_household(case.pk, actor=actors["county"])
    assert assessment is not None and assessment.passed, (assessment.failed, assessment.unknown)
    case = walk(case, ["approve", "announce"], actors)
    assert case.state == "exited" and case.assessment_policy_id == assessment.policy_id
    assert case.assessment == assessment
    household.refresh_from_db()
    assert household.poverty_status == "exited_with_policy"
    from jingzhun.analytics.models import RefreshJob

    # the approval queued the county's battle-map refresh
    assert RefreshJob.objects.filter(counties=household.county_code, status="queued").exists()
    change = StatusChange.objects.filter(household=household).latest("id")
    assert change.status_to == "exited_with_policy" and f"案件 {case.pk}" in change.reason


def test_corrected_data_is_judged_again_and_a_stale_assessment_is_refused(world: Any) -> None:
    """ADR 0032: an exit that failed for missing income passes once the income is recorded and
    the household is judged again; a passing judgement made before a later change is stale."""
    from jingzhun.registry.actions import do_record_income

    actors = _actors(world)
    household = world.households[VILLAGE]
    household = secure_household(household)
    case = do_open_case(household.pk, "exit", CaseDetails(year=2019), actor=actors["village"])
    path = FLOWS["exit"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    first = do_assess_case_household(case.pk, actor=actors["county"])
    assert first is not None and first.unknown == ["income"]
    with pytest.raises(DomainError, match=r"数据缺失无法判定：.*收入"):
        move(case, "approve", actors["county"])
    do_record_income(household.pk, 2019, {"wage_income": 20000}, actor=None)
    second = do_assess_case_household(case.pk, actor=actors["county"])
    assert (
        second is not None and second.passed and second.household_version > first.household_version
    )
    # a change after the passing judgement: the approval is refused until it is judged again
    do_record_income(household.pk, 2019, {"wage_income": 21000}, actor=None)
    before = _snapshot(case)
    with pytest.raises(DomainError, match="判定已过时"):
        move(case, "approve", actors["county"])
    assert _snapshot(case) == before
    third = do_assess_case_household(case.pk, actor=actors["county"])
    assert third is not None and third.passed
    case = walk(case, ["approve", "announce"], actors)
    assert case.state == "exited" and case.assessment == third
    assert case.assessment_household_version == Household.objects.get(pk=household.pk).version - 1
    from jingzhun.assessments.models import Assessment

    assert Assessment.objects.filter(household=household, year=2019).count() == 3


def test_monitoring_deadline_makes_the_case_overdue(world: Any) -> None:
    village = world.user("village")
    household = world.households[VILLAGE]
    clue = timezone.localdate() - datetime.timedelta(days=20)
    case = do_open_case(
        household.pk,
        "monitoring",
        CaseDetails(
            opened_on=clue,
            route="cadre_screening",
            monitoring_category="sudden_hardship",
            risk_types=("illness",),
        ),
        actor=village,
    )
    assert case.due_on == clue + datetime.timedelta(days=15)
    county_box = inbox(world.user("county"), today=timezone.localdate())
    assert case in county_box.overdue and case in county_box.waiting
    assert case in inbox(village, today=timezone.localdate()).todo


def test_monitoring_end_to_end_then_elimination_preconditions(world: Any) -> None:
    actors = _actors(world)
    household = world.households[VILLAGE]
    case = do_open_case(
        household.pk,
        "monitoring",
        CaseDetails(route="self_report", monitoring_category="edge", risk_types=("illness",)),
        actor=actors["village"],
    )
    case = walk(case, FLOWS["monitoring"].required_path(), actors)
    household.refresh_from_db()
    assert household.monitoring_category == "edge" and household.risk_status == "not_eliminated"
    # without labour capacity (the fixture's members have none recorded): refused at opening
    details = CaseDetails(
        elimination_method="by_assistance",
        measures=({"description": "公益岗位", "date": "2020-01-01"},),
    )
    with pytest.raises(DomainError, match="无劳动能力"):
        do_open_case(household.pk, "elimination", details, actor=actors["village"])
    assert not Case.objects.filter(kind="elimination").exists()


def complete_measure(household: Any, on: datetime.date, world: Any) -> Any:
    """A public-welfare job of the household's plan, proposed, approved and completed on `on`."""
    from jingzhun.assistance.measures import (
        do_complete_measure,
        do_decide_measure,
        do_propose_measure,
    )

    m = do_propose_measure(household.pk, "public_welfare_job", on, actor=world.user("village"))
    do_decide_measure(m.pk, True, actor=world.user("township"))
    return do_complete_measure(m.pk, on, actor=world.user("village"))


def test_elimination_needs_six_months_of_monitoring(world: Any) -> None:
    from jingzhun.registry.actions import do_update_household, do_update_member

    actors = _actors(world)
    household = world.households[VILLAGE]
    do_update_household(
        household.pk,
        household.version,
        {"monitoring_category": "edge", "risk_types": ["illness"], "risk_status": "not_eliminated"},
        actor=None,
        by_workflow=True,
    )
    head = household.members.get(relation="head")
    do_update_member(head.pk, head.version, {"labour_capacity": "ordinary"}, actor=None)
    recent = timezone.localdate() - datetime.timedelta(days=30)
    details = CaseDetails(
        elimination_method="by_assistance",
        monitored_since=recent,
        measures=({"description": "公益岗位", "date": recent.isoformat()},),
    )
    # the free text is a note: without a completed measure of the household's plan, refused
    with pytest.raises(DomainError, match="尚无已完成的帮扶措施"):
        do_open_case(household.pk, "elimination", details, actor=actors["village"])
    complete_measure(household, recent, world)
    case = do_open_case(household.pk, "elimination", details, actor=actors["village"])
    path = FLOWS["elimination"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    before = _snapshot(case)
    with pytest.raises(DomainError, match="不满 6 个月"):
        move(case, "approve", actors["county"])
    assert _snapshot(case)[0] == before[0] == "reviewed"
    household.refresh_from_db()
    assert household.risk_status == "not_eliminated"


def test_upload_refuses_other_file_types(world: Any, applicant: Any) -> None:
    village = world.user("village")
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=village)
    events = AuditEvent.objects.count()
    for data in (b"MZ\x90\x00 not a pdf", b"<html><script>", b""):
        with pytest.raises(DomainError):
            do_upload_evidence(case.pk, "photo", "x.pdf", data, actor=village)
    assert not Evidence.objects.filter(case=case).exists()
    assert AuditEvent.objects.count() == events


def test_one_open_case_per_household_and_kind(world: Any, applicant: Any) -> None:
    village = world.user("village")
    do_open_case(applicant.pk, "identification", CaseDetails(), actor=village)
    with pytest.raises(DomainError, match="已有办理中"):
        do_open_case(applicant.pk, "identification", CaseDetails(), actor=village)
    assert Case.objects.filter(household=applicant).count() == 1


def test_a_posting_in_working_days_skips_weekends_and_holidays(world: Any, applicant: Any) -> None:
    from jingzhun.workflows.workdays import official_calendar

    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    case = walk(case, ["check", "appraise"], actors)
    start = timezone.localdate() - datetime.timedelta(days=3)
    case = move(case, "post_first", actors["village"], posting=PostingIn(start, 5, "working_days"))
    posting = case.postings.get()
    calendar = official_calendar()
    days = [start + datetime.timedelta(days=n) for n in range((posting.end - start).days + 1)]
    # exactly five working days, the last of them on the end date
    assert sum(calendar.is_working_day(d) for d in days) == 5
    assert calendar.is_working_day(posting.end) and posting.unit == "working_days"
    assert posting.end >= start + datetime.timedelta(days=4)
