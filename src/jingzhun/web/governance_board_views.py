"""The battle map's governance section (issue 24 item 8, this part): open inspection problems
and tickets by age band and unit, and task progress (on time / overdue / missing reports /
done). Computed per request from the scoped selectors (not stored indicators), each figure one
condition counted in one aggregate and listed by the same condition (AGENTS.md, battle map
figure recipe); loaded by HTMX into the dashboard (/dashboard/governance/)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from jingzhun.duty import selectors as duty_sel
from jingzhun.inspection import selectors as problem_sel
from jingzhun.inspection.choices import CLOSED
from jingzhun.regions import codes
from jingzhun.tickets import selectors as ticket_sel
from jingzhun.tickets.choices import AGE_BANDS

from .inspection_views import _reader
from .policies import authenticated


def _region(request: HttpRequest) -> str:
    code = request.GET.get("region", "")[:12]
    return code if code.isdigit() and len(code) == 12 else ""


def _open_problems(user: Any, region: str) -> Any:
    found = problem_sel.problems_for(user).exclude(status=CLOSED)
    if region:
        found = found.filter(region__code__startswith=codes.prefix(region))
    return found


def problem_figures(user: Any, on: Any, region: str) -> dict[str, Any]:
    found = _open_problems(user, region)
    bands = found.aggregate(
        **{b: Count("pk", filter=ticket_sel.age_band_q(b, on, "found_on")) for b in AGE_BANDS},
        total=Count("pk"),
    )
    units = list(
        found.order_by()
        .values("responsible_unit")
        .annotate(n=Count("pk"))
        .order_by("-n", "responsible_unit")[:20]
    )
    return {"bands": {k: int(v or 0) for k, v in bands.items()}, "units": units}


@authenticated
@require_http_methods(["GET"])
def governance(request: HttpRequest) -> HttpResponse:
    _reader(request)
    user, today, region = request.user, timezone.localdate(), _region(request)
    context = {
        "region": region,
        "bands": AGE_BANDS,
        "problems": problem_figures(user, today, region),
        "tickets": ticket_sel.counts(user, today, region),
        "ticket_units": ticket_sel.by_unit(user, region)[:20],
        "tasks": duty_sel.task_figures(user, today, region),
        "task_labels": duty_sel.TASK_FIGURES,
    }
    return render(request, "web/_dashboard_governance.html", context)


@authenticated
@require_http_methods(["GET"])
def governance_problems(request: HttpRequest) -> HttpResponse:
    """The open problems behind a figure: an age band or a responsible unit."""
    _reader(request)
    today, region = timezone.localdate(), _region(request)
    found = _open_problems(request.user, region)
    band = request.GET.get("band", "")
    if band in AGE_BANDS:
        found = found.filter(ticket_sel.age_band_q(band, today, "found_on"))
    unit = request.GET.get("unit")
    if unit is not None:
        found = found.filter(responsible_unit=unit[:100])
    context = {
        "nav": "dashboard",
        "problems": found.order_by("found_on", "pk")[:500],
        "today": today,
        "band": AGE_BANDS.get(band, ""),
        "unit": unit,
    }
    return render(request, "web/governance_problems.html", context)


__all__ = ["governance", "governance_problems", "problem_figures"]
