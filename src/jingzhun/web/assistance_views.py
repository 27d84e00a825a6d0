"""Pages of helper pairing (issue 21 item 2) and the helper's home page.

Thin like the other views: `assistance.selectors` for reads (scoped), `assistance.actions` and
`assistance.importer` for writes. A refusal shows the action's Chinese sentence with the
status its error carries (403 role, 404 out of scope, 409 stale, 400 otherwise).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jingzhun.assistance import importer
from jingzhun.assistance.actions import (
    do_end_pairing,
    do_pair_helper,
    do_save_helper_profile,
    do_transfer_helper,
)
from jingzhun.assistance.selectors import (
    helper_choices,
    helper_home,
    helper_rows,
    pairing_for,
    pairings_for,
    unpaired_count,
    unpaired_households,
)
from jingzhun.assistance.visits import visits_due
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.core.paging import CountedPaginator
from jingzhun.registry.actions import WRITER_ROLES
from jingzhun.registry.selectors import households_for, region_options

from .assistance_forms import (
    EndPairingForm,
    HelperProfileForm,
    PairForm,
    PairingFilterForm,
    PairingImportForm,
    TransferForm,
)
from .policies import authenticated

PAGE_SIZE = 50


def _writes(user: Any) -> bool:
    return getattr(user, "role", "") in WRITER_ROLES


def _check_post(request: HttpRequest) -> None:
    """Only region staff write pairings: a read-only role's POST is refused before any form."""
    if request.method == "POST" and not _writes(request.user):
        raise PermissionDenied(_("您的角色无权登记或修改结对帮扶。"))


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _filters(request: HttpRequest) -> tuple[PairingFilterForm, str]:
    regions = region_options(request.user)
    form = PairingFilterForm(request.GET or None, regions=regions)
    region = form.cleaned_data.get("region", "") if form.is_valid() else ""
    return form, region


def home(request: HttpRequest) -> HttpResponse:
    """A helper's home page: their current households (their scope, exactly)."""
    home = helper_home(request.user)
    today = timezone.localdate()
    due = visits_due(
        [r.household for r in home.households],
        {r.household.pk: r.pairing.start_date for r in home.households},
        today,
    )
    visits_due_rows = sorted(
        ((r, due[r.household.pk]) for r in home.households if due[r.household.pk].due(today)),
        key=lambda pair: pair[1].due_on or today,
    )
    context = {"nav": "overview", "home": home, "due": visits_due_rows, "today": today}
    return render(request, "web/helper_home.html", context)


@authenticated
@require_http_methods(["GET", "POST"])
def pairings(request: HttpRequest) -> HttpResponseBase:
    """Current pairings of the user's scope by region, and the form to pair a helper."""
    _check_post(request)
    user = request.user
    filters, region = _filters(request)
    form = PairForm(request.POST or None, helpers=helper_choices(user))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            code = data["household_code"].strip()
            household = households_for(user).filter(household_code=code).first()
            try:
                if household is None:
                    raise OutOfScope(
                        _("未找到户编号为“%(code)s”的户，或您无权访问。") % {"code": code}
                    )
                made = do_pair_helper(
                    household.pk, int(data["helper"]), data["start_date"], actor=user
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("已将户 %(code)s 与帮扶责任人 %(helper)s 结对。")
                    % {"code": code, "helper": made.helper.display_name or made.helper.username},
                )
                return redirect("web:pairings")
    context = {
        "nav": "pairings",
        "filters": filters,
        "form": form,
        "page": _page(request, pairings_for(user, region=region)),
        "writes": _writes(user),
        "region": region,
    }
    return render(request, "web/pairings.html", context, status=status)


