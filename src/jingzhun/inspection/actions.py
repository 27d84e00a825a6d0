"""Writes of inspections and rectification (issue 24 item 2; ADR 0073).

Each action: one transaction, the actor's role and region scope checked, the write, one audit
event. Who does what:
- county and township staff record inspections and their problems (in their region);
- county, township and village staff of the problem's region submit its rectification with
  evidence files;
- the supervising level (`Problem.supervisor_code`: the township of a village's problem, the
  county of a township's, the county itself for a county's; one level higher after each
  escalation) verifies, and never the person who submitted the rectification; then closes it
  (销号);
- an overdue problem (still being rectified after its deadline) is escalated one level with a
  new deadline in working days (挂牌督办) by `do_escalate_overdue` (the `inspections escalate`
  command, or the county office's button);
- the county office records accountability (问责) linked to problems.
Deadlines in working days use workflows.workdays (chinese-calendar + local overrides); the
numbers of days are the policy table inspection_rules.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.scoping import can_see_region
from jingzhun.audit.actions import record
from jingzhun.core import stored_files as files
from jingzhun.core.checks import versioned_update
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.policy.store import PolicyError, default_store
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household
from jingzhun.workflows.workdays import WORKING_DAYS, official_calendar

from .choices import (
    ACCOUNTABILITY_MEASURES,
    CLOSED,
    INSPECTION_KINDS,
    OPEN,
    PROBLEM_CATEGORIES,
    RULES_TABLE,
    SUBMITTED,
    VERIFIED,
)
from .models import (
    Accountability,
    Escalation,
    Inspection,
    Problem,
    Rectification,
    RectificationEvidence,
    Verification,
)
from .selectors import overdue_q

STALE = "该问题已被他人办理或修改，请刷新页面后重试。"

INSPECTORS = frozenset({"county", "township"})
RECTIFIERS = frozenset({"county", "township", "village"})
VERIFIERS = frozenset({"county", "township"})
ACCOUNTABILITY_RECORDERS = frozenset({"county"})
MAX_EVIDENCE_FILES = 10


def _active(actor: Any, roles: frozenset[str], what: str) -> None:
    if actor is None:
        return
    if not getattr(actor, "is_active", False) or getattr(actor, "role", "") not in roles:
        raise Forbidden(f"您的角色无权{what}。")


def _text(value: Any, label: str, name: str, limit: int, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise DomainError(f"请填写{label}。", field=name)
    if len(text) > limit:
        raise DomainError(f"{label}不能超过 {limit} 字。", field=name)
    return text


@dataclass(frozen=True)
class Rule:
    value: int
    cite: str


def rule(name: str, on: datetime.date, county: str = "") -> Rule:
    """A number of the inspection_rules table in effect on `on` (a county's own row first)."""
    store = default_store()
    try:
        loaded = store.table_file(RULES_TABLE, on)
        found = store.lookup(RULES_TABLE, on=on, rule=name, county=county[:6] or None)
    except PolicyError as exc:
        raise DomainError(f"{on} 没有生效的督查整改规则表（{RULES_TABLE}）。") from exc
    if found is None or found.value is None:
        raise DomainError(f"督查整改规则表 {loaded.path} 缺少规则 {name}。")
    return Rule(
        int(found.value),
        f"{found.value} 个工作日（策略表 {RULES_TABLE}，文件 {loaded.path}，"
        f"内容哈希 {loaded.hash[:12]}）",
    )


def initial_supervisor(region_code: str) -> str:
    """Who supervises a problem first: the township for a village's, the county for a
    township's, the region itself from the county up."""
    if codes.level_of(region_code) in ("village", "township"):
        parent = codes.parent_of(region_code)
        assert parent is not None
        return parent
    return region_code


def _covers(actor: Any, code: str) -> bool:
    """The actor's grants include `code` (a grant at that level or above it)."""
    return actor is None or can_see_region(actor, code)


def _region(code: str, actor: Any) -> Region:
    region = Region.objects.filter(code=str(code or "")).first()
    if region is None or (actor is not None and not can_see_region(actor, region.code)):
        raise OutOfScope("未找到该区划，或您无权访问。")
    return region


@action
@transaction.atomic
def do_record_inspection(
    *,
    kind: str,
    title: str,
    region_code: str,
    organiser: str,
    started_on: datetime.date,
    document: str = "",
    actor: Any,
) -> Inspection:
    """Record an inspection of a region in the actor's scope."""
    _active(actor, INSPECTORS, "录入督查")
    if kind not in INSPECTION_KINDS:
        raise DomainError(f"督查类型“{kind}”不是有效代码。", field="kind")
    region = _region(region_code, actor)
    inspection = Inspection.objects.create(
        kind=kind,
        title=_text(title, "督查名称", "title", 200),
        region=region,
        organiser=_text(organiser, "组织单位", "organiser", 100),
        document=_text(document, "文件或反馈文号", "document", 100, required=False),
        started_on=started_on,
        created_by=actor,
    )
    record(
        "inspection.inspection.create",
        actor=actor,
        object_type="inspection",
        object_id=inspection.pk,
        diff={
            "kind": [None, kind],
            "region": [None, region.code],
            "title": [None, inspection.title],
        },
    )
    return inspection


@action
@transaction.atomic
def do_record_problem(
    inspection_id: int,
    *,
    category: str,
    description: str,
    region_code: str,
    responsible_unit: str,
    responsible_person: str,
    found_on: datetime.date,
    household_id: int | None = None,
    unit: str = "",
    deadline: datetime.date | None = None,
    actor: Any,
) -> Problem:
    """Record a problem an inspection found, in the inspection's region and the actor's scope,
    about a household or a unit. Without a deadline it gets the rule's number of working days
    from the day after it was found."""
    _active(actor, INSPECTORS, "录入督查问题")
    inspection = Inspection.objects.select_for_update().filter(pk=inspection_id).first()
    if inspection is None or (actor is not None and not _covers(actor, inspection.region_id)):
        raise OutOfScope("未找到该督查，或您无权访问。")
    if category not in PROBLEM_CATEGORIES:
        raise DomainError(f"问题类别“{category}”不是有效代码。", field="category")
    region = _region(region_code, actor)
    if not region.code.startswith(codes.prefix(inspection.region_id)):
        raise DomainError("问题所在区域不在本次督查的区域内。", field="region")
    household = None
    if household_id is not None:
        household = Household.objects.filter(pk=household_id).first()
        if household is None or not str(household.village_id).startswith(codes.prefix(region.code)):
            raise DomainError("所选农户不在问题所在区域内。", field="household")
    unit = _text(unit, "涉及单位", "unit", 100, required=False)
    if household is None and not unit:
        raise DomainError("请选择涉及的农户，或填写涉及的单位。", field="unit")
    if found_on > timezone.localdate():
        raise DomainError("发现日期不能晚于今天。", field="found_on")
    if deadline is None:
        days = rule("rectification_working_days", found_on, region.code)
        deadline = official_calendar().add(found_on, days.value, WORKING_DAYS, region.code)
        basis = f"发现次日起 {days.cite}"
    else:
        if deadline < found_on:
            raise DomainError("整改期限不能早于发现日期。", field="deadline")
        basis = "督查组指定"
    problem = Problem.objects.create(
        inspection=inspection,
        category=category,
        description=_text(description, "问题描述", "description", 2000),
        region=region,
        household=household,
        unit=unit,
        responsible_unit=_text(responsible_unit, "责任单位", "responsible_unit", 100),
        responsible_person=_text(responsible_person, "责任人", "responsible_person", 50),
        found_on=found_on,
        deadline=deadline,
        deadline_basis=basis[:200],
        supervisor_code=initial_supervisor(region.code),
        created_by=actor,
    )
    record(
        "inspection.problem.create",
        actor=actor,
        object_type="problem",
        object_id=problem.pk,
        diff={
            "inspection": [None, inspection.pk],
            "category": [None, category],
            "region": [None, region.code],
            "household": [None, household.pk if household else None],
            "deadline": [None, deadline.isoformat()],
        },
    )
    return problem


def _problem_locked(problem_id: int, actor: Any) -> Problem:
    problem = Problem.objects.select_for_update().filter(pk=problem_id).first()
    if problem is None or (actor is not None and not can_see_region(actor, problem.region_id)):
        raise OutOfScope("未找到该问题，或您无权访问。")
    return problem


def _check_version(problem: Problem, expected: int | None) -> None:
    if expected is not None and expected != problem.version:
        raise StaleVersion(STALE)


@action
@transaction.atomic
def do_submit_rectification(
    problem_id: int,
    description: str,
    evidence: Iterable[tuple[str, bytes]],
    *,
    actor: Any,
    expected_version: int | None = None,
) -> Rectification:
    """Submit what was done about a problem being rectified, with 1-10 evidence files (PDF, JPG,
    PNG, .xlsx by content, core.stored_files); the problem waits for its verification."""
    _active(actor, RECTIFIERS, "提交整改情况")
    problem = _problem_locked(problem_id, actor)
    _check_version(problem, expected_version)
    if problem.status != OPEN:
        raise DomainError(f"该问题当前为“{problem.status_label}”，不能提交整改。", field="status")
    text = _text(description, "整改情况", "description", 2000)
    checked = []
    for name, data in evidence:
        kind, clean, sha = files.check_upload(name, data)
        checked.append((kind, clean, sha, data))
    if not checked:
        raise DomainError("请上传至少一个整改佐证材料。", field="file")
    if len(checked) > MAX_EVIDENCE_FILES:
        raise DomainError(f"每次最多上传 {MAX_EVIDENCE_FILES} 个文件。", field="file")
    rectification = Rectification.objects.create(
        problem=problem, description=text, submitted_by=actor
    )
    for kind, clean, sha, data in checked:
        files.store(sha, data)
        RectificationEvidence.objects.create(
            rectification=rectification,
            filename=clean,
            content_type=files.TYPES[kind],
            size=len(data),
            sha256=sha,
            uploaded_by=actor,
        )
    versioned_update(problem, None, STALE, status=SUBMITTED)
    record(
        "inspection.problem.rectify",
        actor=actor,
        object_type="problem",
        object_id=problem.pk,
        diff={
            "status": [OPEN, SUBMITTED],
            "evidence": [None, [f"{c[1]} ({c[2][:12]})" for c in checked]],
        },
    )
    return rectification


def _check_supervisor(problem: Problem, actor: Any, what: str) -> None:
    if actor is not None and not _covers(actor, problem.supervisor_code):
        level = codes.LEVEL_LABELS.get(codes.level_of(problem.supervisor_code), "")
        raise Forbidden(f"该问题由{level}（{problem.supervisor_code}）督办，须由该级{what}。")


@action
@transaction.atomic
def do_verify_rectification(
    problem_id: int,
    passed: bool,
    note: str,
    *,
    actor: Any,
    expected_version: int | None = None,
) -> Verification:
    """The supervising level checks the latest rectification: passed → waits for closure; not
    passed → back to rectification (the deadline stands). The submitter may not verify."""
    _active(actor, VERIFIERS, "核验整改")
    if actor is None:
        raise Forbidden("核验须由具体的人完成。")
    problem = _problem_locked(problem_id, actor)
    _check_version(problem, expected_version)
    if problem.status != SUBMITTED:
        raise DomainError(
            f"该问题当前为“{problem.status_label}”，没有待核验的整改。", field="status"
        )
    _check_supervisor(problem, actor, "核验")
    latest = Rectification.objects.filter(problem=problem).order_by("-submitted_at", "-pk").first()
    assert latest is not None
    if latest.submitted_by_id == actor.pk:
        raise Forbidden("整改情况须由提交人以外的人核验：您提交了这次整改，不能核验。")
    text = _text(note, "核验意见", "note", 500)
    verification = Verification.objects.create(
        rectification=latest,
        passed=passed,
        note=text,
        verified_by=actor,
        submitted_by_id=latest.submitted_by_id,
    )
    target = VERIFIED if passed else OPEN
    versioned_update(problem, None, STALE, status=target)
    record(
        "inspection.problem.verify",
        actor=actor,
        object_type="problem",
        object_id=problem.pk,
        outcome="success",
        diff={"status": [SUBMITTED, target], "passed": [None, passed]},
    )
    return verification


@action
@transaction.atomic
def do_close_problem(
    problem_id: int, *, actor: Any, expected_version: int | None = None
) -> Problem:
    """销号: the supervising level closes a problem whose rectification passed verification."""
    _active(actor, VERIFIERS, "销号")
    if actor is None:
        raise Forbidden("销号须由具体的人完成。")
    problem = _problem_locked(problem_id, actor)
    _check_version(problem, expected_version)
    if problem.status != VERIFIED:
        raise DomainError(
            f"该问题当前为“{problem.status_label}”：整改核验通过后才能销号。", field="status"
        )
    _check_supervisor(problem, actor, "销号")
    versioned_update(
        problem, None, STALE, status=CLOSED, closed_on=timezone.localdate(), closed_by=actor
    )
    record(
        "inspection.problem.close",
        actor=actor,
        object_type="problem",
        object_id=problem.pk,
        diff={"status": [VERIFIED, CLOSED]},
    )
    return problem


@dataclass
class EscalationResult:
    escalated: list[int] = field(default_factory=list)
    at_top: list[int] = field(default_factory=list)  # overdue, no level above (province)
    refused: dict[int, str] = field(default_factory=dict)  # problem id -> Chinese reason


@action
@transaction.atomic
def do_escalate_overdue(*, on: datetime.date | None = None, actor: Any) -> EscalationResult:
    """Every problem still being rectified after its deadline (as of `on`, today by default)
    goes one level up (挂牌督办) with a new deadline of the rule's working days after `on`. One
    level per run: a problem overdue again at its next deadline goes up again then. The county
    office escalates the problems of its scope; the command (actor None) all of them. A problem
    whose new deadline cannot be counted (a year the calendar lacks) stays as it is and is
    reported with the reason."""
    _active(actor, frozenset({"county"}), "升级督办逾期问题")
    on = on or timezone.localdate()
    result = EscalationResult()
    overdue = Problem.objects.select_for_update().filter(overdue_q(on)).order_by("pk")
    calendar = official_calendar()
    for problem in overdue:
        if actor is not None and not can_see_region(actor, problem.region_id):
            continue
        target = codes.parent_of(problem.supervisor_code)
        if target is None:
            result.at_top.append(problem.pk)
            continue
        try:
            days = rule("escalation_working_days", on, problem.region_id)
            deadline = calendar.add(on, days.value, WORKING_DAYS, problem.region_id)
        except DomainError as exc:
            result.refused[problem.pk] = exc.message
            continue
        Escalation.objects.create(
            problem=problem,
            from_code=problem.supervisor_code,
            to_code=target,
            escalated_on=on,
            old_deadline=problem.deadline,
            new_deadline=deadline,
            basis=f"逾期未整改，升级一级挂牌督办；新期限 {days.cite}"[:300],
            escalated_by=actor,
        )
        before = (problem.supervisor_code, problem.deadline.isoformat())
        versioned_update(
            problem,
            None,
            STALE,
            supervisor_code=target,
            deadline=deadline,
            escalations=F("escalations") + 1,
        )
        record(
            "inspection.problem.escalate",
            actor=actor,
            object_type="problem",
            object_id=problem.pk,
            diff={
                "supervisor_code": [before[0], target],
                "deadline": [before[1], deadline.isoformat()],
            },
        )
        result.escalated.append(problem.pk)
    return result


@action
@transaction.atomic
def do_record_accountability(
    problem_ids: Iterable[int], values: Mapping[str, Any], *, actor: Any
) -> Accountability:
    """Record an accountability decision (问责) linked to one or more problems of the scope."""
    _active(actor, ACCOUNTABILITY_RECORDERS, "录入问责记录")
    ids = sorted({int(i) for i in problem_ids})
    if not ids:
        raise DomainError("问责记录须关联至少一个问题。", field="problems")
    problems = list(Problem.objects.filter(pk__in=ids))
    if len(problems) != len(ids) or any(
        actor is not None and not can_see_region(actor, p.region_id) for p in problems
    ):
        raise OutOfScope("未找到所选问题，或您无权访问。")
    measure = str(values.get("measure") or "")
    if measure not in ACCOUNTABILITY_MEASURES:
        raise DomainError(f"问责方式“{measure}”不是有效代码。", field="measure")
    decided_on = values.get("decided_on")
    if not isinstance(decided_on, datetime.date):
        raise DomainError("请填写决定日期。", field="decided_on")
    if decided_on > timezone.localdate():
        raise DomainError("决定日期不能晚于今天。", field="decided_on")
    row = Accountability.objects.create(
        person_name=_text(values.get("person_name"), "被问责人", "person_name", 50),
        position=_text(values.get("position"), "职务", "position", 100),
        unit=_text(values.get("unit"), "单位", "unit", 100),
        measure=measure,
        decided_on=decided_on,
        authority=_text(values.get("authority"), "决定机关", "authority", 100),
        document=_text(values.get("document"), "文号", "document", 100, required=False),
        note=_text(values.get("note"), "说明", "note", 500, required=False),
        recorded_by=actor,
    )
    row.problems.set(problems)
    record(
        "inspection.accountability.create",
        actor=actor,
        object_type="accountability",
        object_id=row.pk,
        diff={"problems": [None, ids], "measure": [None, measure]},
    )
    return row


@transaction.atomic
def do_download_rectification_evidence(evidence_id: int, *, actor: Any) -> RectificationEvidence:
    """Hand out one rectification evidence file of a problem the actor may see; each download is
    audited (the files may show households and signatures). OutOfScope otherwise (a 404)."""
    from .selectors import evidence_for

    item = evidence_for(actor, evidence_id)
    record(
        "inspection.evidence.download",
        actor=actor,
        object_type="problem",
        object_id=item.rectification.problem_id,
        diff={"evidence": item.pk, "sha256": item.sha256},
    )
    return item
