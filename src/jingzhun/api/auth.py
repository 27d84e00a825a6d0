"""API authentication: a bearer token (`Authorization: Bearer <token>`) or the web session.

Both refuse inactive accounts. The session path enforces CSRF on unsafe methods, and only when the
session is what authenticates the request: a token client never needs a CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from jingzhun.access.actions import hash_token
from jingzhun.access.models import ADMIN_ROLES, ApiToken

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MAX_TOKEN_LENGTH = 200


def refuse_administrators(user: Any) -> None:
    """The three administrators never reach registry data (AUTHZ-3): the whole API is business data."""
    if getattr(user, "role", "") in ADMIN_ROLES:
        raise HttpError(403, "管理员账号不能访问建档立卡数据接口。")


class TokenAuth(HttpBearer):
    """A token issued by `jingzhun token issue`; looked up by its SHA-256, never stored in clear."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        row = (
            ApiToken.objects.select_related("user")
            .filter(
                token_hash=hash_token(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
            )
            .first()
        )
        if row is None or not row.user.is_active:
            return None
        refuse_administrators(row.user)
        return row.user


class SessionAuth(APIKeyCookie):
    """The signed-in web user; unsafe methods must carry Django's CSRF token."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF is checked in authenticate(), once we know the session is what authenticates.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF 校验失败：请刷新页面后重试。")
        refuse_administrators(user)
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
