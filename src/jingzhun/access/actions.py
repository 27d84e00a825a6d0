"""Writes to accounts: API tokens, the unmasked-export permission. Each action runs in one
transaction and audits itself."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from jingzhun.audit.actions import record, record_now
from jingzhun.core.errors import DomainError, Forbidden

from .lockout import active_lock, canonical_username, lock_duration, policy
from .models import (
    ADMIN_ROLES,
    HOUSEHOLD_GRANT_ROLES,
    REGION_ROLES,
    ROLE_LABELS,
    UNMASKED_EXPORT_ROLES,
    AccountLock,
    ApiToken,
    HouseholdGrant,
    LoginAttempt,
    PasswordHistory,
    RegionGrant,
    User,
)
from .passwords import check_not_reused

TOKEN_SCHEME = "jz_"  # noqa: S105 - a visible marker of our tokens, not a secret
PREFIX_LENGTH = len(TOKEN_SCHEME) + 8
# Who may issue or revoke a token for someone else (the owner always may, the CLI is trusted).
TOKEN_ADMIN_ROLES = frozenset({"secadmin"})
# Who may grant or withdraw the unmasked-export permission (the CLI, actor None, is trusted).
PERMISSION_ADMIN_ROLES = frozenset({"secadmin"})


def hash_token(raw: str) -> str:
    """The stored form of a token: its SHA-256 in hex (tokens carry 256 random bits, so no salt)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_prefix(raw: str) -> str:
    """The displayable start of a token, used to list and revoke it."""
    return raw[:PREFIX_LENGTH]


def _check_may_manage(actor: Any, owner: User) -> None:
    if actor is None:
        return
    if not getattr(actor, "is_active", False):
        raise Forbidden("您的账号已停用。")
    if actor.pk != owner.pk and actor.role not in TOKEN_ADMIN_ROLES:
        raise Forbidden("只能为自己签发或吊销访问令牌。")


@transaction.atomic
def do_issue_api_token(user: User, name: str = "", *, actor: Any) -> str:
    """Create a token for `user` and return it; it is shown this once and only its hash is kept."""
    _check_may_manage(actor, user)
    if not user.is_active:
        raise DomainError(f"账号“{user.username}”已停用，不能签发访问令牌。")
    name = name.strip()
    if len(name) > 100:
        raise DomainError("令牌名称不能超过 100 个字符。", field="name")
    while True:
        raw = TOKEN_SCHEME + secrets.token_urlsafe(32)
        prefix = token_prefix(raw)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, token_hash=hash_token(raw))
    record(
        "access.api_token.issue",
        actor=actor,
        object_type="api_token",
        object_id=token.pk,
        diff={"user": user.username, "name": name, "prefix": prefix},
    )
    return raw


@transaction.atomic
def do_revoke_api_token(prefix: str, *, actor: Any, reason: str = "") -> ApiToken:
    """Revoke the token with this prefix; it stops authenticating at once. Revoking twice is refused."""
    token = (
        ApiToken.objects.select_for_update()
        .select_related("user")
        .filter(prefix=prefix.strip())
        .first()
    )
    if token is None:
        raise DomainError(f"未找到前缀为“{prefix.strip()}”的访问令牌。")
    _check_may_manage(actor, token.user)
    if token.revoked_at is not None:
        when = timezone.localtime(token.revoked_at)
        raise DomainError(f"访问令牌“{token.prefix}”已于 {when:%Y-%m-%d %H:%M} 吊销。")
    token.revoked_at = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
    record(
        "access.api_token.revoke",
        actor=actor,
        object_type="api_token",
        object_id=token.pk,
        reason=reason,
        diff={"user": token.user.username, "prefix": token.prefix},
    )
    return token


