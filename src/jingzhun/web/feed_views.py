"""Pages of department feeds and screening alerts (issue 22; ADR 0063): the register with
an upload form per feed, a batch's progress and rows (matched, unmatched, invalid), the alerts
with their age against the 15-day limit, and the resolution of a red-line flag.

Thin: `feeds.selectors` for reads (a liaison sees only their feeds' rows, a township only its
alerts), `feeds.actions` for writes; a long load runs on the task queue (`jingzhun worker`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jingzhun.core.errors import DomainError
from jingzhun.feeds import actions, selectors
from jingzhun.feeds.catalogue import catalogue
from jingzhun.feeds.models import ALERT_KIND, ROW_STATUS

from .policies import authenticated

MAX_UPLOAD = 200 * 1024 * 1024
PAGE_SIZE = 100
FEED_READERS = frozenset({"county", "auditor", "liaison"})


def _reader(request: HttpRequest) -> Any:
    if getattr(request.user, "role", "") not in FEED_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    return request.user


@authenticated
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    """The register of department feeds: catalogue data, liaison, latest batch, upload form."""
    user = _reader(request)
    cat = catalogue()
    sources = list(selectors.sources_for(user).select_related("liaison"))
    latest: dict[int, Any] = {}
    for batch in selectors.batches_for(user).order_by("-pk")[:200]:
        latest.setdefault(batch.source_id, batch)
    rows = [
        {
            "source": s,
            "feed": cat.feeds.get(s.code),
            "latest": latest.get(s.pk),
            "may_load": actions.may_load(user, s) and s.active,
        }
        for s in sources
        if s.code in cat.feeds
    ]
    batches = selectors.batches_for(user).order_by("-pk")[:30]
    context = {"nav": "feeds", "rows": rows, "batches": batches, "catalogue": cat}
    return render(request, "web/feeds.html", context)


@authenticated
@require_POST
def upload(request: HttpRequest, source_code: str) -> HttpResponseBase:
    """Upload a roster: stored, then read and matched by `jingzhun worker` (progress on the
    batch page)."""
    user = _reader(request)
    if user.role == "auditor":
        raise PermissionDenied(_("审计查阅人员不能报送名册。"))
    file = request.FILES.get("file")
    if file is None or file.size is None or file.size == 0:
        messages.error(request, _("请选择要上传的名册文件（.xlsx、.xls 或 .csv）。"))
        return redirect("web:feeds")
    if file.size > MAX_UPLOAD:
        messages.error(request, _("文件过大：最大 200 MB。"))
        return redirect("web:feeds")
    try:
        submitted = actions.do_submit_roster(
            source_code, file.name or "roster", file.read(), actor=user, origin="upload"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:feeds")
    if not submitted.created:
        messages.info(request, _("该名册已导入过，未重复保存。"))
    return redirect("web:feed_batch", feed_batch_id=submitted.batch.pk)


@authenticated
@require_GET
def batch(request: HttpRequest, feed_batch_id: int) -> HttpResponse:
    """A batch: progress while it is loaded, then its counts and rows (matched rows of the
    user's households, unmatched and invalid ones listed per source)."""
    user = _reader(request)
    found = selectors.batch_for(user, feed_batch_id)
    if found is None:
        raise Http404(_("未找到该批次，或您无权访问。"))
    status = request.GET.get("status", "")
    rows = selectors.rows_for(user, found)
    if status in ROW_STATUS:
        rows = rows.filter(status=status)
    page = Paginator(rows.order_by("row_number"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "feeds",
        "batch": found,
        "page": page,
        "status": status,
        "statuses": ROW_STATUS,
        "query": f"status={status}&" if status else "",
        "running": found.status in ("queued", "running"),
    }
    return render(request, "web/feed_batch.html", context)


@authenticated
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    """Alerts of the user's households, newest first, with their age against the 15-day limit."""
    user: Any = request.user
    if getattr(user, "role", "") not in selectors.ALERT_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    kind = request.GET.get("kind", "")
    today = timezone.localdate()
    found = selectors.alerts_for(user)
    if kind in ALERT_KIND:
        found = found.filter(kind=kind)
    # the lists behind the screening report's and the battle map's figures
    given = {k: request.GET.get(k, "")[:40] for k in ("rule", "region", "figure", "since")}
    if given["rule"]:
        found = found.filter(rule=given["rule"])
    if given["region"].isdigit() and len(given["region"]) == 12:
        found = found.filter(selectors.region_q(given["region"]))
    if given["figure"] in selectors.ALERT_FIGURES:
        found = found.filter(selectors.alert_figure_q(given["figure"], today))
    since = parse_date(given["since"]) if given["since"] else None
    if since is not None:
        found = found.filter(raised_on__gte=since)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    items = [(a, selectors.age_of(a, today)) for a in page]
    query = urlencode({k: v for k, v in {"kind": kind, **given}.items() if v})
    context = {
        "nav": "alerts",
        "page": page,
        "items": items,
        "kind": kind,
        "kinds": ALERT_KIND,
        "figure": selectors.ALERT_FIGURES.get(given["figure"], ""),
        "query": f"{query}&" if query else "",
        "resolver": user.role in actions.RESOLVER_ROLES,
        "outcomes": actions.OUTCOMES,
    }
    return render(request, "web/feed_alerts.html", context)


@authenticated
@require_POST
def resolve(request: HttpRequest, alert_id: int) -> HttpResponseBase:
    """Resolve a red-line flag: removed, or explained with an evidence file."""
    user = request.user
    if getattr(user, "role", "") not in actions.RESOLVER_ROLES:
        raise PermissionDenied(_("您的角色不能处理部门比对红线。"))
    if selectors.alert_for(user, alert_id) is None:
        raise Http404(_("未找到该预警，或您无权访问。"))
    file = request.FILES.get("evidence")
    try:
        version = int(request.POST.get("version", "0"))
        actions.do_resolve_alert(
            alert_id,
            version,
            request.POST.get("outcome", ""),
            request.POST.get("reason", ""),
            actor=user,
            evidence_name=file.name or "" if file else "",
            evidence=file.read() if file else b"",
        )
    except ValueError:
        messages.error(request, _("请求无效，请刷新页面后重试。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("红线已处理。"))
    return redirect("web:feed_alerts")


REPORT_READERS = frozenset({"county", "township", "village", "auditor", "liaison"})


@authenticated
@require_GET
def screening_report(request: HttpRequest) -> HttpResponse:
    """The screening report (筛查报告): new alerts by rule and village since a day (default: 30
    days ago), matched and unmatched rows per source and batch, the review queue and the
    alerts' age against the 15-day limit; every figure links to the list behind it."""
    user: Any = request.user
    if getattr(user, "role", "") not in REPORT_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    today = timezone.localdate()
    since = parse_date(request.GET.get("since", "")[:10]) or today - timedelta(days=30)
    report = selectors.screening_report(user, since, today)
    context = {
        "nav": "alerts",
        "report": report,
        "labels": selectors.ALERT_FIGURES,
        "statuses": ROW_STATUS,
        "kinds": ALERT_KIND,
    }
    return render(request, "web/feed_report.html", context)


@authenticated
@require_GET
def dashboard_screening(request: HttpRequest) -> HttpResponse:
    """The battle map's screening section (alerts against the 15-day limit, households per
    2026 layer) of a region: an HTMX fragment, computed when shown."""
    from jingzhun.analytics.selectors import dashboard_region
    from jingzhun.core.errors import OutOfScope
    from jingzhun.feeds import layers

    user: Any = request.user
    try:
        code, _root = dashboard_region(user, request.GET.get("region") or None)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    today = timezone.localdate()
    context = {
        "region": code,
        "alerts": selectors.alert_figures(user, code, today)
        if user.role in selectors.ALERT_READERS
        else None,
        "labels": selectors.ALERT_FIGURES,
        "layers": layers.layer_counts(user, code, today),
        "layer_names": layers.layer_names(code, today),
    }
    return render(request, "web/_dashboard_screening.html", context)


@authenticated
@require_GET
def layer_list(request: HttpRequest) -> HttpResponse:
    """The households behind one layer figure of the battle map (same condition as the count)."""
    from jingzhun.analytics.selectors import dashboard_region
    from jingzhun.core.errors import OutOfScope
    from jingzhun.feeds import layers

    user: Any = request.user
    try:
        code, _root = dashboard_region(user, request.GET.get("region") or None)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    today = timezone.localdate()
    layer = request.GET.get("layer", "")[:40]
    layer = "" if layer == "none" else layer
    names = layers.layer_names(code, today)
    if layer not in names:
        raise Http404(_("没有这一层级。"))
    found = (
        layers.layer_households(user, code, layer, today)
        .select_related("village")
        .order_by("household_code")
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "dashboard",
        "page": page,
        "name": names[layer],
        "cited": layers.rules_for(code[:2], today).cited,
        "query": f"region={code}&layer={layer or 'none'}&",
    }
    return render(request, "web/dashboard_layer_list.html", context)
