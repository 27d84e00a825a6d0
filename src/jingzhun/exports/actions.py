"""Exports as actions: who may export what, and one audit event for every export (ADR 0013).

Each `do_export_…(…, out, *, actor)` checks the actor's role (and, for unmasked output, the
`may_export_unmasked` permission), reads through the scoped selectors, writes the file into `out`
and then records `exports.<kind>.export` with the filter, the row count and masked/unmasked. A
refused export records `exports.<kind>.refuse` (outcome "refused") and raises `Forbidden`.

The file is written outside a transaction (a county roster can take a while, and on SQLite an
open write transaction would hold every other writer back); the audit event is recorded in its own
short transaction once the file is complete. Callers hand the file over only after the action
returns, so no file leaves without its audit event.

`actor=None` is the operator of the server (the CLI without --user): the whole registry, masked
only. Unmasked output always names a person who holds the permission, and needs a second person
(PII-4, ADR 0045): the exporter asks with a reason (`do_request_unmasked_export`), another holder
of the permission with scope over the export's region approves it (`do_approve_unmasked_export`)
or refuses it, and the export names the approval (`approval=`): valid once, for
`UNMASKED_EXPORT_APPROVAL_HOURS`, for its kind and its region or household only.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from jingzhun.access.models import REGION_ROLES, UNMASKED_EXPORT_ROLES
from jingzhun.access.scoping import (
    check_household_in_scope,
    check_region_in_scope,
    granted_codes,
    scope_households,
)
from jingzhun.audit.actions import record, record_now
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household, Member
from jingzhun.registry.selectors import HouseholdFilters, apply_filters, household_for

from .card import build_card, write_card_pdf, write_card_xlsx
from .facts import write_facts
from .models import UNMASKED_KINDS, ExportJob, UnmaskedExportRequest
from .notice import KINDS, MIN_DAYS, NoticeSpec, write_notice_pdf
from .roster import write_roster, write_roster_csv

EXPORT_ROLES: Final = REGION_ROLES | {"helper"}
CARD_FORMATS: Final = ("pdf", "xlsx")
ROSTER_FORMATS: Final = ("xlsx", "csv")
MAX_NOTICE_HOUSEHOLDS: Final = 500


@dataclass(frozen=True)
class ExportSummary:
    kind: str  # roster, card, notice, facts
    format: str
    households: int
    rows: int
    masked: bool


def _who(actor: Any) -> str:
    if actor is None:
        return "系统"
    name = getattr(actor, "display_name", "") or ""
    return f"{actor.username}（{name}）" if name else actor.username


def watermark(actor: Any, *, masked: bool, at: datetime.datetime | None = None) -> str:
    """The line every exported file carries: who, when, masked or not (PII-4)."""
    when = timezone.localtime(at or timezone.now())
    state = "已脱敏" if masked else "未脱敏，含敏感个人信息，严禁外传"
    return f"导出人：{_who(actor)}　导出时间：{when:%Y-%m-%d %H:%M}　{state}"


def _check(
    kind: str,
    actor: Any,
    *,
    unmasked: bool,
    details: dict[str, Any],
    approval: int | None = None,
    household_id: int | None = None,
) -> UnmaskedExportRequest | None:
    """Refuse (audited) an actor without an export role, or unmasked output without permission
    and a valid approval of its kind (for a card, of its household). Returns the approval."""
    reason = ""
    request: UnmaskedExportRequest | None = None
    if actor is not None and (
        not getattr(actor, "is_active", False) or getattr(actor, "role", "") not in EXPORT_ROLES
    ):
        reason = "您的角色无权导出建档立卡数据。"
    elif unmasked and actor is None:
        reason = "导出未脱敏数据必须以有权限的账号进行（命令行请用 --user 指定账号）。"
    elif unmasked and not getattr(actor, "may_export_unmasked", False):
        reason = "您没有导出未脱敏数据的权限，请联系安全管理员授权。"
    elif unmasked:
        request, reason = _approval_for(kind, actor, approval, household_id)
    if reason:
        record_now(
            f"exports.{kind}.refuse",
            actor=actor,
            object_type="export",
            object_id=kind,
            outcome="refused",
            reason=reason,
            diff={**details, "masked": not unmasked, "approval": approval},
        )
        raise Forbidden(reason)
    return request


def _approval_for(
    kind: str, actor: Any, approval: int | None, household_id: int | None
) -> tuple[UnmaskedExportRequest | None, str]:
    """The actor's approved, unexpired, unused request for this export, or why there is none."""
    if approval is None:
        return (
            None,
            "导出未脱敏数据需要经另一名有权限的人员批准的申请，请先提交申请并注明审批单号。",
        )
    request = UnmaskedExportRequest.objects.filter(pk=approval, requester=actor).first()
    if request is None:
        return None, f"未找到您的未脱敏导出申请（审批单号 {approval}）。"
    state = request.state_at()
    if state != "approved":
        label = "已过期" if state == "expired" else request.state_label
        return None, f"审批单号 {approval} 的申请{label}，不能用于导出。"
    if request.kind != kind:
        return None, f"审批单号 {approval} 批准的是{request.kind_label}，不是本次导出的内容。"
    if kind == "card" and request.household_id != household_id:
        return None, f"审批单号 {approval} 批准的不是这一户的明白卡。"
    return request, ""


