"""Writes of requests and grievances (issue 24 item 3).

Each action: one transaction, the actor's role and region scope checked, the write, one audit
event. Who does what:
- county, township and village staff record a ticket (有事找书记, 12317, 信访, self-report) in
  their region, or turn a clue of the self-report page or the hotline (feeds, ADR 0069) into
  one; its deadline is the policy table ticket_rules' days for its category (and channel), in
  working days (信访: calendar days by the regulation); a repeated ticket (the same household and
  category within the table's window) goes one level up on arrival;
- county and township staff route it to a unit and an account of the ticket's region;
- staff of the ticket's region reply; the person who recorded it (受理登记人) calls the requester
  back and records the satisfaction; an unsatisfied requester sends it back to open;
- the supervising level closes it (办结) once replied and the satisfaction recorded;
- `do_escalate_tickets` (the `tickets escalate` command, or the county's button) moves every
  ticket not replied to by its deadline one level up with a new deadline (idempotent);
- a ticket about a household can open a monitoring case (workflows.do_open_case), and any
  ticket a problem of an inspection (inspection.do_record_problem).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.scoping import can_see_region, check_household_in_scope
from jingzhun.audit.actions import record
from jingzhun.core.checks import versioned_update
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.feeds.models import Clue
from jingzhun.feeds.reports import clue_for
from jingzhun.inspection.actions import do_record_problem, initial_supervisor
from jingzhun.inspection.models import Problem
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.masking import mask_phone
from jingzhun.registry.models import Household
from jingzhun.workflows.actions import CaseDetails, do_open_case
from jingzhun.workflows.models import Case

from .choices import (
    CATEGORIES,
    CHANNELS,
    CLOSED,
    CLUE_CHANNELS,
    OPEN,
    REPLIED,
    RULES_TABLE,
    SATISFACTION,
)
from .models import Ticket, TicketEscalation
from .rules import Rule, date_after, rule
from .selectors import overdue_q

STALE = "该工单已被他人办理或修改，请刷新页面后重试。"

RECORDERS = frozenset({"county", "township", "village"})
ROUTERS = frozenset({"county", "township"})
REPLIERS = frozenset({"county", "township", "village"})
CLOSERS = frozenset({"county", "township"})
LABEL = "诉求办理规则表"


def _active(actor: Any, roles: frozenset[str], what: str) -> None:
    if actor is None:
        return
    if not getattr(actor, "is_active", False) or getattr(actor, "role", "") not in roles:
        raise Forbidden(f"您的角色无权{what}。")


def _text(value: Any, label: str, name: str, limit: int, *, required: bool = True) -> str:
    found = str(value or "").strip()
    if required and not found:
        raise DomainError(f"请填写{label}。", field=name)
    if len(found) > limit:
        raise DomainError(f"{label}不能超过 {limit} 字。", field=name)
    return found


def ticket_rule(name: str, on: datetime.date, county: str = "", **keys: str) -> Rule:
    return rule(RULES_TABLE, name, on, county, label=LABEL, **keys)


def supervisor_of(region: Region) -> str:
    return region.code if region.level == "county" else initial_supervisor(region.code)


@dataclass(frozen=True)
class Intake:
    """What the recorder states about a request."""

    channel: str
    category: str
    requester_name: str
    content: str
    received_on: datetime.date
    region_code: str = ""
    household_id: int | None = None
    requester_phone: str = ""
    reference: str = ""


def _create(intake: Intake, actor: Any, *, clue: Clue | None = None) -> Ticket:
    if intake.channel not in CHANNELS:
        raise DomainError(f"渠道“{intake.channel}”不是有效代码。", field="channel")
    if intake.category not in CATEGORIES:
        raise DomainError(f"诉求类别“{intake.category}”不是有效代码。", field="category")
    today = timezone.localdate()
    if intake.received_on > today:
        raise DomainError("受理日期不能晚于今天。", field="received_on")
    if intake.received_on < today - datetime.timedelta(days=366):
        raise DomainError("受理日期应在过去一年内。", field="received_on")
    household = None
    if intake.household_id is not None:
        household = Household.objects.filter(pk=intake.household_id).first()
        if household is None:
            raise OutOfScope("未找到该户，或您无权访问。")
        if actor is not None:
            check_household_in_scope(actor, household)
        region = Region.objects.get(code=household.village_id)
    else:
        found_region = Region.objects.filter(code=str(intake.region_code or "")).first()
        if found_region is None or (
            actor is not None and not can_see_region(actor, found_region.code)
        ):
            raise OutOfScope("未找到该区划，或您无权访问。")
        region = found_region
    phone = _text(intake.requester_phone, "联系电话", "requester_phone", 20, required=False)
    if phone and not phone.replace("-", "").isdigit():
        raise DomainError("联系电话只能包含数字和“-”。", field="requester_phone")
    found = rule(
        RULES_TABLE, "reply_working_days", intake.received_on, region.code, label=LABEL,
        days_name="reply_days", category=intake.category, channel=intake.channel,
    )  # fmt: skip
    deadline = date_after(intake.received_on, found, region.code)
    repeat_of = None
    if household is not None:
        window = ticket_rule("repeat_window_days", intake.received_on, region.code)
        repeat_of = (
            Ticket.objects.filter(
                household=household,
                category=intake.category,
                received_on__gte=intake.received_on - datetime.timedelta(days=window.value),
                received_on__lte=intake.received_on,
            )
            .order_by("-received_on", "-pk")
            .first()
        )
    ticket = Ticket.objects.create(
        county_code=region.code[:6] + "000000",
        region=region,
        channel=intake.channel,
        category=intake.category,
        household=household,
        clue=clue,
        requester_name=_text(intake.requester_name, "诉求人", "requester_name", 50),
        requester_phone=phone,
        content=_text(intake.content, "诉求内容", "content", 2000),
        reference=_text(intake.reference, "原始编号", "reference", 40, required=False),
        received_on=intake.received_on,
        received_by=actor,
        deadline=deadline,
        deadline_basis=f"受理次日起 {found.cite}"[:300],
        policy_version=found.version,
        supervisor_code=supervisor_of(region),
        repeat_of=repeat_of,
    )
    record(
        "tickets.ticket.create", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"channel": [None, ticket.channel], "category": [None, ticket.category],
              "region": [None, region.code], "household": [None, household.pk if household else None],
              "requester_phone": [None, mask_phone(phone) if phone else ""],
              "deadline": [None, deadline.isoformat()], "clue": [None, clue.pk if clue else None],
              "repeat_of": [None, repeat_of.pk if repeat_of else None]},
    )  # fmt: skip
    if repeat_of is not None:
        _escalate(ticket, "repeat", intake.received_on, actor, keep_deadline=True)
    return ticket


@action
@transaction.atomic
def do_create_ticket(intake: Intake, *, actor: Any) -> Ticket:
    """Record a request in the actor's region (about a household of the scope, or a region)."""
    _active(actor, RECORDERS, "登记诉求")
    if actor is None:
        raise Forbidden("诉求须由具体的人登记。")
    return _create(intake, actor)


