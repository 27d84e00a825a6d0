"""Assessment pages (考核, issue 24 item 4; ADR scoring): the schemes, a period's ranking with the
red and black lists (红黑榜), a unit's score card with the trace and the lists behind each figure,
computing (a job on the queue, with progress) and publishing.

Thin: scoring.selectors for reads (scoped: the county everything of its periods, a unit the
published ranking as the scheme says and its own card), scoring.actions for writes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jingzhun.core import figure_sources as fs
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.scoring import selectors as sel
from jingzhun.scoring.actions import PUBLISHERS, SCORERS, do_publish_period, do_request_scoring
from jingzhun.scoring.models import PERIOD_KINDS, ScorePeriod, UnitScore
from jingzhun.scoring.scheme import Scheme, scheme_by_hash, schemes_for

from .policies import authenticated
from .writes import refuse


def _reader(request: HttpRequest) -> str:
    role = getattr(request.user, "role", "")
    if role not in sel.READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    return role


class ScoringForm(forms.Form):
    scheme = forms.ChoiceField(label=_l("考核方案"))
    period = forms.CharField(
        label=_l("考核周期"),
        max_length=10,
        help_text=_l("季度如 2026Q3，年度如 2026，月度如 2026-10"),
    )
    correction = forms.CharField(
        label=_l("更正说明（结果已发布后重新计算时必填）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, schemes: list[Scheme], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["scheme"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.doc.id, s.doc.title) for s in schemes]


@authenticated
@require_http_methods(["GET", "POST"])
def scoring(request: HttpRequest) -> HttpResponseBase:
    """The periods the user sees, the schemes in effect, and (county) a computation to ask for."""
    role = _reader(request)
    user = request.user
    county = sel.home_county(user)
    schemes = schemes_for(county) if county else []
    current = _current(schemes)
    writes = role in SCORERS and bool(sel.county_codes(user))
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县级业务人员可以发起考核计算。"))
    form = ScoringForm(request.POST or None, schemes=current)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                job = do_request_scoring(
                    county_code=county or "",
                    scheme_id=d["scheme"],
                    period=d["period"],
                    correction=d["correction"],
                    actor=user,
                )
            except DomainError as exc:
                refuse(exc)
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已加入计算队列。"))
                return redirect("web:scoring_period", score_period_id=job.period_id)
    context = {
        "nav": "scoring",
        "periods": sel.periods_for(user)[:200],
        "schemes": current,
        "form": form,
        "writes": writes,
        "kinds": PERIOD_KINDS,
        "unit_kinds": fs.UNIT_KINDS,
    }
    return render(request, "web/scoring.html", context, status=status)


def _current(schemes: list[Scheme]) -> list[Scheme]:
    newest: dict[str, Scheme] = {}
    for s in schemes:
        if s.doc.id not in newest or s.doc.effective_from > newest[s.doc.id].doc.effective_from:
            newest[s.doc.id] = s
    return sorted(newest.values(), key=lambda s: s.doc.id)


@authenticated
@require_GET
def scheme(request: HttpRequest, scheme_id: str) -> HttpResponse:
    """A scheme: indicators, weights, formulas, null handling, the lists' rules, sources.
    `?hash=` shows the version a computation used."""
    _reader(request)
    county = sel.home_county(request.user)
    wanted = request.GET.get("hash", "")
    versions = [s for s in schemes_for(county or "") if s.doc.id == scheme_id] if county else []
    shown = next((s for s in versions if s.hash == wanted), None) or (
        _current(versions)[0] if versions else None
    )
    if shown is None:
        raise Http404(_("未找到该考核方案。"))
    context = {
        "nav": "scoring",
        "scheme": shown,
        "versions": versions,
        "unit_kind": fs.UNIT_KINDS[shown.doc.unit_kind],
        "kinds": [PERIOD_KINDS[k] for k in shown.doc.periods],
    }
    return render(request, "web/scoring_scheme.html", context)


def _period(request: HttpRequest, score_period_id: int) -> ScorePeriod:
    _reader(request)
    try:
        return sel.period_for(request.user, score_period_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


def _period_context(request: HttpRequest, period: ScorePeriod) -> dict[str, Any]:
    user = request.user
    county_view = sel.is_county_viewer(user, period.county_code)
    job = sel.shown_job(user, period)
    rows = sel.ranking(user, period)
    latest = period.latest_job
    jobs = sel.jobs_of(user, period)
    role = getattr(user, "role", "")
    return {
        "nav": "scoring",
        "period": period,
        "job": job,
        "scheme": sel.scheme_of(job),
        "rows": rows,
        "red": [r for r in rows if r.band == "red"],
        "black": [r for r in rows if r.band == "black"],
        "county_view": county_view,
        "jobs": jobs,
        "running": next(iter(jobs), None),  # the newest computation: progress, failure
        "publishes": role in PUBLISHERS
        and county_view
        and latest is not None
        and latest.status == "done"
        and period.published_job_id != latest.pk,
        "recomputes": role in SCORERS and county_view,
        "unit_kind": fs.UNIT_KINDS.get(period.unit_kind, period.unit_kind),
        "kind": PERIOD_KINDS.get(period.kind, period.kind),
        "unpublished": county_view and job is not None and job.pk != period.published_job_id,
    }


@authenticated
@require_GET
def period(request: HttpRequest, score_period_id: int) -> HttpResponse:
    """A period's ranking with the red and black lists (what the user may see of it)."""
    item = _period(request, score_period_id)
    return render(request, "web/scoring_period.html", _period_context(request, item))


