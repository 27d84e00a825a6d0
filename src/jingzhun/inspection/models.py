"""Inspections (督查), the problems they find, their rectification (整改), verification by a
different person, closure (销号), escalation of overdue problems (挂牌督办) and accountability
records (问责). Issue 24 item 2; ADR 0073.

Every write is an action in inspection/actions.py; every read goes through
inspection/selectors.py, scoped by the region of the problem (the region grants).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jingzhun.core.models import DomainModel, StoredFile

from .choices import (
    ACCOUNTABILITY_MEASURES,
    INSPECTION_KINDS,
    OPEN,
    PROBLEM_CATEGORIES,
    PROBLEM_STATUSES,
)


def _user(name: str, *, null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=null,
        blank=null,
        related_name="+",
        verbose_name=name,
    )


class Inspection(DomainModel):
    """One inspection (a routine or unannounced check, or feedback from the province or the
    nation) of a region. Invariant: written only by inspection.actions; its problems lie in
    its region."""

    kind = models.CharField("督查类型", max_length=24, choices=list(INSPECTION_KINDS.items()))
    title = models.CharField("名称", max_length=200)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="督查区域"
    )
    organiser = models.CharField("组织单位", max_length=100)
    document = models.CharField("文件或反馈文号", max_length=100, blank=True, default="")
    started_on = models.DateField("督查日期")
    created_by = _user("录入人")

    class Meta:
        verbose_name = "督查"
        verbose_name_plural = "督查"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=list(INSPECTION_KINDS)), name="inspection_kind_known"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def kind_label(self) -> str:
        return INSPECTION_KINDS.get(self.kind, self.kind)


class Problem(DomainModel):
    """A problem an inspection found. Invariant: `supervisor_code` is an ancestor of the
    problem's region (the level that verifies and closes it; escalation moves it one level up);
    status moves open → submitted → verified → closed (a failed verification: back to open),
    only through inspection.actions; `closed_on` is set exactly when closed."""

    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, related_name="problems", verbose_name="督查"
    )
    category = models.CharField("问题类别", max_length=24, choices=list(PROBLEM_CATEGORIES.items()))
    description = models.TextField("问题描述", max_length=2000)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="问题所在区域"
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="涉及农户",
    )
    unit = models.CharField("涉及单位", max_length=100, blank=True, default="")
    responsible_unit = models.CharField("责任单位", max_length=100)
    responsible_person = models.CharField("责任人", max_length=50)
    found_on = models.DateField("发现日期")
    deadline = models.DateField("整改期限")
    deadline_basis = models.CharField("期限依据", max_length=200, blank=True, default="")
    status = models.CharField(
        "状态", max_length=12, choices=list(PROBLEM_STATUSES.items()), default=OPEN
    )
    supervisor_code = models.CharField("督办层级（区划代码）", max_length=12)
    escalations = models.PositiveSmallIntegerField("升级次数", default=0)
    closed_on = models.DateField("销号日期", null=True, blank=True)
    closed_by = _user("销号人")
    created_by = _user("录入人")

    class Meta:
        verbose_name = "督查问题"
        verbose_name_plural = "督查问题"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=list(PROBLEM_STATUSES)),
                name="problem_status_known",
            ),
            models.CheckConstraint(
                condition=models.Q(category__in=list(PROBLEM_CATEGORIES)),
                name="problem_category_known",
            ),
            models.CheckConstraint(
                condition=models.Q(status="closed", closed_on__isnull=False)
                | (~models.Q(status="closed") & models.Q(closed_on__isnull=True)),
                name="problem_closed_on_when_closed",
            ),
            models.CheckConstraint(
                condition=models.Q(deadline__gte=models.F("found_on")),
                name="problem_deadline_after_found",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.pk} {self.category_label}"

    @property
    def category_label(self) -> str:
        return PROBLEM_CATEGORIES.get(self.category, self.category)

    @property
    def status_label(self) -> str:
        return PROBLEM_STATUSES.get(self.status, self.status)

    @property
    def listed(self) -> bool:
        """挂牌督办: escalated at least once."""
        return self.escalations > 0


class Rectification(models.Model):
    """A submission of rectification (what was done) for a problem. Invariant: append-only;
    each moves the problem to submitted; its verification is by another person."""

    problem = models.ForeignKey(
        Problem, on_delete=models.PROTECT, related_name="rectifications", verbose_name="问题"
    )
    description = models.TextField("整改情况", max_length=2000)
    submitted_by = _user("提交人", null=False)
    submitted_at = models.DateTimeField("提交时间", default=timezone.now)

    class Meta:
        verbose_name = "整改情况"
        verbose_name_plural = "整改情况"

    def __str__(self) -> str:
        return f"{self.problem_id} {self.submitted_at:%Y-%m-%d}"


class RectificationEvidence(StoredFile):
    """A file proving a rectification (core.stored_files). Invariant: append-only."""

    rectification = models.ForeignKey(
        Rectification, on_delete=models.PROTECT, related_name="evidence", verbose_name="整改情况"
    )

    class Meta:
        verbose_name = "整改佐证材料"
        verbose_name_plural = "整改佐证材料"


class Verification(models.Model):
    """A check of a rectification. Invariant: append-only; `verified_by` is never the
    rectification's submitter (checked by the action and by the database)."""

    rectification = models.ForeignKey(
        Rectification,
        on_delete=models.PROTECT,
        related_name="verifications",
        verbose_name="整改情况",
    )
    passed = models.BooleanField("核验通过")
    note = models.CharField("核验意见", max_length=500)
    verified_by = _user("核验人", null=False)
    submitted_by = _user("整改提交人", null=False)  # copied, for the constraint below
    verified_at = models.DateTimeField("核验时间", default=timezone.now)

    class Meta:
        verbose_name = "整改核验"
        verbose_name_plural = "整改核验"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(verified_by=models.F("submitted_by")),
                name="verification_by_another_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rectification_id}: {'通过' if self.passed else '退回'}"


