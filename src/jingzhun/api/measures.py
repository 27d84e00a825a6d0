"""API routes of household plans (一户一策, issue 21 item 3): /api/households/{id}/measures,
/api/measures….

Thin: `assistance.measure_selectors` for reads (scoped; a department liaison gets the measures of
its department's kinds only), `assistance.measures` for writes. A refusal is a 400 naming the
field (a negative amount, an end before the start, a kind not in the catalogue); a household or
measure out of the caller's scope a 404; a stale version a 409.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.assistance.catalogue import catalogue
from jingzhun.assistance.choices import MEASURE_PROPOSER_ROLES
from jingzhun.assistance.measure_selectors import (
    CoverageResult,
    household_plan,
    measure_for,
    measures_for,
)
from jingzhun.assistance.measures import (
    do_cancel_measure,
    do_complete_measure,
    do_decide_measure,
    do_propose_measure,
    do_start_measure,
)
from jingzhun.assistance.models import Measure

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"  # the same marker as api.api's routes (AUTHZ-1)
AUTHENTICATED = {POLICY_KEY: "authenticated"}
MEASURE_WRITE = {
    POLICY_KEY: "authenticated",
    "x-jingzhun-writer-roles": sorted(MEASURE_PROPOSER_ROLES),
}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
PathId = Path(..., ge=1, le=s.MAX_ID)
Code = Field("", max_length=40, pattern=r"^[a-z0-9_]*$")

router = Router(tags=["帮扶措施"])


class MeasureOut(Schema):
    id: int
    version: int
    household_id: int
    household_code: str
    village_code: str
    year: int
    kind: str
    kind_name: str
    department: str
    department_name: str
    description: str
    amount: str | None = Field(description="金额（元），两位小数；未填为 null")
    start_date: datetime.date
    end_date: datetime.date | None
    status: str
    status_name: str
    proposer_role: str
    decision_note: str
    completed_on: datetime.date | None


class MeasurePage(Schema):
    count: int
    items: list[MeasureOut]


class CoverageOut(Schema):
    rule: str
    title: str
    met: bool
    detail: str


class PlanOut(Schema):
    household_id: int
    coverage: list[CoverageOut] = Field(description="按措施目录的覆盖规则计算（非填报）")
    items: list[MeasureOut]


class MeasureParams(s.Paging):
    region: str = Field("", pattern=r"^(\d{12})?$", description="区划代码（12 位）")
    kind: str = Code
    department: str = Code
    status: str = Code
    year: int | None = Field(None, ge=2000, le=2100)


class ProposeIn(Schema):
    kind: str = Field(..., min_length=1, max_length=40, description="措施类型代码（措施目录）")
    start_date: datetime.date
    end_date: datetime.date | None = None
    amount: str = Field("", max_length=20, description="金额（元），不能为负数，最多两位小数")
    description: str = Field("", max_length=200)


class DecideIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1, description="读取时的版本号")
    approve: bool
    note: str = Field("", max_length=200, description="审批意见（不批准时必填）")


class ProgressIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1, description="读取时的版本号")
    step: Literal["start", "complete", "cancel"]
    completed_on: datetime.date | None = Field(None, description="完成日期（step=complete 时必填）")
    reason: str = Field("", max_length=200, description="取消理由（step=cancel 时必填）")


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _measure(m: Measure) -> dict[str, Any]:
    cat = catalogue()
    return {
        "id": m.pk,
        "version": m.version,
        "household_id": m.household_id,
        "household_code": m.household.household_code,
        "village_code": m.household.village_id,
        "year": m.year,
        "kind": m.kind,
        "kind_name": cat.kind_label(m.kind),
        "department": m.department,
        "department_name": cat.department_label(m.department),
        "description": m.description,
        "amount": None if m.amount is None else str(m.amount),
        "start_date": m.start_date,
        "end_date": m.end_date,
        "status": m.status,
        "status_name": m.status_label,
        "proposer_role": m.proposer_role,
        "decision_note": m.decision_note,
        "completed_on": m.completed_on,
    }


def _coverage(r: CoverageResult) -> dict[str, Any]:
    return {"rule": r.rule.id, "title": r.rule.title, "met": r.met, "detail": r.detail}


@router.get(
    "/households/{household_id}/measures",
    response={200: PlanOut, **READ},
    summary="一户的帮扶措施（一户一策）及计算得出的覆盖情况",
    openapi_extra=AUTHENTICATED,
)
def household_measures(request: HttpRequest, household_id: int = PathId) -> dict[str, Any]:
    plan = household_plan(_user(request), household_id)
    return {
        "household_id": plan.household.pk,
        "coverage": [_coverage(r) for r in plan.coverage],
        "items": [_measure(m) for m in plan.measures],
    }


@router.post(
    "/households/{household_id}/measures",
    response={201: MeasureOut, **WRITE},
    summary="提出帮扶措施（帮扶责任人、村、乡镇或县），待乡镇审批",
    description="户须在调用者范围内（否则 404，不做任何修改）；金额不能为负数，结束日期不能早于开始日期。",
    openapi_extra=MEASURE_WRITE,
)
def propose_measure(
    request: HttpRequest, body: ProposeIn, household_id: int = PathId
) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    made = do_propose_measure(
        household_id,
        body.kind,
        body.start_date,
        end_date=body.end_date,
        amount=body.amount,
        description=body.description,
        actor=user,
    )
    return 201, _measure(measure_for(user, made.pk))


@router.get(
    "/measures",
    response={200: MeasurePage, **LIST},
    summary="帮扶措施名单（按调用者范围；行业部门联络员只看到本部门的措施类型）",
    openapi_extra=AUTHENTICATED,
)
def list_measures(request: HttpRequest, params: Query[MeasureParams]) -> dict[str, Any]:
    qs = measures_for(
        _user(request),
        region=params.region,
        kind=params.kind,
        department=params.department,
        status=params.status,
        year=params.year,
    ).order_by("household__household_code", "-year", "pk")
    window = qs[params.offset : params.offset + params.limit]
    return {"count": qs.count(), "items": [_measure(m) for m in window]}


@router.get(
    "/measures/{measure_id}",
    response={200: MeasureOut, **READ},
    summary="一项帮扶措施",
    openapi_extra=AUTHENTICATED,
)
def get_measure(request: HttpRequest, measure_id: int = PathId) -> dict[str, Any]:
    return _measure(measure_for(_user(request), measure_id))


@router.post(
    "/measures/{measure_id}/decide",
    response={200: MeasureOut, **WRITE},
    summary="乡镇（或县）审批帮扶措施：批准或不批准（须写明理由）；提出人不能审批",
    openapi_extra=MEASURE_WRITE,
)
def decide_measure(
    request: HttpRequest, body: DecideIn, measure_id: int = PathId
) -> dict[str, Any]:
    user = _user(request)
    do_decide_measure(
        measure_id, body.approve, body.note, expected_version=body.version, actor=user
    )
    return _measure(measure_for(user, measure_id))


@router.post(
    "/measures/{measure_id}/progress",
    response={200: MeasureOut, **WRITE},
    summary="帮扶措施开始实施、标记完成或取消",
    openapi_extra=MEASURE_WRITE,
)
def progress_measure(
    request: HttpRequest, body: ProgressIn, measure_id: int = PathId
) -> dict[str, Any]:
    from jingzhun.core.errors import DomainError

    user = _user(request)
    if body.step == "start":
        do_start_measure(measure_id, expected_version=body.version, actor=user)
    elif body.step == "complete":
        if body.completed_on is None:
            raise DomainError("请填写完成日期。", field="completed_on")
        do_complete_measure(
            measure_id, body.completed_on, expected_version=body.version, actor=user
        )
    else:
        do_cancel_measure(measure_id, body.reason, expected_version=body.version, actor=user)
    return _measure(measure_for(user, measure_id))


class LiaisonOut(Schema):
    user_id: int
    username: str
    display_name: str
    department: str = Field(description="措施目录中的部门代码；未设置为空字符串")
    department_name: str


class LiaisonDepartmentIn(Schema):
    department: str = Field(
        ...,
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9_]+$",
        description="措施目录中的部门代码",
    )


def _liaison(user: Any, department: str) -> dict[str, Any]:
    return {
        "user_id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "department": department,
        "department_name": catalogue().department_label(department) if department else "",
    }


@router.get(
    "/liaisons",
    response={200: list[LiaisonOut], **READ},
    summary="行业部门联络员及其所属部门（仅县级）",
    openapi_extra=AUTHENTICATED,
)
def list_liaisons(request: HttpRequest) -> list[dict[str, Any]]:
    from jingzhun.assistance.measure_selectors import liaison_rows
    from jingzhun.core.errors import Forbidden

    user = _user(request)
    if getattr(user, "role", "") != "county":
        raise Forbidden("只有县级业务人员可以查看和设置联络员所属部门。")
    return [_liaison(u, d) for u, d in liaison_rows(user)]


@router.put(
    "/liaisons/{user_id}/department",
    response={200: LiaisonOut, **WRITE},
    summary="设置行业部门联络员所属部门（仅县级，记入审计日志）",
    description="联络员此后只看到分配给他的户中本部门负责的措施类型。",
    openapi_extra={POLICY_KEY: "authenticated", "x-jingzhun-writer-roles": ["county"]},
)
def set_liaison_department(
    request: HttpRequest, body: LiaisonDepartmentIn, user_id: int = PathId
) -> dict[str, Any]:
    from jingzhun.assistance.measures import do_set_liaison_department

    row = do_set_liaison_department(user_id, body.department, actor=_user(request))
    return _liaison(row.user, row.department)
