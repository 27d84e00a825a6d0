"""The other two discovery routes of monitoring (domain.md 3.6; issue 22 item 4; ADR
self-report-and-hotline): a household's own report on the public page (农户自主申报, no login) and
a clerk's entry of a 12317 hotline call. Each is a `Clue` in a village's queue that opens a
monitoring identification case (route self_report / hotline, the 15-day clock from the day of
the report), joins the household's open one, or waits for the village to check it.

- The ID number is never stored: only the registry's blind index (to find the resident) and a
  masked form. A number nobody in the registry has still makes a clue for the village the
  caller named (an ordinary household may be missing from the registry).
- A case opens only when the ID number is a resident's and the name written agrees with that
  member's: a stranger's number cannot open a case on another family by itself; it waits in the
  village's queue (`unconfirmed`).
- The public page answers every accepted report the same way, whatever was found (no oracle of
  who is registered); the rate limit per client address and the captcha are the web page's
  (`check_rate`, `record_attempt` here, web.captcha).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.scoping import check_region_in_scope, household_filter
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry import idcard
from jingzhun.registry.contact import phone_problem
from jingzhun.registry.models import Household, Member, id_index
from jingzhun.workflows.actions import CaseDetails, do_open_case, open_self_reported_case
from jingzhun.workflows.models import Case

from .models import CLUE_STATUS, OPEN_CLUE_STATUS, Clue, ReportAttempt

# Who enters hotline calls (the county's or a township's 12317 desk) and who works a queue.
HOTLINE_ROLES: Final = frozenset({"county", "township"})
CLUE_WORKERS: Final = frozenset({"county", "township", "village"})
CLUE_READERS: Final = frozenset({"county", "township", "village", "auditor"})
DIFFICULTY_MAX: Final = 1000


class RateLimited(DomainError):
    """Too many submissions from one client address (HTTP 429)."""


@dataclass(frozen=True)
class Report:
    """What the household (or the clerk, from the call) states."""

    name: str
    id_number: str
    phone: str
    village: str  # 12-digit village code
    difficulty: str
    call_ref: str = ""  # hotline: the ticket number of the 12317 system


@dataclass(frozen=True)
class Cleaned:
    name: str
    number: str
    phone: str
    village: Region
    difficulty: str


def _clean(report: Report) -> Cleaned:
    """Check what was written; a refusal names the field and the reason (nothing is written)."""
    name = report.name.strip()
    if not 2 <= len(name) <= 50:
        raise DomainError("请填写姓名（2–50 个字）。", field="name")
    checked = idcard.check(report.id_number.strip())
    if not checked.valid or not checked.normalized:
        reason = (checked.error or "请核对后重新填写").rstrip("。")
        raise DomainError(f"身份证号码有误：{reason}。", field="id_number")
    phone = "".join(report.phone.split())
    problem = phone_problem(phone) if phone else "请填写联系电话，以便村里联系您。"
    if problem:
        raise DomainError(problem, field="phone")
    code = report.village.strip()
    village = Region.objects.filter(pk=code, level="village").first() if code.isdigit() else None
    if village is None:
        raise DomainError("请选择所在的村。", field="village")
    difficulty = report.difficulty.strip()
    if len(difficulty) < 4:
        raise DomainError("请写明遇到的困难（至少 4 个字）。", field="difficulty")
    if len(difficulty) > DIFFICULTY_MAX:
        raise DomainError(f"困难情况请写在 {DIFFICULTY_MAX} 字以内。", field="difficulty")
    return Cleaned(name, checked.normalized, phone, village, difficulty)


def _resident(number: str) -> Member | None:
    return (
        Member.objects.filter(id_number_index=id_index(number), household__deleted_at=None)
        .select_related("household__village")
        .first()
    )


def _place(clue: Clue, village: Region) -> None:
    clue.village = village
    clue.township_code = codes.township_of(village.code)
    clue.county_code = codes.county_of(village.code)


def _outcome(member: Member | None, name: str) -> tuple[str, Household | None, Case | None]:
    """Where a report goes: (status, household, existing open case)."""
    if member is None:
        return "unregistered", None, None
    household = member.household
    if member.name.strip() != name:
        return "unconfirmed", household, None
    open_case = Case.objects.filter(
        household=household, kind="monitoring", closed_on__isnull=True
    ).first()
    if open_case is not None:
        return "joined", household, open_case
    if household.monitoring_category and household.risk_status != "eliminated":
        return "already_monitored", household, None
    if household.poverty_status == "closed":
        return "unregistered", None, None
    return "case_opened", household, None


def _details(route: str, difficulty: str, today: datetime.date) -> CaseDetails:
    label = "农户自主申报" if route == "self_report" else "12317 热线来电"
    return CaseDetails(
        opened_on=today,
        route=route,
        monitoring_category="sudden_hardship",
        risk_types=("other",),
        summary=f"{label}：{difficulty}"[:500],
    )


def _file(route: str, report: Report, *, clerk: Any | None) -> Clue:
    cleaned = _clean(report)
    today = timezone.localdate()
    member = _resident(cleaned.number)
    status, household, case = _outcome(member, cleaned.name)
    clue = Clue(
        route=route,
        name=cleaned.name,
        id_index=id_index(cleaned.number),
        id_masked=idcard.mask(cleaned.number),
        phone=cleaned.phone,
        difficulty=cleaned.difficulty,
        household=household,
        case=case,
        status=status,
        received_on=today,
        received_by=clerk,
        call_ref=report.call_ref.strip()[:40],
    )
    # the household's own village when it is a resident (the right queue), else the one named
    _place(clue, household.village if household is not None else cleaned.village)
    if clerk is not None:
        check_region_in_scope(clerk, clue.village_id)
    if status == "case_opened" and household is not None:
        details = _details(route, cleaned.difficulty, today)
        try:
            if clerk is None:
                clue.case = open_self_reported_case(household.pk, details)
            else:
                clue.case = do_open_case(household.pk, "monitoring", details, actor=clerk)
        except DomainError as exc:
            if clerk is not None and not isinstance(exc.__cause__, IntegrityError):
                raise
            # a case opened in between (or a refusal the public page must not show: no oracle)
            clue.case = Case.objects.filter(
                household=household, kind="monitoring", closed_on__isnull=True
            ).first()
            clue.status = "joined" if clue.case is not None else "unconfirmed"
            clue.resolution = "" if clue.case is not None else f"未能自动发起：{exc.message}"[:500]
    clue.save()
    return clue


def _client_key(address: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"self-report|{address}".encode(), hashlib.sha256
    ).hexdigest()


def check_rate(address: str, *, now: datetime.datetime | None = None) -> None:
    """Refuse (RateLimited) when the address sent its hourly or daily number of reports."""
    limits = settings.SELF_REPORT_LIMITS
    moment = now or timezone.now()
    key = _client_key(address)
    sent = ReportAttempt.objects.filter(client_key=key)
    if sent.filter(at__gte=moment - datetime.timedelta(hours=1)).count() >= limits["per_hour"]:
        raise RateLimited("提交过于频繁，请一小时后再试，或拨打 12317 热线。")
    if sent.filter(at__gte=moment - datetime.timedelta(days=1)).count() >= limits["per_day"]:
        raise RateLimited("今天从这里提交的申报已达上限，请明天再试，或拨打 12317 热线。")


@transaction.atomic
def record_attempt(address: str, *, accepted: bool) -> None:
    """Count one submission of the page (accepted or refused) against its address; attempts
    older than two days (past every window) are dropped on the way."""
    now = timezone.now()
    ReportAttempt.objects.filter(at__lt=now - datetime.timedelta(days=2)).delete()
    ReportAttempt.objects.create(client_key=_client_key(address), at=now, accepted=accepted)


@transaction.atomic
def do_submit_self_report(report: Report, *, address: str) -> Clue:
    """A household's own report from the public page (no account). The caller has checked the
    captcha; the rate limit is checked here. Audited as `feeds.clue.self_report` with the
    masked number only."""
    check_rate(address)
    clue = _file("self_report", report, clerk=None)
    record(
        "feeds.clue.self_report",
        actor=None,
        object_type="feed_clue",
        object_id=clue.pk,
        diff={
            "village": clue.village_id,
            "id_number": clue.id_masked,
            "status": clue.status,
            "case": clue.case_id,
        },
    )
    return clue


@transaction.atomic
def do_record_hotline_call(report: Report, *, actor: Any) -> Clue:
    """A 12317 hotline call entered by the county's or a township's clerk: the clerk submits the
    monitoring identification case (route hotline) when one opens."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden("请先登录。")
    if actor.role not in HOTLINE_ROLES:
        raise Forbidden("只有县、乡镇业务人员可以登记 12317 热线来电。")
    clue = _file("hotline", report, clerk=actor)
    record(
        "feeds.clue.hotline",
        actor=actor,
        object_type="feed_clue",
        object_id=clue.pk,
        diff={
            "village": clue.village_id,
            "id_number": clue.id_masked,
            "status": clue.status,
            "case": clue.case_id,
            "call_ref": clue.call_ref,
        },
    )
    return clue


