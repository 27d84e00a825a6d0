"""Scoped reads of the command structure, responsibility lists and tasks: a row is visible to
the accounts whose region grants contain its region (county, township, village staff, auditors,
work teams); a county's command structure and responsibility lists to every account of the
county. Helpers, liaisons, verification teams and the administrators see none."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes
from jingzhun.tickets.selectors import READERS, region_q

from .choices import DONE, OPEN
from .models import CommandUnit, ProgressReport, Responsibility, Task, TaskEscalation


def counties_of(user: Any) -> list[str]:
    """The counties the user's grants lie in."""
    if getattr(user, "role", "") not in READERS:
        return []
    return sorted({code[:6] + "000000" for code in granted_codes(user)})


def units_for(user: Any) -> QuerySet[CommandUnit]:
    return CommandUnit.objects.filter(county_id__in=counties_of(user)).select_related("region")


def unit_for(user: Any, unit_id: int) -> CommandUnit:
    found = units_for(user).filter(pk=unit_id).first()
    if found is None:
        raise OutOfScope("未找到该指挥体系条目，或您无权访问。")
    return found


def responsibilities_for(user: Any) -> QuerySet[Responsibility]:
    return Responsibility.objects.filter(county_id__in=counties_of(user))


def responsibility_for(user: Any, item_id: int) -> Responsibility:
    found = responsibilities_for(user).filter(pk=item_id).first()
    if found is None:
        raise OutOfScope("未找到该责任事项，或您无权访问。")
    return found


def tasks_for(user: Any) -> QuerySet[Task]:
    return Task.objects.filter(region_q(user, "region__code")).select_related(
        "region", "command_unit"
    )


def task_for(user: Any, task_id: int) -> Task:
    found = tasks_for(user).filter(pk=task_id).first()
    if found is None:
        raise OutOfScope("未找到该任务，或您无权访问。")
    return found


def overdue_q(on: datetime.date) -> Q:
    """Open tasks past their deadline."""
    return Q(status=OPEN, deadline__lt=on)


def report_missing_q(on: datetime.date) -> Q:
    """Open tasks whose progress report was due before `on` and has not come."""
    return Q(status=OPEN, next_report_on__lt=on)


# Task progress on the battle map: each figure a condition, counted and listed alike.
TASK_FIGURES = {
    "on_time": "按期推进",
    "overdue": "逾期未完成",
    "report_missing": "未按期报送进展",
    "done": "已完成",
}


def task_figure_q(key: str, on: datetime.date) -> Q:
    if key == "on_time":
        return Q(status=OPEN, deadline__gte=on)
    if key == "overdue":
        return overdue_q(on)
    if key == "report_missing":
        return report_missing_q(on)
    if key == "done":
        return Q(status=DONE)
    raise OutOfScope("未知的指标。")


def task_list(
    user: Any,
    *,
    status: str = "",
    figure: str = "",
    on: datetime.date | None = None,
    region: str = "",
) -> QuerySet[Task]:
    found = tasks_for(user)
    if region:
        found = found.filter(region__code__startswith=codes.prefix(region))
    if status:
        found = found.filter(status=status)
    if figure and on is not None:
        found = found.filter(task_figure_q(figure, on))
    return found.order_by("status", "deadline", "pk")


def task_figures(user: Any, on: datetime.date, region: str = "") -> dict[str, int]:
    """The task figures of the user's scope (under `region`), in one query."""
    found = tasks_for(user)
    if region:
        found = found.filter(region__code__startswith=codes.prefix(region))
    counted = found.aggregate(
        **{key: Count("pk", filter=task_figure_q(key, on)) for key in TASK_FIGURES}
    )
    return {k: int(v or 0) for k, v in counted.items()}


def task_history(task: Task) -> dict[str, Any]:
    return {
        "reports": list(ProgressReport.objects.filter(task=task).select_related("reported_by")),
        "escalations": list(TaskEscalation.objects.filter(task=task)),
    }
