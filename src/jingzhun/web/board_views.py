"""The battle map's assistance section (作战图·精准帮扶, issue 21 item 6) and the lists behind
its figures.

The dashboard page (dashboard_views, cached per data version) loads the section with HTMX from
`/dashboard/assistance/`, so the cached page stays as it is and these figures, which change with
every pairing, visit, measure and check-in, are computed when shown (assistance.board, a fixed
number of queries). Without JavaScript the link opens the same section as a page.
`/dashboard/assistance/list/` shows the households, helpers or villages behind one figure.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from jingzhun.analytics.selectors import dashboard_region
from jingzhun.assistance import board
from jingzhun.assistance.team_selectors import Month
from jingzhun.core.errors import OutOfScope
from jingzhun.credit.scope import reads_loans
from jingzhun.credit.selectors import figures as credit_figures
from jingzhun.regions import codes

from .policies import authenticated

PAGE_SIZE = 50
LISTS = ("households", "helpers", "villages")


def _month(request: HttpRequest) -> Month:
    today = timezone.localdate()
    return Month.parse(request.GET.get("month"), Month.before(Month.of(today)))


def _region(request: HttpRequest) -> str:
    try:
        region, _root = dashboard_region(request.user, request.GET.get("region") or None)
        return board.check_region(request.user, region)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


@authenticated
@require_http_methods(["GET"])
def assistance_section(request: HttpRequest) -> HttpResponse:
    """The assistance figures of a region (a fragment for HTMX, a page otherwise)."""
    region = _region(request)
    month = _month(request)
    try:
        data = board.assistance_board(request.user, region, month)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {
        "nav": "dashboard",
        "data": data,
        "region": region,
        "previous": Month.before(month).key,
        "next": Month.after(month).key,
        "groups": board.GROUPS,
        # above the county the helper figures are the counties' summed (board.helper_loads)
        "above_county": codes.level_of(region) in board.ABOVE_COUNTY,
        # microcredit (issue 23 item 6): loans outstanding and overdue, linked to their lists
        "credit_figures": credit_figures(request.user, region=region)
        if reads_loans(request.user)
        else None,
    }
    template = (
        "web/_dashboard_assistance.html"
        if request.headers.get("HX-Request")
        else "web/dashboard_assistance.html"
    )
    return render(request, template, context)


@authenticated
@require_http_methods(["GET"])
def assistance_list(request: HttpRequest) -> HttpResponse:
    """The households, helpers or villages behind one assistance figure of a region."""
    region = _region(request)
    month = _month(request)
    figure = request.GET.get("figure", "")[:80]
    of = request.GET.get("of", "households")
    if of not in LISTS:
        raise Http404("没有这一名单。")
    user = request.user
    try:
        label = board.figure_label(figure)
        if of == "households":
            rows: Any = board.figure_households(user, region, figure, month)
        elif of == "helpers":
            rows = board.figure_helpers(user, region, figure, month)
        else:
            rows = board.figure_villages(user, region, figure, month)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "nav": "dashboard",
        "of": of,
        "figure": figure,
        "label": label,
        "region": region,
        "month": month,
        "page": page,
        "query": params.urlencode() + "&",
    }
    return render(request, "web/dashboard_assistance_list.html", context)