@action
@transaction.atomic
def do_create_ticket_from_clue(clue_id: int, category: str, *, actor: Any) -> Ticket:
    """A clue of the self-report page or the 12317 hotline (feeds, ADR 0069) becomes a ticket:
    its village, requester, phone, household and difficulty carried over; once per clue."""
    _active(actor, RECORDERS, "将线索转为诉求工单")
    if actor is None:
        raise Forbidden("诉求须由具体的人登记。")
    found = clue_for(actor, clue_id)
    if found is None:
        raise OutOfScope("未找到该线索，或您无权访问。")
    clue = Clue.objects.select_for_update().get(pk=found.pk)
    if Ticket.objects.filter(clue=clue).exists():
        raise DomainError("该线索已转为诉求工单。", field="clue")
    intake = Intake(
        channel=CLUE_CHANNELS.get(clue.route, "self_report"),
        category=category,
        requester_name=clue.name,
        content=clue.difficulty,
        received_on=clue.received_on,
        region_code=clue.village_id,
        household_id=clue.household_id,
        requester_phone=clue.phone,
        reference=clue.call_ref,
    )
    return _create(intake, actor, clue=clue)


def _locked(ticket_id: int, actor: Any, expected_version: int | None = None) -> Ticket:
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None or (actor is not None and not can_see_region(actor, ticket.region_id)):
        raise OutOfScope("未找到该工单，或您无权访问。")
    if expected_version is not None and expected_version != ticket.version:
        raise StaleVersion(STALE)
    return ticket


