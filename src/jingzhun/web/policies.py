"""Access policies of web views. Every view carries `jingzhun_policy` (deny by default, AUTHZ-1).

`authenticated` is our `login_required`: anonymous users go to the login page. Scoping of the data
itself is the selectors' job; the policy only says who may reach the view at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase

POLICY_ATTR = "jingzhun_policy"
AUTHENTICATED = "authenticated"
PUBLIC = "public"

View = Callable[..., HttpResponseBase]


def _mark(view: View, policy: str) -> View:
    setattr(view, POLICY_ATTR, policy)
    return view


def authenticated(view: View) -> View:
    """Only signed-in, active users; others are redirected to the login page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return redirect_to_login(path_without_search(request))
        return view(request, *args, **kwargs)

    return _mark(wrapper, AUTHENTICATED)


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
