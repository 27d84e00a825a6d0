"""Pages of the points shops and star ratings (issue 23 item 5).

/points/ lists the shops of the user's places (and opens one: county and township staff), the
monthly appraisals (post, confirm) and the five-star households per village; /points/shops/<id>/
a shop's goods (add, restock) and its latest redemptions; /points/households/<id>/ a household's
balance, history and rating with the earn, redeem, reverse and rate forms;
/points/households/<id>/card/ the household card's section (HTMX); /points/ratings/ the ratings
of a year by village, with the five-star list and posting.

Thin: `points.selectors` for reads, `points.actions` for writes. A refusal shows the action's
Chinese sentence with its status (403 role, 404 out of scope, 409 stale or key conflict, 400).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.points.actions import (
    do_add_goods,
    do_confirm_appraisal,
    do_create_shop,
    do_earn_points,
    do_post_appraisal,
    do_post_ratings,
    do_rate_household,
    do_redeem_points,
    do_restock_goods,
    do_reverse_points_entry,
)
from jingzhun.points.choices import POINTS_RECORDERS, SHOP_MANAGERS
from jingzhun.points.rules import rules_for
from jingzhun.points.scope import reads_points
from jingzhun.points.selectors import (
    appraisals_for,
    balance_of,
    entries_of,
    five_star_villages,
    goods_of,
    household_points_card,
    pending_of,
    points_household,
    rating_of,
    ratings_for,
    shop_entries,
    shop_for,
    shops_for,
)
from jingzhun.registry.selectors import region_options

from .policies import authenticated
from .writes import run_write
from .writes import status as write_status

PAGE_SIZE = 50
NOT_FOUND = "未找到该页面，或您无权访问。"


def _reader(request: HttpRequest) -> None:
    if not reads_points(request.user):
        raise Http404(_(NOT_FOUND))


def _int(value: str | None, field: str) -> int:
    text = (value or "").strip()
    if not text.lstrip("-").isdigit() or len(text) > 12:
        raise DomainError(_("请选择或填写有效的数字。"), field=field)
    return int(text)


def _date(value: str | None) -> datetime.date:
    if not value:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise DomainError(_("日期应为 YYYY-MM-DD。"), field="on_date") from exc


def _year(request: HttpRequest) -> int:
    text = request.GET.get("year", "")
    today = timezone.localdate()
    return int(text) if text.isdigit() and 2014 <= int(text) <= today.year else today.year


def _unknown() -> HttpResponse:
    return HttpResponse(_("未知的表单。"), status=400, content_type="text/plain; charset=utf-8")


@authenticated
@require_http_methods(["GET", "POST"])
def points_home(request: HttpRequest) -> HttpResponseBase:
    """Shops, appraisals and five-star villages; POST form = shop | post | confirm."""
    _reader(request)
    user = request.user
    role = getattr(user, "role", "")
    if request.method == "POST":
        post = request.POST
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "shop": (
                lambda: do_create_shop(
                    post.get("region", ""),
                    post.get("name", ""),
                    keeper=post.get("keeper", ""),
                    actor=user,
                ),
                _("已开设爱心超市。"),
            ),
            "post": (
                lambda: do_post_appraisal(_int(post.get("appraisal"), "appraisal"), actor=user),
                _("已公示月度评议。"),
            ),
            "confirm": (
                lambda: do_confirm_appraisal(_int(post.get("appraisal"), "appraisal"), actor=user),
                _("已确认月度评议，积分已计入。"),
            ),
        }
        form = post.get("form", "")
        if form not in work:
            return _unknown()
        if run_write(request, *work[form]):
            return redirect("web:points")
    year = _year(request)
    context = {
        "nav": "points",
        "shops": list(shops_for(user)),
        "appraisals": appraisals_for(user),
        "villages": five_star_villages(user, year),
        "year": year,
        "manages": role in SHOP_MANAGERS,
        "records": role in POINTS_RECORDERS,
        "regions": region_options(user) if role in SHOP_MANAGERS else [],
        "form": request.POST if request.method == "POST" else {},
    }
    return render(request, "web/points.html", context, status=write_status(request))


@authenticated
@require_http_methods(["GET", "POST"])
def points_shop(request: HttpRequest, shop_id: int) -> HttpResponseBase:
    """A shop's goods and redemptions; POST form = goods | restock."""
    _reader(request)
    user = request.user
    try:
        shop = shop_for(user, shop_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        post = request.POST
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "goods": (
                lambda: do_add_goods(
                    shop.pk,
                    post.get("name", ""),
                    _int(post.get("price_points"), "price_points"),
                    unit=post.get("unit", "") or "件",
                    actor=user,
                ),
                _("已上架商品。"),
            ),
            "restock": (
                lambda: do_restock_goods(
                    _int(post.get("goods"), "goods"),
                    _int(post.get("quantity"), "quantity"),
                    note=post.get("note", ""),
                    actor=user,
                ),
                _("已登记库存。"),
            ),
        }
        form = post.get("form", "")
        if form not in work:
            return _unknown()
        if run_write(request, *work[form]):
            return redirect("web:points_shop", shop_id=shop.pk)
    context = {
        "nav": "points",
        "shop": shop,
        "goods": goods_of(shop),
        "entries": shop_entries(user, shop),
        "manages": getattr(user, "role", "") in SHOP_MANAGERS,
    }
    return render(request, "web/points_shop.html", context, status=write_status(request))


