"""Exit self-check pages (退出自查, 三率一度; issue 24 item 6): self-checks of the county, the
sample's design and the draw's progress, survey entry by the teams, the estimates with their
intervals and the one-vote veto, the findings registered as inspection problems, the PDF report.

Thin: selfcheck.selectors for reads (scoped by region grants), selfcheck.actions for writes; a
refusal shows the action's Chinese sentence (403 role, 404 out of scope, 409 stale, 400 else).
"""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jingzhun.access.scoping import can_see_region, granted_codes
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.selfcheck import selectors as sel
from jingzhun.selfcheck.actions import (
    CREATORS,
    SURVEYORS,
    do_close_selfcheck,
    do_create_selfcheck,
    do_export_report,
    do_register_findings,
    do_save_survey,
    findings_q,
)
from jingzhun.selfcheck.choices import GROUPS

from .policies import authenticated
from .writes import refuse

TRI = [("", gettext_lazy("未填")), ("1", gettext_lazy("是")), ("0", gettext_lazy("否"))]


class SelfCheckForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=2014, max_value=2100)
    title = forms.CharField(label=gettext_lazy("名称"), max_length=200, required=False)
    seed = forms.IntegerField(
        label=gettext_lazy("随机种子（留空则随机生成）"), min_value=0, required=False
    )


