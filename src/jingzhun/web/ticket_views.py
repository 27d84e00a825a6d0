"""Request and grievance pages (issue 24 item 3): tickets (/tickets/), a ticket with routing,
reply, the requester's satisfaction, closure, and opening a monitoring case or an inspection
problem from it; a clue of the self-report page or the hotline becomes a ticket
(/clues/<id>/ticket/). Thin: tickets.selectors for reads, tickets.actions for writes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jingzhun.access.models import User
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.feeds.reports import clue_for
from jingzhun.inspection.selectors import inspections_for
from jingzhun.registry.masking import mask_phone
from jingzhun.registry.selectors import households_for
from jingzhun.tickets import selectors as sel
from jingzhun.tickets.actions import (
    CLOSERS,
    RECORDERS,
    REPLIERS,
    ROUTERS,
    Intake,
    do_close_ticket,
    do_create_ticket,
    do_create_ticket_from_clue,
    do_open_case_from_ticket,
    do_open_problem_from_ticket,
    do_record_satisfaction,
    do_reply_ticket,
    do_route_ticket,
)
from jingzhun.tickets.choices import AGE_BANDS, STATUSES

from .governance_forms import (
    CaseFromTicketForm,
    ClueTicketForm,
    ProblemFromTicketForm,
    ReplyForm,
    RouteForm,
    SatisfactionForm,
    TicketForm,
)
from .inspection_views import _reader, _regions
from .policies import authenticated
from .writes import refuse


@authenticated
@require_http_methods(["GET", "POST"])
def tickets(request: HttpRequest) -> HttpResponseBase:
    """Tickets of the user's scope (filters: status, overdue, age band, unit); county, township
    and village staff record new ones."""
    role = _reader(request)
    user = request.user
    writes = role in RECORDERS
    if request.method == "POST" and not writes:
        raise PermissionDenied(_("只有县、乡镇、村业务人员可以登记诉求。"))
    form = TicketForm(request.POST or None, regions=_regions(user) if writes else [])
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
                    item = do_create_ticket(
                        Intake(
                            channel=d["channel"], category=d["category"],
                            requester_name=d["requester_name"], content=d["content"],
                            received_on=d["received_on"], region_code=d["region"],
                            household_id=household_id, requester_phone=d["requester_phone"],
                            reference=d["reference"],
                        ),
                        actor=user,
                    )  # fmt: skip
                except DomainError as exc:
                    refuse(exc)
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                    status = exc.status
                else:
                    messages.success(request, _("已登记诉求。"))
                    return redirect("web:ticket", ticket_id=item.pk)
    today = timezone.localdate()
    state = request.GET.get("status", "")
    if state not in STATUSES and state != "unclosed":
        state = ""
    band = request.GET.get("band", "")
    if band not in AGE_BANDS:
        band = ""
    overdue = request.GET.get("overdue") == "1"
    unit = request.GET.get("unit")
    rows = sel.ticket_list(
        user, status=state, overdue_on=today if overdue else None, band=band,
        unit=unit[:100] if unit is not None else None, region=request.GET.get("region", "")[:12],
        on=today,
    )  # fmt: skip
    context = {
        "nav": "tickets",
        "tickets": rows[:500],
        "counts": sel.counts(user, today),
        "statuses": STATUSES,
        "bands": AGE_BANDS,
        "status": state,
        "band": band,
        "overdue": overdue,
        "form": form,
        "writes": writes,
        "escalates": role == "county",
        "today": today,
    }
    return render(request, "web/tickets.html", context, status=status)


def _ticket(request: HttpRequest, ticket_id: int) -> Any:
    _reader(request)
    try:
        return sel.ticket_for(request.user, ticket_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


def _handlers(ticket: Any) -> list[Any]:
    """Accounts of the ticket's region that may reply (the routing list)."""
    prefixes = {ticket.region_id, ticket.region_id[:9] + "000", ticket.region_id[:6] + "000000"}
    return list(
        User.objects.filter(is_active=True, role__in=REPLIERS, grants__region_id__in=prefixes)
        .distinct()
        .order_by("username")[:200]
    )


def _page(request: HttpRequest, item: Any, status: int = 200, **forms: Any) -> HttpResponse:
    role = getattr(request.user, "role", "")
    v = {"version": item.version}
    context = {
        "nav": "tickets",
        "ticket": item,
        "phone": mask_phone(item.requester_phone) if item.requester_phone else "",
        "escalations": sel.escalations_of(item),
        "today": timezone.localdate(),
        "routes": role in ROUTERS and item.status == "open",
        "replies": role in REPLIERS and item.status == "open",
        "rates": item.status == "replied" and item.received_by_id == request.user.pk,
        "closes": role in CLOSERS and item.status == "replied",
        "opens_case": role in RECORDERS and item.household_id and not item.case_id,
        "opens_problem": role in {"county", "township"} and not item.problem_id,
        "route_form": forms.get("route")
        or RouteForm(
            initial={**v, "unit": item.routed_unit},
            users=_handlers(item) if role in ROUTERS else [],
        ),
        "reply_form": forms.get("reply") or ReplyForm(initial=v),
        "satisfaction_form": forms.get("satisfaction") or SatisfactionForm(initial=v),
        "case_form": forms.get("case") or CaseFromTicketForm(),
        "problem_form": forms.get("problem")
        or ProblemFromTicketForm(
            inspections=list(inspections_for(request.user)[:100])
            if role in {"county", "township"}
            else []
        ),
    }
    return render(request, "web/ticket_detail.html", context, status=status)


