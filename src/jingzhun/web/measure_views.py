"""Pages of household plans and measures (一户一策, issue 21 item 3).

The household card's 帮扶措施 section (web/_household_measures.html) posts here: propose (helper,
village, township, county), approve or refuse (township or county), start, complete, cancel, and
evidence uploads. `/measures/` lists the measures of the user's scope with figures by kind,
department and status, each linking to the list behind it; `/measures/without/` the registered
or monitored households without a measure. Reads through `assistance.measure_selectors`,
writes through `assistance.measures`; a refusal shows the action's sentence with its status.
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
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods

from jingzhun.assistance.catalogue import catalogue
from jingzhun.assistance.choices import (
    MEASURE_APPROVER_ROLES,
    MEASURE_PROPOSER_ROLES,
    MEASURE_STATUS,
    UNPAIRED_GROUPS,
)
from jingzhun.assistance.measure_selectors import (
    households_without_measures,
    measure_figures,
    measure_for,
    measures_for,
    without_measures_count,
)
from jingzhun.assistance.measures import (
    do_attach_measure_evidence,
    do_cancel_measure,
    do_complete_measure,
    do_decide_measure,
    do_propose_measure,
    do_start_measure,
)
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.core.paging import CountedPaginator
from jingzhun.registry.selectors import household_for, region_options

from .downloads import stored_file_response
from .forms import LongSelect, set_choices
from .policies import authenticated

PAGE_SIZE = 50


class ProposeForm(forms.Form):
    kind = forms.ChoiceField(label=_l("措施类型"))
    description = forms.CharField(label=_l("措施内容"), max_length=200, required=False)
    amount = forms.CharField(label=_l("金额（元）"), max_length=20, required=False)
    start_date = forms.DateField(
        label=_l("开始日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(
        label=_l("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cat = catalogue()
        set_choices(
            self,
            "kind",
            [
                (code, f"{e.name}（{cat.department_label(e.department)}）")
                for code, e in cat.kinds.items()
            ],
        )


class StepForm(forms.Form):
    step = forms.ChoiceField(
        choices=[(s, s) for s in ("approve", "refuse", "start", "complete", "cancel")]
    )
    version = forms.IntegerField(min_value=1)
    note = forms.CharField(label=_l("意见或理由"), max_length=200, required=False)
    completed_on = forms.DateField(required=False)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_l("佐证材料"))


class MeasureFilterForm(forms.Form):
    region = forms.ChoiceField(label=_l("区划"), required=False, widget=LongSelect)
    kind = forms.ChoiceField(label=_l("措施类型"), required=False)
    department = forms.ChoiceField(label=_l("责任部门"), required=False)
    status = forms.ChoiceField(label=_l("状态"), required=False)

    def __init__(self, *args: Any, regions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cat = catalogue()
        every = [("", _("全部"))]
        set_choices(self, "region", every + [(r.code, r.name) for r in regions])
        set_choices(self, "kind", every + [(c, e.name) for c, e in cat.kinds.items()])
        set_choices(self, "department", every + list(cat.departments.items()))
        set_choices(self, "status", every + list(MEASURE_STATUS.items()))


def measure_context(user: Any, household: Any) -> dict[str, Any]:
    """What the household card's 帮扶措施 section needs (views.household_detail adds it)."""
    from jingzhun.assistance.measure_selectors import household_plan

    role = getattr(user, "role", "")
    return {
        # the card read the household through the user's scope already
        "plan": household_plan(user, household.pk, scoped=household),
        "may_propose": role in MEASURE_PROPOSER_ROLES,
        "may_approve": role in MEASURE_APPROVER_ROLES,
        "propose_form": ProposeForm(),
        "catalogue": catalogue(),
    }


def _writer(request: HttpRequest) -> None:
    if getattr(request.user, "role", "") not in MEASURE_PROPOSER_ROLES:
        raise PermissionDenied(_("您的角色无权登记或修改帮扶措施。"))


def _back(household_id: int) -> HttpResponseBase:
    from django.urls import reverse

    return redirect(reverse("web:household", args=[household_id]) + "#measures")


def _refused(request: HttpRequest, exc: DomainError, household: Any) -> HttpResponse:
    context = {
        "nav": "households",
        "household": household,
        "error": exc.message,
        "field": exc.field,
    }
    return render(request, "web/measure_refused.html", context, status=exc.status)