@authenticated
@require_GET
def period_job(request: HttpRequest, score_period_id: int) -> HttpResponse:
    """The period's running computation (polled by the period page while it runs)."""
    item = _period(request, score_period_id)
    jobs = sel.jobs_of(request.user, item)
    return render(
        request, "web/_scoring_job.html", {"period": item, "running": next(iter(jobs), None)}
    )


@authenticated
@require_POST
def period_publish(request: HttpRequest, score_period_id: int) -> HttpResponseBase:
    """Publish the latest computation (the county office; audited)."""
    role = _reader(request)
    item = _period(request, score_period_id)
    if role not in PUBLISHERS:
        raise PermissionDenied(_("只有县级业务人员可以发布考核结果。"))
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        context = _period_context(request, item)
        context["error"] = _("请从考核结果页面发布（缺少版本号）。")
        return render(request, "web/scoring_period.html", context, status=400)
    try:
        do_publish_period(item.pk, version=version, actor=request.user)
    except DomainError as exc:
        refuse(exc)
        context = _period_context(request, item)
        context["error"] = exc.message
        return render(request, "web/scoring_period.html", context, status=exc.status)
    messages.success(request, _("已发布考核结果。"))
    return redirect("web:scoring_period", score_period_id=item.pk)


def _link(behind: fs.Behind) -> str:
    if not behind.url_name:
        return ""
    try:
        url = reverse(behind.url_name, args=list(behind.args))
    except NoReverseMatch:
        return ""
    return url + ("?" + urlencode(dict(behind.query)) if behind.query else "")


def _rows(behind: fs.Behind) -> list[tuple[str, str]]:
    out = []
    for text, name, args in behind.rows:
        try:
            out.append((text, reverse(name, args=list(args))))
        except NoReverseMatch:
            out.append((text, ""))
    return out


@authenticated
@require_GET
def card(request: HttpRequest, unit_score_id: int) -> HttpResponse:
    """A unit's score card: each indicator's figures (value, source, the list behind), value,
    points and the note; the points add up to the score."""
    _reader(request)
    try:
        score = sel.card_for(request.user, unit_score_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    period = score.job.period
    unit = fs.Unit(
        score.unit_kind,
        score.unit_key,
        score.unit_label,
        score.region_code,
        {"name": score.unit_label},
    )
    span = fs.Period(period.kind, period.label, period.start, period.end, period.county_code)
    indicators = []
    for item in score.trace:
        figures = []
        for figure in item.get("figures", []):
            source = fs.source(figure["name"])
            behind = source.behind(unit, span, request.user) if source and source.behind else None
            figures.append(
                {
                    **figure,
                    "link": _link(behind) if behind else "",
                    "rows": _rows(behind) if behind else [],
                    "behind_note": behind.note if behind else "",
                }
            )
        indicators.append({**item, "figures": figures})
    scheme_used = scheme_by_hash(score.job.scheme_hash)
    context = {
        "nav": "scoring",
        "score": score,
        "period": period,
        "indicators": indicators,
        "scheme": scheme_used,
        "published": period.published_job_id == score.job_id,
        "unit_kind": fs.UNIT_KINDS.get(score.unit_kind, score.unit_kind),
        "count": UnitScore.objects.filter(job_id=score.job_id).count(),
    }
    return render(request, "web/scoring_card.html", context)


@authenticated
@require_GET
def dashboard_scoring(request: HttpRequest) -> HttpResponse:
    """The battle map's assessment section: scores by unit in the region (newest period of each
    scheme the user sees), each linking to its score card."""
    if getattr(request.user, "role", "") not in sel.READERS:
        return HttpResponse("")
    region = request.GET.get("region", "")
    try:
        rows = sel.scores_by_region(request.user, region) if region.isdigit() else []
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    groups: dict[int, dict[str, Any]] = {}
    for r in rows:
        group = groups.setdefault(r.job_id, {"period": r.job.period, "rows": []})
        group["rows"].append(r)
    context = {"groups": list(groups.values()), "unit_kinds": fs.UNIT_KINDS, "region": region}
    return render(request, "web/_dashboard_scoring.html", context)