def _use_approval(kind: str, actor: Any, request: UnmaskedExportRequest) -> None:
    """Mark the approval used, inside the export's audit transaction (an approval is used once)."""
    now = timezone.now()
    used = UnmaskedExportRequest.objects.filter(
        pk=request.pk, state="approved", expires_at__gt=now
    ).update(state="used", used_at=now)
    if not used:
        raise Forbidden(f"审批单号 {request.pk} 的申请已被使用或已过期，不能用于导出。")
    record(
        "exports.unmasked_request.use",
        actor=actor,
        object_type="unmasked_export_request",
        object_id=request.pk,
        diff={"kind": kind, "state": ["approved", "used"]},
    )


def _record(
    kind: str,
    actor: Any,
    summary: ExportSummary,
    details: dict[str, Any],
    approval: UnmaskedExportRequest | None = None,
) -> None:
    try:
        with transaction.atomic():
            if approval is not None:
                _use_approval(kind, actor, approval)
                details = {**details, "approval": approval.pk}
            record(
                f"exports.{kind}.export",
                actor=actor,
                object_type=str(details.pop("object_type", "export")),
                object_id=details.pop("object_id", kind),
                diff={
                    **details,
                    "format": summary.format,
                    "households": summary.households,
                    "rows": summary.rows,
                    "masked": summary.masked,
                },
            )
    except Forbidden as exc:  # the approval was used meanwhile by a concurrent export
        record_now(
            f"exports.{kind}.refuse",
            actor=actor,
            object_type="export",
            object_id=kind,
            outcome="refused",
            reason=exc.message,
            diff={"masked": False, "approval": approval.pk if approval else None},
        )
        raise


def export_households(actor: Any, filters: HouseholdFilters) -> QuerySet[Household]:
    """The households an export may read: the actor's scope (everything for the system)."""
    qs = (
        Household.objects.all()
        if actor is None
        else scope_households(actor, Household.objects.all())
    )
    return apply_filters(qs, filters)


def _within(qs: QuerySet[Household], approval: UnmaskedExportRequest | None) -> QuerySet[Household]:
    """An unmasked export reads only the region its approval names."""
    if approval is None or approval.region_id is None:
        return qs
    code = str(approval.region_id)
    column = {"county": "county_code", "township": "township_code", "village": "village_id"}
    level = codes.level_of(code)
    if level in column:
        return qs.filter(**{column[level]: code})
    return qs.filter(village__code__startswith=codes.prefix(code))


def do_export_roster(
    filters: HouseholdFilters,
    out: IO[bytes],
    *,
    actor: Any,
    unmasked: bool = False,
    approval: int | None = None,
    progress: Callable[[int], None] | None = None,
    fmt: str = "xlsx",
) -> ExportSummary:
    """The roster (花名册) of the filtered households as .xlsx or CSV, one row per member."""
    if fmt not in ROSTER_FORMATS:
        raise DomainError(f"花名册只能导出为 {'、'.join(ROSTER_FORMATS)}。", field="format")
    details: dict[str, Any] = {"filter": filters.described()}
    request = _check("roster", actor, unmasked=unmasked, details=details, approval=approval)
    writer = write_roster if fmt == "xlsx" else write_roster_csv
    counts = writer(
        _within(export_households(actor, filters), request),
        out,
        masked=not unmasked,
        watermark=watermark(actor, masked=not unmasked),
        today=timezone.localdate(),
        progress=progress,
    )
    summary = ExportSummary("roster", fmt, counts.households, counts.rows, not unmasked)
    _record("roster", actor, summary, details, request)
    return summary