@transaction.atomic
def do_set_unmasked_export(user: User, allowed: bool, *, actor: Any, reason: str = "") -> User:
    """Grant (allowed=True) or withdraw the permission to export unmasked data (ADR 0013)."""
    if actor is not None and (
        not getattr(actor, "is_active", False) or actor.role not in PERMISSION_ADMIN_ROLES
    ):
        raise Forbidden("只有安全管理员可以授予或收回导出未脱敏数据的权限。")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if allowed and locked.role not in UNMASKED_EXPORT_ROLES:
        role = ROLE_LABELS.get(locked.role, locked.role)
        raise DomainError(f"角色为“{role}”的账号不能导出未脱敏数据。", field="may_export_unmasked")
    if locked.may_export_unmasked == allowed:
        return locked
    User.objects.filter(pk=locked.pk).update(may_export_unmasked=allowed)
    locked.may_export_unmasked = allowed
    record(
        "access.unmasked_export.grant" if allowed else "access.unmasked_export.withdraw",
        actor=actor,
        object_type="user",
        object_id=locked.pk,
        reason=reason,
        diff={"user": locked.username, "may_export_unmasked": [not allowed, allowed]},
    )
    return locked


# --- Login, lockout (AUTH-2) ------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    locked: bool = False


def _failures_since(field: str, value: str, since: datetime.datetime) -> int:
    failures = LoginAttempt.objects.filter(**{field: value}, succeeded=False, at__gt=since)
    if field == "ip":
        failures = failures.exclude(username_key="")  # an empty username never counts (AUTH-2)
    return failures.count()


def _lock(subject: dict[str, str], now: datetime.datetime) -> AccountLock:
    """Lock an account key or an address; its earlier recent locks make this one longer."""
    rules = policy()
    earlier = AccountLock.objects.filter(**subject, locked_at__gt=now - rules.memory).count()
    until = now + lock_duration(earlier, rules)
    return AccountLock.objects.create(**subject, locked_at=now, until=until)


def _count_from(field: str, value: str, now: datetime.datetime) -> datetime.datetime:
    """Failures count from the window's start, the last success, or the last lock, whichever is latest."""
    since = now - policy().window
    last_success = LoginAttempt.objects.filter(**{field: value}, succeeded=True).aggregate(
        m=Max("at")
    )["m"]
    lock_filter = {"username_key": value} if field == "username_key" else {"ip": value}
    last_lock = AccountLock.objects.filter(**lock_filter).aggregate(m=Max("locked_at"))["m"]
    return max(t for t in (since, last_success, last_lock) if t is not None)


@transaction.atomic
def do_attempt_login(
    request: Any, username: str, password: str, ip: str, *, devices: Collection[str] = ()
) -> LoginOutcome:
    """Check the lock, authenticate, count the failure and lock when the limit is reached.

    `devices` are the accounts this browser signed in to before (its known-device cookie): an
    address lock does not refuse them. Every attempt is audited (success, failure, refused while
    locked, lockout). The outcome is returned, not raised, so the failure count commits with the
    transaction.
    """
    key = canonical_username(username)
    now = timezone.now()
    rules = policy()
    lock = active_lock(key, ip, now, known_device=bool(key) and key in devices)
    if lock is not None:
        record(
            "access.login.refused_locked",
            actor=None,
            object_type="account_lock",
            object_id=lock.pk,
            outcome="denied",
            diff={"username": key, "until": lock.until.isoformat()},
        )
        return LoginOutcome(None, locked=True)
    user = authenticate(request, username=(username or "").strip(), password=password)
    if user is not None and user.is_active:
        LoginAttempt.objects.create(username_key=key, ip=ip, at=now, succeeded=True)
        record("access.login.success", actor=user, object_type="user", object_id=user.pk)
        return LoginOutcome(user)
    LoginAttempt.objects.create(username_key=key, ip=ip, at=now, succeeded=False)
    record(
        "access.login.failure",
        actor=None,
        object_type="user",
        outcome="failure",
        diff={"username": key},
    )
    locked = False
    if (
        key
        and _failures_since("username_key", key, _count_from("username_key", key, now))
        >= rules.failures
    ):
        new = _lock({"username_key": key}, now)
        record(
            "access.login.lockout",
            actor=None,
            object_type="account_lock",
            object_id=new.pk,
            diff={"username": key, "until": new.until.isoformat()},
        )
        locked = True
    if ip and _failures_since("ip", ip, _count_from("ip", ip, now)) >= rules.ip_failures:
        new = _lock({"ip": ip, "username_key": ""}, now)
        record(
            "access.login.lockout_ip",
            actor=None,
            object_type="account_lock",
            object_id=new.pk,
            diff={"ip": ip, "until": new.until.isoformat()},
        )
        locked = True
    return LoginOutcome(None, locked=locked)


