"""Writes to cases, evidence, postings and rounds. Each action runs in one transaction, locks the
row it changes, re-checks scope, checks the optimistic-lock version and audits itself.

A move is looked up in the transition table (`transitions.FLOWS`) and judged by
`transitions.refusal`: the table is the only place that says what may happen next.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.scoping import check_household_in_scope, check_region_in_scope
from jingzhun.assessments.actions import do_assess_households
from jingzhun.assessments.models import Assessment
from jingzhun.assessments.selectors import latest_assessment
from jingzhun.audit.actions import record
from jingzhun.core import hooks
from jingzhun.core import stored_files as files
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.exports.actions import watermark
from jingzhun.exports.notice import NoticeSpec, write_notice_pdf
from jingzhun.regions.models import Region
from jingzhun.registry import choices as c
from jingzhun.registry.actions import do_change_household_status, do_update_household
from jingzhun.registry.models import Household

from . import changes
from .models import Case, Evidence, Objection, Posting, Round, Step
from .selectors import cases_for, evidence_for, postings_for
from .transitions import (
    ACTING_ROLES,
    BACK,
    CHECKLIST,
    EVIDENCE_KINDS,
    FLOWS,
    OBJECTION,
    CaseFacts,
    Flow,
    Move,
    refusal,
)
from .workdays import DAYS, UNITS, official_calendar

LABOUR_ABLE = frozenset({"ordinary", "skilled", "weak"})
MIN_MONITORED_MONTHS = 6
MAX_BACKDATE_DAYS = 60
MAX_POSTING_LENGTH = 60


def _check_actor(actor: Any) -> None:
    if not getattr(actor, "is_active", False) or getattr(actor, "role", "") not in ACTING_ROLES:
        raise Forbidden("您的角色无权办理业务案件。")


def _today() -> datetime.date:
    return timezone.localdate()


def _locked_case(case_id: int, actor: Any) -> Case:
    # The household's row too: an exit approval relies on its version (the assessment's key,
    # ADR 0032) staying as read until the decision commits.
    case = (
        Case.objects.select_for_update(of=("self", "household"))
        .select_related("household")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise OutOfScope("未找到该案件，或您无权访问。")
    try:
        check_household_in_scope(actor, case.household)
    except OutOfScope as exc:
        raise OutOfScope("未找到该案件，或您无权访问。") from exc
    return case


def _check_version(case: Case, expected_version: int) -> None:
    if case.version != expected_version:
        raise StaleVersion("该案件已被他人办理或修改，请刷新页面后查看最新情况。")


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


# --- eligibility and preconditions ---------------------------------------------------------------


def eligibility_problem(kind: str, household: Household) -> str | None:
    """Why a household cannot have a case of this kind opened, or None."""
    status = household.poverty_status
    if status == "closed":
        return "该户已自然销户，不能再办理案件。"
    if kind == "identification":
        # An application starts from an ordinary household (or one removed earlier, re-applying);
        # the household stays out of the registered counts until the case is announced.
        if status in c.EXITED_STATUSES:
            return "已脱贫户不能重新识别；返贫须按返贫程序认定。"
        if status not in (c.NOT_REGISTERED, "removed"):
            return "该户已是建档立卡户，无需识别。"
    elif kind == "exit":
        if status not in c.REMAINING_STATUSES:
            return "只有未脱贫或返贫户才能办理脱贫退出。"
    elif kind == "monitoring":
        if household.monitoring_category and household.risk_status != "eliminated":
            return "该户已是监测对象（风险未消除）。"
    elif kind == "elimination" and (
        not household.monitoring_category or household.risk_status == "eliminated"
    ):
        return "只有风险未消除的监测对象才能办理风险消除。"
    elif kind == "return" and status not in c.EXITED_STATUSES:
        return "只有已脱贫户才能认定返贫。"
    elif kind == "removal" and status not in c.REGISTERED_STATUSES:
        return "只有建档立卡户（含已脱贫户）才能清退。"
    elif kind == "natural_change" and status in c.CLOSED_STATUSES:
        return "该户已清退或销户，不能再办理自然变更。"
    return None


def elimination_problems(case: Case, household: Household, today: datetime.date) -> dict[str, str]:
    """domain.md 3.6: monitored ≥ 6 months, ≥ 1 measure completed (the household's plan in
    assistance), never without labour.
    {condition: message} of the conditions that do not hold."""
    problems = {}
    since = case.monitored_since
    if since is None or _add_months(since, MIN_MONITORED_MONTHS) > today:
        problems["months"] = f"纳入监测不满 {MIN_MONITORED_MONTHS} 个月，不能标注风险消除。"
    # The household's completed measures (assistance, 一户一策), not the case's free text, which
    # stays an optional note (ADR measures-plan).
    from jingzhun.assistance.measure_selectors import completed_measures

    if not completed_measures(household, today):
        problems["measures"] = (
            "该户尚无已完成的帮扶措施（至少一项，在户页面“帮扶措施”中登记并经乡镇批准、"
            "标记完成），不能标注风险消除。"
        )
    capacities = set(household.members.values_list("labour_capacity", flat=True))
    if not capacities & LABOUR_ABLE:
        problems["labour"] = "无劳动能力的监测户不能标注风险消除，应继续监测并落实兜底保障。"
    return problems


def exit_assessment(household: Household, year: int) -> tuple[Assessment | None, str]:
    """The household's latest household_exit assessment of the case year and, if it does not
    allow an exit, why (failed or unknown criteria, none made yet, or made on data that has
    changed since: the household's version moved, ADR 0032)."""
    found = latest_assessment(household, "household_exit", year)
    if found is None:
        return None, f"尚无该户 {year} 年度的脱贫标准判定，请先在案件页运行判定。"
    if found.household_version != household.version:
        when = timezone.localtime(found.created_at).strftime("%Y-%m-%d %H:%M")
        return found, (
            f"该户信息在最近一次脱贫标准判定（{when}）之后有修改，判定已过时，"
            "请在案件页重新运行判定。"
        )
    labels = {str(cr.get("id")): str(cr.get("label")) for cr in found.policy.criteria or []}
    failed = [labels.get(x, x) for x in found.failed]
    unknown = [labels.get(x, x) for x in found.unknown]
    if failed or unknown:
        parts = []
        if failed:
            parts.append(f"未通过：{'、'.join(failed)}")
        if unknown:
            parts.append(f"数据缺失无法判定：{'、'.join(unknown)}")
        return found, f"脱贫标准判定未全部通过（{'；'.join(parts)}），不能批准退出。"
    return found, ""


def case_facts(case: Case, today: datetime.date) -> CaseFacts:
    """The guard's view of a case (read under the row lock by the actions, plainly by pages)."""
    posting = case.postings.order_by("-id").first()
    pending = frozenset(case.evidence.filter(step__isnull=True).values_list("kind", flat=True))
    ok, note = False, ""
    if case.kind == "exit":
        found, note = exit_assessment(case.household, case.year)
        ok = found is not None and not note
    return CaseFacts(
        kind=case.kind,
        state=case.state,
        submitter_id=case.submitted_by_id,
        evidence=pending,
        checklist=frozenset(case.checklist),
        posting_ended=posting is not None and posting.ended(today),
        posting_objected=posting is not None and posting.objected,
        had_objection=Objection.objects.filter(posting__case=case).exists(),
        assessment_ok=ok,
        assessment_note=note,
    )


# --- opening a case ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseDetails:
    """What the opener states: the year, dates and, per kind, the monitoring or elimination data."""

    year: int | None = None
    opened_on: datetime.date | None = None
    summary: str = ""
    round_id: int | None = None
    route: str = ""
    monitoring_category: str = ""
    risk_types: tuple[str, ...] = ()
    monitored_since: datetime.date | None = None
    measures: tuple[Mapping[str, str], ...] = ()
    elimination_method: str = ""
    change: Mapping[str, Any] | None = None  # natural change: see workflows.changes


def _clean_details(
    kind: str, details: CaseDetails, today: datetime.date, household: Household
) -> dict[str, Any]:
    opened_on = details.opened_on or today
    if opened_on > today or opened_on < today - datetime.timedelta(days=366):
        raise DomainError("发现/申请日期应在过去一年内，且不能晚于今天。", field="opened_on")
    values: dict[str, Any] = {
        "year": details.year or today.year,
        "opened_on": opened_on,
        "summary": details.summary.strip()[:500],
    }
    if kind == "monitoring":
        from .models import ROUTES

        if details.route not in ROUTES:
            raise DomainError("请选择发现方式（农户申报、干部排查或部门预警）。", field="route")
        if details.monitoring_category not in c.MONITORING_CATEGORY:
            raise DomainError("请选择监测类别。", field="monitoring_category")
        risks = list(dict.fromkeys(details.risk_types))
        if not risks or any(r not in c.RISK_TYPE for r in risks):
            raise DomainError("请至少选择一项有效的风险类型。", field="risk_types")
        values.update(
            route=details.route, monitoring_category=details.monitoring_category, risk_types=risks
        )
    if kind == "elimination":
        if details.elimination_method not in c.ELIMINATION_METHOD:
            raise DomainError("请选择消除方式（帮扶消除或自然消除）。", field="elimination_method")
        measures = []
        for m in details.measures:
            text = str(m.get("description", "")).strip()
            when = str(m.get("date", "")).strip()
            try:
                datetime.date.fromisoformat(when)
            except ValueError as exc:
                raise DomainError("帮扶措施须写明落实日期。", field="measures") from exc
            if text:
                measures.append({"description": text[:200], "date": when})
        values.update(
            elimination_method=details.elimination_method,
            measures=measures,
            monitored_since=details.monitored_since,
        )
    if kind == "natural_change":
        values["change"] = changes.clean_change(household, details.change or {}, today)
    return values


def _monitoring_entry(household: Household) -> datetime.date | None:
    """When the household entered monitoring through a completed case (the latest one)."""
    done = (
        Case.objects.filter(household=household, kind="monitoring", state="monitored")
        .order_by("-closed_on")
        .values_list("closed_on", flat=True)
        .first()
    )
    return done


@transaction.atomic
def do_open_case(household_id: int, kind: str, details: CaseDetails, *, actor: Any) -> Case:
    """Open a case for a household; the actor becomes its submitter and can never approve it."""
    _check_actor(actor)
    flow = FLOWS.get(kind)
    if flow is None:
        raise DomainError(f"未知的案件类型：{kind}", field="kind")
    if actor.role not in flow.openers:
        raise Forbidden(f"您的角色不能发起“{flow.label}”。")
    household = Household.objects.select_for_update().filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    check_household_in_scope(actor, household)
    return _open(household, kind, details, actor)


def open_self_reported_case(household_id: int, details: CaseDetails) -> Case:
    """The monitoring identification case of a household's own report on the public page
    (route self_report): no account submits it (`submitted_by` None). Only for the caller's
    audited action (feeds.reports.do_submit_self_report), which has checked the report; inside
    its transaction."""
    if details.route != "self_report":
        raise DomainError("只有农户自主申报可以不经账号发起监测识别。", field="route")
    household = Household.objects.select_for_update().filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户。")
    return _open(household, "monitoring", details, None)


def _open(household: Household, kind: str, details: CaseDetails, actor: Any) -> Case:
    flow = FLOWS[kind]
    problem = eligibility_problem(kind, household)
    if problem:
        raise DomainError(problem, field="household")
    today = _today()
    values = _clean_details(kind, details, today, household)
    if kind == "elimination" and values["monitored_since"] is None:
        values["monitored_since"] = _monitoring_entry(household)
    due_on: datetime.date | None = None
    if flow.deadline_days is not None:
        due_on = values["opened_on"] + datetime.timedelta(days=flow.deadline_days)
    round_ = None
    if details.round_id is not None:
        round_ = Round.objects.select_for_update().filter(pk=details.round_id).first()
        if round_ is None or round_.county_id != household.county_code:
            raise DomainError("所选动态调整批次不存在或不属于该户所在县。", field="round")
        if not round_.is_open:
            raise DomainError("该动态调整批次已结束，不能再加入案件。", field="round")
        due_on = min(due_on, round_.period_end) if due_on else round_.period_end
    case = Case(
        kind=kind,
        state=flow.initial,
        household=household,
        round=round_,
        submitted_by=actor,
        due_on=due_on,
        **values,
    )
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError as exc:
        raise DomainError(f"该户已有办理中的“{flow.label}”案件。", field="household") from exc
    if kind == "elimination":
        problems = elimination_problems(case, household, today)
        problems.pop("months", None)  # counted at approval: a case may be prepared earlier
        if problems:
            raise DomainError("".join(problems.values()), field="household")
    Step.objects.create(
        case=case,
        move="open",
        label="提交",
        state_to=case.state,
        actor=actor,
        actor_name=actor.username if actor is not None else "农户自主申报",
        actor_role=actor.role if actor is not None else "",
        reason=values["summary"],
        outcome="已提交",
    )
    record(
        "workflows.case.open",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        diff={
            "kind": kind,
            "household": household.pk,
            "state": [None, case.state],
            **({"change": changes.masked(case.change)} if case.change else {}),
        },
    )
    return case


# --- moves ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostingIn:
    """A posting being put up: first day, length, and whether days or working days are counted."""

    start: datetime.date
    length: int
    unit: str = DAYS


def _posting_end(flow: Flow, spec: PostingIn | None, today: datetime.date) -> datetime.date:
    if spec is None:
        raise DomainError("请填写公示开始日期和公示期。", field="posting")
    if spec.unit not in UNITS:
        raise DomainError("计日方式应为“天”或“工作日”。", field="unit")
    if not flow.min_posting_days <= spec.length <= MAX_POSTING_LENGTH:
        raise DomainError(
            f"公示期应为 {flow.min_posting_days}–{MAX_POSTING_LENGTH}{UNITS[spec.unit]}。",
            field="length",
        )
    if not today - datetime.timedelta(days=MAX_BACKDATE_DAYS) <= spec.start <= today:
        raise DomainError(
            f"公示开始日期应在今天或之前 {MAX_BACKDATE_DAYS} 天内（张贴后登记）。", field="start"
        )
    return official_calendar().end_of(spec.start, spec.length, spec.unit)


def _raise(refused: Any) -> None:
    error = {403: Forbidden, 409: StaleVersion}.get(refused.status, DomainError)
    if error is DomainError:
        raise DomainError(refused.message, field=refused.field)
    raise error(refused.message)


def _apply_effect(move: Move, case: Case, actor: Any, today: datetime.date) -> str:
    """The registry change of a completed case, through the registry's own actions."""
    household = Household.objects.get(pk=case.household_id)
    why = f"{case.kind_label}（案件 {case.pk}）"
    if move.effect == "identify":
        if household.identified_year != case.year:
            household = do_update_household(
                household.pk,
                household.version,
                {"identified_year": case.year},
                actor=actor,
                by_workflow=True,
            )
        if household.poverty_status not in c.REMAINING_STATUSES:
            do_change_household_status(household.pk, "not_exited", today, why, actor=actor)
        return "已登记为建档立卡贫困户"
    if move.effect == "exit":
        do_change_household_status(household.pk, "exited_with_policy", today, why, actor=actor)
        return "已标注脱贫（享受政策）"
    if move.effect == "monitor":
        do_update_household(
            household.pk,
            household.version,
            {
                "monitoring_category": case.monitoring_category,
                "risk_types": list(case.risk_types),
                "risk_status": "not_eliminated",
                "risk_eliminated_on": None,
                "elimination_method": "",
            },
            actor=actor,
            by_workflow=True,
        )
        return "已纳入防返贫监测"
    if move.effect == "eliminate":
        do_update_household(
            household.pk,
            household.version,
            {
                "risk_status": "eliminated",
                "risk_eliminated_on": today,
                "elimination_method": case.elimination_method,
            },
            actor=actor,
            by_workflow=True,
        )
        return "已标注风险消除"
    if move.effect == "return":
        if household.poverty_status not in c.EXITED_STATUSES:
            raise DomainError("该户已不是已脱贫户，不能标注返贫。", field="household")
        do_change_household_status(household.pk, "returned", today, why, actor=actor)
        return "已标注返贫"
    if move.effect == "remove":
        if household.poverty_status not in c.REGISTERED_STATUSES:
            raise DomainError("该户已不是建档立卡户，不能清退。", field="household")
        do_change_household_status(household.pk, "removed", today, why, actor=actor)
        return "已清退（错评）"
    if move.effect == "natural_change":
        return changes.apply_change(household, case.change, why, actor=actor)
    raise ValueError(f"unknown effect {move.effect!r}")


@transaction.atomic
def do_move_case(
    case_id: int,
    move_name: str,
    expected_version: int,
    *,
    actor: Any,
    reason: str = "",
    posting: PostingIn | None = None,
) -> Case:
    """Make one move of the transition table on a case (review, approve, return, post, object …).

    Refused with 403 for the wrong role or the submitter approving, 409 when the case changed
    since it was loaded (two approvers at once: the second is refused), 400 when a required step,
    evidence, checklist item, posting or assessment is missing. A refusal changes nothing.
    """
    _check_actor(actor)
    case = _locked_case(case_id, actor)
    _check_version(case, expected_version)
    flow = FLOWS[case.kind]
    today = _today()
    facts = case_facts(case, today)
    refused = refusal(
        flow, move_name, facts, actor_id=actor.pk, actor_role=actor.role, reason=reason
    )
    if refused is not None:
        _raise(refused)
    move = flow.move(move_name)
    assert move is not None
    household = Household.objects.get(pk=case.household_id)
    if move.name == "approve" and case.kind == "elimination":
        problems = elimination_problems(case, household, today)
        if problems:
            raise DomainError("".join(problems.values()), field="preconditions")
    if move.name == "approve":
        # apps above ask too: a household's unresolved red-line flag (feeds, ADR 0063)
        flagged = hooks.approval_problems(household.pk, case.kind)
        if flagged:
            raise DomainError("".join(flagged), field="red_line")
    current = case.postings.order_by("-id").first()
    posting_end = _posting_end(flow, posting, today) if move.starts_posting else None
    if move.sort == OBJECTION and (current is None or current.objected or today > current.end):
        raise DomainError("只能在公示期内记录异议。", field="posting")
    state_from = case.state
    step = Step.objects.create(
        case=case,
        move=move.name,
        label=move.label,
        state_from=state_from,
        state_to=move.target,
        actor=actor,
        actor_name=actor.username,
        actor_role=actor.role,
        reason=reason.strip()[:500],
    )
    linked = Evidence.objects.filter(case=case, step__isnull=True).update(step=step)
    changes: dict[str, Any] = {}
    if move.starts_posting and posting is not None and posting_end is not None:
        Posting.objects.create(
            case=case,
            step=step,
            stage=move.target,
            start=posting.start,
            length=posting.length,
            unit=posting.unit,
            end=posting_end,
        )
    if move.sort == OBJECTION and current is not None:
        Posting.objects.filter(pk=current.pk).update(objected=True)
        Objection.objects.create(
            posting=current, received_on=today, content=reason.strip()[:500], recorded_by=actor
        )
    if move.assessment:
        found, _note = exit_assessment(household, case.year)
        changes["assessment_policy"] = found.policy if found is not None else None
        changes["assessment_household_version"] = (
            found.household_version if found is not None else None
        )
    if move.target in flow.terminal:
        changes["closed_on"] = today
    updated = Case.objects.filter(pk=case.pk, version=expected_version).update(
        state=move.target, version=F("version") + 1, updated_at=timezone.now(), **changes
    )
    if updated != 1:  # the row lock makes this unreachable; kept as the optimistic-lock backstop
        raise StaleVersion("该案件已被他人办理或修改，请刷新页面后查看最新情况。")
    case.refresh_from_db()
    outcome = _apply_effect(move, case, actor, today) if move.effect else ""
    if move.effect:
        # the registry changed: the battle map's figures for the county are recomputed after
        # this transaction commits (a queued job; ADR 0021)
        from jingzhun.analytics.actions import request_refresh

        county = Household.objects.filter(pk=case.household_id).values_list(
            "county_code", flat=True
        )
        request_refresh(list(county), actor=actor, reason=f"{case.kind_label}（案件 {case.pk}）")
    if move.sort == BACK or move.sort == OBJECTION:
        outcome = "退回重新核查"
    Step.objects.filter(pk=step.pk).update(outcome=outcome or move.label)
    record(
        f"workflows.case.{move.name}",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        reason=reason.strip()[:500],
        diff={
            "state": [state_from, move.target],
            "evidence": linked,
            **({"posting_end": posting_end.isoformat()} if posting_end else {}),
        },
    )
    return case


# --- evidence and checklist -----------------------------------------------------------------------


@transaction.atomic
def do_upload_evidence(
    case_id: int, kind: str, filename: str, data: bytes, *, actor: Any
) -> Evidence:
    """Keep a file for the case's next step; only PDF, JPG, PNG and .xlsx, at most 10 MB."""
    _check_actor(actor)
    case = _locked_case(case_id, actor)
    if not case.is_open:
        raise DomainError("案件已办结，不能再上传材料。")
    if kind not in EVIDENCE_KINDS:
        raise DomainError("请选择材料类型。", field="kind")
    filetype, name, sha = files.check_upload(filename, data)
    files.store(sha, data)
    item = Evidence.objects.create(
        case=case,
        kind=kind,
        filename=name,
        content_type=files.TYPES[filetype],
        size=len(data),
        sha256=sha,
        uploaded_by=actor,
        uploaded_by_name=actor.username,
    )
    record(
        "workflows.evidence.upload",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        diff={"evidence": item.pk, "kind": kind, "sha256": sha, "size": len(data)},
    )
    return item


@transaction.atomic
def do_download_evidence(evidence_id: int, *, actor: Any) -> Evidence:
    """Hand out one evidence file of a case in scope; each download is audited (the files may be
    signed agreements or sign-in sheets with names and signatures)."""
    item = evidence_for(actor, evidence_id)
    record(
        "workflows.evidence.download",
        actor=actor,
        object_type="case",
        object_id=item.case_id,
        diff={"evidence": item.pk, "kind": item.kind, "sha256": item.sha256},
    )
    return item


@transaction.atomic
def do_tick_checklist_item(
    case_id: int, item: str, note: str, expected_version: int, *, actor: Any
) -> Case:
    """Tick one item of 三个核对、三个印证 with a note of what was checked (who and when are kept)."""
    _check_actor(actor)
    case = _locked_case(case_id, actor)
    _check_version(case, expected_version)
    if not case.is_open:
        raise DomainError("案件已办结，不能修改核查清单。")
    if item not in CHECKLIST:
        raise DomainError("未知的核查项目。", field="item")
    if not note.strip():
        raise DomainError("请写明核查情况。", field="note")
    checklist = dict(case.checklist)
    checklist[item] = {
        "by": actor.username,
        "at": timezone.now().isoformat(timespec="seconds"),
        "note": note.strip()[:300],
    }
    Case.objects.filter(pk=case.pk, version=expected_version).update(
        checklist=checklist, version=F("version") + 1, updated_at=timezone.now()
    )
    record(
        "workflows.case.checklist",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        diff={"item": item, "note": note.strip()[:300]},
    )
    case.refresh_from_db()
    return case


@transaction.atomic
def do_assess_case_household(case_id: int, *, actor: Any) -> Assessment | None:
    """Run the per-household exit assessment of the case's household for the case year."""
    _check_actor(actor)
    case = _locked_case(case_id, actor)
    if case.kind != "exit":
        raise DomainError("只有脱贫退出案件需要标准判定。")
    do_assess_households(
        Household.objects.filter(pk=case.household_id), "household_exit", case.year, actor=actor
    )
    found, _note = exit_assessment(Household.objects.get(pk=case.household_id), case.year)
    return found


# --- rounds --------------------------------------------------------------------------------------


@transaction.atomic
def do_open_round(
    county_code: str, name: str, start: datetime.date, end: datetime.date, *, actor: Any
) -> Round:
    """Open a county-wide dynamic adjustment round (county staff only)."""
    _check_actor(actor)
    if actor.role != "county":
        raise Forbidden("只有县级业务人员可以开启动态调整批次。")
    check_region_in_scope(actor, county_code)
    county = Region.objects.filter(code=county_code, level="county").first()
    if county is None:
        raise DomainError("请选择一个县。", field="county")
    if not name.strip():
        raise DomainError("请填写批次名称。", field="name")
    if end < start:
        raise DomainError("截止日期不能早于开始日期。", field="period_end")
    round_ = Round.objects.create(
        county=county,
        name=name.strip()[:100],
        period_start=start,
        period_end=end,
        created_by=actor,
    )
    record(
        "workflows.round.open",
        actor=actor,
        object_type="round",
        object_id=round_.pk,
        diff={"county": county_code, "period": [start.isoformat(), end.isoformat()]},
    )
    return round_


@transaction.atomic
def do_close_round(round_id: int, expected_version: int, *, actor: Any) -> Round:
    """Close a round once every case in it is finished."""
    _check_actor(actor)
    round_ = Round.objects.select_for_update().filter(pk=round_id).first()
    if round_ is None:
        raise OutOfScope("未找到该批次，或您无权访问。")
    check_region_in_scope(actor, round_.county_id)
    if actor.role != "county":
        raise Forbidden("只有县级业务人员可以结束动态调整批次。")
    if round_.version != expected_version:
        raise StaleVersion("该批次已被他人修改，请刷新页面。")
    if not round_.is_open:
        raise DomainError("该批次已经结束。")
    still_open = round_.cases.filter(closed_on__isnull=True).count()
    if still_open:
        raise DomainError(f"批次中还有 {still_open} 件案件未办结，不能结束。")
    Round.objects.filter(pk=round_.pk).update(
        closed_at=timezone.now(), version=F("version") + 1, updated_at=timezone.now()
    )
    record("workflows.round.close", actor=actor, object_type="round", object_id=round_.pk)
    round_.refresh_from_db()
    return round_


# --- posting notices ------------------------------------------------------------------------------

NOTICE_KIND = {
    "identification": "identification",
    "exit": "exit",
    "monitoring": "monitoring",
    "elimination": "elimination",
    "return": "return",
    "removal": "removal",
}


@transaction.atomic
def do_export_posting_notice(posting_ids: Sequence[int], out: IO[bytes], *, actor: Any) -> int:
    """The posting notice (公示, PDF) of postings of one village and kind with the same period;
    never an ID, phone, bank or health field (exports.notice). Returns the number of households."""
    _check_actor(actor)
    ids = sorted({int(i) for i in posting_ids})
    if not ids:
        raise DomainError("请至少选择一条公示。", field="postings")
    postings = list(
        postings_for(actor).filter(pk__in=ids).select_related("case", "case__household")
    )
    if len(postings) != len(ids):
        raise OutOfScope("所选公示有的不存在，或您无权访问。")
    villages = {p.case.household.village_id for p in postings}
    kinds = {p.case.kind for p in postings}
    periods = {(p.start, p.end) for p in postings}
    if len(villages) != 1 or len(kinds) != 1 or len(periods) != 1:
        raise DomainError("一份公示只能包含同一个村、同一类案件、同一公示期的农户。")
    village = Region.objects.select_related("parent").get(code=villages.pop())
    start, end = periods.pop()
    spec = NoticeSpec(NOTICE_KIND[kinds.pop()], start, (end - start).days + 1)
    households = [p.case.household for p in postings]
    write_notice_pdf(village, households, spec, out, watermark=watermark(actor, masked=True))
    record(
        "workflows.posting.notice",
        actor=actor,
        object_type="region",
        object_id=village.code,
        diff={"postings": ids, "households": len(households), "start": start.isoformat()},
    )
    return len(households)


def visible_case(actor: Any, case_id: int) -> Case:
    """One case through the scoped selector (for callers outside a write)."""
    case = cases_for(actor).filter(pk=case_id).first()
    if case is None:
        raise OutOfScope("未找到该案件，或您无权访问。")
    return case