@action
@transaction.atomic
def do_route_ticket(
    ticket_id: int, unit: str, *, user_id: int | None = None,
    expected_version: int | None = None, actor: Any,
) -> Ticket:  # fmt: skip
    """Route an open ticket to a unit (and an account of the ticket's region)."""
    _active(actor, ROUTERS, "转办工单")
    ticket = _locked(ticket_id, actor, expected_version)
    if ticket.status != OPEN:
        raise DomainError(f"该工单当前为“{ticket.status_label}”，不能转办。", field="status")
    unit = _text(unit, "承办单位", "routed_unit", 100)
    handler = None
    if user_id is not None:
        from jingzhun.access.models import User

        handler = User.objects.filter(pk=user_id, is_active=True).first()
        if (
            handler is None
            or handler.role not in REPLIERS
            or not can_see_region(handler, ticket.region_id)
        ):
            raise DomainError("所选承办人账号不能办理该区域的工单。", field="routed_to")
    before = (ticket.routed_unit, ticket.routed_to_id)
    versioned_update(ticket, expected_version, STALE, routed_unit=unit, routed_to=handler)
    record(
        "tickets.ticket.route", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"routed_unit": [before[0], unit], "routed_to": [before[1], ticket.routed_to_id]},
    )  # fmt: skip
    return ticket


@action
@transaction.atomic
def do_reply_ticket(
    ticket_id: int, reply: str, *, expected_version: int | None = None, actor: Any
) -> Ticket:
    """Reply to an open ticket (the answer given to the requester)."""
    _active(actor, REPLIERS, "答复工单")
    if actor is None:
        raise Forbidden("答复须由具体的人完成。")
    ticket = _locked(ticket_id, actor, expected_version)
    if ticket.status != OPEN:
        raise DomainError(f"该工单当前为“{ticket.status_label}”，不能答复。", field="status")
    text = _text(reply, "答复内容", "reply", 2000)
    versioned_update(
        ticket, expected_version, STALE, status=REPLIED, reply=text,
        replied_on=timezone.localdate(), replied_by=actor, satisfaction="", satisfaction_by=None,
    )  # fmt: skip
    record(
        "tickets.ticket.reply", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"status": [OPEN, REPLIED]},
    )  # fmt: skip
    return ticket


@action
@transaction.atomic
def do_record_satisfaction(
    ticket_id: int, satisfaction: str, *, expected_version: int | None = None, actor: Any
) -> Ticket:
    """The person who recorded the ticket calls the requester back and records the answer;
    unsatisfied sends the ticket back to open (the deadline stands)."""
    _active(actor, RECORDERS, "记录回访评价")
    if actor is None:
        raise Forbidden("回访须由具体的人完成。")
    ticket = _locked(ticket_id, actor, expected_version)
    if satisfaction not in SATISFACTION:
        raise DomainError(f"评价“{satisfaction}”不是有效代码。", field="satisfaction")
    if ticket.status != REPLIED:
        raise DomainError(
            f"该工单当前为“{ticket.status_label}”：答复后才能回访评价。", field="status"
        )
    if ticket.received_by_id != actor.pk:
        raise Forbidden("诉求人的评价须由该工单的受理登记人回访记录，您不是受理登记人。")
    target = OPEN if satisfaction == "unsatisfied" else REPLIED
    versioned_update(
        ticket,
        expected_version,
        STALE,
        satisfaction=satisfaction,
        satisfaction_by=actor,
        status=target,
    )
    record(
        "tickets.ticket.satisfaction", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"satisfaction": [None, satisfaction], "status": [REPLIED, target]},
    )  # fmt: skip
    return ticket


@action
@transaction.atomic
def do_close_ticket(ticket_id: int, *, expected_version: int | None = None, actor: Any) -> Ticket:
    """办结: the supervising level closes a replied ticket whose satisfaction is recorded."""
    _active(actor, CLOSERS, "办结工单")
    if actor is None:
        raise Forbidden("办结须由具体的人完成。")
    ticket = _locked(ticket_id, actor, expected_version)
    if ticket.status == CLOSED:
        raise DomainError("该工单已办结。", field="status")
    if ticket.status != REPLIED or not ticket.reply:
        raise DomainError("该工单尚未答复，不能办结：请先答复诉求人。", field="reply")
    if not ticket.satisfaction:
        raise DomainError("尚未回访记录诉求人评价，不能办结。", field="satisfaction")
    if not can_see_region(actor, ticket.supervisor_code):
        level = codes.LEVEL_LABELS.get(codes.level_of(ticket.supervisor_code), "")
        raise Forbidden(f"该工单由{level}（{ticket.supervisor_code}）督办，须由该级办结。")
    versioned_update(
        ticket,
        expected_version,
        STALE,
        status=CLOSED,
        closed_on=timezone.localdate(),
        closed_by=actor,
    )
    record(
        "tickets.ticket.close", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"status": [REPLIED, CLOSED]},
    )  # fmt: skip
    return ticket


