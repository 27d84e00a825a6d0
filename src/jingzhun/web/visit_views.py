"""Visits in the field (issue 21 items 4, 5): the helper's offline page, its service worker and
manifest, the sync endpoint, a household's visits and the monitoring case from a visit.

The field pages live under `/visits/` and the service worker is served from `/visits/sw.js`,
so its scope is `/visits/` and nothing else (ADR "visits-offline"). The worker and the manifest
carry no data and are public; everything else needs a signed-in user and is scoped by
`assistance.visits` (a helper: their current pairings, exactly).

Sync is a web endpoint, not an API route: the page is signed in with the session, so the POST
carries the page's CSRF token in `X-CSRFToken` (multipart: a `visits` JSON field and the photos
as files `photo-<client id>-<n>`), and the answer is JSON with one outcome per visit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from jingzhun.assistance.selectors import helper_home
from jingzhun.assistance.visits import (
    MAX_BATCH,
    MAX_PHOTOS,
    Photo,
    VisitInput,
    do_open_case_from_visit,
    do_sync_visits,
    visit_for,
    visits_due,
    visits_of,
)
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.registry import choices as rc
from jingzhun.registry.selectors import households_for
from jingzhun.selfcheck.actions import SURVEYORS
from jingzhun.workflows.transitions import FLOWS

from .fieldsurvey_views import survey_field
from .policies import authenticated, public

STATIC_DIR = Path(__file__).resolve().parent / "static" / "web"
# Code labels of assistance.choices (VISIT_KINDS, VISIT_CHANGES), translated where shown.
LABELS = (
    gettext_noop("入户走访"),
    gettext_noop("电话回访"),
    gettext_noop("其他方式"),
    gettext_noop("收入变化"),
    gettext_noop("家庭成员患病"),
    gettext_noop("子女就学变化"),
    gettext_noop("住房安全变化"),
    gettext_noop("受灾"),
)


def _helper_only(request: HttpRequest) -> None:
    if getattr(request.user, "role", "") != "helper":
        raise PermissionDenied(_("外出走访页面只供帮扶责任人和退出自查核查组人员使用。"))


@authenticated
@never_cache
@require_http_methods(["GET"])
def field(request: HttpRequest) -> HttpResponse:
    """The field page. A helper's: their households (with the version they see and the visit due)
    and the visit form; a survey team member's: the self-check survey (fieldsurvey_views). The
    service worker keeps the last copy for use without a connection."""
    if getattr(request.user, "role", "") in SURVEYORS:
        return survey_field(request)  # the self-check survey teams' field page
    _helper_only(request)
    home = helper_home(request.user)
    today = timezone.localdate()
    due = visits_due(
        [r.household for r in home.households],
        {r.household.pk: r.pairing.start_date for r in home.households},
        today,
    )
    rows = []
    for r in home.households:
        d = due[r.household.pk]
        rows.append(
            {
                "id": r.household.pk,
                "code": r.household.household_code,
                "head": r.household.head_name,
                "village": r.household.village.name,
                "version": r.household.version,
                "monitored": bool(r.household.monitoring_category),
                "last": d.last_visit.isoformat() if d.last_visit else "",
                "due": d.due_on.isoformat() if d.due_on else "",
                "overdue": d.overdue(today),
            }
        )
    context = {
        "nav": "visits",
        "rows": rows,
        "today": today,
        "kinds": _kinds(),
        "changes": _changes(),
        "max_photos": MAX_PHOTOS,
        "data": {
            "households": rows,
            "user": request.user.pk,
            "batch": MAX_BATCH,
            "sw": reverse("web:visit_sw"),
            "scope": reverse("web:visit_field"),
        },
    }
    return render(request, "web/visit_field.html", context)


def _kinds() -> list[tuple[str, str]]:
    from jingzhun.assistance.choices import VISIT_KINDS

    return [(k, _(v)) for k, v in VISIT_KINDS.items()]


def _changes() -> list[tuple[str, str]]:
    from jingzhun.assistance.choices import VISIT_CHANGES

    return [(k, _(v)) for k, v in VISIT_CHANGES.items()]


def _item(raw: Any, files: Any) -> VisitInput:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    cid = str(raw.get("client_id", ""))
    photos = []
    for n in range(MAX_PHOTOS + 1):
        upload = files.get(f"photo-{cid}-{n}")
        if upload is not None:
            photos.append(Photo(upload.name or f"photo{n}", upload.read()))
    changes = raw.get("changes") or []
    return VisitInput(
        client_id=cid,
        household_id=int(raw.get("household_id") or 0),
        visited_on=str(raw.get("visited_on", "")),
        kind=str(raw.get("kind", "")),
        household_version=raw.get("household_version"),  # type: ignore[arg-type]
        notes=str(raw.get("notes", "") or ""),
        changes=changes if isinstance(changes, list) else [{"kind": str(changes)}],
        latitude=raw.get("latitude"),
        longitude=raw.get("longitude"),
        photos=photos,
    )


@authenticated
@require_http_methods(["POST"])
def sync(request: HttpRequest) -> JsonResponse:
    """Store a batch of queued visits once each; one outcome per visit (stored, duplicate,
    conflict, refused) in the order sent."""
    if getattr(request.user, "role", "") != "helper":
        return JsonResponse({"error": _("只有帮扶责任人可以同步走访记录。")}, status=403)
    try:
        raw = json.loads(request.POST.get("visits") or request.body or b"[]")
        if isinstance(raw, dict):
            raw = raw.get("visits", [])
        if not isinstance(raw, list):
            raise ValueError("not a list")
        items = [_item(r, request.FILES) for r in raw]
    except (ValueError, TypeError):
        return JsonResponse({"error": _("同步数据格式有误（应为走访记录列表）。")}, status=400)
    if not items:
        return JsonResponse({"error": _("没有要同步的走访记录。")}, status=400)
    try:
        result = do_sync_visits(items, actor=request.user)
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return JsonResponse({"outcomes": [o.as_dict() for o in result.outcomes]})


@public
@require_http_methods(["GET"])
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, from the app's own origin under /visits/ (its scope)."""
    body = (STATIC_DIR / "visits-sw.js").read_text(encoding="utf-8")
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@public
@require_http_methods(["GET"])
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest of the field pages (installable; scope /visits/)."""
    start = reverse("web:visit_field")
    data = {
        "name": "精准帮扶 · 外出走访",
        "short_name": "走访",
        "lang": "zh-CN",
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b22222",
        "icons": [],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@authenticated
@require_http_methods(["GET"])
def household_visits(request: HttpRequest, household_id: int) -> HttpResponse:
    """A household's visits, for anyone who may see the household."""
    household = households_for(request.user).filter(pk=household_id).first()
    if household is None:
        raise Http404(_("未找到该户，或您无权访问。"))
    try:
        visits = visits_of(request.user, household_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    can_open = getattr(request.user, "role", "") in FLOWS["monitoring"].openers
    context = {
        "nav": "households",
        "household": household,
        "visits": visits,
        "can_open": can_open,
        "categories": [(k, _(v)) for k, v in rc.MONITORING_CATEGORY.items()],
    }
    return render(request, "web/household_visits.html", context)


@authenticated
@require_http_methods(["POST"])
def visit_open_case(request: HttpRequest, visit_id: int) -> HttpResponseBase:
    """Open the monitoring identification case from a visit's changes (one click)."""
    try:
        visit = visit_for(request.user, visit_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    try:
        case = do_open_case_from_visit(
            visit.pk,
            actor=request.user,
            monitoring_category=request.POST.get("monitoring_category", ""),
        )
    except DomainError as exc:
        if isinstance(exc, OutOfScope):
            raise Http404(exc.message) from exc
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
        return redirect("web:household_visits", household_id=visit.household_id)
    messages.success(request, _("已由走访记录发起监测对象识别案件。"))
    return redirect("web:case", case_id=case.pk)
