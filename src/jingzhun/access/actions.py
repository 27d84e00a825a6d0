"""Writes to accounts: API tokens, the unmasked-export permission. Each action runs in one
transaction and audits itself."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, Forbidden

from .models import ROLE_LABELS, UNMASKED_EXPORT_ROLES, ApiToken, User

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