def _require_role(actor: Any, roles: frozenset[str], message: str) -> None:
    """Actor None is a trusted caller (a command run by the server's operator)."""
    if actor is None:
        return
    if not getattr(actor, "is_active", False) or actor.role not in roles:
        raise Forbidden(message)


SECADMIN = frozenset({"secadmin"})
SYSADMIN = frozenset({"sysadmin"})


@transaction.atomic
def do_release_lock(lock_id: int, *, actor: Any, reason: str = "") -> AccountLock:
    """Release a lockout before it runs out (security administrator)."""
    _require_role(actor, SECADMIN, "只有安全管理员可以解除登录锁定。")
    lock = AccountLock.objects.select_for_update().filter(pk=lock_id).first()
    if lock is None or lock.released_at is not None or lock.until <= timezone.now():
        raise DomainError("该锁定不存在或已解除。")
    lock.released_at = timezone.now()
    AccountLock.objects.filter(pk=lock.pk).update(released_at=lock.released_at)
    record(
        "access.login.unlock",
        actor=actor,
        object_type="account_lock",
        object_id=lock.pk,
        reason=reason,
        diff={"username": lock.username_key, "ip": lock.ip},
    )
    return lock


# --- Passwords (AUTH-1) -------------------------------------------------------------------------


def _validated(user: User, password: str) -> None:
    try:
        validate_password(password, user)
        check_not_reused(user, password)
    except ValidationError as exc:
        raise DomainError("；".join(exc.messages), field="password") from exc


def _set_password(user: User, password: str) -> None:
    if user.password:
        PasswordHistory.objects.create(user=user, password=user.password)
    user.set_password(password)
    User.objects.filter(pk=user.pk).update(
        password=user.password, password_changed_at=user.password_changed_at
    )


@transaction.atomic
def do_change_password(user: User, old: str, new: str, *, actor: Any) -> User:
    """The user changes their own password: the old one is checked, the new one follows AUTH-1."""
    if actor is None or actor.pk != user.pk:
        raise Forbidden("只能修改自己的密码。")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.check_password(old):
        record(
            "access.password.change",
            actor=actor,
            object_type="user",
            object_id=user.pk,
            outcome="failure",
            reason="原密码不正确",
        )
        raise DomainError("原密码不正确。", field="old_password")
    _validated(locked, new)
    _set_password(locked, new)
    record("access.password.change", actor=actor, object_type="user", object_id=user.pk)
    return locked


# --- Accounts and grants (AUTHZ-3: the three administrators kept apart) --------------------------