class SurveyForm(forms.Form):
    surveyed_on = forms.DateField(
        label=gettext_lazy("调查日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    team = forms.CharField(label=gettext_lazy("核查组"), max_length=50)
    food_clothing_secure = forms.ChoiceField(
        label=gettext_lazy("不愁吃、不愁穿"), choices=TRI, required=False
    )
    education_secure = forms.ChoiceField(
        label=gettext_lazy("义务教育有保障"), choices=TRI, required=False
    )
    medical_secure = forms.ChoiceField(
        label=gettext_lazy("基本医疗有保障"), choices=TRI, required=False
    )
    housing_secure = forms.ChoiceField(
        label=gettext_lazy("住房安全有保障"), choices=TRI, required=False
    )
    water_secure = forms.ChoiceField(
        label=gettext_lazy("饮水安全有保障"), choices=TRI, required=False
    )
    income_per_capita_yuan = forms.IntegerField(
        label=gettext_lazy("人均纯收入（元）"), min_value=0, max_value=10_000_000, required=False
    )
    wrongly_exited_persons = forms.IntegerField(
        label=gettext_lazy("错退人数（已脱贫户）"), min_value=0, max_value=99, required=False
    )
    missed_persons = forms.IntegerField(
        label=gettext_lazy("漏评人数（一般农户）"), min_value=0, max_value=99, required=False
    )
    approves = forms.ChoiceField(label=gettext_lazy("认可帮扶和退出工作"), choices=TRI[1:])
    complaint = forms.CharField(
        label=gettext_lazy("意见或投诉"), max_length=500, required=False, widget=forms.Textarea
    )


def _reader(request: HttpRequest) -> str:
    role = getattr(request.user, "role", "")
    if role not in sel.READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    return role


def _item(request: HttpRequest, selfcheck_id: int) -> Any:
    try:
        return sel.selfcheck_for(request.user, selfcheck_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


@authenticated
@require_http_methods(["GET", "POST"])
def selfchecks(request: HttpRequest) -> HttpResponseBase:
    """The self-checks the user sees; the county office starts one."""
    role = _reader(request)
    user = request.user
    writes = role in CREATORS
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县级业务人员可以发起退出自查。"))
    form = SelfCheckForm(request.POST or None, initial={"year": timezone.localdate().year})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            county = next((c for c in granted_codes(user) if c.endswith("000000")), "")
            try:
                item = do_create_selfcheck(
                    county, d["year"], title=d["title"], seed=d["seed"], actor=user
                )
            except DomainError as exc:
                refuse(exc)
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已发起退出自查，正在抽样。"))
                return redirect("web:selfcheck", selfcheck_id=item.pk)
    context = {
        "nav": "selfchecks",
        "items": sel.selfchecks_for(user)[:100],
        "form": form,
        "writes": writes,
    }
    return render(request, "web/selfchecks.html", context, status=status)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _shown(r: Any) -> dict[str, Any]:
    """A rate's row as shown: percentages with two decimals."""
    e = r.estimate
    return {
        "r": r,
        "rate": _pct(e.rate),
        "interval": "—" if e.low is None else f"{_pct(e.low)} ～ {_pct(e.high)}",
        "threshold": ("< " if r.upper else "≥ ") + _pct(r.threshold),
        "effective_n": "—" if e.effective_n is None else f"{e.effective_n:.0f}",
    }


@authenticated
@require_GET
def selfcheck(request: HttpRequest, selfcheck_id: int) -> HttpResponse:
    """One self-check: the draw's progress, the design, survey progress, and (for those who
    cover the county) the estimates with their intervals and the one-vote veto."""
    role = _reader(request)
    item = _item(request, selfcheck_id)
    county_view = can_see_region(request.user, item.county_id)
    job = sel.latest_job(item)
    results = sel.results(item) if county_view and item.drawn else None
    context = {
        "nav": "selfchecks",
        "item": item,
        "job": job,
        "rates": [_shown(r) for r in results.rates] if results else [],
        "running": job is not None and job.status in ("queued", "running"),
        "progress": sel.progress(request.user, item),
        "results": results,
        "strata": (item.design or {}).get("village_strata", {}),
        "pending": item.households.filter(findings_q()).count() if role in CREATORS else 0,
        "creator": role in CREATORS and county_view,
        "surveys": role in SURVEYORS,
    }
    return render(request, "web/selfcheck_detail.html", context)


@authenticated
@require_GET
def selfcheck_households(request: HttpRequest, selfcheck_id: int) -> HttpResponse:
    """The sampled households the user's grants cover, to survey."""
    role = _reader(request)
    item = _item(request, selfcheck_id)
    surveyed = request.GET.get("surveyed", "")[:3]
    group = request.GET.get("group", "")[:12]
    rows = sel.sample_rows(request.user, item, surveyed=surveyed, group=group)[:500]
    context = {
        "nav": "selfchecks",
        "item": item,
        "rows": rows,
        "groups": GROUPS,
        "surveyed": surveyed,
        "group": group,
        "surveys": role in SURVEYORS,
    }
    return render(request, "web/selfcheck_households.html", context)


def _initial(row: Any) -> dict[str, Any]:
    def tri(v: bool | None) -> str:
        return "" if v is None else ("1" if v else "0")

    return {
        "surveyed_on": row.surveyed_on or timezone.localdate(),
        "team": row.team,
        "food_clothing_secure": tri(row.food_clothing_secure),
        "education_secure": tri(row.education_secure),
        "medical_secure": tri(row.medical_secure),
        "housing_secure": tri(row.housing_secure),
        "water_secure": tri(row.water_secure),
        "income_per_capita_yuan": (
            row.income_per_capita_fen // 100 if row.income_per_capita_fen is not None else None
        ),
        "wrongly_exited_persons": row.wrongly_exited_persons,
        "missed_persons": row.missed_persons,
        "approves": tri(row.approves) or "1",
        "complaint": row.complaint,
    }


def _version(request: HttpRequest) -> int:
    """The version the form was loaded with (a missing or garbled one is stale)."""
    text = request.POST.get("version", "")[:10]
    return int(text) if text.isdigit() else -1


@authenticated
@require_http_methods(["GET", "POST"])
def selfcheck_survey(request: HttpRequest, sampled_id: int) -> HttpResponseBase:
    """A sampled household's survey (入户调查问卷): teams of county and township staff enter it."""
    role = _reader(request)
    try:
        row = sel.sampled_household_for(request.user, sampled_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    writes = role in SURVEYORS
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县级、乡镇核查组人员可以录入入户调查。"))
    form = SurveyForm(request.POST or None, initial=_initial(row))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            yuan = d.get("income_per_capita_yuan")
            answers = {
                k: d.get(k)
                for k in (
                    "food_clothing_secure",
                    "education_secure",
                    "medical_secure",
                    "housing_secure",
                    "water_secure",
                    "wrongly_exited_persons",
                    "missed_persons",
                    "approves",
                    "complaint",
                )
            }
            answers["income_per_capita_fen"] = yuan * 100 if yuan is not None else None
            try:
                do_save_survey(
                    row.pk,
                    version=_version(request),
                    surveyed_on=d["surveyed_on"],
                    team=d["team"],
                    answers=answers,
                    actor=request.user,
                )
            except DomainError as exc:
                refuse(exc)
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已保存入户调查。"))
                return redirect("web:selfcheck_households", selfcheck_id=row.selfcheck_id)
    context = {"nav": "selfchecks", "row": row, "form": form, "writes": writes}
    return render(request, "web/selfcheck_survey.html", context, status=status)


@authenticated
@require_POST
def selfcheck_findings(request: HttpRequest, selfcheck_id: int) -> HttpResponse:
    """The county office registers every pending finding as an inspection problem."""
    _reader(request)
    item = _item(request, selfcheck_id)
    try:
        made = do_register_findings(item.pk, actor=request.user)
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已登记 %(n)s 个督查问题。") % {"n": made})
    return redirect("web:selfcheck", selfcheck_id=item.pk)


@authenticated
@require_POST
def selfcheck_close(request: HttpRequest, selfcheck_id: int) -> HttpResponse:
    """The county office ends the survey: no survey is entered or corrected afterwards."""
    _reader(request)
    item = _item(request, selfcheck_id)
    try:
        do_close_selfcheck(item.pk, actor=request.user)
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已结束入户调查。"))
    return redirect("web:selfcheck", selfcheck_id=item.pk)


@authenticated
@require_GET
def selfcheck_report(request: HttpRequest, selfcheck_id: int) -> HttpResponse:
    """The self-check report (PDF)."""
    _reader(request)
    item = _item(request, selfcheck_id)
    out = io.BytesIO()
    try:
        name = do_export_report(item.pk, out, actor=request.user)
    except DomainError as exc:
        refuse(exc)
        return HttpResponse(
            exc.message, status=exc.status, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(out.getvalue(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


# labels shown through {% translate variable %}: marked here for the catalogue
_DYNAMIC_LABELS = (
    gettext_noop("已脱贫户"),
    gettext_noop("未脱贫户（拟退出）"),
    gettext_noop("一般农户"),
    gettext_noop("错退率"),
    gettext_noop("漏评率"),
    gettext_noop("群众认可度"),
    gettext_noop("达标"),
    gettext_noop("未达标（一票否决）"),
    gettext_noop("点估计达标，但置信区间跨越阈值，结论不确定"),
    gettext_noop("无调查数据"),
)
