"""Writes of the project bank (issue 23 item 1): projects, their funding plan, lifecycle moves,
postings (公告公示) and benefit links (联农带农).

Every function is an action (AGENTS.md rule 1): one transaction, role and scope checked (the
project re-read under its row lock), the write, then an audit event in the same transaction. A
refusal is a `DomainError` in Chinese naming the field; nothing is written then. The ledger's
writes are in `ledger.py`.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from jingzhun.access.scoping import check_household_in_scope
from jingzhun.audit.actions import record
from jingzhun.core.checks import require_role
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry import choices as rc
from jingzhun.registry.models import Household

from . import lifecycle
from .choices import (
    BENEFIT_KINDS,
    MIN_POSTING_DAYS,
    POSTING_TYPES,
    PROJECT_KINDS,
    PROJECT_PROPOSERS,
)
from .models import (
    Account,
    BenefitLink,
    FundSource,
    Project,
    ProjectFunding,
    ProjectPosting,
    ProjectStep,
)
from .money import check_fen, yuan
from .scope import NOT_FOUND, check_project, place_in_scope

STALE = "该项目已被他人修改，请刷新后重试。"
TEXT_FIELDS = {
    "name": ("项目名称", 100),
    "task": ("建设任务", 300),
    "targets": ("绩效目标", 300),
    "benefit_mechanism": ("联农带农机制", 300),
    "implementer": ("实施单位", 100),
    "responsible": ("责任人", 50),
}
EDITABLE_STATES = frozenset({"proposed"})
FUNDING_STATES = frozenset({"proposed", "reviewed", "in_bank"})
BENEFIT_STATES = frozenset({"approved", "implementing", "accepted", "evaluated", "handed_over"})


def clean(text: Any, field: str, label: str, most: int, *, required: bool = False) -> str:
    value = re.sub(r"[\x00-\x1f\x7f]", " ", str(text or "")).strip()
    if required and not value:
        raise DomainError(f"请填写{label}。", field=field)
    if len(value) > most:
        raise DomainError(f"{label}不能超过 {most} 个字。", field=field)
    return value


def _year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2014 <= year <= 2100:
        raise DomainError("年度应为 2014 至 2100 之间的整数。", field="year")
    return year


def _dates(start: datetime.date | None, end: datetime.date | None) -> None:
    if start and end and end < start:
        raise DomainError(
            f"计划完工日期（{end.isoformat()}）不能早于开工日期（{start.isoformat()}）。",
            field="end_date",
        )


def project_locked(project_id: int, actor: Any, expected_version: int | None = None) -> Project:
    project = Project.objects.select_for_update().filter(pk=project_id).first()
    if project is None:
        raise OutOfScope(NOT_FOUND)
    if actor is not None:
        check_project(actor, project)
    if expected_version is not None and expected_version != project.version:
        raise StaleVersion(STALE)
    return project


def snapshot(p: Project) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "region": p.region_id,
        "year": p.year,
        "budget_fen": p.budget_fen,
        "state": p.state,
        **{k: getattr(p, k) for k in TEXT_FIELDS if k != "name"},
        "start_date": p.start_date.isoformat() if p.start_date else None,
        "end_date": p.end_date.isoformat() if p.end_date else None,
    }


def _save(
    project: Project, actor: Any, event: str, extra: dict[str, Any] | None = None, **changes: Any
) -> Project:
    before = snapshot(project)
    updated = Project.objects.filter(pk=project.pk, version=project.version).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise StaleVersion(STALE)
    project.refresh_from_db()
    after = snapshot(project)
    diff: dict[str, Any] = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    diff.update(extra or {})
    record(event, actor=actor, object_type="project", object_id=project.pk, diff=diff)
    return project


@action
@transaction.atomic
def do_create_project(
    region_code: str,
    name: str,
    kind: str,
    year: int,
    budget_fen: int,
    *,
    task: str = "",
    targets: str = "",
    benefit_mechanism: str = "",
    implementer: str = "",
    responsible: str = "",
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    actor: Any,
) -> Project:
    """A village, township or county proposes a project at a place of its scope (村申报)."""
    require_role(actor, PROJECT_PROPOSERS, "申报项目")
    region = Region.objects.filter(pk=str(region_code)).first()
    if region is None or region.level not in ("county", "township", "village"):
        raise DomainError(f"实施地点“{region_code}”不是本系统中的县、乡镇或村。", field="region")
    if actor is not None and not place_in_scope(actor, region.code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    if kind not in PROJECT_KINDS:
        raise DomainError(
            f"项目类型“{kind}”不在目录中，应为：{'、'.join(PROJECT_KINDS.values())}。",
            field="kind",
        )
    values = {
        k: clean(v, k, *TEXT_FIELDS[k], required=k == "name")
        for k, v in {
            "name": name,
            "task": task,
            "targets": targets,
            "benefit_mechanism": benefit_mechanism,
            "implementer": implementer,
            "responsible": responsible,
        }.items()
    }
    _dates(start_date, end_date)
    level = region.level
    project = Project.objects.create(
        region=region,
        kind=kind,
        year=_year(year),
        budget_fen=check_fen(budget_fen, field="budget", allow_zero=True),
        county_code=codes.county_of(region.code),
        township_code=codes.township_of(region.code) if level != "county" else "",
        village_code=region.code if level == "village" else "",
        start_date=start_date,
        end_date=end_date,
        proposed_by=actor if getattr(actor, "pk", None) else None,
        **values,
    )
    ProjectStep.objects.create(
        project=project,
        move="propose",
        from_state="",
        to_state=project.state,
        actor=actor if getattr(actor, "pk", None) else None,
    )
    record(
        "projects.project.propose",
        actor=actor,
        object_type="project",
        object_id=project.pk,
        diff={k: [None, v] for k, v in snapshot(project).items()},
    )
    return project


@action
@transaction.atomic
def do_update_project(
    project_id: int, changes: dict[str, Any], *, expected_version: int, actor: Any
) -> Project:
    """Change a proposal's text, budget or dates (only while it is a proposal)."""
    require_role(actor, PROJECT_PROPOSERS, "修改项目")
    project = project_locked(project_id, actor, expected_version)
    if project.state not in EDITABLE_STATES:
        raise DomainError(
            f"项目当前为“{project.state_label}”，只有申报中的项目可以修改。", field="state"
        )
    allowed = set(TEXT_FIELDS) | {"budget_fen", "start_date", "end_date"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise DomainError(f"不能修改的字段：{'、'.join(unknown)}。", field=unknown[0])
    values: dict[str, Any] = {}
    for k, v in changes.items():
        if k in TEXT_FIELDS:
            values[k] = clean(v, k, *TEXT_FIELDS[k], required=k == "name")
        elif k == "budget_fen":
            values[k] = check_fen(v, field="budget", allow_zero=True)
        else:
            values[k] = v
    _dates(values.get("start_date", project.start_date), values.get("end_date", project.end_date))
    if not values:
        raise DomainError("没有要修改的字段。", field="changes")
    return _save(project, actor, "projects.project.update", **values)


def _source_in_county(source_id: int, county_code: str) -> FundSource:
    source = FundSource.objects.filter(pk=source_id, county_code=county_code).first()
    if source is None:
        raise DomainError("资金来源不存在，或不属于该项目所在县。", field="source")
    return source


@action
@transaction.atomic
def do_set_project_funding(
    project_id: int, source_id: int, planned_fen: int, *, actor: Any
) -> Project:
    """The county sets how much of the budget one fund source is to pay (0 removes the line).
    Not below what was already allocated from that source; only before the annual plan."""
    require_role(actor, frozenset({"county"}), "编制项目资金计划（由县级编制）")
    project = project_locked(project_id, actor)
    if project.state not in FUNDING_STATES:
        raise DomainError(
            f"项目当前为“{project.state_label}”，已纳入年度计划的项目不能再调整资金计划。",
            field="state",
        )
    source = _source_in_county(source_id, project.county_code)
    planned_fen = check_fen(planned_fen, field="planned", allow_zero=True)
    allocated = allocated_from(project, source)
    if planned_fen < allocated:
        raise DomainError(f"计划金额不能少于该来源已下达的 {yuan(allocated)} 元。", field="planned")
    line = ProjectFunding.objects.select_for_update().filter(project=project, source=source).first()
    before = line.planned_fen if line else 0
    if line is None and planned_fen:
        ProjectFunding.objects.create(project=project, source=source, planned_fen=planned_fen)
    elif line is not None and planned_fen:
        ProjectFunding.objects.filter(pk=line.pk).update(
            planned_fen=planned_fen, version=F("version") + 1, updated_at=timezone.now()
        )
    elif line is not None:
        ProjectFunding.objects.filter(pk=line.pk).update(
            deleted_at=timezone.now(), deleted_reason="计划金额改为 0", version=F("version") + 1
        )
    total = planned_total(project)
    if total > project.budget_fen:
        raise DomainError(
            f"各资金来源的计划金额之和（{yuan(total)} 元）超过项目预算（{yuan(project.budget_fen)} 元）。",
            field="planned",
        )
    return _save(
        project,
        actor,
        "projects.project.funding",
        extra={"source": source.pk, "planned_fen": [before, planned_fen]},
    )


def planned_total(project: Project) -> int:
    return int(
        ProjectFunding.objects.filter(project=project).aggregate(s=Sum("planned_fen"))["s"] or 0
    )


def allocated_from(project: Project, source: FundSource) -> int:
    """Net allocations from the source to the project (allocations minus their reversals)."""
    from .ledger import net_allocated

    return net_allocated(project.pk, source.pk)


def _facts(project: Project) -> lifecycle.ProjectFacts:
    today = timezone.localdate()
    plan_ended = any(
        p.kind == "plan" and p.end < today
        for p in ProjectPosting.objects.filter(project=project).defer("pdf")
    )
    unspent = Account.objects.filter(project=project, kind="project").aggregate(
        s=Sum("balance_fen")
    )["s"]
    return lifecycle.ProjectFacts(
        state=project.state,
        proposer_id=project.proposed_by_id,
        has_targets=bool(project.targets),
        has_mechanism=bool(project.benefit_mechanism),
        budget_fen=project.budget_fen,
        planned_fen=planned_total(project),
        plan_posting_ended=plan_ended,
        result_posted=ProjectPosting.objects.filter(project=project, kind="result").exists(),
        benefit_links=BenefitLink.objects.filter(project=project).count(),
        allocated_unspent_fen=int(unspent or 0),
    )


@action
@transaction.atomic
def do_move_project(
    project_id: int, move: str, *, expected_version: int, reason: str = "", actor: Any
) -> Project:
    """Make one move of the lifecycle table (`lifecycle.MOVES`) if its guard allows it now."""
    project = project_locked(project_id, actor, expected_version)
    reason = clean(reason, "reason", "理由", 200)
    refused = lifecycle.refusal(
        move,
        _facts(project),
        actor_id=getattr(actor, "pk", None),
        actor_role=getattr(actor, "role", "county") if actor is not None else "county",
        reason=reason,
    )
    if refused is not None:
        error = {403: Forbidden, 409: StaleVersion}.get(refused.status, DomainError)
        raise error(refused.message, field=refused.field)
    m = lifecycle.move(move)
    assert m is not None
    ProjectStep.objects.create(
        project=project,
        move=move,
        from_state=project.state,
        to_state=m.target,
        reason=reason,
        actor=actor if getattr(actor, "pk", None) else None,
    )
    return _save(
        project,
        actor,
        f"projects.project.{move}",
        extra={"reason": reason} if reason else None,
        state=m.target,
    )


@action
@transaction.atomic
def do_post_project(
    project_id: int,
    kind: str,
    start: datetime.date,
    *,
    days: int = MIN_POSTING_DAYS,
    issuer: str = "",
    actor: Any,
) -> ProjectPosting:
    """Put up the plan posting (once planned, before approval) or the result posting (once
    accepted): at least 10 days; the PDF is written now and kept with its SHA-256."""
    require_role(actor, frozenset({"county", "township"}), "发布项目公告")
    project = project_locked(project_id, actor)
    if kind not in POSTING_TYPES:
        raise DomainError("公告类型应为项目计划公告或项目实施结果公告。", field="kind")
    wanted = {"plan": ("planned",), "result": ("accepted",)}[kind]
    if project.state not in wanted:
        raise DomainError(
            f"项目当前为“{project.state_label}”，不能发布{POSTING_TYPES[kind]}"
            f"（应在“{lifecycle.STATES[wanted[0]]}”时发布）。",
            field="kind",
        )
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_POSTING_DAYS <= days <= 90:
        raise DomainError(f"公示天数应为 {MIN_POSTING_DAYS} 至 90 天。", field="days")
    today = timezone.localdate()
    if not today - datetime.timedelta(days=366) <= start <= today + datetime.timedelta(days=60):
        raise DomainError("公示开始日期应在一年之内，且不晚于 60 天后。", field="start")
    issuer = clean(issuer, "issuer", "发布单位", 100) or _default_issuer(project)
    from .documents import PostingSpec, write_project_posting

    out = io.BytesIO()
    write_project_posting(project, PostingSpec(kind, start, days, issuer), out)
    data = out.getvalue()
    posting = ProjectPosting.objects.create(
        project=project,
        kind=kind,
        start=start,
        days=days,
        issuer=issuer,
        pdf=data,
        sha256=hashlib.sha256(data).hexdigest(),
        posted_by=actor if getattr(actor, "pk", None) else None,
    )
    record(
        f"projects.posting.{kind}",
        actor=actor,
        object_type="project",
        object_id=project.pk,
        diff={
            "posting": posting.pk,
            "start": start.isoformat(),
            "days": days,
            "sha256": posting.sha256,
        },
    )
    return posting


def _default_issuer(project: Project) -> str:
    code = project.township_code or project.county_code
    region = Region.objects.filter(pk=code).first()
    name = region.name if region else code
    return f"{name}人民政府"


def benefit_group(household: Household) -> str:
    if household.monitoring_category:
        return "monitored"
    if household.poverty_status in rc.REGISTERED_STATUSES:
        return "registered"
    return "ordinary"


@action
@transaction.atomic
def do_link_benefit(
    project_id: int,
    household_id: int,
    kind: str,
    year: int,
    amount_fen: int,
    *,
    note: str = "",
    actor: Any,
) -> BenefitLink:
    """Record that a household of the project's county benefits from it (联农带农): how, in
    which year, how much. Only for approved projects; one line per household, way and year."""
    require_role(actor, PROJECT_PROPOSERS, "登记联农带农受益农户")
    project = project_locked(project_id, actor)
    if project.state not in BENEFIT_STATES:
        raise DomainError(
            f"项目当前为“{project.state_label}”，批复实施后才能登记受益农户。", field="state"
        )
    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    if actor is not None:
        check_household_in_scope(actor, household)
    if household.poverty_status in rc.CLOSED_STATUSES:
        raise DomainError(
            f"户 {household.household_code} 已销户或清退，不能登记受益。", field="household"
        )
    if household.county_code != project.county_code:
        raise DomainError(
            f"户 {household.household_code} 不在项目所在县，不能登记为受益农户。", field="household"
        )
    if kind not in BENEFIT_KINDS:
        raise DomainError(
            f"带动方式“{kind}”不在目录中，应为：{'、'.join(BENEFIT_KINDS.values())}。", field="kind"
        )
    year = _year(year)
    amount_fen = check_fen(amount_fen, field="amount", allow_zero=True)
    note = clean(note, "note", "说明", 200)
    if BenefitLink.objects.filter(
        project=project, household=household, kind=kind, year=year
    ).exists():
        raise DomainError(
            f"户 {household.household_code} 在 {year} 年已登记“{BENEFIT_KINDS[kind]}”受益，"
            "请勿重复登记。",
            field="household",
        )
    link = BenefitLink.objects.create(
        project=project,
        household=household,
        kind=kind,
        group=benefit_group(household),
        year=year,
        amount_fen=amount_fen,
        note=note,
        added_by=actor if getattr(actor, "pk", None) else None,
    )
    record(
        "projects.benefit.link",
        actor=actor,
        object_type="project",
        object_id=project.pk,
        diff={
            "link": link.pk,
            "household": household.household_code,
            "kind": kind,
            "year": year,
            "amount_fen": amount_fen,
            "group": link.group,
        },
    )
    return link


@action
@transaction.atomic
def do_unlink_benefit(link_id: int, reason: str, *, actor: Any) -> BenefitLink:
    """Withdraw a wrongly entered benefit line (soft delete, with the reason)."""
    require_role(actor, PROJECT_PROPOSERS, "撤销联农带农登记")
    link = BenefitLink.objects.select_for_update().filter(pk=link_id).first()
    if link is None:
        raise OutOfScope("未找到该受益登记，或您无权访问。")
    project_locked(link.project_id, actor)
    reason = clean(reason, "reason", "理由", 200, required=True)
    BenefitLink.objects.filter(pk=link.pk).update(
        deleted_at=timezone.now(), deleted_reason=reason, version=F("version") + 1
    )
    record(
        "projects.benefit.unlink",
        actor=actor,
        object_type="project",
        object_id=link.project_id,
        reason=reason,
        diff={"link": link.pk, "household": link.household_id},
    )
    return link


# --- files out (audited like exports' do_export_*) -------------------------------------------


@action
@transaction.atomic
def do_export_fund_posting(project_id: int, fmt: str, out: Any, *, actor: Any) -> str:
    """The project's fund posting (资金公告) as PDF or .xlsx; returns the file name."""
    from .documents import write_fund_posting_pdf, write_fund_posting_xlsx
    from .scope import project_filter

    project = Project.objects.filter(project_filter(actor), pk=project_id).first()
    if project is None:
        raise OutOfScope(NOT_FOUND)
    if fmt not in ("pdf", "xlsx"):
        raise DomainError("格式应为 pdf 或 xlsx。", field="format")
    if fmt == "pdf":
        write_fund_posting_pdf(
            project, out, watermark=f"资金公告 · {getattr(actor, 'username', '')}"
        )
    else:
        write_fund_posting_xlsx(project, out)
    record(
        "projects.export.fund_posting",
        actor=actor,
        object_type="project",
        object_id=project.pk,
        diff={"format": fmt},
    )
    return f"funds-{project.pk}.{fmt}"


@action
@transaction.atomic
def do_export_reconciliation(county_code: str, out: Any, *, actor: Any) -> str:
    """The county's reconciliation report (.xlsx)."""
    from .documents import write_reconciliation_xlsx
    from .selectors import reconciliation

    report = reconciliation(actor, county_code)
    write_reconciliation_xlsx(report, out)
    record(
        "projects.export.reconciliation",
        actor=actor,
        object_type="county",
        object_id=county_code,
        diff={"ok": report.ok, "postings": report.postings},
    )
    return f"reconciliation-{county_code}.xlsx"


@action
@transaction.atomic
def do_download_project_posting(posting_id: int, *, actor: Any) -> ProjectPosting:
    """A stored posting PDF, to someone who sees its project (the download is audited)."""
    from .selectors import project_posting_for

    posting = project_posting_for(actor, posting_id)
    record(
        "projects.export.posting",
        actor=actor,
        object_type="project",
        object_id=posting.project_id,
        diff={"posting": posting.pk, "sha256": posting.sha256},
    )
    return posting
