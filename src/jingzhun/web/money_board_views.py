"""The battle map's money section (作战图·项目资金, issue 23 item 6) and the lists behind it.

Like the assistance section (board_views): the dashboard loads it with HTMX from
`/dashboard/money/` and it is computed when shown (`projects.board`, `points.board`: a fixed
number of queries), so it needs no indicator refresh and always agrees with the ledger.
`/dashboard/money/list/` shows the postings, projects, benefiting households, points entries or
ratings behind one figure, restricted exactly as the figure is.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from jingzhun.access.scoping import can_see_region
from jingzhun.analytics.selectors import dashboard_region
from jingzhun.core.errors import OutOfScope
from jingzhun.points import board as points_board
from jingzhun.projects import board as money_board
from jingzhun.regions import codes

from .policies import authenticated

PAGE_SIZE = 50


def _region(request: HttpRequest) -> str:
    try:
        region, _root = dashboard_region(request.user, request.GET.get("region") or None)
        level = codes.level_of(region)
    except (OutOfScope, codes.CodeError) as exc:
        raise Http404("未找到该区划，或您无权访问。") from exc
    if level not in ("county", "township", "village") or not can_see_region(request.user, region):
        raise Http404("未找到该区划，或您无权访问。")
    return region


def _year(request: HttpRequest) -> int:
    text = request.GET.get("year", "")
    today = timezone.localdate()
    return int(text) if text.isdigit() and 2014 <= int(text) <= today.year else today.year


@authenticated
@require_http_methods(["GET"])
def money_section(request: HttpRequest) -> HttpResponse:
    """The money figures of a region (a fragment for HTMX, a page otherwise)."""
    region = _region(request)
    year = _year(request)
    context: dict[str, Any] = {
        "nav": "dashboard",
        "region": region,
        "year": year,
        "data": money_board.money_board(request.user, region),
        "points": points_board.points_board(request.user, region, year),
    }
    template = (
        "web/_dashboard_money.html"
        if request.headers.get("HX-Request")
        else "web/dashboard_money.html"
    )
    return render(request, template, context)


@authenticated
@require_http_methods(["GET"])
def money_list(request: HttpRequest) -> HttpResponse:
    """The rows behind one money figure of a region."""
    region = _region(request)
    year = _year(request)
    figure = request.GET.get("figure", "")[:80]
    user = request.user
    try:
        if figure.startswith(("points:", "stars:")):
            label = points_board.figure_label(figure)
            rows: Any = points_board.figure_rows(user, region, figure, year)
            total = points_board.figure_value(user, region, figure, year)
        else:
            label = money_board.figure_label(figure)
            rows = money_board.figure_rows(user, region, figure)
            total = money_board.figure_value(user, region, figure)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "nav": "dashboard",
        "figure": figure,
        "of": figure.split(":", 1)[0],
        "label": label,
        "region": region,
        "year": year,
        "total": total,
        "page": page,
        "query": params.urlencode() + "&",
    }
    return render(request, "web/dashboard_money_list.html", context)
