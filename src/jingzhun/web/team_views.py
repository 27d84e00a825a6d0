"""Pages of village work teams (issue 21 item 1): the county overview, a village's team, a
member's rotation, and check-ins.

Thin like the other views: `assistance.team_selectors` for reads (scoped by region grants),
`assistance.teams` for writes. A refusal shows the action's Chinese sentence with the status
its error carries (403 role, 404 out of scope, 409 stale, 400 otherwise).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jingzhun.access.scoping import check_region_in_scope
from jingzhun.assistance.team_selectors import (
    Month,
    memberships_of,
    team_accounts,
    team_member_for,
    team_overview,
    township_summary,
    village_team,
)
from jingzhun.assistance.teams import (
    CHECK_IN_WRITERS,
    TEAM_WRITERS,
    do_check_in,
    do_create_work_team,
    do_post_team_member,
    do_rotate_team_member,
)
from jingzhun.core.errors import DomainError, OutOfScope

from .policies import authenticated
from .team_forms import CheckInForm, MemberForm, RotateForm, TeamForm

# Roles that see work teams: the region roles (a helper sees single households, no village).
TEAM_READERS = frozenset({"county", "township", "village", "auditor", "workteam"})


def _check_reader(request: HttpRequest) -> None:
    if getattr(request.user, "role", "") not in TEAM_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))


def _writes(user: Any) -> bool:
    return getattr(user, "role", "") in TEAM_WRITERS


PLACEHOLDER = "000000000000"
# The overview lists villages one by one up to this many; above, it counts them by township
# (a county's ~800 villages made a 236 kB page; issue 26, B12).
VILLAGE_LIST_LIMIT = 100


@authenticated
@require_http_methods(["GET"])
def overview(request: HttpRequest) -> HttpResponse:
    """Villages of the user's scope: without a team or first secretary, below the minimum,
    below the attendance rule (a finished month, by default the last one)."""
    _check_reader(request)
    today = timezone.localdate()
    month = Month.parse(request.GET.get("month"), Month.before(Month.of(today)))
    poor_only = request.GET.get("poor") == "1"
    region = request.GET.get("region", "")
    if region:
        if not re.fullmatch(r"\d{12}", region):
            raise Http404(_("未找到该区划，或您无权访问。"))
        try:
            check_region_in_scope(request.user, region)
        except OutOfScope as exc:
            raise Http404(exc.message) from exc
    data = team_overview(request.user, month, poor_only=poor_only, region=region)
    # more villages than a page: counted by township, each township's villages a click away
    summary = township_summary(data) if len(data.rows) > VILLAGE_LIST_LIMIT else None
    context = {
        "nav": "teams",
        "data": data,
        "summary": summary,
        "region": region,
        "mine": memberships_of(request.user)
        if getattr(request.user, "role", "") == "workteam"
        else [],
        "poor_only": poor_only,
        "previous": Month.before(month).key,
        "next": Month.after(month).key,
        "today": today,
        # each village's address from one reverse(): a county's ~800 villages, listed up to
        # twice, made the page spend most of its time in reverse() (issue 26, B12)
        "village_url": reverse("web:team_village", args=[PLACEHOLDER]).removesuffix(
            f"{PLACEHOLDER}/"
        ),
    }
    return render(request, "web/teams_overview.html", context)


@authenticated
@require_http_methods(["GET", "POST"])
def village(request: HttpRequest, code: str) -> HttpResponseBase:
    """One village's team: members, terms, this month's days against the rule, warnings, the
    history; forms to set up the team and post members (county and township staff)."""
    _check_reader(request)
    user = request.user
    if request.method == "POST" and not _writes(user):
        raise PermissionDenied(_("只有县级、乡镇业务人员可以组建驻村工作队、选派和轮换队员。"))
    try:
        month = Month.parse(request.GET.get("month"), Month.of(timezone.localdate()))
        data = village_team(user, code, month)
        accounts = team_accounts(user, code) if _writes(user) else []
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    team_form = TeamForm(request.POST if request.POST.get("form") == "team" else None)
    member_form = MemberForm(
        request.POST if request.POST.get("form") == "member" else None,
        accounts=accounts,
        initial={"version": data.team.version if data.team else 1},
    )
    status = 200
    if request.method == "POST":
        status = 400
        form = team_form if request.POST.get("form") == "team" else member_form
        if form.is_valid():
            d = form.cleaned_data
            try:
                if form is team_form:
                    do_create_work_team(
                        code, d["sending_units"], d["term_start"], d["term_end"], actor=user
                    )
                    messages.success(request, _("已组建驻村工作队。"))
                else:
                    if data.team is None:
                        raise DomainError(_("该村还没有驻村工作队，请先组建。"), field="team")
                    made = do_post_team_member(
                        data.team.pk,
                        name=d["name"],
                        sending_unit=d["sending_unit"],
                        role=d["role"],
                        start_date=d["start_date"],
                        term_end=d["term_end"],
                        user_id=int(d["user"]) if d["user"] else None,
                        expected_version=d["version"],
                        actor=user,
                    )
                    messages.success(
                        request,
                        _("已选派 %(name)s（%(role)s）。")
                        % {"name": made.name, "role": _(made.role_label)},
                    )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                return redirect("web:team_village", code=code)
    return _village_page(request, data, team_form, member_form, status=status)


def _village_page(
    request: HttpRequest,
    data: Any,
    team_form: TeamForm,
    member_form: MemberForm,
    *,
    status: int = 200,
    check_in_error: str = "",
    check_in_form: CheckInForm | None = None,
) -> HttpResponse:
    user = request.user
    context = {
        "nav": "teams",
        "data": data,
        "team_form": team_form,
        "member_form": member_form,
        "check_in_form": check_in_form or CheckInForm(initial={"day": timezone.localdate()}),
        "check_in_error": check_in_error,
        "writes": _writes(user),
        "records_check_ins": getattr(user, "role", "") in CHECK_IN_WRITERS,
        "previous": Month.before(data.month).key,
        "next": Month.after(data.month).key,
    }
    return render(request, "web/team_village.html", context, status=status)


@authenticated
@require_POST
def check_in(request: HttpRequest, team_member_id: int) -> HttpResponseBase:
    """Record a day in the village for a member (their own account, or village staff)."""
    _check_reader(request)
    try:
        member = team_member_for(request.user, team_member_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = CheckInForm(request.POST)
    code = member.team.village_id
    error, status = "", 400
    if form.is_valid():
        try:
            do_check_in(
                member.pk, form.cleaned_data["day"], form.cleaned_data["note"], actor=request.user
            )
        except OutOfScope as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            if exc.status == 403:
                raise PermissionDenied(exc.message) from exc
            error, status = exc.message, exc.status
    else:
        error = "；".join(str(e) for errors in form.errors.values() for e in errors)
    if error:
        data = village_team(request.user, code)
        accounts = team_accounts(request.user, code) if _writes(request.user) else []
        return _village_page(
            request,
            data,
            TeamForm(),
            MemberForm(
                accounts=accounts, initial={"version": data.team.version if data.team else 1}
            ),
            status=status,
            check_in_error=_("%(name)s：%(error)s") % {"name": member.name, "error": error},
            check_in_form=form,
        )
    messages.success(
        request,
        _("已登记 %(name)s %(day)s 在村。")
        % {"name": member.name, "day": form.cleaned_data["day"]},
    )
    return redirect("web:team_village", code=code)


@authenticated
@require_http_methods(["GET", "POST"])
def rotate(request: HttpRequest, team_member_id: int) -> HttpResponseBase:
    """End a member's term with a handover note, optionally posting the successor."""
    _check_reader(request)
    user = request.user
    if request.method == "POST" and not _writes(user):
        raise PermissionDenied(_("只有县级、乡镇业务人员可以组建驻村工作队、选派和轮换队员。"))
    try:
        member = team_member_for(user, team_member_id)
        accounts = team_accounts(user, member.team.village_id) if _writes(user) else []
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = RotateForm(
        request.POST or None,
        accounts=accounts,
        initial={"version": member.version, "successor_unit": member.sending_unit},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                do_rotate_team_member(
                    member.pk,
                    end_date=d["end_date"],
                    handover_note=d["handover_note"],
                    expected_version=d["version"],
                    successor_name=d["successor_name"],
                    successor_unit=d["successor_unit"],
                    successor_term_end=d["successor_term_end"],
                    successor_user_id=int(d["successor_user"]) if d["successor_user"] else None,
                    actor=user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已办理 %(name)s 的轮换交接。") % {"name": member.name})
                return redirect("web:team_village", code=member.team.village_id)
    context = {"nav": "teams", "member": member, "form": form, "writes": _writes(user)}
    return render(request, "web/team_rotate.html", context, status=status)
