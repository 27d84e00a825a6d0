"""API routes of inspections and rectification (issue 24 item 2): /api/inspections…,
/api/problems….

Thin: `inspection.selectors` for reads (problems of the caller's region grants),
`inspection.actions` for writes. Rectification with its evidence files is submitted on the web
page (multipart upload); verification, closure and escalation are here too.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.inspection import selectors as sel
from jingzhun.inspection.actions import (
    do_close_problem,
    do_escalate_overdue,
    do_record_inspection,
    do_record_problem,
    do_verify_rectification,
)
from jingzhun.inspection.choices import INSPECTION_KINDS, PROBLEM_CATEGORIES, PROBLEM_STATUSES

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"  # the same marker as api.api's routes (AUTHZ-1)
AUTHENTICATED = {POLICY_KEY: "authenticated"}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
KIND = "^(" + "|".join(INSPECTION_KINDS) + ")$"
CATEGORY = "^(" + "|".join(PROBLEM_CATEGORIES) + ")$"
STATUS = "^(" + "|".join(PROBLEM_STATUSES) + ")?$"
CODE = r"^\d{12}$"

router = Router(tags=["督查整改"])


class InspectionOut(Schema):
    id: int
    version: int
    kind: str
    title: str
    region_code: str
    organiser: str
    document: str
    started_on: datetime.date
    problems: int


class InspectionIn(Schema):
    kind: str = Field(..., pattern=KIND)
    title: str = Field(..., min_length=1, max_length=200)
    region_code: str = Field(..., pattern=CODE)
    organiser: str = Field(..., min_length=1, max_length=100)
    document: str = Field("", max_length=100)
    started_on: datetime.date


class ProblemOut(Schema):
    id: int
    version: int
    inspection_id: int
    category: str
    description: str
    region_code: str
    household_id: int | None
    unit: str
    responsible_unit: str
    responsible_person: str
    found_on: datetime.date
    deadline: datetime.date
    deadline_basis: str
    overdue: bool
    status: str
    supervisor_code: str
    escalations: int
    closed_on: datetime.date | None


class ProblemIn(Schema):
    category: str = Field(..., pattern=CATEGORY)
    description: str = Field(..., min_length=1, max_length=2000)
    region_code: str = Field(..., pattern=CODE)
    household_id: int | None = Field(None, ge=1, le=s.MAX_ID)
    unit: str = Field("", max_length=100)
    responsible_unit: str = Field(..., min_length=1, max_length=100)
    responsible_person: str = Field(..., min_length=1, max_length=50)
    found_on: datetime.date
    deadline: datetime.date | None = Field(None, description="不填则按规则的工作日数")


class ProblemParams(Schema):
    status: str = Field("", pattern=STATUS)
    overdue: bool = Field(False, description="true：只列逾期未整改的问题")
    listed: bool = Field(False, description="true：只列挂牌督办的问题")


class VerificationIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)
    passed: bool
    note: str = Field(..., min_length=1, max_length=500)


class CloseIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)


class EscalationOut(Schema):
    escalated: list[int]
    at_top: list[int]
    refused: dict[str, str]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _inspection(i: Any, problems: int | None = None) -> dict[str, Any]:
    return {
        "id": i.pk,
        "version": i.version,
        "kind": i.kind,
        "title": i.title,
        "region_code": i.region_id,
        "organiser": i.organiser,
        "document": i.document,
        "started_on": i.started_on,
        "problems": problems if problems is not None else getattr(i, "problem_count", 0),
    }


def _problem(p: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "id": p.pk,
        "version": p.version,
        "inspection_id": p.inspection_id,
        "category": p.category,
        "description": p.description,
        "region_code": p.region_id,
        "household_id": p.household_id,
        "unit": p.unit,
        "responsible_unit": p.responsible_unit,
        "responsible_person": p.responsible_person,
        "found_on": p.found_on,
        "deadline": p.deadline,
        "deadline_basis": p.deadline_basis,
        "overdue": p.status == "open" and p.deadline < today,
        "status": p.status,
        "supervisor_code": p.supervisor_code,
        "escalations": p.escalations,
        "closed_on": p.closed_on,
    }


@router.get(
    "/inspections",
    response={200: list[InspectionOut], **LIST},
    summary="督查列表（调用者范围内的督查，或含范围内问题的督查）",
    openapi_extra=AUTHENTICATED,
)
def inspections(request: HttpRequest) -> list[dict[str, Any]]:
    return [_inspection(i) for i in sel.inspections_for(_user(request))[:500]]


@router.post(
    "/inspections",
    response={201: InspectionOut, **WRITE},
    summary="录入督查（县、乡镇业务人员）",
    openapi_extra=AUTHENTICATED,
)
def inspection_create(request: HttpRequest, body: InspectionIn) -> tuple[int, dict[str, Any]]:
    made = do_record_inspection(**body.dict(), actor=_user(request))
    return 201, _inspection(made, 0)


@router.post(
    "/inspections/{inspection_id}/problems",
    response={201: ProblemOut, **WRITE},
    summary="录入督查发现的问题（涉及农户或单位；不填期限则按规则的工作日数）",
    openapi_extra=AUTHENTICATED,
)
def problem_create(
    request: HttpRequest, body: ProblemIn, inspection_id: int = Path(..., ge=1, le=s.MAX_ID)
) -> tuple[int, dict[str, Any]]:
    made = do_record_problem(inspection_id, **body.dict(), actor=_user(request))
    return 201, _problem(made)


@router.get(
    "/problems",
    response={200: list[ProblemOut], **LIST},
    summary="督查问题（按状态、逾期、挂牌督办筛选；调用者范围内）",
    openapi_extra=AUTHENTICATED,
)
def problems(request: HttpRequest, params: Query[ProblemParams]) -> list[dict[str, Any]]:
    rows = sel.problem_list(
        _user(request),
        status=params.status,
        overdue_on=timezone.localdate() if params.overdue else None,
        listed=params.listed,
    )
    return [_problem(p) for p in rows[:500]]


@router.post(
    "/problems/escalate",
    response={200: EscalationOut, **WRITE},
    summary="将调用者范围内逾期未整改的问题升级一级挂牌督办（县级业务人员）",
    openapi_extra=AUTHENTICATED,
)
def escalate(request: HttpRequest) -> dict[str, Any]:
    result = do_escalate_overdue(actor=_user(request))
    return {
        "escalated": result.escalated,
        "at_top": result.at_top,
        "refused": {str(k): v for k, v in result.refused.items()},
    }


@router.get(
    "/problems/{problem_id}",
    response={200: ProblemOut, **READ},
    summary="一个督查问题",
    openapi_extra=AUTHENTICATED,
)
def problem(request: HttpRequest, problem_id: int = Path(..., ge=1, le=s.MAX_ID)) -> dict[str, Any]:
    return _problem(sel.problem_for(_user(request), problem_id))


@router.post(
    "/problems/{problem_id}/verifications",
    response={201: ProblemOut, **WRITE},
    summary="核验整改（督办层级的县、乡镇业务人员；整改提交人不能核验）",
    openapi_extra=AUTHENTICATED,
)
def verify(
    request: HttpRequest, body: VerificationIn, problem_id: int = Path(..., ge=1, le=s.MAX_ID)
) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    do_verify_rectification(
        problem_id, body.passed, body.note, actor=user, expected_version=body.version
    )
    return 201, _problem(sel.problem_for(user, problem_id))


@router.post(
    "/problems/{problem_id}/close",
    response={200: ProblemOut, **WRITE},
    summary="销号（整改核验通过后，由督办层级办理）",
    openapi_extra=AUTHENTICATED,
)
def close(
    request: HttpRequest, body: CloseIn, problem_id: int = Path(..., ge=1, le=s.MAX_ID)
) -> dict[str, Any]:
    user = _user(request)
    do_close_problem(problem_id, actor=user, expected_version=body.version)
    return _problem(sel.problem_for(user, problem_id))