@authenticated
@require_http_methods(["GET"])
def ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _page(request, _ticket(request, ticket_id))


def _write(request: HttpRequest, ticket_id: int, roles: frozenset[str], what: str) -> Any:
    item = _ticket(request, ticket_id)
    if getattr(request.user, "role", "") not in roles:
        raise PermissionDenied(_("您的角色无权%(what)s。") % {"what": what})
    return item


def _run(
    request: HttpRequest, item: Any, name: str, form: Any, call: Any, done: str
) -> HttpResponseBase:
    if not form.is_valid():
        return _page(request, item, 400, **{name: form})
    try:
        call(form.cleaned_data)
    except DomainError as exc:
        refuse(exc)
        form.add_error(None, exc.message)
        return _page(request, item, exc.status, **{name: form})
    messages.success(request, done)
    return redirect("web:ticket", ticket_id=item.pk)


@authenticated
@require_POST
def ticket_route(request: HttpRequest, ticket_id: int) -> HttpResponseBase:
    item = _write(request, ticket_id, ROUTERS, _("转办工单"))
    form = RouteForm(request.POST, users=_handlers(item))
    return _run(request, item, "route", form, lambda d: do_route_ticket(
        item.pk, d["unit"], user_id=d["user"], expected_version=d["version"], actor=request.user
    ), _("已转办。"))  # fmt: skip


@authenticated
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponseBase:
    item = _write(request, ticket_id, REPLIERS, _("答复工单"))
    return _run(request, item, "reply", ReplyForm(request.POST), lambda d: do_reply_ticket(
        item.pk, d["reply"], expected_version=d["version"], actor=request.user
    ), _("已答复，请受理登记人回访。"))  # fmt: skip


@authenticated
@require_POST
def ticket_satisfaction(request: HttpRequest, ticket_id: int) -> HttpResponseBase:
    item = _write(request, ticket_id, RECORDERS, _("记录回访评价"))
    form = SatisfactionForm(request.POST)
    return _run(request, item, "satisfaction", form, lambda d: do_record_satisfaction(
        item.pk, d["satisfaction"], expected_version=d["version"], actor=request.user
    ), _("已记录回访评价。"))  # fmt: skip


@authenticated
@require_POST
def ticket_close(request: HttpRequest, ticket_id: int) -> HttpResponseBase:
    item = _write(request, ticket_id, CLOSERS, _("办结工单"))
    try:
        version: int | None = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        do_close_ticket(item.pk, expected_version=version, actor=request.user)
    except DomainError as exc:
        refuse(exc)
        messages.error(request, exc.message)
        return _page(request, item, exc.status)
    messages.success(request, _("已办结。"))
    return redirect("web:ticket", ticket_id=item.pk)


@authenticated
@require_POST
def ticket_open_case(request: HttpRequest, ticket_id: int) -> HttpResponseBase:
    item = _write(request, ticket_id, RECORDERS, _("发起监测识别"))
    form = CaseFromTicketForm(request.POST)
    return _run(request, item, "case", form, lambda d: do_open_case_from_ticket(
        item.pk, d["monitoring_category"], tuple(d["risk_types"]), actor=request.user
    ), _("已发起监测对象识别。"))  # fmt: skip


@authenticated
@require_POST
def ticket_open_problem(request: HttpRequest, ticket_id: int) -> HttpResponseBase:
    item = _write(request, ticket_id, frozenset({"county", "township"}), _("转为督查问题"))
    form = ProblemFromTicketForm(
        request.POST, inspections=list(inspections_for(request.user)[:100])
    )
    return _run(request, item, "problem", form, lambda d: do_open_problem_from_ticket(
        item.pk, d["inspection"], category=d["category"], responsible_unit=d["responsible_unit"],
        responsible_person=d["responsible_person"], actor=request.user,
    ), _("已转为督查问题。"))  # fmt: skip


@authenticated
@require_POST
def clue_ticket(request: HttpRequest, clue_id: int) -> HttpResponseBase:
    """A clue (self-report or 12317 call) becomes a ticket."""
    if _reader(request) not in RECORDERS:
        raise PermissionDenied(_("只有县、乡镇、村业务人员可以登记诉求。"))
    if clue_for(request.user, clue_id) is None:
        raise Http404(_("未找到该线索，或您无权访问。"))
    form = ClueTicketForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("请选择诉求类别。"))
    try:
        item = do_create_ticket_from_clue(
            clue_id, form.cleaned_data["category"], actor=request.user
        )
    except DomainError as exc:
        refuse(exc)
        return HttpResponse(
            exc.message, status=exc.status, content_type="text/plain; charset=utf-8"
        )
    messages.success(request, _("已转为诉求工单。"))
    return redirect("web:ticket", ticket_id=item.pk)
