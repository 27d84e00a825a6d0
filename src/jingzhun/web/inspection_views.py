"""Inspection and rectification pages (issue 24 item 2): inspections, their problems, a
problem's rectification, verification, closure (销号), escalation (挂牌督办) and accountability.

Thin: inspection.selectors for reads (scoped by region grants), inspection.actions for writes;
a refusal shows the action's Chinese sentence with its status (403 role, 404 out of scope, 409
stale, 400 otherwise).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.inspection import selectors as sel
from jingzhun.inspection.actions import (
    ACCOUNTABILITY_RECORDERS,
    INSPECTORS,
    RECTIFIERS,
    VERIFIERS,
    do_close_problem,
    do_download_rectification_evidence,
    do_escalate_overdue,
    do_record_accountability,
    do_record_inspection,
    do_record_problem,
    do_submit_rectification,
    do_verify_rectification,
)
from jingzhun.inspection.choices import PROBLEM_STATUSES
from jingzhun.regions import codes
from jingzhun.registry.selectors import households_for, region_options, visible_regions

from .downloads import stored_file_response
from .inspection_forms import (
    AccountabilityForm,
    InspectionForm,
    ProblemForm,
    RectificationForm,
    VerificationForm,
)
from .policies import authenticated
from .writes import refuse

READERS = frozenset({"county", "township", "village", "auditor", "workteam"})


def _reader(request: HttpRequest) -> str:
    role = getattr(request.user, "role", "")
    if role not in READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    return role


def _regions(user: Any) -> list[Any]:
    return list(visible_regions(user).filter(level__in=["county"])) + region_options(user)


@authenticated
@require_http_methods(["GET", "POST"])
def inspections(request: HttpRequest) -> HttpResponseBase:
    """Inspections of the user's scope, the problem counts, and (county, township) a new one."""
    role = _reader(request)
    user = request.user
    writes = role in INSPECTORS
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县级、乡镇业务人员可以录入督查。"))
    form = InspectionForm(request.POST or None, regions=_regions(user) if writes else [])
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                item = do_record_inspection(
                    kind=d["kind"],
                    title=d["title"],
                    region_code=d["region"],
                    organiser=d["organiser"],
                    document=d["document"],
                    started_on=d["started_on"],
                    actor=user,
                )
            except DomainError as exc:
                refuse(exc)
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已录入督查。"))
                return redirect("web:inspection", inspection_id=item.pk)
    today = timezone.localdate()
    context = {
        "nav": "inspections",
        "inspections": sel.inspections_for(user)[:200],
        "counts": sel.counts(user, today),
        "form": form,
        "writes": writes,
        "escalates": role == "county",
    }
    return render(request, "web/inspections.html", context, status=status)


@authenticated
@require_http_methods(["GET", "POST"])
def inspection(request: HttpRequest, inspection_id: int) -> HttpResponseBase:
    """One inspection and its problems; county and township staff record problems."""
    role = _reader(request)
    user = request.user
    writes = role in INSPECTORS
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县级、乡镇业务人员可以录入督查问题。"))
    try:
        item = sel.inspection_for(user, inspection_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    regions = [
        r
        for r in (_regions(user) if writes else [])
        if r.code.startswith(codes.prefix(item.region_id))
    ]
    form = ProblemForm(request.POST or None, regions=regions)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            household_id = None
            if d["household_code"]:
                found = households_for(user).filter(household_code=d["household_code"]).first()
                if found is None:
                    form.add_error("household_code", _("未找到该户编号，或您无权访问。"))
                else:
                    household_id = found.pk
            if form.is_valid():
                try:
                    do_record_problem(
                        item.pk,
                        category=d["category"],
                        description=d["description"],
                        region_code=d["region"],
                        household_id=household_id,
                        unit=d["unit"],
                        responsible_unit=d["responsible_unit"],
                        responsible_person=d["responsible_person"],
                        found_on=d["found_on"],
                        deadline=d["deadline"],
                        actor=user,
                    )
                except DomainError as exc:
                    refuse(exc)
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                    status = exc.status
                else:
                    messages.success(request, _("已录入问题。"))
                    return redirect("web:inspection", inspection_id=item.pk)
    context = {
        "nav": "inspections",
        "item": item,
        "problems": sel.problem_list(user, inspection_id=item.pk),
        "form": form,
        "writes": writes,
        "today": timezone.localdate(),
    }
    return render(request, "web/inspection_detail.html", context, status=status)


@authenticated
@require_http_methods(["GET"])
def problems(request: HttpRequest) -> HttpResponse:
    """Problems of the user's scope: by status, overdue, listed for supervision (挂牌督办)."""
    role = _reader(request)
    today = timezone.localdate()
    status = request.GET.get("status", "")
    if status not in PROBLEM_STATUSES:
        status = ""
    overdue = request.GET.get("overdue") == "1"
    listed = request.GET.get("listed") == "1"
    rows = sel.problem_list(
        request.user, status=status, overdue_on=today if overdue else None, listed=listed
    )
    context = {
        "nav": "inspections",
        "problems": rows[:500],
        "statuses": PROBLEM_STATUSES,
        "status": status,
        "overdue": overdue,
        "listed": listed,
        "today": today,
        "escalates": role == "county",
    }
    return render(request, "web/problems.html", context)


@authenticated
@require_POST
def escalate(request: HttpRequest) -> HttpResponseBase:
    """The county office escalates the overdue problems of its scope one level now."""
    if _reader(request) != "county":
        raise PermissionDenied(_("只有县级业务人员可以升级督办逾期问题。"))
    try:
        result = do_escalate_overdue(actor=request.user)
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("已升级挂牌督办 %(n)s 个逾期问题。") % {"n": len(result.escalated)},
        )
        for problem_id, reason in result.refused.items():
            messages.error(
                request,
                _("问题 %(id)s 未能升级：%(reason)s") % {"id": problem_id, "reason": reason},
            )
    return redirect("web:problems")


