"""Export jobs: a large export written by `jingzhun worker`, downloaded when done (issue 20)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ExportJob(models.Model):
    """A roster export too large to write inside a request, run once by the worker.

    Invariant: queued → running → done | failed; the file (VAR_DIR/exports) exists only for a
    done job, is readable by its requester only, and is removed after JOB_RETENTION_DAYS. The
    export's audit event is recorded by the export action when the file is complete."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUSES = [(QUEUED, "排队中"), (RUNNING, "导出中"), (DONE, "已完成"), (FAILED, "失败")]

    kind = models.CharField("导出类型", max_length=12, default="roster")
    format = models.CharField("文件格式", max_length=8, default="xlsx")
    filters = models.JSONField("筛选条件", default=dict, blank=True)
    unmasked = models.BooleanField("未脱敏", default=False)
    status = models.CharField("状态", max_length=8, choices=STATUSES, default=QUEUED)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name="导出人", related_name="+"
    )
    households = models.PositiveIntegerField("户数", default=0)
    rows = models.PositiveIntegerField("行数", default=0)
    worker = models.CharField("执行进程", max_length=100, blank=True, default="")
    error = models.TextField("错误", blank=True, default="")
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

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
