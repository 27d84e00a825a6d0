"""The battle map (作战图): county, township and village dashboards with a map, drill-down,
trend, tables, .xlsx export, the printable report, refresh jobs and boundary upload.

Thin like views.py: reads through analytics.selectors/tables, writes through analytics.actions.
"""

from __future__ import annotations

import hashlib
import tempfile
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jingzhun.access.scoping import granted_codes
from jingzhun.analytics import selectors, tables
from jingzhun.analytics.actions import (
    do_export_indicator_file,
    do_upload_boundaries,
    read_boundaries,
    request_refresh,
)
from jingzhun.analytics.report import TABLES
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.registry.actions import WRITER_ROLES

from .policies import authenticated, path_without_search

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_GEOJSON = 20 * 1024 * 1024


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _list_link(region: Any, listing: dict[str, str]) -> str:
    """The household list behind a figure: region filter plus the indicator's list filters."""
    query: dict[str, str] = {}
    if region.level == "township":
        query["township"] = region.code
    elif region.level == "village":
        query["village"] = region.code
    query.update(listing)
    return reverse("web:households") + "?" + urlencode(query)


# Stands for the CSRF token in the cached fragments and pages; each response puts its own in.
CSRF_MARK = "jingzhun-csrf-token-placeholder"
CACHE_SECONDS = 600


