"""Responsibility and scheduling pages (issue 24 item 1): tasks (/duty/), a task with its
progress reports (/duty/tasks/<id>/), the command structure and responsibility lists
(/duty/structure/, imported from the county's file), escalation, and the meeting brief (PDF).

Thin: duty.selectors for reads (scoped by region grants), duty.actions for writes; a refusal
shows the action's Chinese sentence with its status (403 role, 404 out of scope, 409 stale).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.duty import selectors as sel
from jingzhun.duty.actions import (
    ASSIGNERS,
    REPORTERS,
    STRUCTURE_EDITORS,
    SUPERVISORS,
    do_assign_task,
    do_complete_task,
    do_escalate_tasks,
    do_import_structure,
    do_remove_structure_row,
    do_report_progress,
    do_save_command_unit,
    do_save_responsibility,
)
from jingzhun.duty.brief import do_make_brief
from jingzhun.duty.choices import TASK_STATUSES
from jingzhun.duty.structure import read_structure
from jingzhun.tickets.actions import do_escalate_tickets

from .governance_forms import ReportForm, ResponsibilityForm, TaskForm, UnitForm
from .inspection_views import _reader, _regions
from .policies import authenticated
from .writes import refuse


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@authenticated
@require_http_methods(["GET", "POST"])
def tasks(request: HttpRequest) -> HttpResponseBase:
    """Tasks of the user's scope (filters: status, a battle map figure, a region); county and
    township staff assign new ones."""
    role = _reader(request)
    user = request.user
    writes = role in ASSIGNERS
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县级、乡镇业务人员可以交办调度任务。"))
    form = TaskForm(
        request.POST or None,
        regions=_regions(user) if writes else [],
        units=list(sel.units_for(user)) if writes else [],
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                item = do_assign_task(
                    region_code=d["region"], title=d["title"], description=d["description"],
                    owner_unit=d["owner_unit"], owner_person=d["owner_person"],
                    schedule=d["schedule"], deadline=d["deadline"],
                    command_unit_id=d["command_unit"], actor=user,
                )  # fmt: skip
            except DomainError as exc:
                refuse(exc)
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已交办任务。"))
                return redirect("web:duty_task", task_id=item.pk)
    today = timezone.localdate()
    figure = request.GET.get("figure", "")
    if figure not in sel.TASK_FIGURES:
        figure = ""
    state = request.GET.get("status", "")
    if state not in TASK_STATUSES:
        state = ""
    region = request.GET.get("region", "")[:12]
    context = {
        "nav": "duty",
        "tasks": sel.task_list(user, status=state, figure=figure, on=today, region=region)[:500],
        "figures": sel.task_figures(user, today),
        "labels": sel.TASK_FIGURES,
        "statuses": TASK_STATUSES,
        "status": state,
        "figure": figure,
        "form": form,
        "writes": writes,
        "escalates": role == "county",
        "today": today,
        "regions": _regions(user),
    }
    return render(request, "web/duty_tasks.html", context, status=status)


def _task(request: HttpRequest, task_id: int) -> Any:
    _reader(request)
    try:
        return sel.task_for(request.user, task_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


def _task_page(
    request: HttpRequest, item: Any, form: Any = None, status: int = 200
) -> HttpResponse:
    role = getattr(request.user, "role", "")
    context = {
        "nav": "duty",
        "task": item,
        **sel.task_history(item),
        "today": timezone.localdate(),
        "reporting": role in REPORTERS and item.status == "open",
        "completes": role in SUPERVISORS and item.status == "open",
        "report_form": form
        or ReportForm(initial={"version": item.version, "progress": item.progress}),
    }
    return render(request, "web/duty_task.html", context, status=status)


@authenticated
@require_http_methods(["GET"])
def task(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_page(request, _task(request, task_id))


@authenticated
@require_POST
def task_report(request: HttpRequest, task_id: int) -> HttpResponseBase:
    item = _task(request, task_id)
    if getattr(request.user, "role", "") not in REPORTERS:
        raise PermissionDenied(_("您的角色无权报送任务进展。"))
    form = ReportForm(request.POST)
    if not form.is_valid():
        return _task_page(request, item, form, 400)
    d = form.cleaned_data
    try:
        do_report_progress(
            item.pk, progress=d["progress"], text_=d["text"], difficulties=d["difficulties"],
            expected_version=d["version"], actor=request.user,
        )  # fmt: skip
    except DomainError as exc:
        refuse(exc)
        form.add_error(None, exc.message)
        return _task_page(request, item, form, exc.status)
    messages.success(request, _("已报送进展。"))
    return redirect("web:duty_task", task_id=item.pk)


@authenticated
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponseBase:
    item = _task(request, task_id)
    if getattr(request.user, "role", "") not in SUPERVISORS:
        raise PermissionDenied(_("您的角色无权确认任务完成。"))
    try:
        do_complete_task(item.pk, expected_version=_version(request), actor=request.user)
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
        return _task_page(request, item, status=exc.status)
    messages.success(request, _("已确认完成。"))
    return redirect("web:duty_task", task_id=item.pk)


@authenticated
@require_POST
def escalate(request: HttpRequest) -> HttpResponseBase:
    """The county office escalates now: tasks overdue or missing reports, overdue tickets."""
    if _reader(request) != "county":
        raise PermissionDenied(_("只有县级业务人员可以升级督办。"))
    try:
        found = do_escalate_tasks(actor=request.user)
        tickets = do_escalate_tickets(actor=request.user)
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("已升级督办任务 %(t)s 个、工单 %(k)s 件。")
            % {"t": len(found.escalated), "k": len(tickets.escalated)},
        )
    return redirect("web:duty_tasks")


@authenticated
@require_http_methods(["GET"])
def brief(request: HttpRequest) -> HttpResponseBase:
    """The scheduling meeting's brief (PDF) of a region of the user's scope."""
    _reader(request)
    region = request.GET.get("region", "")[:12]
    try:
        meeting_on = datetime.date.fromisoformat(request.GET.get("meeting_on", ""))
    except ValueError:
        meeting_on = None
    if not region:
        codes = sel.counties_of(request.user)
        region = next(iter(r.code for r in _regions(request.user)), codes[0] if codes else "")
    try:
        data = do_make_brief(region, meeting_on, actor=request.user)
    except DomainError as exc:
        refuse(exc)
        raise Http404(exc.message) from exc
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="brief.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@authenticated
@require_http_methods(["GET", "POST"])
def structure(request: HttpRequest) -> HttpResponseBase:
    """The county's command structure and responsibility lists; the county office adds rows or
    imports its file (YAML or .xlsx)."""
    role = _reader(request)
    user = request.user
    writes = role in STRUCTURE_EDITORS
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县级业务人员可以维护指挥体系和责任清单。"))
    counties = sel.counties_of(user)
    county = counties[0] if counties else ""
    what = request.POST.get("what", "")
    unit_form = UnitForm(request.POST if what == "unit" else None)
    item_form = ResponsibilityForm(request.POST if what == "responsibility" else None)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if what == "unit" and unit_form.is_valid():
                do_save_command_unit(county, unit_form.cleaned_data, actor=user)
            elif what == "responsibility" and item_form.is_valid():
                do_save_responsibility(county, item_form.cleaned_data, actor=user)
            elif what == "import" and request.FILES.get("file"):
                upload = request.FILES.getlist("file")[0]
                units, items = read_structure(upload.name or "", upload.read())
                done = do_import_structure(
                    county, units, items, source=upload.name or "", actor=user
                )
                messages.success(
                    request,
                    _("已导入指挥体系 %(u)s 条、责任事项 %(r)s 条。")
                    % {"u": done.units, "r": done.responsibilities},
                )
                return redirect("web:duty_structure")
            else:
                raise DomainError(_("请检查填写的内容。"))
        except DomainError as exc:
            refuse(exc)
            messages.error(request, exc.message)
            status = exc.status
        else:
            messages.success(request, _("已保存。"))
            return redirect("web:duty_structure")
    context = {
        "nav": "duty",
        "units": sel.units_for(user),
        "items": sel.responsibilities_for(user),
        "writes": writes,
        "unit_form": unit_form,
        "item_form": item_form,
    }
    return render(request, "web/duty_structure.html", context, status=status)


def _remove(request: HttpRequest, kind: str, row_id: int) -> HttpResponseBase:
    if _reader(request) not in STRUCTURE_EDITORS:
        raise PermissionDenied(_("只有县级业务人员可以维护指挥体系和责任清单。"))
    try:
        do_remove_structure_row(
            kind, row_id, expected_version=_version(request), actor=request.user
        )
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除。"))
    return redirect("web:duty_structure")


@authenticated
@require_POST
def unit_remove(request: HttpRequest, command_unit_id: int) -> HttpResponseBase:
    return _remove(request, "unit", command_unit_id)


@authenticated
@require_POST
def responsibility_remove(request: HttpRequest, responsibility_id: int) -> HttpResponseBase:
    return _remove(request, "responsibility", responsibility_id)
