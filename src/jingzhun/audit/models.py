"""Append-only, hash-chained audit events. Rows are only ever inserted (see actions.record)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One thing that happened. Invariant: never updated or deleted; `hash` chains to the previous row."""

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    actor_name = models.CharField("操作人账号", max_length=150, blank=True, default="")
    role = models.CharField("角色", max_length=32, blank=True, default="")
    ip = models.CharField("IP 地址", max_length=64, blank=True, default="")
    request_id = models.CharField("请求编号", max_length=64, blank=True, default="")
    channel = models.CharField("渠道", max_length=16, blank=True, default="")
    event = models.CharField("事件", max_length=64, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True, default="")
    object_id = models.CharField("对象编号", max_length=64, blank=True, default="", db_index=True)
    outcome = models.CharField("结果", max_length=16, default="success")
    reason = models.CharField("原因", max_length=500, blank=True, default="")
    diff = models.JSONField("变更内容（已脱敏）", default=dict, blank=True)
    prev_hash = models.CharField("前一条哈希", max_length=64)
    hash = models.CharField("哈希", max_length=64, unique=True)

    class Meta:
        verbose_name = "审计事件"
        verbose_name_plural = "审计事件"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event} {self.actor_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("审计记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("审计记录只能追加，不能删除。")


class AuditChainHead(models.Model):
    """Single row holding the newest hash; locking it serialises appends to the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = "审计链头"

    def __str__(self) -> str:
        return self.last_hash


class AuditArchive(models.Model):
    """A contiguous run of events [first_id, last_id] written to an archive file. Only archived
    events older than the retention may ever be deleted (AUDIT-3); `last_hash` anchors the chain
    of the events that remain."""

    first_id = models.BigIntegerField("起始事件编号")
    last_id = models.BigIntegerField("结束事件编号")
    last_hash = models.CharField("最后一条哈希", max_length=64)
    last_at = models.DateTimeField("最后一条时间")
    event_count = models.PositiveIntegerField("事件数")
    sha256 = models.CharField("归档文件 SHA-256", max_length=64)
    path = models.CharField("归档文件", max_length=500)
    created_at = models.DateTimeField("归档时间", default=timezone.now)

    class Meta:
        verbose_name = "审计归档"
        verbose_name_plural = "审计归档"
        ordering = ["first_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_id__gte=models.F("first_id")), name="archive_range_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_id}-{self.last_id}"
