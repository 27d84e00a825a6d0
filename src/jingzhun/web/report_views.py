"""The self-report page (农户自主申报, public: no login), its captcha picture, the village queue of
clues and the clerk's entry of 12317 hotline calls (issue 22 item 4; ADR self-report-and-hotline).

The public page answers every accepted report with the same page, whatever the registry holds
(no oracle of who is registered); a refused one names the field. Every submission counts
against the client address (core.client.client_ip): too many → 429.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jingzhun.core.client import client_ip
from jingzhun.core.errors import DomainError
from jingzhun.feeds import reports
from jingzhun.feeds.models import CLUE_ROUTES, CLUE_STATUS
from jingzhun.regions.models import Region
from jingzhun.tickets.choices import CATEGORIES as TICKET_CATEGORIES

from . import captcha
from .forms import LongSelect
from .policies import authenticated, public

PAGE_SIZE = 100


def village_choices(queryset: Any = None) -> list[Any]:
    """Villages grouped by township ("乡镇 / 县" as the group's label)."""
    villages = (queryset if queryset is not None else Region.objects).filter(level="village")
    names = dict(Region.objects.exclude(level="village").values_list("code", "name"))
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name, parent in villages.order_by("code").values_list("code", "name", "parent_id"):
        county = names.get(f"{code[:6]}000000", "")
        label = f"{county} {names.get(parent or '', '')}".strip()
        groups.setdefault(label, []).append((code, name))
    return [("", "——"), *groups.items()]


class ReportForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("姓名"), max_length=50)
    id_number = forms.CharField(label=gettext_lazy("身份证号码"), max_length=20)
    phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20)
    village = forms.ChoiceField(label=gettext_lazy("所在村"), widget=LongSelect)
    difficulty = forms.CharField(
        label=gettext_lazy("遇到的困难"),
        max_length=reports.DIFFICULTY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("如：因病住院花费大、受灾、务工收入骤减、子女上学困难等。"),
    )

    def __init__(self, *args: Any, villages: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["village"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = village_choices(villages)
        for name in ("id_number", "phone"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def report(self, call_ref: str = "") -> reports.Report:
        data = self.cleaned_data
        return reports.Report(
            name=data["name"],
            id_number=data["id_number"],
            phone=data["phone"],
            village=data["village"],
            difficulty=data["difficulty"],
            call_ref=call_ref,
        )


class PublicReportForm(ReportForm):
    captcha = forms.CharField(label=gettext_lazy("验证码"), max_length=10)


def _form_error(form: forms.Form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@public
@require_http_methods(["GET", "POST"])
def self_report(request: HttpRequest) -> HttpResponseBase:
    """农户自主申报: name, ID number, phone, village and the difficulty, with a captcha."""
    address = client_ip(request)
    if request.method == "GET":
        captcha.new_challenge(request)
        return render(request, "web/self_report.html", {"form": PublicReportForm()})
    try:
        reports.check_rate(address)
    except reports.RateLimited as exc:
        return render(request, "web/self_report_limited.html", {"message": exc.message}, status=429)
    form = PublicReportForm(request.POST)
    accepted = False
    if form.is_valid():
        if not captcha.check_answer(request, form.cleaned_data["captcha"]):
            form.add_error("captcha", _("验证码不正确或已过期，请看新图片重新输入。"))
        else:
            try:
                reports.do_submit_self_report(form.report(), address=address)
            except reports.RateLimited as exc:
                return render(
                    request, "web/self_report_limited.html", {"message": exc.message}, status=429
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                accepted = True
    else:
        captcha.check_answer(request, "")  # a picture is good for one try
    reports.record_attempt(address, accepted=accepted)
    if accepted:
        # the same answer whatever the registry holds (no oracle)
        return render(request, "web/self_report_done.html", {})
    captcha.new_challenge(request)
    return render(request, "web/self_report.html", {"form": form}, status=400)


@public
@require_GET
def captcha_image(request: HttpRequest) -> HttpResponse:
    """The captcha picture of this session's current challenge (`?new=1`: a new one)."""
    stored = request.session.get(captcha.SESSION_KEY)
    if request.GET.get("new") or not isinstance(stored, dict):
        answer = captcha.new_challenge(request)
    else:
        answer = str(stored.get("answer", ""))
    response = HttpResponse(captcha.image_png(answer), content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@authenticated
@require_GET
def clues(request: HttpRequest) -> HttpResponse:
    """The queue of self-reports and hotline calls of the user's villages; the hotline form."""
    user: Any = request.user
    if getattr(user, "role", "") not in reports.CLUE_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    status = request.GET.get("status", "")
    route = request.GET.get("route", "")
    found = reports.clues_for(user)
    if status == "waiting":
        found = found.filter(status__in=sorted(reports.OPEN_CLUE_STATUS))
    elif status in CLUE_STATUS:
        found = found.filter(status=status)
    if route in CLUE_ROUTES:
        found = found.filter(route=route)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    hotline = None
    if user.role in reports.HOTLINE_ROLES:
        from jingzhun.access.scoping import region_filter

        hotline = ReportForm(villages=Region.objects.filter(region_filter(user)))
    query = "&".join(f"{k}={v}" for k, v in (("status", status), ("route", route)) if v)
    context = {
        "nav": "clues",
        "page": page,
        "status": status,
        "route": route,
        "statuses": CLUE_STATUS,
        "routes": CLUE_ROUTES,
        "query": f"{query}&" if query else "",
        "hotline": hotline,
        "closer": user.role in reports.CLUE_WORKERS,
        "waiting": reports.OPEN_CLUE_STATUS,
        "ticket_categories": TICKET_CATEGORIES,
    }
    return render(request, "web/clues.html", context)


@authenticated
@require_POST
def hotline(request: HttpRequest) -> HttpResponseBase:
    """Enter a 12317 hotline call (the county's or a township's clerk)."""
    user: Any = request.user
    if getattr(user, "role", "") not in reports.HOTLINE_ROLES:
        raise PermissionDenied(_("只有县、乡镇业务人员可以登记 12317 热线来电。"))
    from jingzhun.access.scoping import region_filter

    form = ReportForm(request.POST, villages=Region.objects.filter(region_filter(user)))
    if form.is_valid():
        try:
            clue = reports.do_record_hotline_call(
                form.report(call_ref=request.POST.get("call_ref", "")), actor=user
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("已登记热线来电（%(status)s）。") % {"status": clue.get_status_display()},
            )
            return redirect("web:clues")
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else str(error))
    return redirect("web:clues")


@authenticated
@require_POST
def close_clue(request: HttpRequest, clue_id: int) -> HttpResponseBase:
    """Close a clue that opened no case, with what the village found."""
    user: Any = request.user
    if getattr(user, "role", "") not in reports.CLUE_WORKERS:
        raise PermissionDenied(_("您的角色不能办结申报线索。"))
    if reports.clue_for(user, clue_id) is None:
        raise Http404(_("未找到该线索，或您无权访问。"))
    try:
        version = int(request.POST.get("version", "0"))
        reports.do_close_clue(clue_id, version, request.POST.get("note", ""), actor=user)
    except ValueError:
        messages.error(request, _("请求无效，请刷新页面后重试。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("线索已办结。"))
    return redirect("web:clues")
