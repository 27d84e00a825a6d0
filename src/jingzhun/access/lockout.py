"""Login-failure counting (AUTH-2): canonical usernames and the active locks. Reads only; the
writes are `access.actions.do_attempt_login` and `do_release_lock`.

Case, surrounding whitespace, full-width characters and the account's e-mail address all count
against one canonical key; an empty username has no key and never locks an account.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from .models import AccountLock, User


@dataclass(frozen=True)
class LockoutPolicy:
    failures: int = 5
    window: datetime.timedelta = datetime.timedelta(minutes=15)
    duration: datetime.timedelta = datetime.timedelta(minutes=30)
    ip_failures: int = 30


def policy() -> LockoutPolicy:
    conf = getattr(settings, "JINGZHUN_LOCKOUT", {})
    return LockoutPolicy(
        failures=int(conf.get("failures", 5)),
        window=datetime.timedelta(minutes=int(conf.get("window_minutes", 15))),
        duration=datetime.timedelta(minutes=int(conf.get("lock_minutes", 30))),
        ip_failures=int(conf.get("ip_failures", 30)),
    )


def canonical_username(raw: str | None) -> str:
    """One key per account: NFKC, trimmed, case-folded; an e-mail address maps to its account."""
    text = unicodedata.normalize("NFKC", raw or "").strip().casefold()
    if not text:
        return ""
    if "@" in text:
        owner = User.objects.filter(email__iexact=text).values_list("username", flat=True).first()
        if owner:
            return unicodedata.normalize("NFKC", owner).strip().casefold()
    return text[:150]


def active_lock(
    username_key: str, ip: str, now: datetime.datetime | None = None
) -> AccountLock | None:
    """The lock in force on this account key or this IP, if any."""
    now = now or timezone.now()
    locks = AccountLock.objects.filter(until__gt=now, released_at__isnull=True)
    if username_key:
        lock = locks.filter(username_key=username_key).order_by("-until").first()
        if lock is not None:
            return lock
    if ip:
        return locks.filter(ip=ip, username_key="").order_by("-until").first()
    return None
