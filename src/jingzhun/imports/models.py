"""Import batches (one per file, keyed by its SHA-256), their per-household change log, and saved
column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jingzhun.core.models import JobRow

BATCH_STATUS = {
    "pending": "待确认",
    "committed": "已导入",
    "refused": "已拒绝",
}


class ImportBatch(models.Model):
    """One import of one file. Invariant: a file (by SHA-256) is committed at most once."""

    sha256 = models.CharField("文件摘要(SHA-256)", max_length=64, db_index=True)
    filename = models.CharField("文件名", max_length=255)
    size = models.PositiveBigIntegerField("文件大小(字节)", default=0)
    # the income year given on upload (pipeline.plan_import's `year`)
    income_year = models.PositiveSmallIntegerField("指定收入年度", null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name="导入人",
        related_name="+",
    )
    user_name = models.CharField("导入人账号", max_length=150, blank=True, default="")
    status = models.CharField("状态", max_length=12, choices=list(BATCH_STATUS.items()))
    households_new = models.PositiveIntegerField("新增户数", default=0)
    households_changed = models.PositiveIntegerField("变更户数", default=0)
    households_unchanged = models.PositiveIntegerField("未变户数", default=0)
    members_new = models.PositiveIntegerField("新增人数", default=0)
    members_changed = models.PositiveIntegerField("变更人数", default=0)
    members_unchanged = models.PositiveIntegerField("未变人数", default=0)
    rows_refused = models.PositiveIntegerField("拒绝行数", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256"],
                condition=Q(status="committed"),
                name="import_file_committed_once",
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(BATCH_STATUS)), name="import_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    def counts(self) -> dict[str, int]:
        return {
            "households_new": self.households_new,
            "households_changed": self.households_changed,
            "households_unchanged": self.households_unchanged,
            "members_new": self.members_new,
            "members_changed": self.members_changed,
            "members_unchanged": self.members_unchanged,
            "rows_refused": self.rows_refused,
        }


class ImportChange(models.Model):
    """What a committed batch did to one household, sensitive values masked. Invariant: append-only."""

    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="changes", verbose_name="导入批次"
    )
    household = models.ForeignKey(
        # A named reverse relation: demo --reset finds every model referring to Household by it.
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="import_changes",
        verbose_name="户",
    )
    kind = models.CharField("类型", max_length=8, choices=[("new", "新增"), ("changed", "变更")])
    diff = models.JSONField("变更内容(已脱敏)", default=dict)

    class Meta:
        verbose_name = "导入变更"
        verbose_name_plural = "导入变更"
        ordering = ["batch_id", "id"]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.household_id} {self.kind}"


class ImportCreatedCopy(models.Model):
    """One part of a committed batch's copy of the households it created, masked (ADR 0040).

    `data` is one gzip-compressed JSON document of columns (imports/created.py: a column per
    household field and per member field, households in write order, sensitive values masked
    as the change log masks them); part k holds the created households k * PART_SIZE onwards,
    and a new household's `ImportChange.diff` names its part. The batch's audit event holds the
    SHA-256 of the parts' stored bytes in order (`created_sha256`). Invariant: append-only,
    written in the batch's own transaction."""

    batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        related_name="created_copies",
        verbose_name="导入批次",
    )
    part = models.PositiveIntegerField("分段序号")
    households = models.PositiveIntegerField("户数")
    data = models.BinaryField("新增户内容(已脱敏，gzip 压缩)")

    class Meta:
        verbose_name = "新增户副本"
        verbose_name_plural = "新增户副本"
        ordering = ["batch_id", "part"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "part"], name="import_copy_part_once"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.part}"


class ColumnMapping(models.Model):
    """Header labels a user or region maps to fields. Invariant: user and region are not both set."""

    name = models.CharField("名称", max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name="用户",
        related_name="+",
    )
    region = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name="适用区划",
        related_name="+",
    )
    # {normalised header label: field key}
    columns = models.JSONField("列对应关系", default=dict)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "列对应方案"
        verbose_name_plural = "列对应方案"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(region__isnull=True),
                name="mapping_user_or_region",
            ),
            models.UniqueConstraint(
                fields=["user", "name"], condition=Q(user__isnull=False), name="mapping_user_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(JobRow):
    """A web upload's check or a batch's commit, run in the background with its progress.

    Invariant: a job runs once (queued → running → done | failed); a commit job's writes are one
    transaction (`do_commit_import`), so a job whose worker died leaves the registry as it was.
    The live progress of a running job is kept beside the upload (`imports.jobs.progress_path`):
    a commit's own transaction cannot publish row updates before it ends."""

    CHECK, COMMIT = "check", "commit"
    KINDS = [(CHECK, "校验"), (COMMIT, "导入")]

    kind = models.CharField("类型", max_length=8, choices=KINDS)
    filename = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("文件摘要(SHA-256)", max_length=64)
    size = models.PositiveBigIntegerField("文件大小(字节)", default=0)
    # the income year given on upload (pipeline.plan_import's `year`)
    income_year = models.PositiveSmallIntegerField("指定收入年度", null=True, blank=True)
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobs",
        verbose_name="导入批次",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        verbose_name="发起人",
        related_name="+",
    )

    class Meta:
        verbose_name = "导入任务"
        verbose_name_plural = "导入任务"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["check", "commit"]), name="import_job_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="import_job_status_known",
            ),
            models.CheckConstraint(
                condition=Q(kind="check") | Q(batch__isnull=False),
                name="import_job_commit_has_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"导入任务 {self.pk} {self.kind} {self.status}"
