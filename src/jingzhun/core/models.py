"""Abstract bases shared by domain models: timestamps, optimistic-lock version, soft delete."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class LiveQuerySet(models.QuerySet):
    """Refuses bulk hard deletes: domain rows are soft-deleted through actions."""

    def delete(self) -> Any:
        raise PermissionError("登记数据不能直接物理删除，请通过删除操作（软删除）处理。")

    def alive(self) -> LiveQuerySet:
        return self.filter(deleted_at__isnull=True)


class LiveManager(models.Manager.from_queryset(LiveQuerySet)):  # type: ignore[misc]
    """Default manager: hides soft-deleted rows."""

    def get_queryset(self) -> LiveQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllManager(models.Manager.from_queryset(LiveQuerySet)):  # type: ignore[misc]
    """Manager including soft-deleted rows, for restore and audit."""


class DomainModel(models.Model):
    """A registry record: created/updated stamps, a version for optimistic locking, soft delete.

    Invariant: rows are never hard-deleted by users, and every change increments `version`.
    """

    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)
    version = models.PositiveIntegerField("版本", default=1)
    deleted_at = models.DateTimeField("删除时间", null=True, blank=True)
    deleted_reason = models.CharField("删除原因", max_length=200, blank=True, default="")

    objects = LiveManager()
    all_objects = AllManager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("登记数据不能直接物理删除，请通过删除操作（软删除）处理。")