def _household(request: HttpRequest, household_id: int) -> Any:
    try:
        return points_household(request.user, household_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


def _stars(post: Any, rules: Any) -> dict[str, int]:
    return {
        c.code: _int(post.get(f"star_{c.code}") or "0", c.code) for c in rules.doc.star_criteria
    }


@authenticated
@require_http_methods(["GET", "POST"])
def points_household_page(request: HttpRequest, household_id: int) -> HttpResponseBase:
    """A household's points and rating; POST form = earn | redeem | reverse | rate."""
    _reader(request)
    user = request.user
    household = _household(request, household_id)
    today = timezone.localdate()
    rules = rules_for(household.county_code, today)
    if request.method == "POST":
        post = request.POST
        key = post.get("key") or uuid.uuid4().hex
        goods_shop = (post.get("goods") or ":").split(":", 1)
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "earn": (
                lambda: do_earn_points(
                    household.pk,
                    post.get("item", ""),
                    _date(post.get("on_date")),
                    key=key,
                    note=post.get("note", ""),
                    actor=user,
                ),
                _("已登记积分。"),
            ),
            "redeem": (
                lambda: do_redeem_points(
                    _int(goods_shop[0], "goods"),
                    _int(goods_shop[1], "goods"),
                    household.pk,
                    _int(post.get("quantity") or "1", "quantity"),
                    _date(post.get("on_date")),
                    key=key,
                    actor=user,
                ),
                _("已兑换。"),
            ),
            "reverse": (
                lambda: do_reverse_points_entry(
                    _int(post.get("entry"), "entry"), post.get("reason", ""), key=key, actor=user
                ),
                _("已冲正。"),
            ),
            "rate": (
                lambda: do_rate_household(
                    household.pk,
                    _int(post.get("year"), "year"),
                    _stars(post, rules),
                    expected_version=_int(post.get("version"), "version")
                    if post.get("version")
                    else None,
                    note=post.get("note", ""),
                    actor=user,
                ),
                _("已评定星级。"),
            ),
        }
        form = post.get("form", "")
        if form not in work:
            return _unknown()
        if run_write(request, *work[form]):
            return redirect("web:points_household", household_id=household.pk)
    shops = [s for s in shops_for(user) if s.serves(household)]
    offers = [(s, g) for s in shops for g in goods_of(s) if g.stock > 0]
    context = {
        "nav": "points",
        "household": household,
        "balance": balance_of(household),
        "pending": pending_of(household),
        "entries": entries_of(household),
        "rating": rating_of(household, today.year),
        "rules": rules,
        "criteria": [(c, list(range(c.stars + 1))) for c in rules.doc.star_criteria],
        "offers": offers,
        "records": getattr(user, "role", "") in POINTS_RECORDERS,
        "today": today,
        "key": uuid.uuid4().hex,
    }
    return render(request, "web/points_household.html", context, status=write_status(request))


@authenticated
@require_http_methods(["GET"])
def points_card(request: HttpRequest, household_id: int) -> HttpResponse:
    """The household card's points section (loaded by HTMX; 404 for roles without points)."""
    _reader(request)
    household = _household(request, household_id)
    card = household_points_card(request.user, household)
    return render(request, "web/_household_points.html", {"household": household, "card": card})


@authenticated
@require_http_methods(["GET", "POST"])
def points_ratings(request: HttpRequest) -> HttpResponseBase:
    """Ratings of a year by village, the five-star list; POST posts a village's ratings."""
    _reader(request)
    user = request.user
    year = _year(request)
    if request.method == "POST":
        post = request.POST
        if post.get("form") != "post":
            return _unknown()
        posted: list[int] = []

        def post_ratings() -> None:
            posted.append(_int(post.get("year"), "year"))
            do_post_ratings(post.get("village", ""), posted[0], actor=user)

        if run_write(request, post_ratings, _("已公示星级评定。")):
            return redirect(f"{request.path}?year={posted[0]}")
    village = request.GET.get("village", "")[:12]
    full = request.GET.get("full") == "1"
    qs = ratings_for(user, year=year, village=village, full=True if full else None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "nav": "points",
        "year": year,
        "village": village,
        "full": full,
        "page": page,
        "villages": five_star_villages(user, year),
        "records": getattr(user, "role", "") in POINTS_RECORDERS,
        "query": params.urlencode() + "&",
    }
    return render(request, "web/points_ratings.html", context, status=write_status(request))
