"""Requests for an unmasked export and their decision by a second person (PII-4, ADR 0045);
export jobs: a large export written by `jingzhun worker`, downloaded when done."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jingzhun.core.models import JobRow

UNMASKED_KINDS = {"roster": "花名册", "facts": "户数据", "card": "明白卡"}
REQUEST_STATES = {
    "requested": "待审批",
    "approved": "已批准",
    "refused": "已驳回",
    "used": "已使用",
}
EXPIRED_LABEL = "已过期"


class UnmaskedExportRequest(models.Model):
    """One unmasked export asked for with a reason and decided by another authorised user.

    Invariants: the approver is never the requester; an approved (or used) request has its
    approver, decision time and expiry; a card request names a household, the others a region.
    An approval is valid once, until `expires_at`.
    """

    requester = models.ForeignKey(
        "access.User",
        on_delete=models.PROTECT,
        related_name="unmasked_export_requests",
        verbose_name="申请人",
    )
    kind = models.CharField("导出内容", max_length=8, choices=list(UNMASKED_KINDS.items()))
    region = models.ForeignKey(
        "regions.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="区划范围",
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="户",
    )
    reason = models.CharField("申请理由", max_length=500)
    state = models.CharField(
        "状态", max_length=10, choices=list(REQUEST_STATES.items()), default="requested"
    )
    created_at = models.DateTimeField("申请时间", default=timezone.now)
    approver = models.ForeignKey(
        "access.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审批人",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True, default="")
    expires_at = models.DateTimeField("有效期至", null=True, blank=True)
    used_at = models.DateTimeField("使用时间", null=True, blank=True)

    class Meta:
        verbose_name = "未脱敏导出申请"
        verbose_name_plural = "未脱敏导出申请"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=list(REQUEST_STATES)), name="unmasked_request_state"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=list(UNMASKED_KINDS)), name="unmasked_request_kind"
            ),
            models.CheckConstraint(
                condition=~models.Q(approver=models.F("requester")),
                name="unmasked_request_second_person",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="card", household__isnull=False, region__isnull=True))
                | (~models.Q(kind="card") & models.Q(household__isnull=True, region__isnull=False)),
                name="unmasked_request_scope",
            ),
            models.CheckConstraint(
                condition=models.Q(state="requested")
                | models.Q(approver__isnull=False, decided_at__isnull=False),
                name="unmasked_request_decided",
            ),
            models.CheckConstraint(
                condition=~models.Q(state__in=["approved", "used"])
                | models.Q(expires_at__isnull=False),
                name="unmasked_request_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.kind} {self.state}"

    def state_at(self, now: datetime.datetime | None = None) -> str:
        """The state as seen now: an approval past its expiry reads as expired."""
        if self.state == "approved" and self.expires_at <= (now or timezone.now()):  # type: ignore[operator]
            return "expired"
        return self.state

    @property
    def state_label(self) -> str:
        state = self.state_at()
        return EXPIRED_LABEL if state == "expired" else REQUEST_STATES[state]

    @property
    def kind_label(self) -> str:
        return UNMASKED_KINDS[self.kind]


class ExportJob(JobRow):
    """A roster export too large to write inside a request, run once by the worker.

    Invariant: queued → running → done | failed; the file (VAR_DIR/exports) exists only for a
    done job, is readable by its requester only, and is removed after JOB_RETENTION_DAYS. The
    export's audit event is recorded by the export action when the file is complete."""

    kind = models.CharField("导出类型", max_length=12, default="roster")
    format = models.CharField("文件格式", max_length=8, default="xlsx")
    filters = models.JSONField("筛选条件", default=dict, blank=True)
    unmasked = models.BooleanField("未脱敏", default=False)
    # the approved UnmaskedExportRequest an unmasked job names (PII-4, ADR 0045): checked when
    # queued, used when the worker writes the file
    approval = models.PositiveIntegerField("审批单号", null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name="导出人", related_name="+"
    )
    households = models.PositiveIntegerField("户数", default=0)
    rows = models.PositiveIntegerField("行数", default=0)

    class Meta:
        verbose_name = "导出任务"
        verbose_name_plural = "导出任务"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="export_job_status_known",
            ),
            models.CheckConstraint(condition=Q(kind="roster"), name="export_job_kind_known"),
        ]

    def __str__(self) -> str:
        return f"导出任务 {self.pk} {self.kind} {self.status}"