@authenticated
@require_http_methods(["GET"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """The battle map of one region.

    The figures change only when a refresh stores new ones, so the page's two large fragments
    (head and body, rendered HTML) are cached per region, the user's root region (the
    breadcrumbs start there), refresh time and newest boundary (selectors.DataVersion),
    language, year and map indicator, and shared by every user who may see the region (scope is
    checked on every request before the cache is read, and whoever may see a region sees all of
    its children). The whole page around them (header with the user's name, role and regions,
    the refresh bar) is cached as well, per user, when there is nothing live on it: no message
    to show and no refresh job under way (ADR 0026, ADR 0038). A request that finds it costs
    the grants and one plain query besides the session, user and second factor, and renders
    nothing: only the CSRF token is put in.
    """
    user = request.user
    try:
        region, root = selectors.dashboard_region(user, request.GET.get("region") or None)
        version = selectors.data_version(user, region)
        job = selectors.job_for(user, version.open_job) if version.open_job else None
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    base = ":".join(["dashboard", region, root, version.key, get_language() or "zh-hans"])
    cacheable = version.refreshed_at is not None
    years = cache.get(base + ":years") if cacheable else None
    if years is None:
        years = selectors.years(user, region)
        if cacheable:
            cache.set(base + ":years", years, CACHE_SECONDS)
    asked = _int(request.GET.get("year"))
    year: int = (
        asked
        if asked is not None and asked in years
        else (years[-1] if years else timezone.localdate().year)
    )
    indicator = request.GET.get("indicator") or "poverty_incidence"
    if indicator not in selectors.definitions():
        indicator = "poverty_incidence"
    key = f"{base}:{year}:{indicator}"
    pending = list(messages.get_messages(request))  # shown (and so consumed) by this response
    live = bool(pending) or job is not None
    page_key = f"{key}:page:{_viewer_key(request)}"
    page = cache.get(page_key) if cacheable and not live else None
    if page is None:
        parts = cache.get(key) if cacheable else None
        if parts is None:
            try:
                scope = selectors.dashboard_scope(user, region)
            except OutOfScope as exc:
                raise Http404(exc.message) from exc
            parts = _fragments(user, scope, years, year, indicator)
            if cacheable:
                cache.set(key, parts, CACHE_SECONDS)
        page = render_to_string(
            "web/dashboard.html",
            {
                # rendered without request=: no context processor puts in a real CSRF token
                "request": request,
                "user": user,
                "messages": pending,
                "csrf_token": CSRF_MARK,
                "head": mark_safe(parts[0]),  # noqa: S308 - our own HTML
                "body": mark_safe(parts[1]),  # noqa: S308
                "nav": "dashboard",
                "region_code": region,
                "year": year,
                "indicator": indicator,
                "job": job,
                "refreshed_at": version.refreshed_at,
                "can_refresh": getattr(user, "role", "") in WRITER_ROLES,
                "can_upload": getattr(user, "role", "") in ("county", "township"),
            },
        )
        if cacheable and not live:
            cache.set(page_key, page, CACHE_SECONDS)
    return HttpResponse(page.replace(CSRF_MARK, get_token(request)))


def _viewer_key(request: HttpRequest) -> str:
    """What the page around the fragments depends on besides the data: who the user is (name,
    role, granted regions: the header) and the path the language switch returns to."""
    user: Any = request.user
    viewer = [str(user.pk), user.username, user.display_name, user.role, *granted_codes(user)]
    viewer.append(path_without_search(request))
    return hashlib.sha256("\n".join(viewer).encode()).hexdigest()


def _fragments(
    user: Any, scope: Any, years: list[int], year: int, indicator: str
) -> tuple[str, str]:
    """The page's head and body as HTML (CSRF_MARK where a form's token goes)."""
    context = {
        **_page_data(user, scope, year, indicator),
        "scope": scope,
        "year": year,
        "years": years,
        "tables": TABLES,
        "csrf_token": CSRF_MARK,
    }
    return (
        render_to_string("web/_dashboard_head.html", context),
        render_to_string("web/_dashboard_body.html", context),
    )


def _page_data(user: Any, scope: Any, year: int, indicator: str) -> dict[str, Any]:
    board = tables.build(user, scope, year, indicator)
    defs = selectors.definitions()
    links = {
        d.id: _list_link(scope.region, dict(d.household_list))
        for d in defs.values()
        if d.household_list
    }
    geo = selectors.shapes(user, [r for r, _m in board.mapped] or [scope.region])
    chart = {
        "geo": geo,
        "values": [
            {"name": region.code, "label": region.name, "value": m.value, "text": m.text}
            for region, m in board.mapped
        ],
        "indicator": board.map_indicator.title(get_language()),
        "unit": board.map_indicator.unit_in(get_language()),
        "drill": scope.region.level != "village",
        "url": reverse("web:dashboard"),
        "year": year,
        "map_indicator": board.map_indicator.id,
        "trend": {
            "years": sorted({y for s in board.trend.values() for y, _v in s}),
            "series": [
                {"id": k, "name": defs[k].title(get_language()), "data": [[y, v] for y, v in s]}
                for k, s in board.trend.items()
            ],
        },
        "labels": {
            "incidence": _("贫困发生率(%)"),
            "persons": _("人数"),
            "illustrative": _("示意边界"),
        },
    }
    rows = []
    for child, cells, m in board.children:
        listed = {
            d.id: _list_link(child, dict(d.household_list))
            for d in board.child_columns
            if d.household_list
        }
        rows.append((child, [(cell, listed.get(cell.indicator)) for cell in cells], m))
    return {
        "board": board,
        "key": [(d, cell, links.get(d.id)) for d, cell in board.key],
        "rows": rows,
        "chart": chart,
        "choices": tables.map_choices(),
        "has_map": bool(geo["features"]),
        "illustrative": any(f["properties"]["illustrative"] for f in geo["features"]),
        "extra_column": board.map_indicator.id not in {d.id for d in board.child_columns},
    }


@authenticated
@require_http_methods(["POST"])
def dashboard_refresh(request: HttpRequest) -> HttpResponseBase:
    """Queue a refresh of the user's counties (writers only)."""
    user = request.user
    if getattr(user, "role", "") not in WRITER_ROLES:
        raise PermissionDenied(_("您的角色不能刷新指标。"))
    try:
        scope = selectors.dashboard_scope(user, request.POST.get("region") or None)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    request_refresh([scope.region.code], actor=user, reason="手动刷新")
    messages.success(request, _("已提交指标刷新任务，完成后页面数字将更新。"))
    return redirect(reverse("web:dashboard") + "?" + urlencode({"region": scope.region.code}))


@authenticated
@require_http_methods(["GET"])
def dashboard_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress fragment of a refresh job (polled by HTMX while it runs)."""
    try:
        job = selectors.job_for(request.user, job_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    return render(request, "web/_refresh_job.html", {"job": job})


@authenticated
@require_http_methods(["POST"])
def dashboard_export(request: HttpRequest) -> HttpResponseBase:
    """One of the dashboard's tables as .xlsx, or the report as PDF (kind=report)."""
    kind = request.POST.get("kind", "")
    year = _int(request.POST.get("year")) or timezone.localdate().year
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    try:
        do_export_indicator_file(
            request.POST.get("region", ""),
            year,
            kind,
            out,
            actor=request.user,
            map_indicator=request.POST.get("indicator", ""),
        )
    except OutOfScope as exc:
        out.close()
        raise Http404(exc.message) from exc
    except DomainError as exc:
        out.close()
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    out.seek(0)
    ext, mime = ("pdf", "application/pdf") if kind == "report" else ("xlsx", XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"indicators-{kind}-{year}-{stamp}.{ext}",
        content_type=mime,
    )


@authenticated
@require_http_methods(["GET", "POST"])
def dashboard_boundaries(request: HttpRequest) -> HttpResponse:
    """Upload GeoJSON boundaries (a FeatureCollection whose features carry the region code)."""
    user = request.user
    if getattr(user, "role", "") not in ("county", "township"):
        raise PermissionDenied(_("只有县、乡镇业务人员可以上传区划边界。"))
    stored: list[str] = []
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        prop = (request.POST.get("code_property") or "code").strip()[:40]
        if upload is None:
            error = _("请选择 GeoJSON 文件。")
        elif upload.size is not None and upload.size > MAX_GEOJSON:
            error = _("文件超过 20 MB。")
        else:
            try:
                collection = read_boundaries(upload.read())
                stored = do_upload_boundaries(collection, actor=user, code_property=prop)
            except Forbidden as exc:
                error = exc.message
            except DomainError as exc:
                error = exc.message
    status = 400 if error else 200
    return render(
        request,
        "web/boundaries.html",
        {"nav": "dashboard", "stored": stored, "error": error},
        status=status,
    )
