"""Access policies of web views. Every view carries `jingzhun_policy` (deny by default, AUTHZ-1).

`authenticated` is our `login_required`: anonymous users go to the login page. Scoping of the data
itself is the selectors' job; the policy only says who may reach the view at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

POLICY_ATTR = "jingzhun_policy"
AUTHENTICATED = "authenticated"
PUBLIC = "public"
# Signed in, before the second factor or a forced password change (the 2FA and password pages).
ACCOUNT = "account"
ADMIN_PREFIX = "admin:"  # "admin:sysadmin" …: only that administrator role
# Views a signed-in user reaches before passing the second factor or changing an old password.
PRE_VERIFICATION_ATTR = "jingzhun_pre_verification"
# The three administrators never see household data (AUTHZ-3): business views refuse them.
ADMIN_ROLES = frozenset({"sysadmin", "secadmin", "auditadmin"})

View = Callable[..., HttpResponseBase]


def _mark(view: View, policy: str) -> View:
    setattr(view, POLICY_ATTR, policy)
    return view


def authenticated(view: View) -> View:
    """Signed-in, active users working on the registry; others are redirected to the login page.
    The three administrators are refused (403): their pages are `administrator(...)` views."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return redirect_to_login(path_without_search(request))
        if getattr(user, "role", "") in ADMIN_ROLES:
            raise PermissionDenied(_("管理员账号不能查看业务数据。"))
        return view(request, *args, **kwargs)

    return _mark(wrapper, AUTHENTICATED)


def administrator(*roles: str) -> Callable[[View], View]:
    """Only the named administrator roles; anyone else signed in gets 403."""
    allowed = frozenset(roles)
    assert allowed <= ADMIN_ROLES, roles

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not (user.is_authenticated and user.is_active):
                return redirect_to_login(path_without_search(request))
            if getattr(user, "role", "") not in allowed:
                raise PermissionDenied(_("您的角色无权访问此页面。"))
            return view(request, *args, **kwargs)

        return _mark(wrapper, ADMIN_PREFIX + ",".join(sorted(allowed)))

    return decorate


def account(view: View) -> View:
    """Any signed-in, active account, also before the second factor (2FA and password pages)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return redirect_to_login(path_without_search(request))
        return view(request, *args, **kwargs)

    setattr(wrapper, PRE_VERIFICATION_ATTR, True)
    return _mark(wrapper, ACCOUNT)


def path_without_search(request: HttpRequest) -> str:
    """The request's path and query without the search term `q`, safe to echo into pages and links.

    A search term may be an ID number (PII-3); it is never carried into a `next` parameter.
    """
    query = request.GET.copy()
    query.pop("q", None)
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


def public(view: View) -> View:
    """Reachable without signing in (login, logout, language switch); the original is untouched."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return view(request, *args, **kwargs)

    return _mark(wrapper, PUBLIC)
