"""Pages of the workflows: the case inbox, the case page (timeline, evidence, checklist, postings,
moves), opening a case, posting management and the dynamic adjustment rounds.

Thin like the other views: reads through `workflows.selectors`, writes through
`workflows.actions`. A refused move re-renders the case page with the reason and the status the
domain error carries (403 self-approval, 409 stale, 400 missing step); out of scope is 404.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from jingzhun.assessments.selectors import assessment_view
from jingzhun.core import stored_files as files
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.registry import choices as c
from jingzhun.registry.selectors import household_for
from jingzhun.workflows.actions import (
    CaseDetails,
    PostingIn,
    case_facts,
    do_assess_case_household,
    do_close_round,
    do_download_evidence,
    do_export_posting_notice,
    do_move_case,
    do_open_case,
    do_open_round,
    do_tick_checklist_item,
    do_upload_evidence,
    exit_assessment,
)
from jingzhun.workflows.changes import CHANGE_TYPES
from jingzhun.workflows.changes import describe as describe_change
from jingzhun.workflows.models import ROUTES, Case
from jingzhun.workflows.selectors import (
    case_for,
    cases_for,
    inbox,
    postings_for,
    round_counts,
    round_for,
    rounds_for,
)
from jingzhun.workflows.transitions import (
    CHECKLIST,
    EVIDENCE_KINDS,
    FLOWS,
    KINDS,
    allowed_moves,
    refusal,
    required_checklist,
)
from jingzhun.workflows.workdays import UNITS

from .downloads import stored_file_response
from .policies import authenticated

TABS = {
    "todo": gettext_lazy("待办"),
    "waiting": gettext_lazy("等待他人"),
    "overdue": gettext_lazy("已超期"),
}


def _case_or_404(request: HttpRequest, case_id: int) -> Case:
    try:
        return case_for(request.user, case_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


# --- inbox ---------------------------------------------------------------------------------------


@authenticated
@require_http_methods(["GET"])
def case_inbox(request: HttpRequest) -> HttpResponse:
    """The cases of the user's role and scope: to do, waiting on others, overdue."""
    tab = request.GET.get("tab", "todo")
    if tab not in TABS:
        tab = "todo"
    box = inbox(request.user, today=timezone.localdate(), tabs=(tab,))
    context = {
        "nav": "cases",
        "tab": tab,
        "tabs": [(key, label, box.counts[key]) for key, label in TABS.items()],
        "cases": getattr(box, tab),
        "today": timezone.localdate(),
    }
    return render(request, "web/workflows/inbox.html", context)


# --- opening a case -----------------------------------------------------------------------------


class CaseOpenForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("案件类型"), choices=list(KINDS.items()))
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=2014, max_value=2100)
    opened_on = forms.DateField(
        label=gettext_lazy("发现/申请日期"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    summary = forms.CharField(label=gettext_lazy("情况说明"), max_length=500, required=False)
    round = forms.ChoiceField(label=gettext_lazy("动态调整批次"), required=False)
    route = forms.ChoiceField(
        label=gettext_lazy("发现方式"), choices=[("", "—"), *ROUTES.items()], required=False
    )
    monitoring_category = forms.ChoiceField(
        label=gettext_lazy("监测类别"),
        choices=[("", "—"), *c.MONITORING_CATEGORY.items()],
        required=False,
    )
    risk_types = forms.MultipleChoiceField(
        label=gettext_lazy("风险类型"),
        choices=list(c.RISK_TYPE.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    monitored_since = forms.DateField(
        label=gettext_lazy("纳入监测日期"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    measure = forms.CharField(
        label=gettext_lazy("已落实的帮扶措施"), max_length=200, required=False
    )
    measure_date = forms.DateField(
        label=gettext_lazy("措施落实日期"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    elimination_method = forms.ChoiceField(
        label=gettext_lazy("消除方式"),
        choices=[("", "—"), *c.ELIMINATION_METHOD.items()],
        required=False,
    )
    change_type = forms.ChoiceField(
        label=gettext_lazy("变更类型"),
        choices=[("", "—"), *CHANGE_TYPES.items()],
        required=False,
    )
    change_date = forms.DateField(
        label=gettext_lazy("变更发生日期"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    change_member = forms.ChoiceField(label=gettext_lazy("减少的成员"), required=False)
    new_head = forms.ChoiceField(label=gettext_lazy("新户主（户主减少时）"), required=False)
    new_name = forms.CharField(label=gettext_lazy("新增成员姓名"), max_length=50, required=False)
    new_id_number = forms.CharField(
        label=gettext_lazy("新增成员证件号码"), max_length=20, required=False
    )
    new_relation = forms.ChoiceField(
        label=gettext_lazy("新增成员与户主关系"),
        choices=[("", "—"), *((k, v) for k, v in c.RELATION.items() if k != "head")],
        required=False,
    )

    def __init__(
        self, *args: Any, rounds: list[Any], members: Sequence[Any] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["round"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—")] + [(str(r.pk), r.name) for r in rounds]
        people = [("", "—")] + [(str(m.pk), m.name) for m in members]
        for name in ("change_member", "new_head"):
            choice = self.fields[name]
            assert isinstance(choice, forms.ChoiceField)
            choice.choices = people

    def change(self) -> dict[str, Any] | None:
        d = self.cleaned_data
        if d.get("kind") != "natural_change":
            return None
        return {
            "type": d.get("change_type") or "",
            "date": d.get("change_date") or "",
            "member_id": d.get("change_member") or None,
            "new_head_id": d.get("new_head") or None,
            "member": {
                "name": d.get("new_name") or "",
                "id_number": d.get("new_id_number") or "",
                "relation": d.get("new_relation") or "",
            },
        }

    def details(self) -> CaseDetails:
        d = self.cleaned_data
        measures: tuple[dict[str, str], ...] = ()
        if d.get("measure"):
            when = d.get("measure_date")
            measures = ({"description": d["measure"], "date": when.isoformat() if when else ""},)
        return CaseDetails(
            year=d["year"],
            opened_on=d["opened_on"],
            summary=d.get("summary") or "",
            round_id=int(d["round"]) if d.get("round") else None,
            route=d.get("route") or "",
            monitoring_category=d.get("monitoring_category") or "",
            risk_types=tuple(d.get("risk_types") or ()),
            monitored_since=d.get("monitored_since"),
            measures=measures,
            elimination_method=d.get("elimination_method") or "",
            change=self.change(),
        )


@authenticated
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    """Open a case for one household (chosen from its card)."""
    raw = request.GET.get("household") or request.POST.get("household") or ""
    if not raw.isdigit():
        raise Http404(_("请从户卡页面发起案件。"))
    try:
        household = household_for(request.user, int(raw))
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    today = timezone.localdate()
    rounds = [r for r in rounds_for(request.user).filter(closed_at__isnull=True)]
    form = CaseOpenForm(
        request.POST or None,
        rounds=rounds,
        members=list(household.members.order_by("id")),
        initial={
            "year": today.year,
            "opened_on": today,
            # the card's natural-change links choose the kind, the change and the member
            "kind": request.GET.get("kind", ""),
            "change_type": request.GET.get("change_type", ""),
            "change_member": request.GET.get("change_member", ""),
        },
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case = do_open_case(
                    household.pk, form.cleaned_data["kind"], form.details(), actor=request.user
                )
            except OutOfScope as exc:
                raise Http404(exc.message) from exc
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("案件已提交。"))
                return redirect("web:case", case_id=case.pk)
        else:
            status = 400
    context = {"nav": "cases", "form": form, "household": household}
    return render(request, "web/workflows/case_new.html", context, status=status)


# --- the case page -------------------------------------------------------------------------------


def _case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    user = request.user
    flow = FLOWS[case.kind]
    today = timezone.localdate()
    facts = case_facts(case, today)
    role = getattr(user, "role", "")
    buttons = []
    if case.is_open:
        for move in allowed_moves(flow, case.state, role):
            refused = refusal(flow, move.name, facts, actor_id=user.pk, actor_role=role, reason="x")
            buttons.append({"move": move, "hint": refused.message if refused else ""})
    needed = set()
    for move in flow.moves_from(case.state):
        needed |= set(required_checklist(move, facts))
    steps = list(case.steps.order_by("at", "id"))
    evidence = list(case.evidence.order_by("uploaded_at", "id"))
    by_step: dict[int | None, list[Any]] = {}
    for item in evidence:
        by_step.setdefault(item.step_id, []).append(item)
    household = case.household
    assessment = None
    note = ""
    if case.kind == "exit":
        _found, note = exit_assessment(household, case.year)
        view = assessment_view(household)
        assessment = view if view is not None and view.year == case.year else None
    return {
        "nav": "cases",
        "case": case,
        "flow": flow,
        "household": household,
        "states": list(flow.states.items()),
        "timeline": [(s, by_step.get(s.pk, [])) for s in steps],
        "pending": by_step.get(None, []),
        "evidence_kinds": list(EVIDENCE_KINDS.items()),
        "checklist": [
            (key, label, case.checklist.get(key), key in needed) for key, label in CHECKLIST.items()
        ],
        "postings": list(case.postings.prefetch_related("objections").order_by("-id")),
        "buttons": buttons,
        "units": list(UNITS.items()),
        "today": today,
        "assessment": assessment,
        "assessment_note": note,
        "risk_types": [c.RISK_TYPE.get(r, r) for r in case.risk_types],
        "change": describe_change(case.change) if case.change else "",
        "may_act": case.is_open and role in {"village", "township", "county"},
        "max_mb": files.MAX_BYTES // (1024 * 1024),
    }


def _render_case(
    request: HttpRequest, case: Case, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = _case_context(request, case)
    context["error"] = error
    return render(request, "web/workflows/case.html", context, status=status)


@authenticated
@require_http_methods(["GET"])
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    """One case: where it stands, its timeline with evidence, checklist, postings and next moves."""
    return _render_case(request, _case_or_404(request, case_id))


def _refused(request: HttpRequest, case_id: int, exc: DomainError) -> HttpResponse:
    if isinstance(exc, OutOfScope):
        raise Http404(exc.message)
    return _render_case(
        request, _case_or_404(request, case_id), error=exc.message, status=exc.status
    )


def _version(request: HttpRequest) -> int:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else -1


def _date(raw: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(raw or "")
    except ValueError:
        return None


@authenticated
@require_http_methods(["POST"])
def case_move(request: HttpRequest, case_id: int) -> HttpResponse:
    """Make one move (review, approve, return with a reason, put up a posting, record an objection)."""
    case = _case_or_404(request, case_id)
    posting = None
    start = _date(request.POST.get("start"))
    length = request.POST.get("length", "")
    if start is not None and length.isdigit():
        posting = PostingIn(start, int(length), request.POST.get("unit", "days"))
    try:
        do_move_case(
            case.pk,
            request.POST.get("move", ""),
            _version(request),
            actor=request.user,
            reason=request.POST.get("reason", ""),
            posting=posting,
        )
    except DomainError as exc:
        return _refused(request, case.pk, exc)
    messages.success(request, _("已办理。"))
    return redirect("web:case", case_id=case.pk)


@authenticated
@require_http_methods(["POST"])
def case_evidence(request: HttpRequest, case_id: int) -> HttpResponse:
    """Upload a file for the case's next step (PDF, JPG, PNG or .xlsx)."""
    case = _case_or_404(request, case_id)
    upload = request.FILES.get("file")
    if upload is None:
        return _render_case(request, case, error=_("请选择要上传的文件。"), status=400)
    if upload.size and upload.size > files.MAX_BYTES:
        return _render_case(request, case, error=_("文件过大。"), status=400)
    try:
        do_upload_evidence(
            case.pk,
            request.POST.get("kind", ""),
            upload.name or "",
            upload.read(),
            actor=request.user,
        )
    except DomainError as exc:
        return _refused(request, case.pk, exc)
    messages.success(request, _("材料已上传。"))
    return redirect("web:case", case_id=case.pk)


@authenticated
@require_http_methods(["GET"])
def case_evidence_file(request: HttpRequest, evidence_id: int) -> HttpResponseBase:
    """Download one evidence file of a case the user may see."""
    try:
        item = do_download_evidence(evidence_id, actor=request.user)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    return stored_file_response(item)


@authenticated
@require_http_methods(["POST"])
def case_checklist(request: HttpRequest, case_id: int) -> HttpResponse:
    """Tick one item of the three re-checks and three corroborations, with a note."""
    case = _case_or_404(request, case_id)
    try:
        do_tick_checklist_item(
            case.pk,
            request.POST.get("item", ""),
            request.POST.get("note", ""),
            _version(request),
            actor=request.user,
        )
    except DomainError as exc:
        return _refused(request, case.pk, exc)
    return redirect("web:case", case_id=case.pk)


@authenticated
@require_http_methods(["POST"])
def case_assess(request: HttpRequest, case_id: int) -> HttpResponse:
    """Run the household's exit assessment for the case year (the approval needs it to pass)."""
    case = _case_or_404(request, case_id)
    try:
        do_assess_case_household(case.pk, actor=request.user)
    except DomainError as exc:
        return _refused(request, case.pk, exc)
    messages.success(request, _("已按当前数据重新判定。"))
    return redirect("web:case", case_id=case.pk)


# --- postings ------------------------------------------------------------------------------------


@authenticated
@require_http_methods(["GET", "POST"])
def posting_list(request: HttpRequest) -> HttpResponseBase:
    """Postings of the user's scope (current, ended, objected); select some to print the notice."""
    today = timezone.localdate()
    qs = postings_for(request.user)
    show = request.GET.get("show", "current")
    if show == "current":
        qs = qs.filter(end__gte=today, objected=False)
    error = ""
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("posting") if i.isdigit()]
        out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
        try:
            do_export_posting_notice(ids, out, actor=request.user)
        except Forbidden as exc:
            out.close()
            raise PermissionDenied(exc.message) from exc
        except OutOfScope as exc:
            out.close()
            raise Http404(exc.message) from exc
        except DomainError as exc:
            out.close()
            error = exc.message
        else:
            out.seek(0)
            return FileResponse(
                out,
                as_attachment=True,
                filename=f"posting-notice-{today:%Y%m%d}.pdf",
                content_type="application/pdf",
            )
    context = {
        "nav": "cases",
        "postings": list(qs[:300]),
        "show": show,
        "today": today,
        "error": error,
    }
    return render(request, "web/workflows/postings.html", context, status=400 if error else 200)


# --- rounds --------------------------------------------------------------------------------------


@authenticated
@require_http_methods(["GET", "POST"])
def round_list(request: HttpRequest) -> HttpResponse:
    """Dynamic adjustment rounds of the user's county; county staff open new ones."""
    user = request.user
    error, status = "", 200
    if request.method == "POST":
        start = _date(request.POST.get("period_start"))
        end = _date(request.POST.get("period_end"))
        if start is None or end is None:
            error, status = _("请填写开始和截止日期。"), 400
        else:
            try:
                created = do_open_round(
                    request.POST.get("county", ""),
                    request.POST.get("name", ""),
                    start,
                    end,
                    actor=user,
                )
            except OutOfScope as exc:
                raise Http404(exc.message) from exc
            except DomainError as exc:
                error, status = exc.message, exc.status
            else:
                return redirect("web:round", round_id=created.pk)
    from jingzhun.access.scoping import granted_codes
    from jingzhun.regions import codes

    counties = [code for code in granted_codes(user) if codes.level_of(code) == "county"]
    context = {
        "nav": "cases",
        "rounds": list(rounds_for(user).order_by("-period_start", "-id")),
        "counties": counties,
        "error": error,
    }
    return render(request, "web/workflows/rounds.html", context, status=status)


@authenticated
@require_http_methods(["GET"])
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    """A round: its cases counted per kind and state, and the list of its cases."""
    try:
        found = round_for(request.user, round_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    today = timezone.localdate()
    context = {
        "nav": "cases",
        "round": found,
        "counts": round_counts(request.user, found, today=today),
        "cases": list(cases_for(request.user).filter(round=found).order_by("kind", "state")[:500]),
        "today": today,
    }
    return render(request, "web/workflows/round.html", context)


@authenticated
@require_http_methods(["POST"])
def round_close(request: HttpRequest, round_id: int) -> HttpResponse:
    """End a round once all its cases are finished."""
    try:
        found = round_for(request.user, round_id)
        do_close_round(found.pk, _version(request), actor=request.user)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("web:round", round_id=round_id)
