"""The command structure (指挥部, 专班, 包乡/包村领导), responsibility lists per level and
department (责任清单), and scheduled tasks (调度) with progress reports and escalations.
Issue 24 item 1; ADR 0077 (duty and tickets).

Every write is an action in duty/actions.py; every read goes through duty/selectors.py,
scoped by the region of the row (the region grants).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jingzhun.core.models import DomainModel

from .choices import ESCALATION_REASONS, LEVELS, OPEN, SCHEDULES, TASK_STATUSES, UNIT_KINDS


def _user(name: str, *, null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=null,
        blank=null,
        related_name="+",
        verbose_name=name,
    )


def _region(name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=name
    )


class CommandUnit(DomainModel):
    """One part of a county's command structure: the headquarters, a special squad, or the
    leader responsible for a township or village. Invariant: its region lies in its county at
    the level of its kind (county for headquarters and squads)."""

    county = _region("县")
    kind = models.CharField("类型", max_length=20, choices=list(UNIT_KINDS.items()))
    name = models.CharField("名称", max_length=100)
    region = _region("负责区域")
    leader_name = models.CharField("负责人", max_length=50)
    leader_title = models.CharField("职务", max_length=100, blank=True, default="")
    members = models.CharField("成员单位或成员", max_length=500, blank=True, default="")
    duties = models.TextField("职责", max_length=2000, blank=True, default="")

    class Meta:
        verbose_name = "指挥体系"
        verbose_name_plural = "指挥体系"
        ordering = ["kind", "region_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=list(UNIT_KINDS)), name="duty_unit_kind_known"
            ),
            models.UniqueConstraint(
                fields=["county", "kind", "region", "name"],
                condition=Q(deleted_at__isnull=True),
                name="duty_unit_unique_live",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_label(self) -> str:
        return UNIT_KINDS.get(self.kind, self.kind)


class Responsibility(DomainModel):
    """One item of a responsibility list (责任清单) of a level and department of a county."""

    county = _region("县")
    level = models.CharField("层级", max_length=10, choices=list(LEVELS.items()))
    department = models.CharField("责任单位", max_length=100)
    item = models.CharField("责任事项", max_length=500)
    basis = models.CharField("依据", max_length=200, blank=True, default="")
    position = models.PositiveIntegerField("序号", default=0)

    class Meta:
        verbose_name = "责任清单"
        verbose_name_plural = "责任清单"
        ordering = ["level", "department", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(level__in=list(LEVELS)), name="duty_level_known"),
            models.UniqueConstraint(
                fields=["county", "level", "department", "item"],
                condition=Q(deleted_at__isnull=True),
                name="duty_responsibility_unique_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department}: {self.item[:20]}"

    @property
    def level_label(self) -> str:
        return LEVELS.get(self.level, self.level)


class Task(DomainModel):
    """A scheduled task (调度任务) with an owner (unit and person), a deadline in working days and
    progress reports on a weekly or monthly schedule. Invariant: `supervisor_code` is its region
    or an ancestor of it (the level that follows it; escalation moves it one level up); status
    open → done only through duty.actions; `done_on` is set exactly when done."""

    county_code = models.CharField("所属县", max_length=12, db_index=True)
    region = _region("任务所在区域")
    title = models.CharField("任务", max_length=200)
    description = models.TextField("任务要求", max_length=2000, blank=True, default="")
    command_unit = models.ForeignKey(
        CommandUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name="牵头专班或领导",
    )
    owner_unit = models.CharField("责任单位", max_length=100)
    owner_person = models.CharField("责任人", max_length=50)
    owner_user = _user("责任人账号")
    assigned_on = models.DateField("交办日期")
    deadline = models.DateField("完成时限")
    deadline_basis = models.CharField("时限依据", max_length=300, blank=True, default="")
    schedule = models.CharField("调度频次", max_length=10, choices=list(SCHEDULES.items()))
    next_report_on = models.DateField("下次报送进展日期")
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    status = models.CharField(
        "状态", max_length=10, choices=list(TASK_STATUSES.items()), default=OPEN
    )
    done_on = models.DateField("完成日期", null=True, blank=True)
    supervisor_code = models.CharField("督办层级（区划代码）", max_length=12)
    escalations = models.PositiveSmallIntegerField("升级次数", default=0)
    created_by = _user("交办人")

    class Meta:
        verbose_name = "调度任务"
        verbose_name_plural = "调度任务"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=list(TASK_STATUSES)), name="duty_task_status_known"
            ),
            models.CheckConstraint(
                condition=Q(schedule__in=list(SCHEDULES)), name="duty_task_schedule_known"
            ),
            models.CheckConstraint(
                condition=Q(status="done", done_on__isnull=False)
                | (~Q(status="done") & Q(done_on__isnull=True)),
                name="duty_task_done_on_when_done",
            ),
            models.CheckConstraint(
                condition=Q(deadline__gte=models.F("assigned_on")),
                name="duty_task_deadline_after_assigned",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="duty_task_progress_le_100"
            ),
        ]
        indexes = [models.Index(fields=["county_code", "status", "deadline"])]

    def __str__(self) -> str:
        return self.title

    @property
    def status_label(self) -> str:
        return TASK_STATUSES.get(self.status, self.status)

    @property
    def schedule_label(self) -> str:
        return SCHEDULES.get(self.schedule, self.schedule)


class ProgressReport(models.Model):
    """A progress report on a task (调度报送). Invariant: append-only; one per task and day."""

    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, related_name="reports", verbose_name="任务"
    )
    reported_on = models.DateField("报送日期")
    progress = models.PositiveSmallIntegerField("进度（%）")
    text = models.TextField("进展情况", max_length=2000)
    difficulties = models.CharField("困难和问题", max_length=1000, blank=True, default="")
    reported_by = _user("报送人", null=False)

    class Meta:
        verbose_name = "进展报送"
        verbose_name_plural = "进展报送"
        ordering = ["-reported_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["task", "reported_on"], name="duty_report_once_a_day"),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="duty_report_progress_le_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.reported_on}"


class TaskEscalation(models.Model):
    """A task moved one level up because it was overdue or its report was missing. Invariant:
    append-only; at most one per task, reason and target level (a second run the same day, or
    any later run, cannot escalate twice to the same level for the same reason)."""

    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, related_name="escalation_rows", verbose_name="任务"
    )
    reason = models.CharField("原因", max_length=20, choices=list(ESCALATION_REASONS.items()))
    from_code = models.CharField("原督办层级", max_length=12)
    to_code = models.CharField("升级后督办层级", max_length=12)
    escalated_on = models.DateField("升级日期")
    old_date = models.DateField("原日期（时限或报送日）")
    new_date = models.DateField("新日期")
    basis = models.CharField("依据", max_length=300)
    escalated_by = _user("操作人")

    class Meta:
        verbose_name = "调度任务升级督办"
        verbose_name_plural = "调度任务升级督办"
        ordering = ["escalated_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "reason", "to_code"], name="duty_escalation_once_a_level"
            ),
            models.CheckConstraint(
                condition=Q(new_date__gt=models.F("escalated_on")),
                name="duty_escalation_date_after",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.from_code} → {self.to_code}"

    @property
    def reason_label(self) -> str:
        return ESCALATION_REASONS.get(self.reason, self.reason)
