"""Village and county exit pages (issue 24 item 5): a county's villages with their incidence,
conditions and latest decision; a village's conditions form; the county office runs the
judging (village_exit, then county_exit).

Thin: assessments.selectors for reads (scoped by region grants), assessments.actions for writes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jingzhun.assessments.actions import (
    REGION_ASSESSORS,
    YEAR_MAX,
    YEAR_MIN,
    do_assess_regions,
    do_save_village_conditions,
)
from jingzhun.assessments.exits import CONDITION_FIELDS, COUNTY_EXIT, VILLAGE_EXIT
from jingzhun.assessments.selectors import (
    exit_counties,
    exit_overview,
    village_conditions_for,
)
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.registry.actions import WRITER_ROLES

from .exit_forms import VillageConditionsForm
from .policies import authenticated

EXIT_READERS = frozenset({"county", "township", "village", "auditor", "workteam"})


def _check_reader(request: HttpRequest) -> None:
    if getattr(request.user, "role", "") not in EXIT_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year") or request.POST.get("year") or ""
    try:
        year = int(raw)
    except ValueError:
        return min(timezone.localdate().year - 1, 2020)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise Http404(_("年度无效。"))
    return year


@authenticated
@require_http_methods(["GET"])
def exits(request: HttpRequest) -> HttpResponse:
    """A county's villages for a year: incidence, conditions, latest decisions."""
    _check_reader(request)
    counties = exit_counties(request.user)
    code = request.GET.get("county") or (counties[0].code if counties else "")
    year = _year(request)
    try:
        data = exit_overview(request.user, code, year) if code else None
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {
        "nav": "exits",
        "data": data,
        "counties": counties,
        "year": year,
        "assesses": getattr(request.user, "role", "") in REGION_ASSESSORS,
        "writes": getattr(request.user, "role", "") in WRITER_ROLES,
        "condition_fields": CONDITION_FIELDS,
    }
    return render(request, "web/exits.html", context)


@authenticated
@require_POST
def exits_assess(request: HttpRequest) -> HttpResponseBase:
    """The county office judges the county's villages, then the county (two stored runs)."""
    _check_reader(request)
    if getattr(request.user, "role", "") not in REGION_ASSESSORS:
        raise PermissionDenied(_("只有县级业务人员可以判定村、县退出。"))
    code = request.POST.get("county", "")
    year = _year(request)
    try:
        villages = do_assess_regions(VILLAGE_EXIT, year, code, actor=request.user)
        county = do_assess_regions(COUNTY_EXIT, year, code, actor=request.user)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("已判定 %(n)s 个村（达到退出标准 %(ok)s 个）；县级判定：%(county)s。")
            % {
                "n": villages.regions,
                "ok": villages.passed,
                "county": _("达到退出标准") if county.passed else _("未达到退出标准"),
            },
        )
    return redirect(f"{reverse('web:exits')}?county={code}&year={year}")


@authenticated
@require_http_methods(["GET", "POST"])
def village_conditions(request: HttpRequest, code: str, year: int) -> HttpResponseBase:
    """A village's conditions for a year: shown to readers, entered by county/township/village staff."""
    _check_reader(request)
    user = request.user
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise Http404(_("年度无效。"))
    writes = getattr(user, "role", "") in WRITER_ROLES
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("您的角色无权填报村退出条件。"))
    try:
        village, row = village_conditions_for(user, code, year)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    initial: dict[str, Any] = {"version": row.version if row else 0}
    if row is not None:
        for name in CONDITION_FIELDS:
            value = getattr(row, name)
            initial[name] = (
                value if name == "collective_income" else {None: "", True: "1", False: "0"}[value]
            )
        initial["note"] = row.note
    form = VillageConditionsForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            values = {name: d[name] for name in CONDITION_FIELDS}
            values["note"] = d["note"]
            try:
                do_save_village_conditions(
                    village.code, year, values, actor=user, expected_version=d["version"]
                )
            except OutOfScope as exc:
                raise Http404(exc.message) from exc
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已保存村退出条件。"))
                return redirect("web:village_conditions", code=village.code, year=year)
    shown = [
        (form.fields[name].label, _show(getattr(row, name) if row else None))
        for name in CONDITION_FIELDS
    ]
    context = {
        "nav": "exits",
        "shown": shown,
        "village": village,
        "row": row,
        "year": year,
        "form": form,
        "writes": writes,
        "county": village.code[:6] + "000000",
    }
    return render(request, "web/village_conditions.html", context, status=status)


def _show(value: Any) -> str:
    if value is None:
        return _("未填（未知）")
    if value is True:
        return _("是")
    if value is False:
        return _("否")
    return f"{value:,.2f}"
