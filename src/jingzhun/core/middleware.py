"""Sets the request context for audit events and marks pages as not cacheable."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import context
from .client import client_ip
from .logging import redact

# A caller's X-Request-ID is kept only when it is a plain token of 8 to 64 characters (it goes into
# every audit row, the logs and the response) and carries no ID, card or phone number.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_of(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is acceptable, otherwise a new one."""
    given = request.headers.get("X-Request-ID", "")
    if _REQUEST_ID.fullmatch(given) and redact(given) == given:
        return given
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        ip = client_ip(request)
        channel = "api" if request.path.startswith("/api/") else "web"
        token = context.set_current(
            context.RequestContext(request_id=request_id, ip=ip, channel=channel)
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        if not request.path.startswith("/static/"):
            # Pages carry personal information: never store them in shared or browser caches.
            response["Cache-Control"] = "no-store"
        return response


class ChineseByDefaultMiddleware:
    """Ignore the browser's Accept-Language: the UI is Chinese unless the user chose English.

    County offices share PCs whose browsers are often set up in English; the language switch
    (a cookie) is the only way to change the language. Must run before LocaleMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


# No external source anywhere (PII-3: no CDN, no external fonts); no inline script or style.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The API's Swagger UI (django-ninja's own page, served from its static files) starts itself with
# an inline script: only that page may run inline code.
DOCS_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    """Content-Security-Policy on every response (Django 5.2 has no built-in CSP)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            docs = request.path.rstrip("/") == "/api/docs"
            response["Content-Security-Policy"] = DOCS_POLICY if docs else CONTENT_SECURITY_POLICY
        return response
