"""Pages of project assets and their income (issue 23 item 4).

/assets/ lists the assets of the user's scope and lets village, township and county staff
register one; /assets/<id>/ is an asset's card (确权, state, income received, its plans);
/assets/plans/ and /assets/plans/<id>/ the distribution plans (amounts by use, household
payments with their basis, approval with the rules' trace, posting PDF, payment);
/assets/income/ and /assets/payments/ the lists behind the battle map's figures;
/dashboard/assets/ the figures themselves (HTMX into the dashboard).

Thin: `assets.selectors` for reads, `assets.actions` for writes; refusals show the action's
Chinese sentence with its status (writes.run_write).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods

from jingzhun.analytics.selectors import dashboard_region
from jingzhun.assets.actions import (
    do_approve_plan,
    do_change_asset_state,
    do_confirm_asset,
    do_create_plan,
    do_download_plan_posting,
    do_pay_plan,
    do_post_plan,
    do_record_asset_income,
    do_register_asset,
    do_remove_plan_payment,
    do_set_plan_payment,
    do_update_plan,
)
from jingzhun.assets.choices import (
    APPROVERS,
    ASSET_CATEGORIES,
    ASSET_KINDS,
    ASSET_READERS,
    ASSET_STATES,
    ASSET_WRITERS,
    CONFIRMERS,
    HOUSEHOLD_USES,
    OWNER_KINDS,
    PLAN_STATES,
    USES,
)
from jingzhun.assets.selectors import (
    asset_for,
    assets_for,
    figures,
    incomes_for,
    paid_by_use,
    payments_for,
    payments_of,
    plan_for,
    planned_fen,
    plans_for,
    reached_households,
    received_fen,
)
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.projects.money import parse_yuan
from jingzhun.registry.selectors import households_for, region_options

from .policies import authenticated
from .project_views import _date, _int
from .writes import run_write
from .writes import status as write_status

PAGE_SIZE = 50
# The code labels of assets.choices shown through {% translate %} (test_labels checks them all).
ASSET_LABELS = (
    gettext_noop("光伏电站"),
    gettext_noop("合作社（企业）股权"),
    gettext_noop("扶贫车间（厂房）"),
    gettext_noop("牲畜"),
    gettext_noop("道路桥梁"),
    gettext_noop("水利（饮水）设施"),
    gettext_noop("温室大棚"),
    gettext_noop("其他"),
    gettext_noop("经营性资产"),
    gettext_noop("公益性资产"),
    gettext_noop("到户类资产"),
    gettext_noop("村集体"),
    gettext_noop("农户"),
    gettext_noop("在用"),
    gettext_noop("闲置"),
    gettext_noop("损毁"),
    gettext_noop("已处置"),
    gettext_noop("公益岗位工资"),
    gettext_noop("奖励补助"),
    gettext_noop("小型公益事业"),
    gettext_noop("村集体留存"),
    gettext_noop("草拟"),
    gettext_noop("已审批"),
    gettext_noop("已公示"),
    gettext_noop("已支付"),
)


def _reader(request: HttpRequest) -> str:
    role = getattr(request.user, "role", "")
    if role not in ASSET_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    return role


def _year(request: HttpRequest) -> int:
    text = (request.GET.get("year") or "").strip()
    return int(text) if text.isdigit() and 2014 <= int(text) <= 2100 else timezone.localdate().year


def _region(request: HttpRequest) -> str:
    code = (request.GET.get("region") or "").strip()
    if not code:
        return ""
    try:
        region, _root = dashboard_region(request.user, code)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    return region


def _household(request: HttpRequest) -> int:
    code = request.POST.get("household_code", "").strip()[:32]
    household = households_for(request.user).filter(household_code=code).first()
    if household is None:
        raise DomainError(
            _("未找到户编号为“%(code)s”的农户，或您无权访问。") % {"code": code}, field="household"
        )
    return int(household.pk)


def _amounts(post: Any) -> dict[str, int]:
    return {use: parse_yuan(post.get(use) or "0", field=use, allow_zero=True) for use in USES}


def _unknown() -> HttpResponse:
    return HttpResponse(_("未知的表单。"), status=400, content_type="text/plain; charset=utf-8")


@authenticated
@require_http_methods(["GET", "POST"])
def asset_list(request: HttpRequest) -> HttpResponseBase:
    """The assets of the user's scope; writers get the register form."""
    role = _reader(request)
    user = request.user
    if request.method == "POST":
        if role not in ASSET_WRITERS:
            raise PermissionDenied(_("您的角色无权登记项目资产。"))
        post = request.POST
        made: list[Any] = []

        def register() -> None:
            owner = post.get("owner_kind", "collective")
            made.append(
                do_register_asset(
                    post.get("region", ""),
                    post.get("name", ""),
                    post.get("kind", ""),
                    post.get("category", ""),
                    parse_yuan(post.get("value"), field="value", allow_zero=True),
                    owner_kind=owner,
                    owner_household_id=_household(request) if owner == "household" else None,
                    project_id=_int(post.get("project"), "project")
                    if post.get("project")
                    else None,
                    custodian=post.get("custodian", ""),
                    capacity_kw=_int(post.get("capacity_kw"), "capacity_kw")
                    if post.get("capacity_kw")
                    else None,
                    actor=user,
                )
            )

        if run_write(request, register, _("已登记资产。")):
            return redirect("web:asset", asset_id=made[0].pk)
    kind = request.GET.get("kind", "")
    state = request.GET.get("state", "")
    qs = assets_for(
        user,
        kind=kind if kind in ASSET_KINDS else "",
        state=state if state in ASSET_STATES else "",
        q=request.GET.get("q", "")[:50],
        region=_region(request),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    writes = role in ASSET_WRITERS
    context = {
        "nav": "assets",
        "page": page,
        "kinds": ASSET_KINDS,
        "states": ASSET_STATES,
        "categories": ASSET_CATEGORIES,
        "owners": OWNER_KINDS,
        "kind": kind,
        "state": state,
        "writes": writes,
        "villages": [r for r in region_options(user) if r.level == "village"] if writes else [],
        "form": request.POST if request.method == "POST" else {},
    }
    return render(request, "web/assets.html", context, status=write_status(request))


@authenticated
@require_http_methods(["GET", "POST"])
def asset(request: HttpRequest, asset_id: int) -> HttpResponseBase:
    """An asset's card; POST `form` = confirm | state | income | plan."""
    role = _reader(request)
    user = request.user
    try:
        a = asset_for(user, asset_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        post = request.POST
        made: list[Any] = []
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "confirm": (
                lambda: do_confirm_asset(
                    a.pk,
                    _date(post.get("confirmed_on")),
                    post.get("document", ""),
                    expected_version=_int(post.get("version"), "version"),
                    actor=user,
                ),
                _("已确权。"),
            ),
            "state": (
                lambda: do_change_asset_state(
                    a.pk,
                    post.get("state", ""),
                    custodian=post.get("custodian"),
                    reason=post.get("reason", ""),
                    expected_version=_int(post.get("version"), "version"),
                    actor=user,
                ),
                _("已变更资产状态。"),
            ),
            "income": (
                lambda: do_record_asset_income(
                    a.pk,
                    _date(post.get("received_on")),
                    parse_yuan(post.get("amount")),
                    post.get("voucher", ""),
                    post.get("key") or uuid.uuid4().hex,
                    note=post.get("note", ""),
                    actor=user,
                ),
                _("已登记收益。"),
            ),
            "plan": (
                lambda: made.append(
                    do_create_plan(
                        a.pk,
                        _int(post.get("year"), "year"),
                        post.get("title", ""),
                        _amounts(post),
                        actor=user,
                    )
                ),
                _("已草拟分配方案。"),
            ),
        }
        form = post.get("form", "")
        if form not in work:
            return _unknown()
        if run_write(request, *work[form]):
            if made:
                return redirect("web:asset_plan", plan_id=made[0].pk)
            return redirect("web:asset", asset_id=a.pk)
        a = asset_for(user, asset_id)
    year = timezone.localdate().year
    context = {
        "nav": "assets",
        "a": a,
        "incomes": list(a.incomes.order_by("-received_on", "-pk")[:100]),
        "plans": list(a.plans.order_by("-year", "-pk")),
        "received": received_fen(a, year),
        "available": received_fen(a, year) - planned_fen(a, year),
        "year": year,
        "states": ASSET_STATES,
        "uses": USES,
        "writes": role in ASSET_WRITERS,
        "confirms": role in CONFIRMERS and a.confirmed_on is None,
        "today": timezone.localdate(),
        "key": uuid.uuid4().hex,
    }
    return render(request, "web/asset.html", context, status=write_status(request))


@authenticated
@require_http_methods(["GET"])
def plan_list(request: HttpRequest) -> HttpResponseBase:
    """The distribution plans of the user's scope, by year and state."""
    _reader(request)
    state = request.GET.get("state", "")
    qs = plans_for(
        request.user,
        year=_year(request) if request.GET.get("year") else None,
        state=state if state in PLAN_STATES else "",
        region=_region(request),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"nav": "assets", "page": page, "states": PLAN_STATES, "state": state}
    return render(request, "web/asset_plans.html", context)


@authenticated
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, plan_id: int) -> HttpResponseBase:
    """A distribution plan; POST `form` = amounts | payment | remove | approve | post | pay."""
    role = _reader(request)
    user = request.user
    try:
        p = plan_for(user, plan_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        post = request.POST
        today = timezone.localdate()
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "amounts": (
                lambda: do_update_plan(
                    p.pk,
                    _amounts(post),
                    title=post.get("title"),
                    expected_version=_int(post.get("version"), "version"),
                    actor=user,
                ),
                _("已保存分配方案。"),
            ),
            "payment": (
                lambda: do_set_plan_payment(
                    p.pk,
                    _household(request),
                    post.get("use", ""),
                    parse_yuan(post.get("amount")),
                    post.get("basis", ""),
                    actor=user,
                ),
                _("已列入到户名单。"),
            ),
            "remove": (
                lambda: do_remove_plan_payment(_int(post.get("payment"), "payment"), actor=user),
                _("已移出到户名单。"),
            ),
            "approve": (
                lambda: do_approve_plan(
                    p.pk, expected_version=_int(post.get("version"), "version"), actor=user
                ),
                _("已审批分配方案。"),
            ),
            "post": (
                lambda: do_post_plan(
                    p.pk,
                    _date(post.get("start") or today.isoformat()),
                    days=_int(post.get("days"), "days") if post.get("days") else None,
                    issuer=post.get("issuer", ""),
                    actor=user,
                ),
                _("已公示分配方案。"),
            ),
            "pay": (
                lambda: do_pay_plan(
                    p.pk,
                    _date(post.get("paid_on") or today.isoformat()),
                    post.get("key") or uuid.uuid4().hex,
                    actor=user,
                ),
                _("已支付，到户金额已计入各户当年收入。"),
            ),
        }
        form = post.get("form", "")
        if form not in work:
            return _unknown()
        if run_write(request, *work[form]):
            return redirect("web:asset_plan", plan_id=p.pk)
        p = plan_for(user, plan_id)
    paid = paid_by_use(p)
    context = {
        "nav": "assets",
        "p": p,
        "payments": list(payments_of(p)),
        "lines": [(use, label, p.use_fen(use), paid.get(use, 0)) for use, label in USES.items()],
        "received": received_fen(p.asset, p.year),
        "household_uses": {u: USES[u] for u in HOUSEHOLD_USES},
        "writes": role in ASSET_WRITERS and p.state == "draft",
        "approves": role in APPROVERS,
        "today": timezone.localdate(),
        "key": uuid.uuid4().hex,
    }
    return render(request, "web/asset_plan.html", context, status=write_status(request))


