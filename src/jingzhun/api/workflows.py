"""API routes of the workflows: the inbox, cases, moves, checklist, evidence, postings, rounds.

Thin like the rest of the API: `workflows.selectors` for reads, `workflows.actions` for writes.
A move made on a stale version answers 409, a self-approval 403, a missing step 400 (the domain
errors' statuses, mapped by the API's exception handler).
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import File, Form, Path, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import BaseModel, ConfigDict, Field

from jingzhun.registry.actions import WRITER_ROLES
from jingzhun.workflows import changes
from jingzhun.workflows.actions import (
    CaseDetails,
    PostingIn,
    case_facts,
    do_assess_case_household,
    do_close_round,
    do_move_case,
    do_open_case,
    do_open_round,
    do_tick_checklist_item,
    do_upload_evidence,
)
from jingzhun.workflows.models import Case
from jingzhun.workflows.selectors import (
    case_for,
    inbox,
    postings_for,
    round_counts,
    round_for,
    rounds_for,
)
from jingzhun.workflows.transitions import FLOWS, allowed_moves, refusal

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"  # the same marker as api.api's routes (AUTHZ-1)
AUTHENTICATED = {POLICY_KEY: "authenticated"}
CASE_WRITE = {POLICY_KEY: "authenticated", "x-jingzhun-writer-roles": sorted(WRITER_ROLES)}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
PathId = Path(..., ge=1, le=s.MAX_ID)

router = Router(tags=["业务办理"])


# --- schemas -------------------------------------------------------------------------------------


class CaseSummaryOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    version: int
    year: int
    household_id: int
    household_code: str
    head_name: str
    village_code: str
    opened_on: datetime.date
    due_on: datetime.date | None
    closed_on: datetime.date | None
    overdue: bool
    round_id: int | None


class StepOut(Schema):
    move: str
    label: str
    state_from: str
    state_to: str
    actor: str
    at: datetime.datetime
    reason: str
    outcome: str
    evidence: list[int]


class EvidenceOut(Schema):
    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    step_move: str | None
    uploaded_by: str
    uploaded_at: datetime.datetime


class PostingOut(Schema):
    id: int
    case_id: int
    stage: str
    start: datetime.date
    length: int
    unit: str
    end: datetime.date
    objected: bool
    objections: list[str]


class MoveOut(Schema):
    move: str
    label: str
    allowed_now: bool
    refused_because: str


class CaseDetailOut(CaseSummaryOut):
    submitted_by: str
    change: dict[str, Any] = Field(description="自然变更的内容（证件号码已脱敏）")
    change_label: str
    checklist: dict[str, Any]
    steps: list[StepOut]
    evidence: list[EvidenceOut]
    postings: list[PostingOut]
    moves: list[MoveOut]


class InboxOut(Schema):
    counts: dict[str, int]
    items: list[CaseSummaryOut]


class NewMemberIn(BaseModel):
    """A plain pydantic model, not a ninja Schema: a Schema validates any object by its
    attributes, so with every field optional a list or a number passed as "member" became an
    empty member (found by the API fuzz)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=50)
    id_number: str = Field("", max_length=20)
    relation: str = Field("", max_length=16)


class NaturalChangeIn(Schema):
    type: Literal["birth", "marriage_in", "move_in", "death", "marriage_out", "move_out", "close"]
    date: datetime.date
    member_id: int | None = Field(None, ge=1, le=s.MAX_ID, description="减少的成员")
    new_head_id: int | None = Field(None, ge=1, le=s.MAX_ID, description="户主减少时的新户主")
    member: NewMemberIn | None = Field(None, description="新增的成员")