@authenticated
@require_http_methods(["GET", "POST"])
def pairing_end(request: HttpRequest, pairing_id: int) -> HttpResponseBase:
    """End a pairing: a successor helper (a transfer) or a reason."""
    _check_post(request)
    user = request.user
    try:
        pairing = pairing_for(user, pairing_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = EndPairingForm(
        request.POST or None,
        helpers=[h for h in helper_choices(user) if h.pk != pairing.helper_id],
        initial={"version": pairing.version},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                do_end_pairing(
                    pairing.pk,
                    data["version"],
                    data["end_date"],
                    reason=data["reason"],
                    successor_id=int(data["successor"]) if data["successor"] else None,
                    actor=user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已结束该结对。"))
                return redirect("web:pairings")
    context = {"nav": "pairings", "pairing": pairing, "form": form, "writes": _writes(user)}
    return render(request, "web/pairing_end.html", context, status=status)


@authenticated
@require_http_methods(["GET"])
def unpaired(request: HttpRequest) -> HttpResponse:
    """Registered or monitored households of the user's scope without a current helper."""
    user = request.user
    filters, region = _filters(request)
    group = filters.cleaned_data.get("group") if filters.is_bound and filters.is_valid() else ""
    group = group or "registered"
    context = {
        "nav": "pairings",
        "filters": filters,
        "group": group,
        # counted apart (count_without): the list's own COUNT reads every household (issue 26)
        "page": CountedPaginator(
            unpaired_households(user, group, region=region),
            PAGE_SIZE,
            count=unpaired_count(user, group, region=region),
        ).get_page(request.GET.get("page")),
        "writes": _writes(user),
    }
    return render(request, "web/pairings_unpaired.html", context)


@authenticated
@require_http_methods(["GET"])
def helpers(request: HttpRequest) -> HttpResponse:
    """Helpers with their unit, rank, load against the quota, and (for staff) the profile form."""
    user = request.user
    context = {
        "nav": "pairings",
        "page": _page(request, helper_rows(user)),
        "writes": _writes(user),
        "profile_form": HelperProfileForm(),
        "transfer_helpers": helper_choices(user),
    }
    return render(request, "web/pairing_helpers.html", context)


def _helper_row(request: HttpRequest, user_id: int) -> Any:
    row = next(iter(helper_rows(request.user, helper_id=user_id)), None)
    if row is None:
        raise Http404(_("未找到该帮扶责任人。"))
    return row


@authenticated
@require_http_methods(["GET", "POST"])
def helper_profile(request: HttpRequest, user_id: int) -> HttpResponseBase:
    """Register or change a helper's unit, rank category and title; hand their households over."""
    _check_post(request)
    user = request.user
    row = _helper_row(request, user_id)
    profile = row.profile
    initial = {"version": profile.version if profile else 0}
    if profile is not None:
        initial |= {"unit": profile.unit, "kind": profile.kind, "title": profile.title}
    form = HelperProfileForm(request.POST or None, initial=initial)
    transfer = TransferForm(None, helpers=[h for h in helper_choices(user) if h.pk != user_id])
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                do_save_helper_profile(
                    user_id,
                    data["unit"],
                    data["kind"],
                    data["title"],
                    expected_version=data["version"] or None,
                    actor=user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("已保存帮扶责任人的登记信息。"))
                return redirect("web:pairing_helpers")
    context = {
        "nav": "pairings",
        "row": row,
        "form": form,
        "transfer": transfer,
        "writes": _writes(user),
        "pairings": pairings_for(user, helper_id=user_id),
    }
    return render(request, "web/pairing_helper.html", context, status=status)


@authenticated
@require_http_methods(["POST"])
def helper_transfer(request: HttpRequest, user_id: int) -> HttpResponseBase:
    """Hand every current pairing of a helper within the user's scope over to another helper."""
    _check_post(request)
    user = request.user
    row = _helper_row(request, user_id)
    form = TransferForm(request.POST, helpers=[h for h in helper_choices(user) if h.pk != user_id])
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = do_transfer_helper(
                user_id, int(data["successor"]), data["on"], data["reason"], actor=user
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, _("已移交 %(n)s 户。") % {"n": len(moved.created)})
            return redirect("web:pairing_helpers")
    profile = row.profile
    initial = {"version": profile.version if profile else 0}
    if profile is not None:
        initial |= {"unit": profile.unit, "kind": profile.kind, "title": profile.title}
    context = {
        "nav": "pairings",
        "row": row,
        "form": HelperProfileForm(initial=initial),
        "transfer": form,
        "writes": _writes(user),
        "pairings": pairings_for(user, helper_id=user_id),
    }
    return render(request, "web/pairing_helper.html", context, status=status)


@authenticated
@require_http_methods(["GET", "POST"])
def pairing_import(request: HttpRequest) -> HttpResponseBase:
    """Upload a pairing sheet: checked whole, then written all at once or not at all."""
    _check_post(request)
    user = request.user
    form = PairingImportForm(request.POST or None, request.FILES or None)
    problems: list[importer.Problem] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > importer.MAX_BYTES:
                form.add_error(
                    "file",
                    _("文件超过 %(mb)s MB（结对表的上限），请拆分后导入。")
                    % {"mb": importer.MAX_BYTES // 1024 // 1024},
                )
            else:
                try:
                    done = importer.do_import_pairings(upload.read(), upload.name, actor=user)
                except importer.PairingImportRefused as exc:
                    problems = exc.problems
                    form.add_error(
                        None,
                        _("结对导入文件有 %(n)s 处问题，未写入任何结对。")
                        % {"n": len(exc.problems)},
                    )
                except DomainError as exc:
                    form.add_error(None, exc.message)
                    status = exc.status
                else:
                    messages.success(request, _("已导入 %(n)s 条结对。") % {"n": len(done.created)})
                    return redirect("web:pairings")
    context = {"nav": "pairings", "form": form, "problems": problems, "writes": _writes(user)}
    return render(request, "web/pairing_import.html", context, status=status)


@authenticated
@require_http_methods(["GET"])
def pairing_template(request: HttpRequest) -> HttpResponse:
    """The empty pairing sheet (.xlsx) the import reads."""
    response = HttpResponse(
        importer.template(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{importer.FILENAME}"'
    return response
