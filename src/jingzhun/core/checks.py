"""Checks that many apps' actions make the same way: the actor's role, an idempotency key, a
business date, and the versioned update that refuses a concurrent edit.

Each app used to carry its own copy; the messages are the users', so they stay as they were.
"""

from __future__ import annotations

import datetime
from typing import Any, Final, TypeVar

from django.db.models import F
from django.utils import timezone

from .errors import DomainError, Forbidden, StaleVersion
from .models import DomainModel

MAX_KEY: Final = 64

M = TypeVar("M", bound=DomainModel)


def require_role(actor: Any, roles: frozenset[str], what: str, *, system: bool = True) -> None:
    """Refuse an actor whose role is not in `roles` (or who is inactive).

    `actor=None` is the system (a command, a worker) and passes unless `system=False`.
    """
    if actor is None and system:
        return
    if not getattr(actor, "is_active", False) or getattr(actor, "role", None) not in roles:
        raise Forbidden(f"您的角色无权{what}。")


def clean_key(key: Any, most: int = MAX_KEY) -> str:
    """An idempotency key: 1 to `most` printable characters."""
    text = str(key or "").strip()
    if not text or len(text) > most or any(ord(ch) < 32 for ch in text):
        raise DomainError(f"幂等键须为 1 至 {most} 个字符。", field="key")
    return text


def business_date(value: Any, *, field: str = "on_date", slack_days: int = 0) -> datetime.date:
    """A date a payment, a posting or an entry happened on: 2014 or later and not in the future.

    `slack_days` admits that many days past the county's today (a clerk west of Beijing).
    """
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise DomainError("业务日期无效。", field=field)
    latest = timezone.localdate() + datetime.timedelta(days=slack_days)
    if value.year < 2014 or value > latest:
        raise DomainError("业务日期应在 2014 年以后，且不晚于今天。", field=field)
    return value


def versioned_update(obj: M, expected_version: int | None, stale: str, **values: Any) -> None:
    """Write `values` only if the row still has the version the user saw; bump the version.

    `expected_version=None` means the version just read (under the row lock); a lost race raises
    StaleVersion(`stale`) and writes nothing. `obj` is refreshed afterwards.
    """
    version = obj.version if expected_version is None else expected_version
    updated = (
        type(obj)
        ._default_manager.filter(pk=obj.pk, version=version)
        .update(**values, version=F("version") + 1, updated_at=timezone.now())
    )
    if updated == 0:
        raise StaleVersion(stale)
    obj.refresh_from_db()
