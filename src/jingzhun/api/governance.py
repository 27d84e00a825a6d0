"""API routes of scheduled tasks (/api/duty/tasks…) and tickets (/api/tickets…), issue 24 items 1
and 3. Thin: duty/tickets selectors for reads (the caller's region grants), their actions for
writes. The requester's phone is masked."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.duty import selectors as duty_sel
from jingzhun.duty.actions import do_report_progress
from jingzhun.duty.choices import TASK_STATUSES
from jingzhun.registry.masking import mask_phone
from jingzhun.tickets import selectors as ticket_sel
from jingzhun.tickets.actions import do_reply_ticket
from jingzhun.tickets.choices import STATUSES

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"
AUTHENTICATED = {POLICY_KEY: "authenticated"}
FIGURE = "^(" + "|".join(duty_sel.TASK_FIGURES) + ")?$"
TASK_STATUS = "^(" + "|".join(TASK_STATUSES) + ")?$"
TICKET_STATUS = "^(" + "|".join(STATUSES) + "|unclosed)?$"

router = Router(tags=["责任与调度、诉求工单"])


class TaskOut(Schema):
    id: int
    version: int
    region_code: str
    title: str
    owner_unit: str
    owner_person: str
    assigned_on: datetime.date
    deadline: datetime.date
    deadline_basis: str
    schedule: str
    next_report_on: datetime.date
    progress: int
    status: str
    overdue: bool
    supervisor_code: str
    escalations: int


class TaskParams(Schema):
    status: str = Field("", pattern=TASK_STATUS)
    figure: str = Field("", pattern=FIGURE, description="按期推进、逾期、未报送、已完成")


class ReportIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)
    progress: int = Field(..., ge=0, le=100)
    text: str = Field(..., min_length=1, max_length=2000)
    difficulties: str = Field("", max_length=1000)


class TicketOut(Schema):
    id: int
    version: int
    region_code: str
    channel: str
    category: str
    household_id: int | None
    requester_name: str
    requester_phone: str = Field(..., description="脱敏")
    content: str
    received_on: datetime.date
    deadline: datetime.date
    deadline_basis: str
    routed_unit: str
    status: str
    overdue: bool
    reply: str
    satisfaction: str
    supervisor_code: str
    escalations: int
    repeat_of: int | None


class TicketParams(Schema):
    status: str = Field("", pattern=TICKET_STATUS)
    overdue: bool = Field(False, description="true：只列逾期未答复的工单")


class ReplyIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)
    reply: str = Field(..., min_length=1, max_length=2000)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _task(t: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "id": t.pk, "version": t.version, "region_code": t.region_id, "title": t.title,
        "owner_unit": t.owner_unit, "owner_person": t.owner_person, "assigned_on": t.assigned_on,
        "deadline": t.deadline, "deadline_basis": t.deadline_basis, "schedule": t.schedule,
        "next_report_on": t.next_report_on, "progress": t.progress, "status": t.status,
        "overdue": t.status == "open" and t.deadline < today,
        "supervisor_code": t.supervisor_code, "escalations": t.escalations,
    }  # fmt: skip


def _ticket(t: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "id": t.pk, "version": t.version, "region_code": t.region_id, "channel": t.channel,
        "category": t.category, "household_id": t.household_id,
        "requester_name": t.requester_name,
        "requester_phone": mask_phone(t.requester_phone) if t.requester_phone else "",
        "content": t.content, "received_on": t.received_on, "deadline": t.deadline,
        "deadline_basis": t.deadline_basis, "routed_unit": t.routed_unit, "status": t.status,
        "overdue": t.status == "open" and t.deadline < today, "reply": t.reply,
        "satisfaction": t.satisfaction, "supervisor_code": t.supervisor_code,
        "escalations": t.escalations, "repeat_of": t.repeat_of_id,
    }  # fmt: skip


@router.get(
    "/duty/tasks",
    response={200: list[TaskOut], **s.LIST},
    summary="调度任务（调用者范围内；按状态或作战图指标筛选）",
    openapi_extra=AUTHENTICATED,
)
def tasks(request: HttpRequest, params: Query[TaskParams]) -> list[dict[str, Any]]:
    rows = duty_sel.task_list(
        _user(request), status=params.status, figure=params.figure, on=timezone.localdate()
    )
    return [_task(t) for t in rows[:500]]


@router.get(
    "/duty/tasks/{task_id}",
    response={200: TaskOut, **s.READ},
    summary="一项调度任务",
    openapi_extra=AUTHENTICATED,
)
def task(request: HttpRequest, task_id: int = Path(..., ge=1, le=s.MAX_ID)) -> dict[str, Any]:
    return _task(duty_sel.task_for(_user(request), task_id))


@router.post(
    "/duty/tasks/{task_id}/reports",
    response={201: TaskOut, **s.WRITE},
    summary="报送任务进展（县、乡镇、村业务人员）",
    openapi_extra=AUTHENTICATED,
)
def task_report(
    request: HttpRequest, body: ReportIn, task_id: int = Path(..., ge=1, le=s.MAX_ID)
) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    do_report_progress(
        task_id, progress=body.progress, text_=body.text, difficulties=body.difficulties,
        expected_version=body.version, actor=user,
    )  # fmt: skip
    return 201, _task(duty_sel.task_for(user, task_id))


@router.get(
    "/tickets",
    response={200: list[TicketOut], **s.LIST},
    summary="诉求工单（调用者范围内；按状态、逾期筛选；电话脱敏）",
    openapi_extra=AUTHENTICATED,
)
def tickets(request: HttpRequest, params: Query[TicketParams]) -> list[dict[str, Any]]:
    rows = ticket_sel.ticket_list(
        _user(request), status=params.status,
        overdue_on=timezone.localdate() if params.overdue else None,
    )  # fmt: skip
    return [_ticket(t) for t in rows[:500]]


@router.get(
    "/tickets/{ticket_id}",
    response={200: TicketOut, **s.READ},
    summary="一件诉求工单",
    openapi_extra=AUTHENTICATED,
)
def ticket(request: HttpRequest, ticket_id: int = Path(..., ge=1, le=s.MAX_ID)) -> dict[str, Any]:
    return _ticket(ticket_sel.ticket_for(_user(request), ticket_id))


@router.post(
    "/tickets/{ticket_id}/reply",
    response={200: TicketOut, **s.WRITE},
    summary="答复工单（该区域的县、乡镇、村业务人员）",
    openapi_extra=AUTHENTICATED,
)
def ticket_reply(
    request: HttpRequest, body: ReplyIn, ticket_id: int = Path(..., ge=1, le=s.MAX_ID)
) -> dict[str, Any]:
    user = _user(request)
    do_reply_ticket(ticket_id, body.reply, expected_version=body.version, actor=user)
    return _ticket(ticket_sel.ticket_for(user, ticket_id))
