"""Abstract bases shared by domain models: timestamps, optimistic-lock version, soft delete."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.utils import timezone

from . import fieldcrypt

P = ParamSpec("P")
R = TypeVar("R")

_in_action: contextvars.ContextVar[bool] = contextvars.ContextVar("jingzhun_action", default=False)


@contextlib.contextmanager
def action_writes() -> Iterator[None]:
    """Inside the block, set-wise writes (QuerySet.update, bulk_update) of models marked
    `writes_through_actions` are allowed: an action's own writes (AGENTS.md rule 1)."""
    token = _in_action.set(True)
    try:
        yield
    finally:
        _in_action.reset(token)


def action(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator for an action (`do_<verb>_<noun>`) or a bulk writer that an action calls."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with action_writes():
            return func(*args, **kwargs)

    return wrapper


class LiveQuerySet(models.QuerySet):
    """Refuses bulk hard deletes: domain rows are soft-deleted through actions. On models marked
    `writes_through_actions` (the registry's), update and bulk_update are refused outside an
    action (`action_writes`)."""

    def delete(self) -> Any:
        raise PermissionError("登记数据不能直接物理删除，请通过删除操作（软删除）处理。")

    def _check_in_action(self, method: str) -> None:
        if getattr(self.model, "writes_through_actions", False) and not _in_action.get():
            raise PermissionError(
                f"{self.model._meta.verbose_name}只能通过操作（actions）修改，"
                f"不能在操作之外调用 {method}()。"
            )

    def update(self, **kwargs: Any) -> int:
        self._check_in_action("update")
        sealed = {f.name for f in fieldcrypt.encrypted_fields(self.model)}
        if sealed & set(kwargs):
            # An encrypted value is bound to its row (AAD = table|column|pk): one row at a time.
            pks = list(self.values_list("pk", flat=True)[:2])
            if not pks:
                return 0
            if len(pks) > 1 and any(kwargs[k] not in (None, "") for k in sealed & set(kwargs)):
                raise ValueError("加密字段只能逐行更新")
            kwargs = fieldcrypt.seal_row_values(self.model, pks[0], kwargs)
        return super().update(**kwargs)

    def bulk_update(
        self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        self._check_in_action("bulk_update")
        fields = list(fields)
        sealed = [f for f in fieldcrypt.encrypted_fields(self.model) if f.name in fields]
        if not sealed:
            return super().bulk_update(objs, fields, batch_size=batch_size)
        # Tokens made for each row (its key is in the associated data), the plaintext put back
        # afterwards; blind indexes follow their source.
        objs = list(objs)
        fields += [i.name for i in fieldcrypt.index_fields(self.model) if i.source in fields]
        kept = [{f.attname: getattr(obj, f.attname) for f in sealed} for obj in objs]
        try:
            for obj, values in zip(objs, kept, strict=True):
                for i in fieldcrypt.index_fields(self.model):
                    if i.source in values:
                        obj.__dict__[i.attname] = i.index_of(values[i.source])
                for f in sealed:
                    obj.__dict__[f.attname] = Value(f.pre_save(obj, False), output_field=f)
            return super().bulk_update(objs, fields, batch_size=batch_size)
        finally:
            for obj, values in zip(objs, kept, strict=True):
                obj.__dict__.update(values)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        if fieldcrypt.encrypted_fields(self.model):
            missing = [o for o in objs if o.pk is None]
            for obj, pk in zip(
                missing, fieldcrypt.reserve_pks(self.model, len(missing)), strict=True
            ):
                obj.pk = pk
        return super().bulk_create(objs, *args, **kwargs)

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
    # True on models whose set-wise writes must come from an action (LiveQuerySet).
    writes_through_actions = False

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new row with encrypted fields takes its primary key first: the key is part of each
        # token's associated data (ADR 0058).
        if self.pk is None and self._state.adding and fieldcrypt.encrypted_fields(type(self)):
            self.pk = fieldcrypt.reserve_pks(type(self), 1, using=kwargs.get("using") or "default")[
                0
            ]
            kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("登记数据不能直接物理删除，请通过删除操作（软删除）处理。")


class JobRow(models.Model):
    """The lifecycle every background job row shares (core.jobs, ADR 0049): queued → running →
    done | failed, the worker that ran it, its error, and when. A job runs once: `take` moves
    it from queued to running with one conditional UPDATE, so whoever asks second gets False.
    The app's row adds what the job is about (its file, counties, households) and its results."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUSES = [(QUEUED, "排队中"), (RUNNING, "处理中"), (DONE, "已完成"), (FAILED, "失败")]

    status = models.CharField("状态", max_length=10, choices=STATUSES, default=QUEUED)
    worker = models.CharField("执行进程", max_length=100, blank=True, default="")
    error = models.TextField("错误", blank=True, default="")
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def take(cls, job_id: int, worker: str, **values: Any) -> bool:
        """Start queued job `job_id` in `worker` (False: another worker took it, or it is not
        queued); `values`: more fields to set as it starts (progress, step)."""
        return bool(
            cls._default_manager.filter(pk=job_id, status=cls.QUEUED).update(
                status=cls.RUNNING, started_at=timezone.now(), worker=worker, **values
            )
        )

    @classmethod
    def fail(cls, job_id: int, error: BaseException | str) -> None:
        """The job ended in error: its message (shown to its user) is kept: a DomainError's
        Chinese message as it is, another exception's type and text."""
        from .errors import DomainError

        if isinstance(error, DomainError):
            message = error.message
        elif isinstance(error, BaseException):
            message = f"{type(error).__name__}: {error}"
        else:
            message = error
        cls._default_manager.filter(pk=job_id).update(
            status=cls.FAILED, error=message[:2000], finished_at=timezone.now()
        )

    @classmethod
    def finish(cls, job_id: int, **results: Any) -> None:
        """The job ended well; `results`: the fields that record what it did."""
        cls._default_manager.filter(pk=job_id).update(
            status=cls.DONE, finished_at=timezone.now(), **results
        )


class StoredFile(models.Model):
    """A file kept under VAR_DIR/evidence by its SHA-256 (`core.stored_files`): case evidence,
    measure evidence, visit photos. Invariant: append-only; `sha256` names the bytes, `size` and
    `content_type` are those of the bytes (sniffed, never taken from the name)."""

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
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        abstract = True

    @property
    def path(self) -> Any:
        """Where the bytes are (they may be gone after a restore without the data files)."""
        from .stored_files import path_of

        return path_of(self.sha256)
