"""How a page turns an action's refusal into an answer.

An action out of the user's scope is a 404 (the page does not exist for them), a role that may
not act is a 403, and any other refusal is an error message on the page, with its status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from jingzhun.core.errors import DomainError, Forbidden, OutOfScope


def refuse(exc: DomainError) -> None:
    """Raise the 404 or 403 that an out-of-scope or forbidden refusal means; else return."""
    if isinstance(exc, OutOfScope):
        raise Http404(exc.message) from exc
    if isinstance(exc, Forbidden):
        raise PermissionDenied(exc.message) from exc


def run_write(request: HttpRequest, work: Callable[[], Any], done: str) -> bool:
    """Run a write; a refusal becomes an error message (and the page's status, see `status`)."""
    try:
        work()
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
        request.jingzhun_status = exc.status  # type: ignore[attr-defined]
        return False
    messages.success(request, done)
    return True


def status(request: HttpRequest) -> int:
    """The status a refused write set on this request (200 when none was)."""
    return int(getattr(request, "jingzhun_status", 200))