def _escalate(
    ticket: Ticket, reason: str, on: datetime.date, actor: Any, *, keep_deadline: bool = False
) -> bool:
    """One level up for `reason`; False when at the top or already escalated so."""
    target = codes.parent_of(ticket.supervisor_code)
    if target is None:
        return False
    if TicketEscalation.objects.filter(ticket=ticket, reason=reason, to_code=target).exists():
        return False
    if keep_deadline:
        deadline, basis = ticket.deadline, "重复诉求，受理即升级一级督办；答复期限不变"
    else:
        days = ticket_rule("escalation_working_days", on, ticket.region_id)
        deadline = date_after(on, days, ticket.region_id)
        basis = f"逾期未答复，升级一级督办；新期限 {days.cite}"
    TicketEscalation.objects.create(
        ticket=ticket, reason=reason, from_code=ticket.supervisor_code, to_code=target,
        escalated_on=on, old_deadline=ticket.deadline, new_deadline=deadline,
        basis=basis[:300], escalated_by=actor,
    )  # fmt: skip
    before = (ticket.supervisor_code, ticket.deadline.isoformat())
    versioned_update(
        ticket,
        None,
        STALE,
        supervisor_code=target,
        deadline=deadline,
        escalations=F("escalations") + 1,
    )
    record(
        "tickets.ticket.escalate", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"reason": [None, reason], "supervisor_code": [before[0], target],
              "deadline": [before[1], deadline.isoformat()]},
    )  # fmt: skip
    return True


@dataclass
class EscalationResult:
    escalated: list[int] = field(default_factory=list)
    at_top: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


@action
@transaction.atomic
def do_escalate_tickets(*, on: datetime.date | None = None, actor: Any) -> EscalationResult:
    """Every ticket not replied to by its deadline (as of `on`) goes one level up with a new
    deadline of the rule's working days after `on`. Idempotent: the new deadline lies after
    `on`, and an escalation is unique per ticket, reason and level."""
    _active(actor, frozenset({"county"}), "升级督办逾期工单")
    on = on or timezone.localdate()
    result = EscalationResult()
    for ticket in Ticket.objects.select_for_update().filter(overdue_q(on)).order_by("pk"):
        if actor is not None and not can_see_region(actor, ticket.region_id):
            continue
        try:
            done = _escalate(ticket, "overdue", on, actor)
        except DomainError as exc:
            result.refused[ticket.pk] = exc.message
            continue
        (result.escalated if done else result.at_top).append(ticket.pk)
    return result


@action
@transaction.atomic
def do_open_case_from_ticket(
    ticket_id: int, monitoring_category: str, risk_types: tuple[str, ...], *, actor: Any
) -> Case:
    """Open the monitoring identification case (workflows' own flow and openers) for the ticket's
    household, the ticket's content as the reason; a ticket opens at most one."""
    ticket = _locked(ticket_id, actor)
    if ticket.household_id is None:
        raise DomainError("该工单没有关联农户，不能发起监测识别。", field="household")
    if ticket.case_id is not None:
        raise DomainError("该工单已发起过监测识别案件。", field="case")
    case = do_open_case(
        ticket.household_id,
        "monitoring",
        CaseDetails(
            summary=f"诉求工单 {ticket.pk}（{ticket.channel_label}，{ticket.received_on}）：{ticket.content}"[
                :500
            ],
            route="hotline" if ticket.channel == "hotline" else "cadre_screening",
            monitoring_category=monitoring_category,
            risk_types=tuple(risk_types),
        ),
        actor=actor,
    )
    versioned_update(ticket, None, STALE, case=case)
    record(
        "tickets.ticket.open_case", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"case": [None, case.pk]},
    )  # fmt: skip
    return case


@action
@transaction.atomic
def do_open_problem_from_ticket(
    ticket_id: int, inspection_id: int, *, category: str, responsible_unit: str,
    responsible_person: str, actor: Any,
) -> Problem:  # fmt: skip
    """Record the ticket as a problem of an inspection (inspection's own rules and deadline),
    about its household or its routed unit; a ticket opens at most one."""
    ticket = _locked(ticket_id, actor)
    if ticket.problem_id is not None:
        raise DomainError("该工单已转为督查问题。", field="problem")
    problem = do_record_problem(
        inspection_id,
        category=category,
        description=f"诉求工单 {ticket.pk}（{ticket.channel_label}）：{ticket.content}"[:2000],
        region_code=ticket.region_id,
        household_id=ticket.household_id,
        unit=ticket.routed_unit or ("" if ticket.household_id else ticket.region.name),
        responsible_unit=responsible_unit,
        responsible_person=responsible_person,
        found_on=timezone.localdate(),
        actor=actor,
    )
    versioned_update(ticket, None, STALE, problem=problem)
    record(
        "tickets.ticket.open_problem", actor=actor, object_type="ticket", object_id=ticket.pk,
        diff={"problem": [None, problem.pk]},
    )  # fmt: skip
    return problem
