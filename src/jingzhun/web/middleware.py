"""Account security on every request (AUTH-1, AUTH-3): the absolute session limit, the second
factor, and a password past its maximum age. The idle limit is the session's own age: a signed-in
session is saved (and so its expiry moved to now + SESSION_COOKIE_AGE) when it was last saved
more than JINGZHUN_SESSION_TOUCH_SECONDS ago, not on every request (ADR 0026): a session ends
between SESSION_COOKIE_AGE - touch and SESSION_COOKIE_AGE after the last request."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone

from jingzhun.access.passwords import is_expired
from jingzhun.access.second_factor import has_second_factor, needs_second_factor

from .policies import POLICY_ATTR, PRE_VERIFICATION_ATTR, PUBLIC, path_without_search

LOGIN_AT = "jingzhun_login_at"
SEEN_AT = "jingzhun_seen_at"


class AccountSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        now = timezone.now().timestamp()
        seen = request.session.get(SEEN_AT)
        if seen is None or now - float(seen) >= settings.JINGZHUN_SESSION_TOUCH_SECONDS:
            request.session[SEEN_AT] = now  # modified: saved with a new expiry
        started = request.session.get(LOGIN_AT)
        if started is None:
            request.session[LOGIN_AT] = now
        elif now - float(started) > settings.JINGZHUN_SESSION_ABSOLUTE_SECONDS:
            logout(request)
            return self._refuse(request, "login")
        try:
            view = resolve(request.path_info).func
        except Resolver404:
            return self.get_response(request)
        exempt = getattr(view, POLICY_ATTR, None) == PUBLIC or getattr(
            view, PRE_VERIFICATION_ATTR, False
        )
        if not exempt:
            verified = getattr(user, "is_verified", lambda: False)()  # set by OTPMiddleware
            if needs_second_factor(user) and not verified:
                return self._refuse(request, "otp")
            if is_expired(user):
                return self._refuse(request, "password")
        return self.get_response(request)

    def _refuse(self, request: HttpRequest, why: str) -> HttpResponse:
        if request.path.startswith("/api/"):
            messages = {
                "login": "登录已超过 12 小时，请重新登录。",
                "otp": "请先在网页上完成双因素认证。",
                "password": "密码已过期，请先在网页上修改密码。",
            }
            return JsonResponse({"detail": messages[why]}, status=401 if why == "login" else 403)
        if why == "login":
            return redirect_to_login(path_without_search(request))
        if why == "otp":
            target = "web:otp_verify" if has_second_factor(request.user) else "web:otp_setup"
            return redirect(target)
        return redirect("web:password_change")
