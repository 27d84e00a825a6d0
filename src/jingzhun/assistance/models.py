"""Precise assistance (精准帮扶, issue 21): the helpers' profiles.

The pairings themselves (`access.models.HelperPairing`) stay in `access`: they are the helpers'
scope, which `access.scoping` alone decides (ADR "assist-pairing"). This app owns what is written
about them: the helper's unit and rank (the quota rule's key), and the pairing actions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jingzhun.core.models import DomainModel

from .choices import HELPER_KINDS


class HelperProfile(DomainModel):
    """A helper (帮扶责任人): their unit and rank category. Invariant: one live profile per account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="helper_profile",
        verbose_name="帮扶责任人",
    )
    unit = models.CharField("工作单位", max_length=100)
    kind = models.CharField("职级类别", max_length=20, choices=list(HELPER_KINDS.items()))
    title = models.CharField("职务", max_length=50, blank=True, default="")

    class Meta:
        verbose_name = "帮扶责任人"
        verbose_name_plural = "帮扶责任人"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=list(HELPER_KINDS)), name="helper_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.unit}"

    @property
    def kind_label(self) -> str:
        return HELPER_KINDS.get(self.kind, self.kind)


# Household plans and measures (issue 21 item 3) ---------------------------------------------
# A household's plan (一户一策) is its measures of a year; coverage is computed from them by
# assistance.selectors, never stored. Kinds and departments are codes of the policy catalogue
# policies/tables/measure_kinds.yaml (assistance.catalogue), checked by the actions.

from .choices import MEASURE_STATUS  # noqa: E402


class Measure(DomainModel):
    """One assistance measure of a household. Invariants: amount ≥ 0, end ≥ start, an approved
    (or later) measure names its approver, a completed one its completion date."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="measures", verbose_name="户"
    )
    year = models.PositiveSmallIntegerField("计划年度")
    kind = models.CharField("措施类型", max_length=40)
    department = models.CharField("责任部门", max_length=40)
    description = models.CharField("措施内容", max_length=200, blank=True, default="")
    amount = models.DecimalField("金额(元)", max_digits=12, decimal_places=2, null=True, blank=True)
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=list(MEASURE_STATUS.items()), default="proposed"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="提出人",
    )
    proposer_role = models.CharField("提出方", max_length=16)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审批人",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True, default="")
    completed_on = models.DateField("完成日期", null=True, blank=True)

    class Meta:
        verbose_name = "帮扶措施"
        verbose_name_plural = "帮扶措施"
        indexes = [
            models.Index(fields=["household", "year"], name="measure_household_year"),
            models.Index(fields=["status", "kind"], name="measure_status_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="measure_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="measure_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=list(MEASURE_STATUS)), name="measure_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["proposed", "cancelled"])
                | models.Q(decided_at__isnull=False),
                name="measure_decided_names_approver",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="completed") | models.Q(completed_on__isnull=False),
                name="measure_completed_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.kind} {self.status}"

    @property
    def status_label(self) -> str:
        return MEASURE_STATUS.get(self.status, self.status)


class MeasureEvidence(models.Model):
    """A file kept for a measure (agreement, receipt, photo). Invariant: append-only; the bytes
    live under VAR_DIR/evidence named by their SHA-256 (workflows.evidence, the same checks)."""

    measure = models.ForeignKey(
        Measure, on_delete=models.PROTECT, related_name="evidence", verbose_name="帮扶措施"
    )
    filename = models.CharField("文件名", max_length=200)
    content_type = models.CharField("文件类型", max_length=100)
    size = models.PositiveIntegerField("大小(字节)")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="上传人",
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "措施佐证材料"
        verbose_name_plural = "措施佐证材料"

    def __str__(self) -> str:
        return f"{self.measure_id} {self.filename}"


class LiaisonDepartment(models.Model):
    """The department (a code of the measure catalogue) a department liaison (行业部门联络员)
    speaks for: they see the measures of that department's kinds. Invariant: one per account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="liaison_department",
        verbose_name="联络员",
    )
    department = models.CharField("所属部门", max_length=40)

    class Meta:
        verbose_name = "联络员所属部门"
        verbose_name_plural = "联络员所属部门"

    def __str__(self) -> str:
        return f"{self.user_id} {self.department}"