@authenticated
@require_http_methods(["POST"])
def measure_propose(request: HttpRequest, household_id: int) -> HttpResponseBase:
    """Propose a measure for a household of the user's scope."""
    _writer(request)
    try:
        household = household_for(request.user, household_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = ProposeForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else ""
        problem = DomainError(f"{label}：{'；'.join(str(e) for e in errors)}", field=field)
        return _refused(request, problem, household)
    data = form.cleaned_data
    try:
        do_propose_measure(
            household.pk,
            data["kind"],
            data["start_date"],
            end_date=data["end_date"],
            amount=data["amount"],
            description=data["description"],
            actor=request.user,
        )
    except DomainError as exc:
        return _refused(request, exc, household)
    messages.success(request, _("已提出帮扶措施，等待乡镇审批。"))
    return _back(household.pk)


@authenticated
@require_http_methods(["POST"])
def measure_step(request: HttpRequest, measure_id: int) -> HttpResponseBase:
    """Approve, refuse, start, complete or cancel a measure (the action checks the role)."""
    _writer(request)
    try:
        measure = measure_for(request.user, measure_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = StepForm(request.POST)
    if not form.is_valid():
        return _refused(
            request,
            DomainError(_("请求不完整，请刷新页面后重试。"), field="step"),
            measure.household,
        )
    data = form.cleaned_data
    step, version, note, user = data["step"], data["version"], data["note"], request.user
    try:
        if step in ("approve", "refuse"):
            do_decide_measure(
                measure.pk, step == "approve", note, expected_version=version, actor=user
            )
        elif step == "start":
            do_start_measure(measure.pk, expected_version=version, actor=user)
        elif step == "complete":
            if data["completed_on"] is None:
                raise DomainError(_("请填写完成日期。"), field="completed_on")
            do_complete_measure(
                measure.pk, data["completed_on"], expected_version=version, actor=user
            )
        else:
            do_cancel_measure(measure.pk, note, expected_version=version, actor=user)
    except DomainError as exc:
        return _refused(request, exc, measure.household)
    messages.success(request, _("帮扶措施已更新。"))
    return _back(measure.household_id)


@authenticated
@require_http_methods(["POST"])
def measure_evidence(request: HttpRequest, measure_id: int) -> HttpResponseBase:
    """Upload a file for a measure (PDF, JPG, PNG or .xlsx, at most 10 MB, by its content)."""
    _writer(request)
    try:
        measure = measure_for(request.user, measure_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        return _refused(
            request, DomainError(_("请选择要上传的文件。"), field="file"), measure.household
        )
    upload = form.cleaned_data["file"]
    from jingzhun.core.stored_files import MAX_BYTES

    data = upload.read(MAX_BYTES + 1)
    try:
        do_attach_measure_evidence(measure.pk, upload.name or "", data, actor=request.user)
    except DomainError as exc:
        return _refused(request, exc, measure.household)
    messages.success(request, _("已上传佐证材料。"))
    return _back(measure.household_id)


def _query(request: HttpRequest) -> str:
    """The filters of the page, for the pager's links (which add page=)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode() + "&" if params else ""


@authenticated
@require_http_methods(["GET"])
def measures(request: HttpRequest) -> HttpResponse:
    """Measures of the user's scope, filterable, with figures by kind, department and status."""
    user = request.user
    form = MeasureFilterForm(request.GET or None, regions=region_options(user))
    chosen = form.cleaned_data if form.is_bound and form.is_valid() else {}
    region = chosen.get("region", "")
    qs = measures_for(
        user,
        region=region,
        kind=chosen.get("kind", ""),
        department=chosen.get("department", ""),
        status=chosen.get("status", ""),
    ).order_by("household__household_code", "-year", "pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "measures",
        "filters": form,
        "figures": measure_figures(user, region=region),
        "region": region,
        "page": page,
        "catalogue": catalogue(),
        "query": _query(request),
    }
    return render(request, "web/measures.html", context)


@authenticated
@require_http_methods(["GET"])
def measures_without(request: HttpRequest) -> HttpResponse:
    """Registered or monitored households of the user's scope without a measure."""
    group = request.GET.get("group", "registered")
    if group not in UNPAIRED_GROUPS:
        raise Http404(_("没有这一名单。"))
    region = request.GET.get("region", "")[:12]
    page = CountedPaginator(
        households_without_measures(request.user, group, region=region),
        PAGE_SIZE,
        count=without_measures_count(request.user, group, region=region),
    ).get_page(request.GET.get("page"))
    context = {
        "nav": "measures",
        "group": group,
        "region": region,
        "page": page,
        "query": _query(request),
    }
    return render(request, "web/measures_without.html", context)


@authenticated
@require_http_methods(["GET"])
def measure_evidence_file(request: HttpRequest, measure_evidence_id: int) -> HttpResponseBase:
    """Download one evidence file of a measure the user may see (audited; 404 otherwise)."""
    from jingzhun.assistance.measures import do_download_measure_evidence

    try:
        item = do_download_measure_evidence(measure_evidence_id, actor=request.user)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    return stored_file_response(item)


class LiaisonForm(forms.Form):
    user = forms.IntegerField(min_value=1)
    department = forms.ChoiceField(label=_l("所属部门"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "department", list(catalogue().departments.items()))


@authenticated
@require_http_methods(["GET", "POST"])
def liaisons(request: HttpRequest) -> HttpResponse:
    """County staff set the department of each department liaison (行业部门联络员): the liaison
    then sees the measures of that department's kinds on their granted households."""
    from jingzhun.assistance.measure_selectors import liaison_rows
    from jingzhun.assistance.measures import do_set_liaison_department

    if getattr(request.user, "role", "") != "county":
        raise PermissionDenied(_("只有县级业务人员可以设置联络员所属部门。"))
    error, status = "", 200
    if request.method == "POST":
        form = LiaisonForm(request.POST)
        if not form.is_valid():
            error, status = _("请选择联络员和措施目录中的部门。"), 400
        else:
            try:
                do_set_liaison_department(
                    form.cleaned_data["user"], form.cleaned_data["department"], actor=request.user
                )
            except DomainError as exc:
                error, status = exc.message, exc.status
            else:
                messages.success(request, _("已设置联络员所属部门。"))
                return redirect("web:measure_liaisons")
    context = {
        "nav": "measures",
        "rows": liaison_rows(request.user),
        "departments": list(catalogue().departments.items()),
        "error": error,
    }
    return render(request, "web/measure_liaisons.html", context, status=status)