@transaction.atomic
def do_create_user(username: str, password: str, display_name: str = "", *, actor: Any) -> User:
    """The system administrator creates an account. It has no role until the security
    administrator grants one, so it sees nothing."""
    _require_role(actor, SYSADMIN, "只有系统管理员可以创建账号。")
    username = username.strip()
    if not username or len(username) > 150:
        raise DomainError("请填写用户名（不超过 150 个字符）。", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(f"用户名“{username}”已被使用。", field="username")
    user = User(username=username, display_name=display_name.strip()[:50], role="unassigned")
    _validated(user, password)
    user.set_password(password)
    user.save()
    record(
        "access.user.create",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        diff={"username": username, "role": "unassigned"},
    )
    return user


@transaction.atomic
def do_set_user_active(user_id: int, active: bool, *, actor: Any, reason: str = "") -> User:
    """The system administrator disables (or re-enables) an account; a disabled one cannot log in."""
    _require_role(actor, SYSADMIN, "只有系统管理员可以停用或启用账号。")
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise DomainError("账号不存在。")
    if actor is not None and user.pk == actor.pk:
        raise Forbidden("不能停用自己的账号。")
    if user.is_active == active:
        return user
    User.objects.filter(pk=user.pk).update(is_active=active)
    user.is_active = active
    record(
        "access.user.enable" if active else "access.user.disable",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        reason=reason,
        diff={"username": user.username, "is_active": [not active, active]},
    )
    return user


ADMIN_ROLE_REFUSAL = "不能修改其他管理员（系统、安全、审计管理员）的角色：三员相互分离。"


def do_set_role(user_id: int, role: str, *, actor: Any, reason: str = "") -> User:
    """The security administrator gives an account its one role. Changing the role withdraws the
    grants that belonged to the old one (regions, households, unmasked export).

    Another administrator's role is never changed from the pages (the three administrators are
    kept apart, AUTHZ-3); the refusal is audited in its own transaction so that it outlives the
    refusal. A trusted caller (actor None: the operator's command) may still do it."""
    if actor is not None and actor.role == "secadmin":
        target = User.objects.filter(pk=user_id).values_list("role", "username").first()
        if target is not None and target[0] in ADMIN_ROLES and user_id != actor.pk:
            record_now(
                "access.role.set",
                actor=actor,
                object_type="user",
                object_id=user_id,
                outcome="refused",
                reason=ADMIN_ROLE_REFUSAL,
                diff={"username": target[1], "role": [target[0], role]},
            )
            raise Forbidden(ADMIN_ROLE_REFUSAL)
    return _set_role(user_id, role, actor=actor, reason=reason)


@transaction.atomic
def _set_role(user_id: int, role: str, *, actor: Any, reason: str) -> User:
    _require_role(actor, SECADMIN, "只有安全管理员可以授予角色。")
    if role not in ROLE_LABELS:
        raise DomainError("未知的角色。", field="role")
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise DomainError("账号不存在。")
    if actor is not None and user.pk == actor.pk:
        raise Forbidden("不能修改自己的角色。")
    if actor is not None and user.role in ADMIN_ROLES:
        raise Forbidden(ADMIN_ROLE_REFUSAL)  # became an administrator since the check above
    if user.role == role:
        return user
    old = user.role
    withdrawn = {
        "regions": sorted(user.grants.values_list("region_id", flat=True)),
        "households": user.household_grants.count(),
    }
    user.grants.all().delete()
    user.household_grants.all().delete()
    User.objects.filter(pk=user.pk).update(role=role, may_export_unmasked=False)
    user.role, user.may_export_unmasked = role, False
    record(
        "access.role.set",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        reason=reason,
        diff={"username": user.username, "role": [old, role], "withdrawn": withdrawn},
    )
    return user


@transaction.atomic
def do_grant_region(user_id: int, region_code: str, *, actor: Any, reason: str = "") -> RegionGrant:
    """The security administrator grants a region subtree to a region role's account."""
    from jingzhun.regions.models import Region

    _require_role(actor, SECADMIN, "只有安全管理员可以授予区域权限。")
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise DomainError("账号不存在。")
    if user.role not in REGION_ROLES:
        raise DomainError(f"角色为“{user.role_label}”的账号不能授予区域权限。", field="region")
    if not Region.objects.filter(code=region_code).exists():
        raise DomainError("区划不存在。", field="region")
    grant, created = RegionGrant.objects.get_or_create(user=user, region_id=region_code)
    if created:
        record(
            "access.region.grant",
            actor=actor,
            object_type="user",
            object_id=user.pk,
            reason=reason,
            diff={"username": user.username, "region": region_code},
        )
    return grant


@transaction.atomic
def do_revoke_region(user_id: int, region_code: str, *, actor: Any, reason: str = "") -> None:
    """The security administrator withdraws a region grant."""
    _require_role(actor, SECADMIN, "只有安全管理员可以收回区域权限。")
    deleted, _ = RegionGrant.objects.filter(user_id=user_id, region_id=region_code).delete()
    if not deleted:
        raise DomainError("该账号没有这个区域的权限。", field="region")
    record(
        "access.region.revoke",
        actor=actor,
        object_type="user",
        object_id=user_id,
        reason=reason,
        diff={"region": region_code},
    )


@transaction.atomic
def do_grant_households(
    user_id: int,
    household_ids: list[int],
    source: str,
    reference: str,
    *,
    actor: Any,
    end_date: datetime.date | None = None,
) -> int:
    """Give a liaison the households their upload matched, or a verification team member the
    households of their sample. Returns how many were newly given."""
    from jingzhun.registry.models import Household

    _require_role(actor, SECADMIN, "只有安全管理员可以按户授权。")
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise DomainError("账号不存在。")
    if user.role not in HOUSEHOLD_GRANT_ROLES:
        raise DomainError(f"角色为“{user.role_label}”的账号不能按户授权。")
    if source not in HouseholdGrant.SOURCES:
        raise DomainError("未知的授权来源。", field="source")
    expected = {"liaison": "liaison_match", "verifier": "verification_sample"}[user.role]
    if source != expected:
        raise DomainError("授权来源与账号角色不符。", field="source")
    found = set(Household.objects.filter(pk__in=household_ids).values_list("pk", flat=True))
    if found != set(household_ids):
        raise DomainError("部分户不存在。", field="households")
    created = 0
    for pk in sorted(found):
        _, new = HouseholdGrant.objects.get_or_create(
            user=user,
            household_id=pk,
            source=source,
            reference=reference[:100],
            defaults={"end_date": end_date},
        )
        created += int(new)
    record(
        "access.household.grant",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        diff={
            "username": user.username,
            "source": source,
            "reference": reference,
            "households": len(found),
            "new": created,
        },
    )
    return created


@transaction.atomic
def do_reset_otp(user_id: int, *, actor: Any, reason: str = "") -> int:
    """The security administrator removes an account's second-factor devices (lost phone); the
    account must enrol again at its next login. Returns the number of devices removed."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _require_role(actor, SECADMIN, "只有安全管理员可以重置双因素认证。")
    if not reason.strip():
        raise DomainError("请填写重置原因。", field="reason")
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise DomainError("账号不存在。")
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        devices = model.objects.filter(user=user)
        removed += devices.count()
        devices.delete()
    record(
        "access.otp.reset",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        reason=reason,
        diff={"username": user.username, "devices": removed},
    )
    return removed


# --- Second factor (AUTH-3, django-otp) ---------------------------------------------------------

BACKUP_CODES = 10


@transaction.atomic
def do_start_otp_enrolment(*, actor: Any) -> Any:
    """An unconfirmed TOTP device for the signed-in account (reused until confirmed)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if actor is None or not actor.is_active:
        raise Forbidden("请先登录。")
    if TOTPDevice.objects.filter(user=actor, confirmed=True).exists():
        raise DomainError("您已启用双因素认证；如需更换，请联系安全管理员重置。")
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=actor, name="TOTP", confirmed=False)
        record("access.otp.enrol_start", actor=actor, object_type="otp_device", object_id=device.pk)
    return device


