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
only. Unmasked output always names a person who holds the permission.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from jingzhun.access.models import REGION_ROLES
from jingzhun.access.scoping import check_region_in_scope, scope_households
from jingzhun.audit.actions import record, record_now
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household, Member
from jingzhun.registry.selectors import HouseholdFilters, apply_filters, household_for

from .card import build_card, write_card_pdf, write_card_xlsx
from .facts import write_facts
from .models import ExportJob
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


def _check(kind: str, actor: Any, *, unmasked: bool, details: dict[str, Any]) -> None:
    """Refuse (audited) an actor without an export role, or unmasked output without permission."""
    reason = ""
    if actor is not None and (
        not getattr(actor, "is_active", False) or getattr(actor, "role", "") not in EXPORT_ROLES
    ):
        reason = "您的角色无权导出建档立卡数据。"
    elif unmasked and actor is None:
        reason = "导出未脱敏数据必须以有权限的账号进行（命令行请用 --user 指定账号）。"
    elif unmasked and not getattr(actor, "may_export_unmasked", False):
        reason = "您没有导出未脱敏数据的权限，请联系安全管理员授权。"
    if reason:
        record_now(
            f"exports.{kind}.refuse",
            actor=actor,
            object_type="export",
            object_id=kind,
            outcome="refused",
            reason=reason,
            diff={**details, "masked": not unmasked},
        )
        raise Forbidden(reason)


def _record(kind: str, actor: Any, summary: ExportSummary, details: dict[str, Any]) -> None:
    with transaction.atomic():
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


def export_households(actor: Any, filters: HouseholdFilters) -> QuerySet[Household]:
    """The households an export may read: the actor's scope (everything for the system)."""
    qs = (
        Household.objects.all()
        if actor is None
        else scope_households(actor, Household.objects.all())
    )
    return apply_filters(qs, filters)


def do_export_roster(
    filters: HouseholdFilters,
    out: IO[bytes],
    *,
    actor: Any,
    unmasked: bool = False,
    progress: Callable[[int], None] | None = None,
    fmt: str = "xlsx",
) -> ExportSummary:
    """The roster (花名册) of the filtered households as .xlsx or CSV, one row per member."""
    if fmt not in ROSTER_FORMATS:
        raise DomainError(f"花名册只能导出为 {'、'.join(ROSTER_FORMATS)}。", field="format")
    details: dict[str, Any] = {"filter": filters.described()}
    _check("roster", actor, unmasked=unmasked, details=details)
    writer = write_roster if fmt == "xlsx" else write_roster_csv
    counts = writer(
        export_households(actor, filters),
        out,
        masked=not unmasked,
        watermark=watermark(actor, masked=not unmasked),
        today=timezone.localdate(),
        progress=progress,
    )
    summary = ExportSummary("roster", fmt, counts.households, counts.rows, not unmasked)
    _record("roster", actor, summary, details)
    return summary


def do_queue_export_roster(
    filters: HouseholdFilters, *, actor: Any, unmasked: bool = False, fmt: str = "xlsx"
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
    _check("roster", actor, unmasked=unmasked, details=details)
    if actor is None:
        raise Forbidden("后台导出任务须以账号发起。")
    stored = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(filters).items()}
    with transaction.atomic():  # after the check: a refusal's audit event is its own
        job = ExportJob.objects.create(
            kind="roster", format=fmt, filters=stored, unmasked=unmasked, user=actor
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
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Household facts (domain.md 2.5) of the filtered households for one year, as JSON."""
    details: dict[str, Any] = {"filter": filters.described(), "year": year}
    _check("facts", actor, unmasked=unmasked, details=details)
    households, persons = write_facts(
        export_households(actor, filters), year, out, masked=not unmasked, progress=progress
    )
    summary = ExportSummary("facts", "json", households, persons, not unmasked)
    _record("facts", actor, summary, details)
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
) -> ExportSummary:
    """The household card (明白卡) of one household as PDF or .xlsx."""
    if fmt not in CARD_FORMATS:
        raise DomainError(f"明白卡只能导出为 {'、'.join(CARD_FORMATS)}。", field="format")
    details: dict[str, Any] = {"object_type": "household", "object_id": household_id}
    _check("card", actor, unmasked=unmasked, details={"household": household_id})
    household = _household(actor, household_id)
    card = build_card(household, masked=not unmasked, today=timezone.localdate())
    mark = watermark(actor, masked=not unmasked)
    if fmt == "pdf":
        write_card_pdf(card, out, watermark=mark)
    else:
        write_card_xlsx(card, out, watermark=mark)
    summary = ExportSummary("card", fmt, 1, card.members, not unmasked)
    _record("card", actor, summary, {**details, "household_code": household.household_code})
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