def do_queue_export_roster(
    filters: HouseholdFilters,
    *,
    actor: Any,
    unmasked: bool = False,
    fmt: str = "xlsx",
    approval: int | None = None,
) -> ExportJob:
    """Queue a roster export for `jingzhun worker` (a roster too large for one request). The
    permission is checked now (a refusal is audited) and again when the worker writes the file,
    through `do_export_roster`, which records the export itself."""
    from dataclasses import asdict

    from jingzhun.core.jobs import enqueue_after_commit

    from .jobs import run_export_job

    if fmt not in ROSTER_FORMATS:
        raise DomainError(f"花名册只能导出为 {'、'.join(ROSTER_FORMATS)}。", field="format")
    details: dict[str, Any] = {"filter": filters.described()}
    _check("roster", actor, unmasked=unmasked, details=details, approval=approval)
    if actor is None:
        raise Forbidden("后台导出任务须以账号发起。")
    stored = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(filters).items()}
    with transaction.atomic():  # after the check: a refusal's audit event is its own
        job = ExportJob.objects.create(
            kind="roster",
            format=fmt,
            filters=stored,
            unmasked=unmasked,
            approval=approval if unmasked else None,
            user=actor,
        )
        record(
            "exports.job.queue",
            actor=actor,
            object_type="export_job",
            object_id=job.pk,
            diff={**details, "kind": "roster", "format": fmt, "masked": not unmasked},
        )
        enqueue_after_commit(run_export_job, job.pk)
    return job


