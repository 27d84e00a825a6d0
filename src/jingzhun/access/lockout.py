"""Login-failure counting (AUTH-2): canonical usernames, lock durations, the active locks and the
known-device cookie. Reads only; the writes are `access.actions.do_attempt_login` and
`do_release_lock`.

Case, surrounding whitespace, full-width characters and the account's e-mail address all count
against one canonical key; an empty username has no key and never locks an account, nor counts
against an address. An account's repeated locks grow: 30 minutes, then twice as long for each
earlier lock of that account in the last 24 hours, up to 24 hours (ADR 0050). An address lock
(many failures across names from one address) refuses only browsers that never signed in to the
account they try: a browser that did holds a signed known-device cookie naming the account, so
a shared address (a county office's NAT, an untrusted proxy) never keeps a user whose account is
not locked out with the right password.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils import timezone

from .models import AccountLock, User


@dataclass(frozen=True)
class LockoutPolicy:
    failures: int = 5
    window: datetime.timedelta = datetime.timedelta(minutes=15)
    duration: datetime.timedelta = datetime.timedelta(minutes=30)
    ip_failures: int = 30
    # Earlier locks within this period double the next one, up to `longest`.
    memory: datetime.timedelta = datetime.timedelta(hours=24)
    longest: datetime.timedelta = datetime.timedelta(hours=24)


def policy() -> LockoutPolicy:
    conf = getattr(settings, "JINGZHUN_LOCKOUT", {})
    return LockoutPolicy(
        failures=int(conf.get("failures", 5)),
        window=datetime.timedelta(minutes=int(conf.get("window_minutes", 15))),
        duration=datetime.timedelta(minutes=int(conf.get("lock_minutes", 30))),
        ip_failures=int(conf.get("ip_failures", 30)),
        memory=datetime.timedelta(hours=int(conf.get("memory_hours", 24))),
        longest=datetime.timedelta(minutes=int(conf.get("longest_lock_minutes", 24 * 60))),
    )


def lock_duration(earlier_locks: int, rules: LockoutPolicy) -> datetime.timedelta:
    """The base duration doubled for each earlier lock of the same subject, capped."""
    return min(rules.duration * 2 ** min(earlier_locks, 16), max(rules.longest, rules.duration))


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
    username_key: str,
    ip: str,
    now: datetime.datetime | None = None,
    *,
    known_device: bool = False,
) -> AccountLock | None:
    """The lock in force on this account key, or on this IP unless the browser is a known device
    of the account (it signed in to it before), if any."""
    now = now or timezone.now()
    locks = AccountLock.objects.filter(until__gt=now, released_at__isnull=True)
    if username_key:
        lock = locks.filter(username_key=username_key).order_by("-until").first()
        if lock is not None:
            return lock
    if ip and not known_device:
        return locks.filter(ip=ip, username_key="").order_by("-until").first()
    return None


# --- Known devices: a signed cookie naming the accounts this browser signed in to ---------------

DEVICE_COOKIE = "jz_device"
DEVICE_SALT = "jingzhun.access.lockout.device"
DEVICE_MAX_AGE = 180 * 24 * 3600
DEVICE_ACCOUNTS = 8


def device_accounts(cookie: str | None) -> list[str]:
    """The canonical account keys a valid device cookie names (none for a forged or old one)."""
    if not cookie:
        return []
    try:
        value = signing.loads(cookie, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return []
    return [k for k in value if isinstance(k, str)] if isinstance(value, list) else []


def device_cookie(cookie: str | None, username_key: str) -> str:
    """The cookie after a successful sign-in to `username_key`: that key first, a few kept."""
    keys = [username_key] + [k for k in device_accounts(cookie) if k != username_key]
    return signing.dumps(keys[:DEVICE_ACCOUNTS], salt=DEVICE_SALT)