@authenticated
@require_http_methods(["GET"])
def plan_posting(request: HttpRequest, plan_id: int) -> HttpResponseBase:
    """The plan's posting PDF as it was put up (audited)."""
    _reader(request)
    try:
        p = do_download_plan_posting(plan_id, actor=request.user)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    response = FileResponse(
        io.BytesIO(bytes(p.posting_pdf or b"")),
        as_attachment=True,
        filename=f"asset-plan-{p.pk}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "no-store"
    return response


@authenticated
@require_http_methods(["GET"])
def income_list(request: HttpRequest) -> HttpResponseBase:
    """Income received by the assets of the scope in a year (a battle map figure's list)."""
    _reader(request)
    year = _year(request)
    region = _region(request)
    qs = incomes_for(request.user, year=year, region=region)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = f"year={year}&region={region}&"
    context = {"nav": "assets", "page": page, "year": year, "query": query}
    return render(request, "web/asset_incomes.html", context)


@authenticated
@require_http_methods(["GET"])
def payment_list(request: HttpRequest) -> HttpResponseBase:
    """Payments to households in a year (`of=households`: the households reached)."""
    _reader(request)
    year = _year(request)
    region = _region(request)
    by_household = request.GET.get("of") == "households"
    if by_household:
        rows: Any = reached_households(request.user, year=year, region=region)
    else:
        rows = payments_for(request.user, year=year, region=region)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = f"year={year}&region={region}&{'of=households&' if by_household else ''}"
    context = {
        "nav": "assets",
        "page": page,
        "year": year,
        "by_household": by_household,
        "query": query,
    }
    return render(request, "web/asset_payments.html", context)


@authenticated
@require_http_methods(["GET"])
def dashboard_section(request: HttpRequest) -> HttpResponseBase:
    """The battle map's asset income figures of a region (a fragment for HTMX)."""
    _reader(request)
    try:
        region, _root = dashboard_region(request.user, request.GET.get("region") or None)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    year = _year(request)
    context = {
        "nav": "dashboard",
        "f": figures(request.user, region, year),
        "region": region,
        "year": year,
    }
    template = (
        "web/_dashboard_assets.html"
        if request.headers.get("HX-Request")
        else "web/dashboard_assets.html"
    )
    return render(request, template, context)