class CaseIn(Schema):
    household_id: int = Field(ge=1, le=s.MAX_ID)
    kind: Literal[
        "identification", "exit", "monitoring", "elimination", "return", "removal", "natural_change"
    ]
    year: int | None = Field(None, ge=2014, le=2100)
    opened_on: datetime.date | None = None
    summary: str = Field("", max_length=500)
    round_id: int | None = Field(None, ge=1, le=s.MAX_ID)
    route: str = Field("", max_length=20)
    monitoring_category: str = Field("", max_length=20)
    risk_types: list[str] = Field(default_factory=list, max_length=11)
    monitored_since: datetime.date | None = None
    measures: list[dict[str, str]] = Field(default_factory=list, max_length=20)
    elimination_method: str = Field("", max_length=16)
    change: NaturalChangeIn | None = Field(
        None,
        description="自然变更：出生、婚入、迁入（新增成员）、死亡、婚出、迁出（减少成员）、自然销户",
    )


class PostingSpecIn(Schema):
    start: datetime.date
    length: int = Field(ge=1, le=60)
    unit: Literal["days", "working_days"] = "days"


class MoveIn(Schema):
    move: str = Field(min_length=1, max_length=20)
    version: int = Field(ge=1, le=2**31 - 1, description="读取案件时的版本号（乐观锁）")
    reason: str = Field("", max_length=500)
    posting: PostingSpecIn | None = None


class ChecklistIn(Schema):
    item: str = Field(min_length=1, max_length=30)
    note: str = Field(min_length=1, max_length=300)
    version: int = Field(ge=1, le=2**31 - 1)


class InboxParams(Schema):
    tab: Literal["todo", "waiting", "overdue"] = "todo"


class RoundIn(Schema):
    county_code: str = Field(pattern=s.REGION_CODE)
    name: str = Field(min_length=1, max_length=100)
    period_start: datetime.date
    period_end: datetime.date


class VersionIn(Schema):
    version: int = Field(ge=1, le=2**31 - 1)


class RoundOut(Schema):
    id: int
    name: str
    county_code: str
    period_start: datetime.date
    period_end: datetime.date
    open: bool
    version: int


class RoundDetailOut(RoundOut):
    total: int
    open_cases: int
    overdue: int
    counts: dict[str, dict[str, int]]
    by_kind: dict[str, int]


def _summary(case: Case, today: datetime.date) -> dict[str, Any]:
    h = case.household
    return {
        "id": case.pk,
        "kind": case.kind,
        "kind_label": case.kind_label,
        "state": case.state,
        "state_label": case.state_label,
        "version": case.version,
        "year": case.year,
        "household_id": h.pk,
        "household_code": h.household_code,
        "head_name": h.head_name,
        "village_code": h.village_id,
        "opened_on": case.opened_on,
        "due_on": case.due_on,
        "closed_on": case.closed_on,
        "overdue": bool(case.is_open and case.due_on and case.due_on < today),
        "round_id": case.round_id,
    }


def _detail(user: Any, case: Case) -> dict[str, Any]:
    today = timezone.localdate()
    flow = FLOWS[case.kind]
    facts = case_facts(case, today)
    evidence = list(case.evidence.select_related("step").order_by("uploaded_at", "id"))
    moves = []
    if case.is_open:
        for move in allowed_moves(flow, case.state, user.role):
            refused = refusal(
                flow, move.name, facts, actor_id=user.pk, actor_role=user.role, reason="x"
            )
            moves.append(
                {
                    "move": move.name,
                    "label": move.label,
                    "allowed_now": refused is None,
                    "refused_because": refused.message if refused else "",
                }
            )
    return {
        **_summary(case, today),
        "submitted_by": case.submitted_by.username if case.submitted_by else "",
        "change": changes.masked(case.change) if case.change else {},
        "change_label": changes.describe(case.change) if case.change else "",
        "checklist": case.checklist,
        "steps": [
            {
                "move": st.move,
                "label": st.label,
                "state_from": st.state_from,
                "state_to": st.state_to,
                "actor": st.actor_name,
                "at": st.at,
                "reason": st.reason,
                "outcome": st.outcome,
                "evidence": [e.pk for e in evidence if e.step_id == st.pk],
            }
            for st in case.steps.order_by("at", "id")
        ],
        "evidence": [
            {
                "id": e.pk,
                "kind": e.kind,
                "filename": e.filename,
                "content_type": e.content_type,
                "size": e.size,
                "sha256": e.sha256,
                "step_move": e.step.move if e.step else None,
                "uploaded_by": e.uploaded_by_name,
                "uploaded_at": e.uploaded_at,
            }
            for e in evidence
        ],
        "postings": [_posting(p) for p in case.postings.order_by("id")],
        "moves": moves,
    }