@transaction.atomic
def do_confirm_otp_enrolment(token: str, *, actor: Any) -> tuple[Any, list[str]]:
    """Confirm the device with a first code; returns it and the one-time backup codes (shown once)."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if actor is None or not actor.is_active:
        raise Forbidden("请先登录。")
    device = TOTPDevice.objects.select_for_update().filter(user=actor, confirmed=False).first()
    if device is None:
        raise DomainError("没有待确认的认证器，请重新开始设置。")
    if not device.verify_token(token.strip()):
        record(
            "access.otp.enrol_confirm",
            actor=actor,
            object_type="otp_device",
            object_id=device.pk,
            outcome="failure",
        )
        raise DomainError("验证码不正确，请查看认证器上的最新验证码。", field="token")
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    device.confirmed = True
    StaticDevice.objects.filter(user=actor).delete()
    backup = StaticDevice.objects.create(user=actor, name="备用验证码", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=backup, token=c) for c in codes])
    record(
        "access.otp.enrol_confirm",
        actor=actor,
        object_type="otp_device",
        object_id=device.pk,
        diff={"backup_codes": BACKUP_CODES},
    )
    return device, codes


@transaction.atomic
def do_verify_otp(token: str, *, actor: Any) -> Any:
    """Check a code from the authenticator, or a backup code (used once). Returns the device that
    accepted it, or None; both outcomes are audited."""
    from django_otp import devices_for_user

    if actor is None or not actor.is_active:
        raise Forbidden("请先登录。")
    token = token.strip()
    for device in devices_for_user(actor, confirmed=True):
        if token and device.verify_is_allowed()[0] and device.verify_token(token):
            kind = "backup" if device.__class__.__name__ == "StaticDevice" else "totp"
            record(
                "access.otp.verify",
                actor=actor,
                object_type="otp_device",
                object_id=device.pk,
                diff={"kind": kind},
            )
            return device
    record(
        "access.otp.verify", actor=actor, object_type="user", object_id=actor.pk, outcome="failure"
    )
    return None
