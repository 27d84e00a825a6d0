"""Demo cases for `jingzhun demo`: a round and a few cases of the demo village in various states,
made through the real actions by the demo accounts (village, township, county)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import DomainError
from jingzhun.registry import choices as c
from jingzhun.registry.idcard import check_char
from jingzhun.registry.models import Household, Member, id_index

from .actions import (
    CaseDetails,
    PostingIn,
    do_move_case,
    do_open_case,
    do_open_round,
    do_tick_checklist_item,
    do_upload_evidence,
)
from .models import Case
from .transitions import FLOWS

# A one-page PDF saying what it is: demo evidence, never a real document.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _advance(case: Case, names: list[str], actors: dict[str, Any], posted: datetime.date) -> Case:
    flow = FLOWS[case.kind]
    for name in names:
        move = flow.move(name)
        assert move is not None
        actor = actors[next(r for r in ("village", "township", "county") if r in move.roles)]
        for kind in move.evidence:
            do_upload_evidence(case.pk, kind, f"演示-{kind}.pdf", DEMO_PDF, actor=actor)
        case = Case.objects.get(pk=case.pk)
        for item in move.checklist:
            case = do_tick_checklist_item(case.pk, item, "演示：已核实", case.version, actor=actor)
        posting = PostingIn(posted, 5, "days") if move.starts_posting else None
        case = do_move_case(case.pk, name, case.version, actor=actor, posting=posting)
    return case


def seed_demo_cases(county_code: str) -> int:
    """Open a round and cases in several states in the demo village; returns how many."""
    actors = {
        r: User.objects.filter(username=r, role=r).first()
        for r in ("village", "township", "county")
    }
    if any(a is None for a in actors.values()):
        return 0
    village_codes = [code for code in granted_codes(actors["village"]) if len(code) == 12]
    if not village_codes:
        return 0
    today = timezone.localdate()
    posted = today - datetime.timedelta(days=8)
    round_ = do_open_round(
        county_code,
        f"{today.year}年动态调整（演示）",
        today - datetime.timedelta(days=20),
        today + datetime.timedelta(days=40),
        actor=actors["county"],
    )
    households = Household.objects.filter(village_id=village_codes[0]).order_by("id")
    # The demo county has exited every registered household by its target year, so the demo
    # identifies households removed earlier (re-applying), and monitors exited ones.
    applicants = list(households.exclude(poverty_status__in=c.REGISTERED_STATUSES)[:3])
    outside = list(
        households.filter(poverty_status__in=c.EXITED_STATUSES, monitoring_category="")[:2]
    )
    monitored = list(
        households.exclude(monitoring_category="").exclude(risk_status="eliminated")[:1]
    )
    made = 0
    path = FLOWS["identification"].required_path()
    plans = [
        (applicants[0:1], path[: path.index("review")]),  # township to review
        (applicants[1:2], path[: path.index("approve")]),  # county to approve
        (applicants[2:3], []),  # village to check
    ]
    for chosen, steps in plans:
        for household in chosen:
            try:
                case = do_open_case(
                    household.pk,
                    "identification",
                    CaseDetails(round_id=round_.pk, summary="农户申请（演示）"),
                    actor=actors["village"],
                )
                _advance(case, steps, actors, posted)
                made += 1
            except DomainError:
                continue
    for household in monitored:
        details = CaseDetails(
            round_id=round_.pk,
            elimination_method="by_assistance",
            monitored_since=today - datetime.timedelta(days=240),
            measures=(
                {
                    "description": "安排公益性岗位",
                    "date": (today - datetime.timedelta(days=150)).isoformat(),
                },
            ),
            summary="务工收入恢复（演示）",
        )
        try:
            case = do_open_case(household.pk, "elimination", details, actor=actors["village"])
            _advance(case, ["visit"], actors, posted)
            made += 1
        except DomainError:
            continue
    for n, household in enumerate(outside):
        details = CaseDetails(
            round_id=round_.pk,
            opened_on=today - datetime.timedelta(days=20 if n == 0 else 3),
            route="department_warning" if n == 0 else "self_report",
            monitoring_category="sudden_hardship" if n == 0 else "unstable_exited",
            risk_types=("illness",) if n == 0 else ("income_drop",),
            summary="医保部门大额医疗费用预警" if n == 0 else "农户申报务工收入下降",
        )
        try:
            case = do_open_case(household.pk, "monitoring", details, actor=actors["village"])
            if n == 1:
                _advance(case, ["visit"], actors, posted)
            made += 1
        except DomainError:
            continue
    made += _seed_adjustments(households, round_.pk, actors, posted, today)
    return made


def _seed_adjustments(
    households: Any,
    round_id: int,
    actors: dict[str, Any],
    posted: datetime.date,
    today: datetime.date,
) -> int:
    """A return, a removal and a natural change (a birth) in the round, as a county's dynamic
    adjustment has them (domain.md §4)."""
    taken = set(Case.objects.filter(closed_on__isnull=True).values_list("household_id", flat=True))
    exited = list(households.filter(poverty_status__in=c.EXITED_STATUSES).exclude(pk__in=taken)[:2])
    made = 0
    if exited:
        case = _try_open(
            exited[0], "return", CaseDetails(round_id=round_id, summary="因病返贫（演示）"), actors
        )
        if case is not None:
            path = FLOWS["return"].required_path()
            made += _try_advance(case, path[: path.index("post")], actors, posted)
    if len(exited) > 1:
        summary = "部门比对发现家庭成员名下有商品房（演示）"
        case = _try_open(
            exited[1], "removal", CaseDetails(round_id=round_id, summary=summary), actors
        )
        if case is not None:
            made += _try_advance(case, ["check"], actors, posted)
    for household in households.exclude(poverty_status__in=c.CLOSED_STATUSES)[:20]:
        born = today - datetime.timedelta(days=20)
        head = household.members.filter(relation="head").first()
        if head is None:
            continue
        baby = _demo_id(head.id_number[:6], born, household.pk)
        if Member.all_objects.filter(id_number_index=id_index(baby)).exists():
            continue
        change = {
            "type": "birth",
            "date": born,
            "member": {"name": f"{head.name[0]}小宝", "id_number": baby, "relation": "grandchild"},
        }
        details = CaseDetails(round_id=round_id, summary="新生儿落户（演示）", change=change)
        case = _try_open(household, "natural_change", details, actors)
        if case is not None:
            made += _try_advance(case, ["verify"], actors, posted)
            break
    return made


def _demo_id(region: str, born: datetime.date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_char(first17)


def _try_open(
    household: Household, kind: str, details: CaseDetails, actors: dict[str, Any]
) -> Case | None:
    try:
        return do_open_case(household.pk, kind, details, actor=actors["village"])
    except DomainError:
        return None


def _try_advance(
    case: Case, names: list[str], actors: dict[str, Any], posted: datetime.date
) -> int:
    try:
        _advance(case, names, actors, posted)
    except DomainError:
        return 0
    return 1