def _posting(p: Any) -> dict[str, Any]:
    return {
        "id": p.pk,
        "case_id": p.case_id,
        "stage": p.stage,
        "start": p.start,
        "length": p.length,
        "unit": p.unit,
        "end": p.end,
        "objected": p.objected,
        "objections": [o.content for o in p.objections.all()],
    }


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# --- routes --------------------------------------------------------------------------------------


@router.get(
    "/cases",
    response={200: InboxOut, **LIST},
    summary="我的案件（待办、等待他人、已超期）",
    openapi_extra=AUTHENTICATED,
)
def list_cases(request: HttpRequest, params: Query[InboxParams]) -> dict[str, Any]:
    today = timezone.localdate()
    box = inbox(_user(request), today=today, tabs=(params.tab,))
    return {"counts": box.counts, "items": [_summary(c, today) for c in getattr(box, params.tab)]}


@router.get(
    "/cases/{case_id}",
    response={200: CaseDetailOut, **READ},
    summary="案件详情（办理过程、材料、核查清单、公示、可办理事项）",
    openapi_extra=AUTHENTICATED,
)
def get_case(request: HttpRequest, case_id: int = PathId) -> dict[str, Any]:
    user = _user(request)
    return _detail(user, case_for(user, case_id))


@router.post(
    "/cases",
    response={201: CaseDetailOut, **WRITE},
    summary="发起案件（提交人不能审核或审批本人的案件）",
    openapi_extra=CASE_WRITE,
)
def open_case(request: HttpRequest, body: CaseIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    details = CaseDetails(
        year=body.year,
        opened_on=body.opened_on,
        summary=body.summary,
        round_id=body.round_id,
        route=body.route,
        monitoring_category=body.monitoring_category,
        risk_types=tuple(body.risk_types),
        monitored_since=body.monitored_since,
        measures=tuple(body.measures),
        elimination_method=body.elimination_method,
        change=body.change.model_dump() if body.change else None,
    )
    case = do_open_case(body.household_id, body.kind, details, actor=user)
    return 201, _detail(user, case_for(user, case.pk))


@router.post(
    "/cases/{case_id}/moves",
    response={200: CaseDetailOut, **WRITE},
    summary="办理一步（审核、审批、退回、公示、记录异议……）",
    description="须带读取时的版本号：已被他人办理时返回 409，不做任何修改；提交人审批本人案件返回 403。",
    openapi_extra=CASE_WRITE,
)
def move_case(request: HttpRequest, body: MoveIn, case_id: int = PathId) -> dict[str, Any]:
    user = _user(request)
    posting = (
        PostingIn(body.posting.start, body.posting.length, body.posting.unit)
        if body.posting
        else None
    )
    do_move_case(case_id, body.move, body.version, actor=user, reason=body.reason, posting=posting)
    return _detail(user, case_for(user, case_id))


@router.post(
    "/cases/{case_id}/checklist",
    response={200: CaseDetailOut, **WRITE},
    summary="勾选核查清单一项（三个核对、三个印证）",
    openapi_extra=CASE_WRITE,
)
def tick_checklist(
    request: HttpRequest, body: ChecklistIn, case_id: int = PathId
) -> dict[str, Any]:
    user = _user(request)
    do_tick_checklist_item(case_id, body.item, body.note, body.version, actor=user)
    return _detail(user, case_for(user, case_id))


@router.post(
    "/cases/{case_id}/evidence",
    response={201: EvidenceOut, **WRITE},
    summary="上传佐证材料（PDF、JPG、PNG、.xlsx，最大 10 MB）",
    openapi_extra=CASE_WRITE,
)
def upload_evidence(
    request: HttpRequest,
    case_id: int = PathId,
    kind: str = Form(..., min_length=1, max_length=20),
    file: UploadedFile = File(..., min_length=1),  # noqa: B008 - django-ninja style
) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    item = do_upload_evidence(case_id, kind, file.name or "", file.read(), actor=user)
    return 201, {
        "id": item.pk,
        "kind": item.kind,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": item.sha256,
        "step_move": None,
        "uploaded_by": item.uploaded_by_name,
        "uploaded_at": item.uploaded_at,
    }


@router.get(
    "/postings",
    response={200: list[PostingOut], **LIST},
    summary="公示（最近的 300 条）",
    openapi_extra=AUTHENTICATED,
)
def list_postings(request: HttpRequest) -> list[dict[str, Any]]:
    qs = postings_for(_user(request)).prefetch_related("objections")[:300]
    return [_posting(p) for p in qs]


def _round(r: Any) -> dict[str, Any]:
    return {
        "id": r.pk,
        "name": r.name,
        "county_code": r.county_id,
        "period_start": r.period_start,
        "period_end": r.period_end,
        "open": r.is_open,
        "version": r.version,
    }


@router.get(
    "/rounds",
    response={200: list[RoundOut], **LIST},
    summary="动态调整批次",
    openapi_extra=AUTHENTICATED,
)
def list_rounds(request: HttpRequest) -> list[dict[str, Any]]:
    return [_round(r) for r in rounds_for(_user(request)).order_by("-period_start", "-id")[:200]]


@router.get(
    "/rounds/{round_id}",
    response={200: RoundDetailOut, **READ},
    summary="批次概况（按类型和办理状态计数）",
    openapi_extra=AUTHENTICATED,
)
def get_round(request: HttpRequest, round_id: int = PathId) -> dict[str, Any]:
    user = _user(request)
    found = round_for(user, round_id)
    counts = round_counts(user, found, today=timezone.localdate())
    return {
        **_round(found),
        "total": counts.total,
        "open_cases": counts.open,
        "overdue": counts.overdue,
        "counts": {kind: {st: n for st, _l, n in states} for kind, _k, states, _n in counts.rows},
        "by_kind": {kind: n for kind, _k, _states, n in counts.rows},
    }


@router.post(
    "/cases/{case_id}/assessment",
    response={200: CaseDetailOut, **WRITE},
    summary="按当前数据运行该户本年度的脱贫标准判定（退出案件）",
    openapi_extra=CASE_WRITE,
)
def assess_case(request: HttpRequest, case_id: int = PathId) -> dict[str, Any]:
    user = _user(request)
    do_assess_case_household(case_id, actor=user)
    return _detail(user, case_for(user, case_id))


@router.post(
    "/rounds",
    response={201: RoundOut, **WRITE},
    summary="开启动态调整批次（县级业务人员）",
    openapi_extra=CASE_WRITE,
)
def open_round(request: HttpRequest, body: RoundIn) -> tuple[int, dict[str, Any]]:
    created = do_open_round(
        body.county_code, body.name, body.period_start, body.period_end, actor=_user(request)
    )
    return 201, _round(created)


@router.post(
    "/rounds/{round_id}/close",
    response={200: RoundOut, **WRITE},
    summary="结束动态调整批次（批次内案件须全部办结）",
    openapi_extra=CASE_WRITE,
)
def close_round(request: HttpRequest, body: VersionIn, round_id: int = PathId) -> dict[str, Any]:
    user = _user(request)
    found = round_for(user, round_id)
    return _round(do_close_round(found.pk, body.version, actor=user))