@transaction.atomic
def do_close_clue(clue_id: int, expected_version: int, note: str, *, actor: Any) -> Clue:
    """The village (or township, county) closes a clue that opened no case after checking it:
    what was found and done (visited, registered and opened a case, not in difficulty …)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden("请先登录。")
    if actor.role not in CLUE_WORKERS:
        raise Forbidden("您的角色不能办结申报线索。")
    clue = Clue.objects.select_for_update().filter(household_filter(actor), pk=clue_id).first()
    if clue is None:
        raise OutOfScope("未找到该线索，或您无权访问。")
    if clue.version != expected_version:
        raise StaleVersion("该线索已被他人处理，请刷新页面后查看。")
    if clue.status not in OPEN_CLUE_STATUS:
        raise DomainError("该线索已发起或并入监测识别案件，或已办结，在案件中继续办理。")
    text = note.strip()
    if len(text) < 4:
        raise DomainError("请写明核实情况和处理结果（至少 4 个字）。", field="note")
    Clue.objects.filter(pk=clue.pk).update(
        status="closed",
        resolution=text[:500],
        closed_by=actor,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    record(
        "feeds.clue.close",
        actor=actor,
        object_type="feed_clue",
        object_id=clue.pk,
        reason=text[:500],
        diff={"status": [clue.status, "closed"]},
    )
    clue.refresh_from_db()
    return clue


def clues_for(user: Any) -> Any:
    """The clues the user may see: region staff those of their villages (a village cadre only
    the own village's queue), auditors read; nobody else."""
    if getattr(user, "role", "") not in CLUE_READERS:
        return Clue.objects.none()
    return Clue.objects.filter(household_filter(user)).select_related(
        "village", "household", "case", "received_by"
    )


def clue_for(user: Any, clue_id: int) -> Clue | None:
    return clues_for(user).filter(pk=clue_id).first()


__all__ = [
    "CLUE_STATUS",
    "RateLimited",
    "Report",
    "check_rate",
    "clue_for",
    "clues_for",
    "do_close_clue",
    "do_record_hotline_call",
    "do_submit_self_report",
    "record_attempt",
]
