"""Writes of the command structure, responsibility lists and scheduled tasks (issue 24 item 1).

Each action: one transaction, the actor's role and region scope checked, the write, one audit
event. Who does what:
- the county office keeps its county's command structure (指挥部, 专班, 包乡/包村领导) and
  responsibility lists, edited row by row or imported from the county's file (duty.structure);
- county and township staff assign tasks in their region (owner unit and person, deadline in
  working days, weekly or monthly schedule);
- county, township and village staff of the task's region report progress (调度报送);
- the supervising level (`Task.supervisor_code`) marks a task done;
- `do_escalate_tasks` (the `duty escalate` command, run daily by the worker's cron, or the county
  office's button) moves every task overdue or missing its report one level up with a new date
  in working days; a second run the same day escalates nothing more (idempotent).
Numbers of days are the policy table duty_rules; working days from workflows.workdays.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.scoping import can_see_region
from jingzhun.audit.actions import record
from jingzhun.core.checks import versioned_update
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.inspection.actions import initial_supervisor
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.tickets.rules import Rule, date_after, rule

from .choices import DONE, LEVELS, OPEN, RULES_TABLE, SCHEDULES, UNIT_KINDS, UNIT_LEVELS
from .models import CommandUnit, ProgressReport, Responsibility, Task, TaskEscalation
from .selectors import overdue_q, report_missing_q

STALE = "该任务已被他人办理或修改，请刷新页面后重试。"

STRUCTURE_EDITORS = frozenset({"county"})
ASSIGNERS = frozenset({"county", "township"})
REPORTERS = frozenset({"county", "township", "village"})
SUPERVISORS = frozenset({"county", "township"})
LABEL = "调度任务规则表"


def active(actor: Any, roles: frozenset[str], what: str) -> None:
    """Refuse an actor whose role may not do `what` (the command's actor None passes)."""
    if actor is None:
        return
    if not getattr(actor, "is_active", False) or getattr(actor, "role", "") not in roles:
        raise Forbidden(f"您的角色无权{what}。")


def text(value: Any, label: str, name: str, limit: int, *, required: bool = True) -> str:
    found = str(value or "").strip()
    if required and not found:
        raise DomainError(f"请填写{label}。", field=name)
    if len(found) > limit:
        raise DomainError(f"{label}不能超过 {limit} 字。", field=name)
    return found


def duty_rule(name: str, on: datetime.date, county: str = "") -> Rule:
    return rule(RULES_TABLE, name, on, county, label=LABEL)


def _county(code: str, actor: Any) -> Region:
    county = Region.objects.filter(code=str(code or ""), level="county").first()
    if county is None or (actor is not None and not can_see_region(actor, county.code)):
        raise OutOfScope("未找到该县，或您无权访问。")
    return county


def _region_in(code: str, county: Region, level: str, label: str) -> Region:
    region = Region.objects.filter(code=str(code or "").strip()).first()
    if region is None or not region.code.startswith(codes.prefix(county.code)):
        raise DomainError(f"{label}“{code}”不是本县的区划代码。", field="region")
    if region.level != level:
        raise DomainError(
            f"{label}“{code}”应为{codes.LEVEL_LABELS.get(level, level)}区划。", field="region"
        )
    return region


def _unit_values(county: Region, values: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(values.get("kind") or "")
    if kind not in UNIT_KINDS:
        raise DomainError(f"指挥体系类型“{kind}”不是有效代码。", field="kind")
    level = UNIT_LEVELS[kind]
    region_code = str(values.get("region") or "") or (county.code if level == "county" else "")
    return {
        "kind": kind,
        "name": text(values.get("name"), "名称", "name", 100),
        "region": _region_in(region_code, county, level, "负责区域"),
        "leader_name": text(values.get("leader_name"), "负责人", "leader_name", 50),
        "leader_title": text(
            values.get("leader_title"), "职务", "leader_title", 100, required=False
        ),
        "members": text(values.get("members"), "成员单位或成员", "members", 500, required=False),
        "duties": text(values.get("duties"), "职责", "duties", 2000, required=False),
    }


def _responsibility_values(values: Mapping[str, Any]) -> dict[str, Any]:
    level = str(values.get("level") or "")
    if level not in LEVELS:
        raise DomainError(
            f"层级“{level}”不是有效代码（county、township、village）。", field="level"
        )
    try:
        position = int(values.get("position") or 0)
    except (TypeError, ValueError) as exc:
        raise DomainError("序号应为整数。", field="position") from exc
    return {
        "level": level,
        "department": text(values.get("department"), "责任单位", "department", 100),
        "item": text(values.get("item"), "责任事项", "item", 500),
        "basis": text(values.get("basis"), "依据", "basis", 200, required=False),
        "position": max(0, position),
    }


def _snapshot(row: Any, names: list[str]) -> dict[str, Any]:
    return {n: getattr(row, n + "_id", None) if n == "region" else getattr(row, n) for n in names}


def _save(model: Any, row_id: int | None, county: Region, values: dict[str, Any],
          expected_version: int | None, what: str) -> tuple[Any, dict[str, list[Any]]]:  # fmt: skip
    names = list(values)
    if row_id is None:
        row = model.objects.create(county=county, **values)
        return row, {n: [None, str(getattr(row, n + "_id", getattr(row, n)))] for n in names}
    row = model.objects.select_for_update().filter(pk=row_id, county=county).first()
    if row is None:
        raise OutOfScope(f"未找到该{what}，或您无权访问。")
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(f"该{what}已被他人修改，请刷新页面后重试。")
    before = _snapshot(row, names)
    updated = model.objects.filter(pk=row.pk, version=row.version).update(
        **values, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated == 0:
        raise StaleVersion(f"该{what}已被他人修改，请刷新页面后重试。")
    row.refresh_from_db()
    after = _snapshot(row, names)
    return row, {n: [str(before[n]), str(after[n])] for n in names if before[n] != after[n]}


def _duplicate(model: Any, county: Region, row_id: int | None, keys: dict[str, Any], what: str) -> None:  # fmt: skip
    if model.objects.filter(county=county, **keys).exclude(pk=row_id or 0).exists():
        raise DomainError(f"本县已有相同的{what}。", field="name")


@action
@transaction.atomic
def do_save_command_unit(
    county_code: str,
    values: Mapping[str, Any],
    *,
    unit_id: int | None = None,
    expected_version: int | None = None,
    actor: Any,
) -> CommandUnit:
    """Add (unit_id None) or edit one part of a county's command structure."""
    active(actor, STRUCTURE_EDITORS, "维护指挥体系")
    county = _county(county_code, actor)
    clean = _unit_values(county, values)
    _duplicate(
        CommandUnit, county, unit_id,
        {"kind": clean["kind"], "region": clean["region"], "name": clean["name"]}, "指挥体系条目",
    )  # fmt: skip
    row, diff = _save(CommandUnit, unit_id, county, clean, expected_version, "指挥体系条目")
    record(
        "duty.unit.create" if unit_id is None else "duty.unit.update",
        actor=actor, object_type="command_unit", object_id=row.pk, diff=diff,
    )  # fmt: skip
    return row


@action
@transaction.atomic
def do_save_responsibility(
    county_code: str,
    values: Mapping[str, Any],
    *,
    item_id: int | None = None,
    expected_version: int | None = None,
    actor: Any,
) -> Responsibility:
    """Add (item_id None) or edit one item of a county's responsibility lists."""
    active(actor, STRUCTURE_EDITORS, "维护责任清单")
    county = _county(county_code, actor)
    clean = _responsibility_values(values)
    _duplicate(
        Responsibility, county, item_id,
        {"level": clean["level"], "department": clean["department"], "item": clean["item"]},
        "责任事项",
    )  # fmt: skip
    row, diff = _save(Responsibility, item_id, county, clean, expected_version, "责任事项")
    record(
        "duty.responsibility.create" if item_id is None else "duty.responsibility.update",
        actor=actor, object_type="responsibility", object_id=row.pk, diff=diff,
    )  # fmt: skip
    return row


@action
@transaction.atomic
def do_remove_structure_row(
    kind: str, row_id: int, *, expected_version: int | None = None, actor: Any
) -> None:
    """Remove (soft delete) a command unit (`kind` "unit") or a responsibility item
    ("responsibility"); a unit leading open tasks stays."""
    active(actor, STRUCTURE_EDITORS, "维护指挥体系和责任清单")
    model, what = {
        "unit": (CommandUnit, "指挥体系条目"),
        "responsibility": (Responsibility, "责任事项"),
    }[kind]
    row = model.objects.select_for_update().filter(pk=row_id).first()
    if row is None or (actor is not None and not can_see_region(actor, row.county_id)):
        raise OutOfScope(f"未找到该{what}，或您无权访问。")
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(f"该{what}已被他人修改，请刷新页面后重试。")
    if kind == "unit" and Task.objects.filter(command_unit=row, status=OPEN).exists():
        raise DomainError(f"“{row.name}”还牵头未完成的调度任务，不能删除。", field="unit")
    model.objects.filter(pk=row.pk).update(
        deleted_at=timezone.now(), deleted_reason="删除", version=F("version") + 1
    )
    record(
        f"duty.{kind}.delete", actor=actor, object_type=kind, object_id=row.pk,
        diff={"deleted": [False, True]},
    )  # fmt: skip


@dataclass
class ImportResult:
    units: int = 0
    responsibilities: int = 0
    removed: int = 0


@action
@transaction.atomic
def do_import_structure(
    county_code: str,
    units: Sequence[Mapping[str, Any]],
    responsibilities: Sequence[Mapping[str, Any]],
    *,
    source: str,
    actor: Any,
) -> ImportResult:
    """Replace a county's command structure and responsibility lists with those of the county's
    file (duty.structure reads YAML or .xlsx): all or nothing; a refusal names the row. Units
    are matched by kind, region and name (kept when unchanged, so open tasks keep their unit);
    the rest of the old rows are removed (soft delete), refused when one leads open tasks."""
    active(actor, STRUCTURE_EDITORS, "导入指挥体系和责任清单")
    county = _county(county_code, actor)
    if not units and not responsibilities:
        raise DomainError("文件中没有指挥体系或责任清单的行。", field="file")
    result = ImportResult()
    keep_units: set[int] = set()
    seen: set[tuple[str, str, str]] = set()
    for i, values in enumerate(units, start=1):
        try:
            clean = _unit_values(county, values)
        except DomainError as exc:
            raise DomainError(f"指挥体系第 {i} 行：{exc.message}", field="file") from exc
        key = (clean["kind"], clean["region"].code, clean["name"])
        if key in seen:
            raise DomainError(f"指挥体系第 {i} 行与前面的行重复（{clean['name']}）。", field="file")
        seen.add(key)
        row = CommandUnit.objects.filter(
            county=county, kind=key[0], region=clean["region"], name=key[2]
        ).first()
        if row is None:
            row = CommandUnit.objects.create(county=county, **clean)
        else:
            CommandUnit.objects.filter(pk=row.pk).update(
                **clean, version=F("version") + 1, updated_at=timezone.now()
            )
        keep_units.add(row.pk)
        result.units += 1
    stale = CommandUnit.objects.filter(county=county).exclude(pk__in=keep_units)
    leading = (
        Task.objects.filter(command_unit__in=stale, status=OPEN)
        .select_related("command_unit")
        .first()
    )
    if leading is not None:
        raise DomainError(
            f"“{leading.command_unit}”还牵头未完成的调度任务（{leading.title}），文件中却没有它。",
            field="file",
        )
    now = timezone.now()
    result.removed += stale.update(deleted_at=now, deleted_reason="导入替换")
    removed = Responsibility.objects.filter(county=county).update(
        deleted_at=now, deleted_reason="导入替换"
    )
    result.removed += removed
    seen_items: set[tuple[str, str, str]] = set()
    for i, values in enumerate(responsibilities, start=1):
        try:
            clean = _responsibility_values(values)
        except DomainError as exc:
            raise DomainError(f"责任清单第 {i} 行：{exc.message}", field="file") from exc
        key = (clean["level"], clean["department"], clean["item"])
        if key in seen_items:
            raise DomainError(f"责任清单第 {i} 行与前面的行重复。", field="file")
        seen_items.add(key)
        Responsibility.objects.create(county=county, **clean)
        result.responsibilities += 1
    record(
        "duty.structure.import", actor=actor, object_type="county", object_id=county.code,
        diff={"source": [None, source[:200]], "units": [None, result.units],
              "responsibilities": [None, result.responsibilities], "removed": [None, result.removed]},
    )  # fmt: skip
    return result


def _report_due(schedule: str, start: datetime.date, region: str) -> tuple[datetime.date, Rule]:
    found = duty_rule(f"{schedule}_report_working_days", start, region)
    return date_after(start, found, region), found


@action
@transaction.atomic
def do_assign_task(
    *,
    region_code: str,
    title: str,
    owner_unit: str,
    owner_person: str,
    schedule: str,
    description: str = "",
    deadline: datetime.date | None = None,
    command_unit_id: int | None = None,
    owner_user_id: int | None = None,
    actor: Any,
) -> Task:
    """Assign a task in the actor's region. Without a deadline it gets the rule's working days
    from the day after today; a deadline before today is refused. The first progress report is
    due a schedule's period after today."""
    active(actor, ASSIGNERS, "交办调度任务")
    region = Region.objects.filter(code=str(region_code or "")).first()
    if region is None or (actor is not None and not can_see_region(actor, region.code)):
        raise OutOfScope("未找到该区划，或您无权访问。")
    if schedule not in SCHEDULES:
        raise DomainError(
            f"调度频次“{schedule}”不是有效代码（weekly、monthly）。", field="schedule"
        )
    today = timezone.localdate()
    if deadline is None:
        found = duty_rule("task_working_days", today, region.code)
        deadline = date_after(today, found, region.code)
        basis = f"交办次日起 {found.cite}"
    else:
        if deadline < today:
            raise DomainError(
                f"完成时限 {deadline.isoformat()} 早于今天（{today.isoformat()}），请重新填写。",
                field="deadline",
            )
        basis = "交办单位指定"
    unit = None
    if command_unit_id is not None:
        unit = CommandUnit.objects.filter(
            pk=command_unit_id, county_id=region.code[:6] + "000000"
        ).first()
        if unit is None:
            raise DomainError("所选牵头专班或领导不属于本县。", field="command_unit")
    owner = None
    if owner_user_id is not None:
        from jingzhun.access.models import User

        owner = User.objects.filter(pk=owner_user_id, is_active=True).first()
        if owner is None or owner.role not in REPORTERS or not can_see_region(owner, region.code):
            raise DomainError("所选责任人账号不能办理该区域的任务。", field="owner_user")
    next_report, _found = _report_due(schedule, today, region.code)
    task = Task.objects.create(
        county_code=region.code[:6] + "000000",
        region=region,
        title=text(title, "任务", "title", 200),
        description=text(description, "任务要求", "description", 2000, required=False),
        command_unit=unit,
        owner_unit=text(owner_unit, "责任单位", "owner_unit", 100),
        owner_person=text(owner_person, "责任人", "owner_person", 50),
        owner_user=owner,
        assigned_on=today,
        deadline=deadline,
        deadline_basis=basis[:300],
        schedule=schedule,
        next_report_on=min(next_report, deadline),
        supervisor_code=initial_supervisor(region.code)
        if region.level != "county"
        else region.code,
        created_by=actor,
    )
    record(
        "duty.task.create", actor=actor, object_type="task", object_id=task.pk,
        diff={"region": [None, region.code], "title": [None, task.title],
              "deadline": [None, deadline.isoformat()], "schedule": [None, schedule]},
    )  # fmt: skip
    return task


def _task_locked(task_id: int, actor: Any, expected_version: int | None = None) -> Task:
    task = Task.objects.select_for_update().filter(pk=task_id).first()
    if task is None or (actor is not None and not can_see_region(actor, task.region_id)):
        raise OutOfScope("未找到该任务，或您无权访问。")
    if expected_version is not None and expected_version != task.version:
        raise StaleVersion(STALE)
    return task


@action
@transaction.atomic
def do_report_progress(
    task_id: int,
    *,
    progress: int,
    text_: str,
    difficulties: str = "",
    expected_version: int | None = None,
    actor: Any,
) -> ProgressReport:
    """Report a task's progress (调度报送): the next report falls due a schedule's period later."""
    active(actor, REPORTERS, "报送任务进展")
    if actor is None:
        raise Forbidden("进展须由具体的人报送。")
    task = _task_locked(task_id, actor, expected_version)
    if task.status != OPEN:
        raise DomainError("该任务已完成，不再报送进展。", field="status")
    if not 0 <= int(progress) <= 100:
        raise DomainError("进度应在 0 到 100 之间。", field="progress")
    if int(progress) < task.progress:
        raise DomainError(f"进度不能低于上次报送的 {task.progress}%。", field="progress")
    today = timezone.localdate()
    if ProgressReport.objects.filter(task=task, reported_on=today).exists():
        raise DomainError("该任务今天已报送过进展。", field="progress")
    report = ProgressReport.objects.create(
        task=task,
        reported_on=today,
        progress=int(progress),
        text=text(text_, "进展情况", "text", 2000),
        difficulties=text(difficulties, "困难和问题", "difficulties", 1000, required=False),
        reported_by=actor,
    )
    due, _found = _report_due(task.schedule, today, task.region_id)
    before = (task.progress, task.next_report_on.isoformat())
    versioned_update(task, expected_version, STALE, progress=int(progress), next_report_on=due)
    record(
        "duty.task.report", actor=actor, object_type="task", object_id=task.pk,
        diff={"progress": [before[0], task.progress],
              "next_report_on": [before[1], due.isoformat()]},
    )  # fmt: skip
    return report


@action
@transaction.atomic
def do_complete_task(task_id: int, *, expected_version: int | None = None, actor: Any) -> Task:
    """The supervising level marks a task done (its progress 100%)."""
    active(actor, SUPERVISORS, "确认任务完成")
    if actor is None:
        raise Forbidden("须由具体的人确认完成。")
    task = _task_locked(task_id, actor, expected_version)
    if task.status != OPEN:
        raise DomainError("该任务已完成。", field="status")
    if not can_see_region(actor, task.supervisor_code):
        level = codes.LEVEL_LABELS.get(codes.level_of(task.supervisor_code), "")
        raise Forbidden(f"该任务由{level}（{task.supervisor_code}）督办，须由该级确认完成。")
    versioned_update(
        task, expected_version, STALE, status=DONE, done_on=timezone.localdate(), progress=100
    )
    record(
        "duty.task.complete", actor=actor, object_type="task", object_id=task.pk,
        diff={"status": [OPEN, DONE]},
    )  # fmt: skip
    return task


@dataclass
class EscalationResult:
    escalated: list[tuple[int, str]] = field(default_factory=list)  # (task id, reason)
    at_top: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


@action
@transaction.atomic
def do_escalate_tasks(*, on: datetime.date | None = None, actor: Any) -> EscalationResult:
    """Every open task overdue (deadline before `on`) or missing its report (due before `on`)
    goes one level up with a new date of the rule's working days after `on`; overdue first (a
    task both overdue and missing its report goes up once, for being overdue, and its report
    date moves with it). Idempotent: the moved dates lie after `on`, and an escalation row is
    unique per task, reason and level. The county office escalates its scope; the command
    (actor None) every county."""
    active(actor, frozenset({"county"}), "升级督办逾期任务")
    on = on or timezone.localdate()
    result = EscalationResult()
    found = (
        Task.objects.select_for_update().filter(overdue_q(on) | report_missing_q(on)).order_by("pk")
    )
    for task in found:
        if actor is not None and not can_see_region(actor, task.region_id):
            continue
        reason = "overdue" if task.deadline < on else "missing_report"
        target = codes.parent_of(task.supervisor_code)
        if target is None:
            result.at_top.append(task.pk)
            continue
        if TaskEscalation.objects.filter(task=task, reason=reason, to_code=target).exists():
            continue
        try:
            days = duty_rule("escalation_working_days", on, task.region_id)
            new_date = date_after(on, days, task.region_id)
        except DomainError as exc:
            result.refused[task.pk] = exc.message
            continue
        old = task.deadline if reason == "overdue" else task.next_report_on
        TaskEscalation.objects.create(
            task=task,
            reason=reason,
            from_code=task.supervisor_code,
            to_code=target,
            escalated_on=on,
            old_date=old,
            new_date=new_date,
            basis=f"{'逾期未完成' if reason == 'overdue' else '未按期报送进展'}，升级一级督办；"
            f"新日期 {days.cite}"[:300],
            escalated_by=actor,
        )
        values: dict[str, Any] = {"supervisor_code": target, "escalations": F("escalations") + 1}
        if reason == "overdue":
            values["deadline"] = new_date
        values["next_report_on"] = new_date
        before = task.supervisor_code
        versioned_update(task, None, STALE, **values)
        record(
            "duty.task.escalate", actor=actor, object_type="task", object_id=task.pk,
            diff={"supervisor_code": [before, target], "reason": [None, reason],
                  "date": [old.isoformat(), new_date.isoformat()]},
        )  # fmt: skip
        result.escalated.append((task.pk, reason))
    return result
