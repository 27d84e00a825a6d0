"""Audit retention (AUDIT-3): never below 180 days (Cybersecurity Law art. 21: six months)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .guard import FLOOR_DAYS


def retention_days() -> int:
    """The configured retention; ImproperlyConfigured when it is below 180 days or not a number."""
    raw = getattr(settings, "JINGZHUN_AUDIT_RETENTION_DAYS", FLOOR_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"JINGZHUN_AUDIT_RETENTION_DAYS 必须是整数：{raw!r}") from exc
    if days < FLOOR_DAYS:
        raise ImproperlyConfigured(
            f"审计日志保存期限不能少于 {FLOOR_DAYS} 天（JINGZHUN_AUDIT_RETENTION_DAYS={days}）。"
        )
    return days