class Escalation(models.Model):
    """An overdue problem moved one level up (挂牌督办). Invariant: append-only; `to_code` is the
    parent of `from_code`; the new deadline lies after the day of escalation."""

    problem = models.ForeignKey(
        Problem, on_delete=models.PROTECT, related_name="escalation_rows", verbose_name="问题"
    )
    from_code = models.CharField("原督办层级", max_length=12)
    to_code = models.CharField("升级后督办层级", max_length=12)
    escalated_on = models.DateField("升级日期")
    old_deadline = models.DateField("原整改期限")
    new_deadline = models.DateField("新整改期限")
    basis = models.CharField("依据", max_length=300)
    escalated_by = _user("操作人")

    class Meta:
        verbose_name = "挂牌督办"
        verbose_name_plural = "挂牌督办"
        constraints = [
            models.UniqueConstraint(fields=["problem", "to_code"], name="escalation_once_a_level"),
            models.CheckConstraint(
                condition=models.Q(new_deadline__gt=models.F("escalated_on")),
                name="escalation_deadline_after",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.problem_id}: {self.from_code} → {self.to_code}"


class Accountability(DomainModel):
    """An accountability decision (问责) about a person, linked to the problems behind it.
    Invariant: at least one linked problem, all in the recording user's scope."""

    problems = models.ManyToManyField(Problem, related_name="accountabilities", verbose_name="问题")
    person_name = models.CharField("被问责人", max_length=50)
    position = models.CharField("职务", max_length=100)
    unit = models.CharField("单位", max_length=100)
    measure = models.CharField(
        "问责方式", max_length=24, choices=list(ACCOUNTABILITY_MEASURES.items())
    )
    decided_on = models.DateField("决定日期")
    authority = models.CharField("决定机关", max_length=100)
    document = models.CharField("文号", max_length=100, blank=True, default="")
    note = models.CharField("说明", max_length=500, blank=True, default="")
    recorded_by = _user("录入人")

    class Meta:
        verbose_name = "问责记录"
        verbose_name_plural = "问责记录"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(measure__in=list(ACCOUNTABILITY_MEASURES)),
                name="accountability_measure_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_name} {self.measure_label}"

    @property
    def measure_label(self) -> str:
        return ACCOUNTABILITY_MEASURES.get(self.measure, self.measure)