def do_export_facts(
    filters: HouseholdFilters,
    year: int,
    out: IO[bytes],
    *,
    actor: Any,
    unmasked: bool = False,
    approval: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Household facts (domain.md 2.5) of the filtered households for one year, as JSON."""
    details: dict[str, Any] = {"filter": filters.described(), "year": year}
    request = _check("facts", actor, unmasked=unmasked, details=details, approval=approval)
    households, persons = write_facts(
        _within(export_households(actor, filters), request),
        year,
        out,
        masked=not unmasked,
        progress=progress,
    )
    summary = ExportSummary("facts", "json", households, persons, not unmasked)
    _record("facts", actor, summary, details, request)
    return summary


def _household(actor: Any, household_id: int) -> Household:
    if actor is None:
        household = Household.objects.select_related("village").filter(pk=household_id).first()
        if household is None:
            raise OutOfScope("未找到该户。")
        return household
    return household_for(actor, household_id)


def do_export_card(
    household_id: int,
    fmt: str,
    out: IO[bytes],
    *,
    actor: Any,
    unmasked: bool = False,
    approval: int | None = None,
) -> ExportSummary:
    """The household card (明白卡) of one household as PDF or .xlsx."""
    if fmt not in CARD_FORMATS:
        raise DomainError(f"明白卡只能导出为 {'、'.join(CARD_FORMATS)}。", field="format")
    details: dict[str, Any] = {"object_type": "household", "object_id": household_id}
    request = _check(
        "card",
        actor,
        unmasked=unmasked,
        details={"household": household_id},
        approval=approval,
        household_id=household_id,
    )
    household = _household(actor, household_id)
    card = build_card(household, masked=not unmasked, today=timezone.localdate())
    mark = watermark(actor, masked=not unmasked)
    if fmt == "pdf":
        write_card_pdf(card, out, watermark=mark)
    else:
        write_card_xlsx(card, out, watermark=mark)
    summary = ExportSummary("card", fmt, 1, card.members, not unmasked)
    _record(
        "card", actor, summary, {**details, "household_code": household.household_code}, request
    )
    return summary


def notice_candidates(actor: Any, village_code: str) -> QuerySet[Household]:
    """The households of a village the actor may put on a notice (OutOfScope for a foreign village)."""
    if actor is not None and getattr(actor, "role", "") != "helper":
        check_region_in_scope(actor, village_code)
    qs = (
        Household.objects.all()
        if actor is None
        else scope_households(actor, Household.objects.all())
    )
    return (
        qs.filter(village_id=village_code)
        .select_related("village")
        .prefetch_related(Prefetch("members", queryset=Member.objects.only("id", "household_id")))
        .order_by("group_name", "household_code")
    )


def do_export_notice(
    village_code: str,
    household_ids: Sequence[int],
    spec: NoticeSpec,
    out: IO[bytes],
    *,
    actor: Any,
) -> ExportSummary:
    """The posting notice (公示) of chosen households of one village as PDF; never any ID,
    phone, bank account or health detail, so there is no unmasked variant."""
    ids = sorted({int(i) for i in household_ids})
    details: dict[str, Any] = {
        "object_type": "region",
        "object_id": village_code,
        "notice": spec.kind,
        "start": spec.start.isoformat(),
        "days": spec.days,
    }
    _check("notice", actor, unmasked=False, details={"village": village_code, "notice": spec.kind})
    if spec.kind not in KINDS:
        raise DomainError("未知的公示类型。", field="kind")
    if spec.days < MIN_DAYS or spec.days > 60:
        raise DomainError(f"公示期应为 {MIN_DAYS}–60 天。", field="days")
    if not ids:
        raise DomainError("请至少选择一户。", field="households")
    if len(ids) > MAX_NOTICE_HOUSEHOLDS:
        raise DomainError(
            f"一份公示最多 {MAX_NOTICE_HOUSEHOLDS} 户，请分批生成。", field="households"
        )
    village = (
        Region.objects.select_related("parent").filter(code=village_code, level="village").first()
    )
    if village is None:
        raise OutOfScope("未找到该村，或您无权访问。")
    households = list(notice_candidates(actor, village_code).filter(pk__in=ids))
    if len(households) != len(ids):
        raise OutOfScope("所选的户有的不在该村，或您无权访问。")
    write_notice_pdf(village, households, spec, out, watermark=watermark(actor, masked=True))
    summary = ExportSummary("notice", "pdf", len(households), len(households), True)
    _record("notice", actor, summary, {**details, "household_ids": ids})
    return summary


# --- Unmasked export requests: a second person approves (PII-4) ----------------------------------

REQUEST_EVENT = "exports.unmasked_request"
MIN_REASON = 4


def may_take_part_in_unmasked_exports(actor: Any) -> bool:
    """Holders of the unmasked-export permission (`export permit`) may request and approve."""
    return (
        actor is not None
        and getattr(actor, "is_active", False)
        and getattr(actor, "role", "") in UNMASKED_EXPORT_ROLES
        and getattr(actor, "may_export_unmasked", False)
    )


def _audited_refusal(verb: str, object_id: object, action: Callable[[], Any], actor: Any) -> Any:
    """Run the action; a refusal (no permission, out of scope) is rolled back, then recorded."""
    try:
        return action()
    except (Forbidden, OutOfScope) as exc:
        record_now(
            f"{REQUEST_EVENT}.{verb}",
            actor=actor,
            object_type="unmasked_export_request",
            object_id=object_id,
            outcome="refused",
            reason=exc.message,
        )
        raise


def do_request_unmasked_export(
    kind: str,
    reason: str,
    *,
    actor: Any,
    region_code: str = "",
    household_id: int | None = None,
) -> UnmaskedExportRequest:
    """Ask for one unmasked export of a kind, for a region (roster, facts) or a household (card)."""
    return _audited_refusal(
        "create",
        kind,
        lambda: _request(kind, reason, actor, region_code.strip(), household_id),
        actor,
    )


@transaction.atomic
def _request(
    kind: str, reason: str, actor: Any, region_code: str, household_id: int | None
) -> UnmaskedExportRequest:
    if not may_take_part_in_unmasked_exports(actor):
        raise Forbidden("您没有导出未脱敏数据的权限，请联系安全管理员授权。")
    if kind not in UNMASKED_KINDS:
        raise DomainError("请选择要导出的内容（花名册、户数据或明白卡）。", field="kind")
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise DomainError(f"请写明申请理由（至少 {MIN_REASON} 个字）。", field="reason")
    if len(reason) > 500:
        raise DomainError("申请理由最多 500 个字。", field="reason")
    region: Region | None = None
    household: Household | None = None
    if kind == "card":
        if household_id is None:
            raise DomainError("明白卡的申请须指定一户。", field="household")
        household = household_for(actor, household_id)
    else:
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            raise DomainError("请选择导出的区划范围（县、乡镇或村）。", field="region")
        check_region_in_scope(actor, region.code)
    request = UnmaskedExportRequest.objects.create(
        requester=actor, kind=kind, region=region, household=household, reason=reason
    )
    record(
        f"{REQUEST_EVENT}.create",
        actor=actor,
        object_type="unmasked_export_request",
        object_id=request.pk,
        reason=reason,
        diff={
            "kind": kind,
            "region": region.code if region else None,
            "household": household.household_code if household else None,
        },
    )
    return request


def do_approve_unmasked_export(
    request_id: int, *, actor: Any, note: str = ""
) -> UnmaskedExportRequest:
    """Approve another person's request: valid once, for UNMASKED_EXPORT_APPROVAL_HOURS."""
    return _audited_refusal(
        "approve", request_id, lambda: _decide(request_id, True, note, actor), actor
    )


def do_refuse_unmasked_export(request_id: int, *, actor: Any, note: str) -> UnmaskedExportRequest:
    """Refuse another person's request, with the reason."""
    return _audited_refusal(
        "refuse", request_id, lambda: _decide(request_id, False, note, actor), actor
    )


def check_may_decide(actor: Any, request: UnmaskedExportRequest) -> None:
    """The approver holds the permission and has scope over the request's region or household;
    never the requester (the database refuses it too)."""
    if not may_take_part_in_unmasked_exports(actor):
        raise Forbidden("只有有权导出未脱敏数据的人员可以审批未脱敏导出申请。")
    if request.household_id is not None:
        check_household_in_scope(actor, request.household)
    else:
        check_region_in_scope(actor, str(request.region_id))
    if request.requester_id == actor.pk:
        raise Forbidden("不能审批自己提交的申请，须由另一名有权限的人员审批。")


@transaction.atomic
def _decide(request_id: int, approve: bool, note: str, actor: Any) -> UnmaskedExportRequest:
    if not may_take_part_in_unmasked_exports(actor):
        raise Forbidden("只有有权导出未脱敏数据的人员可以审批未脱敏导出申请。")
    request = (
        UnmaskedExportRequest.objects.select_for_update(of=("self",))
        .select_related("household")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise OutOfScope("未找到该申请，或您无权访问。")
    check_may_decide(actor, request)
    if request.state != "requested":
        raise DomainError(f"该申请{request.state_label}，不能再审批。")
    note = note.strip()[:500]
    if not approve and not note:
        raise DomainError("驳回时请写明原因。", field="note")
    now = timezone.now()
    request.state = "approved" if approve else "refused"
    request.approver = actor
    request.decided_at = now
    request.decision_note = note
    if approve:
        hours = settings.UNMASKED_EXPORT_APPROVAL_HOURS
        request.expires_at = now + datetime.timedelta(hours=hours)
    request.save(update_fields=["state", "approver", "decided_at", "decision_note", "expires_at"])
    record(
        f"{REQUEST_EVENT}.{'approve' if approve else 'refuse'}",
        actor=actor,
        object_type="unmasked_export_request",
        object_id=request.pk,
        reason=note,
        diff={
            "requester": request.requester.username,
            "kind": request.kind,
            "state": ["requested", request.state],
            "expires_at": request.expires_at.isoformat() if request.expires_at else None,
        },
    )
    return request


def requests_to_decide(actor: Any) -> QuerySet[UnmaskedExportRequest]:
    """Pending requests of others that the actor may decide (their region or household in scope)."""
    if not may_take_part_in_unmasked_exports(actor):
        return UnmaskedExportRequest.objects.none()
    qs = UnmaskedExportRequest.objects.filter(state="requested").exclude(requester=actor)
    scope = Q(pk__in=[])
    for code in granted_codes(actor):
        scope |= Q(region__code__startswith=codes.prefix(code))
    scope |= Q(household__in=scope_households(actor, Household.objects.all()))
    return qs.filter(scope).select_related("requester", "region", "household").order_by("id")


def own_requests(actor: Any, *, usable: bool = False) -> QuerySet[UnmaskedExportRequest]:
    """The actor's own requests, newest first; `usable`: approved, unexpired, unused."""
    qs = UnmaskedExportRequest.objects.filter(requester=actor).select_related(
        "approver", "region", "household"
    )
    if usable:
        qs = qs.filter(state="approved", expires_at__gt=timezone.now())
    return qs.order_by("-id")