def _problem_context(request: HttpRequest, problem: Any, **forms: Any) -> dict[str, Any]:
    role = getattr(request.user, "role", "")
    history = sel.problem_history(problem)
    latest = history["rectifications"][-1] if history["rectifications"] else None
    return {
        "nav": "inspections",
        "problem": problem,
        **history,
        "latest": latest,
        "today": timezone.localdate(),
        "rectifies": role in RECTIFIERS and problem.status == "open",
        "verifies": role in VERIFIERS and problem.status == "submitted",
        "closes": role in VERIFIERS and problem.status == "verified",
        "records_accountability": role in ACCOUNTABILITY_RECORDERS,
        "rectify_form": forms.get("rectify")
        or RectificationForm(initial={"version": problem.version}),
        "verify_form": forms.get("verify")
        or VerificationForm(initial={"version": problem.version}),
        "accountability_form": forms.get("accountability") or AccountabilityForm(),
    }


def _problem(request: HttpRequest, problem_id: int) -> Any:
    _reader(request)
    try:
        return sel.problem_for(request.user, problem_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


@authenticated
@require_http_methods(["GET"])
def problem(request: HttpRequest, problem_id: int) -> HttpResponse:
    item = _problem(request, problem_id)
    return render(request, "web/problem_detail.html", _problem_context(request, item))


def _write(request: HttpRequest, problem_id: int, roles: frozenset[str], what: str) -> Any:
    item = _problem(request, problem_id)
    if getattr(request.user, "role", "") not in roles:
        raise PermissionDenied(_("您的角色无权%(what)s。") % {"what": what})
    return item


@authenticated
@require_POST
def problem_rectify(request: HttpRequest, problem_id: int) -> HttpResponseBase:
    item = _write(request, problem_id, RECTIFIERS, _("提交整改情况"))
    form = RectificationForm(request.POST)
    if form.is_valid():
        uploads = [(f.name or "", f.read()) for f in request.FILES.getlist("file")]
        try:
            do_submit_rectification(
                item.pk,
                form.cleaned_data["description"],
                uploads,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as exc:
            refuse(exc)
            form.add_error(None, exc.message)
            context = _problem_context(request, item, rectify=form)
            return render(request, "web/problem_detail.html", context, status=exc.status)
        messages.success(request, _("已提交整改情况，等待核验。"))
        return redirect("web:problem", problem_id=item.pk)
    context = _problem_context(request, item, rectify=form)
    return render(request, "web/problem_detail.html", context, status=400)


@authenticated
@require_POST
def problem_verify(request: HttpRequest, problem_id: int) -> HttpResponseBase:
    item = _write(request, problem_id, VERIFIERS, _("核验整改"))
    form = VerificationForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            do_verify_rectification(
                item.pk, d["passed"], d["note"], actor=request.user, expected_version=d["version"]
            )
        except DomainError as exc:
            if isinstance(exc, OutOfScope):
                raise Http404(exc.message) from exc
            form.add_error(None, exc.message)
            context = _problem_context(request, item, verify=form)
            return render(request, "web/problem_detail.html", context, status=exc.status)
        messages.success(request, _("已记录核验结论。"))
        return redirect("web:problem", problem_id=item.pk)
    context = _problem_context(request, item, verify=form)
    return render(request, "web/problem_detail.html", context, status=400)


@authenticated
@require_POST
def problem_close(request: HttpRequest, problem_id: int) -> HttpResponseBase:
    item = _write(request, problem_id, VERIFIERS, _("销号"))
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        do_close_problem(item.pk, actor=request.user, expected_version=version)
    except DomainError as exc:
        if isinstance(exc, OutOfScope):
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
        context = _problem_context(request, item)
        return render(request, "web/problem_detail.html", context, status=exc.status)
    messages.success(request, _("已销号。"))
    return redirect("web:problem", problem_id=item.pk)


@authenticated
@require_POST
def problem_accountability(request: HttpRequest, problem_id: int) -> HttpResponseBase:
    item = _write(request, problem_id, ACCOUNTABILITY_RECORDERS, _("录入问责记录"))
    form = AccountabilityForm(request.POST)
    if form.is_valid():
        try:
            do_record_accountability([item.pk], form.cleaned_data, actor=request.user)
        except DomainError as exc:
            refuse(exc)
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            context = _problem_context(request, item, accountability=form)
            return render(request, "web/problem_detail.html", context, status=exc.status)
        messages.success(request, _("已录入问责记录。"))
        return redirect("web:problem", problem_id=item.pk)
    context = _problem_context(request, item, accountability=form)
    return render(request, "web/problem_detail.html", context, status=400)


@authenticated
@require_http_methods(["GET"])
def evidence_file(request: HttpRequest, rectification_evidence_id: int) -> HttpResponseBase:
    """Download one rectification evidence file of a visible problem (audited; 404 otherwise)."""
    _reader(request)
    try:
        item = do_download_rectification_evidence(rectification_evidence_id, actor=request.user)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    return stored_file_response(item)
