"""Web pages: thin views that call registry selectors and render templates.

Out-of-scope and unknown objects are both 404 (never 403), so a page does not confirm that a
household exists elsewhere. Sensitive values reach templates only in masked form.
"""

from __future__ import annotations

import datetime
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods
from django.views.i18n import set_language as django_set_language

from jingzhun.analytics.overview import default_year, stored_overview
from jingzhun.assessments.selectors import assessment_view, criterion_counts
from jingzhun.assets.selectors import household_asset_income
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.core.paging import keyset_page
from jingzhun.exports.actions import (
    ExportSummary,
    do_approve_unmasked_export,
    do_export_card,
    do_export_facts,
    do_export_notice,
    do_export_roster,
    do_queue_export_roster,
    do_refuse_unmasked_export,
    do_request_unmasked_export,
    export_households,
    may_take_part_in_unmasked_exports,
    notice_candidates,
    own_requests,
    requests_to_decide,
)
from jingzhun.exports.jobs import file_path as export_file_path
from jingzhun.exports.jobs import filters_of
from jingzhun.exports.models import ExportJob
from jingzhun.exports.notice import NoticeSpec
from jingzhun.exports.selectors import export_job_for
from jingzhun.feeds.layers import household_layer
from jingzhun.imports.actions import (
    do_queue_import_check,
    do_queue_import_commit,
    do_save_column_mapping,
)
from jingzhun.imports.fields import assignable_fields
from jingzhun.imports.jobs import plan_path, replan, upload_path
from jingzhun.imports.layout import column_letter
from jingzhun.imports.models import ImportBatch, ImportJob
from jingzhun.imports.pipeline import ImportResult, plan_import
from jingzhun.imports.report import build_report
from jingzhun.imports.selectors import batch_for, batches_for, job_for, job_state, jobs_for
from jingzhun.imports.stored import load_view
from jingzhun.imports.template import FILENAME as TEMPLATE_FILENAME
from jingzhun.imports.template import build_template
from jingzhun.regions import codes
from jingzhun.registry import choices as c
from jingzhun.registry import dictionary
from jingzhun.registry.actions import (
    WRITER_ROLES,
    do_record_income,
    do_update_household,
    do_update_member,
)
from jingzhun.registry.idcard import mask as mask_id_number
from jingzhun.registry.idcard import normalize as normalize_id
from jingzhun.registry.masking import age_on, mask_value
from jingzhun.registry.models import INCOME_AMOUNTS, Household, IncomeRecord, Member
from jingzhun.registry.selectors import (
    household_for,
    households_for,
    income_of,
    member_for,
    members_of,
    overview_roots,
    region_options,
    region_path,
    visible_regions,
    with_member_counts,
)
from jingzhun.workflows.changes import ADDS, REMOVALS

from . import assistance_views
from .forms import (
    HouseholdEditForm,
    HouseholdSearchForm,
    ImportUploadForm,
    MemberEditForm,
    NoticeForm,
    OverviewForm,
    RecordEditForm,
    UnmaskedRequestForm,
    year_choices,
)
from .labels import field_label
from .measure_views import measure_context
from .policies import authenticated, public

PAGE_SIZE = 50
ID_LIKE = re.compile(r"[0-9X]{15,18}", re.IGNORECASE)

set_language = public(django_set_language)


# --- 总览 ----------------------------------------------------------------------------------


@authenticated
@require_http_methods(["GET"])
def overview(request: HttpRequest) -> HttpResponse:
    """Registry figures of the user's scope at the end of a year, with one row per child region.
    A helper gets their home page instead: their households (issue 21)."""
    user = request.user
    if getattr(user, "role", "") == "helper":
        return assistance_views.home(request)
    form = OverviewForm(request.GET)
    chosen = form.cleaned_data if form.is_valid() else {}
    roots = overview_roots(user)
    context: dict[str, Any] = {
        "form": form,
        "nav": "overview",
        "years": [y for y, _label in year_choices()],
    }
    if not roots:
        year = chosen.get("year") or timezone.localdate().year
        return render(request, "web/overview.html", {**context, "year": year, "empty": True})
    region_code = chosen.get("region") or roots[0].code
    try:
        path = region_path(user, region_code)
        # stored year-end figures (analytics.overview, ADR 0065), not the status history
        year = chosen.get("year") or default_year(user, region_code)
        stored = stored_overview(user, region_code, year)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    region = path[-1]
    context.update(
        year=year,
        region=region,
        path=path,
        roots=roots,
        stats=stored.stats,
        refreshed_at=stored.refreshed_at,
        refresh_pending=stored.refresh_pending,
        rows=[
            (row.region, row.stats, _list_filter(row.region.code, row.region.level))
            for row in stored.rows
        ],
        region_filter=_list_filter(region.code, region.level),
        child_level=stored.rows[0].region.level if stored.rows else "",
    )
    counts, judged_at = criterion_counts(
        user, "household_exit", year, under=codes.prefix(region.code)
    )
    context.update(criteria=counts, judged_at=judged_at)
    return render(request, "web/overview.html", context)


def _list_filter(code: str, level: str) -> str:
    """Query string of the household list restricted to a region (the overview's count links)."""
    if level == "township":
        return f"township={code}&"
    if level == "village":
        return f"village={code}&"
    return ""


# --- 贫困户 --------------------------------------------------------------------------------


@authenticated
@require_http_methods(["GET", "POST"])
def household_list(request: HttpRequest) -> HttpResponse:
    """The household list. Filters come by GET (links) or POST; the search term only by POST.

    A search term in a URL ends up in browser history and server logs, and it may be a full ID
    number (PII-3): a GET carrying `q` is refused with 400 and nothing is searched.
    """
    user = request.user
    regions = region_options(user)
    if request.method == "GET" and "q" in request.GET:
        form = HouseholdSearchForm(regions=regions)
        context = {
            "form": form,
            "nav": "households",
            "refused": _("请在页面上的查询框中输入查询内容，不要把查询内容写在网址中。"),
        }
        return render(request, "web/household_list.html", context, status=400)
    form = HouseholdSearchForm(
        request.POST if request.method == "POST" else request.GET, regions=regions
    )
    page = None
    if form.is_valid():
        # keyset pages by household code, the count exact up to a cap (core.paging, issue 26)
        households = households_for(user, form.filters())
        page = keyset_page(
            with_member_counts(households),
            "household_code",
            after=form.cleaned_data.get("after") or "",
            before=form.cleaned_data.get("before") or "",
            size=PAGE_SIZE,
            counted=households,
        )
    term = (form.cleaned_data.get("q") or "").strip() if form.is_valid() else ""
    id_like = bool(ID_LIKE.fullmatch(normalize_id(term)))
    context = {
        "form": form,
        "page": page,
        "nav": "households",
        "years": [y for y, _label in year_choices()],
        # An ID number typed into the search is never written back into the page (PII-1): the
        # box comes back empty and the note shows the masked number.
        "q_value": "" if id_like else term,
        "q_masked": mask_id_number(term) if id_like else "",
    }
    template = (
        "web/_household_results.html"
        if request.headers.get("HX-Request")
        else "web/household_list.html"
    )
    return render(request, template, context)


# --- 户卡 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    """A member as the card shows it: ID masked, health and disability hidden, age not birth date.

    The full birth date is left out on purpose: with the masked ID's first 6 and last 4 characters
    it would give back the whole ID number.
    """

    pk: int
    name: str
    sex: str
    relation: str
    id_number: str
    age: int
    ethnicity: str
    education: str
    school_status: str
    health_status: str
    disability_grade: str
    labour_capacity: str
    work_status: str
    work_months: int | None
    basic_medical_insured: bool | None
    critical_illness_insured: bool | None
    pension_insured: bool | None
    dibao: bool | None
    tekun: bool | None


def _member_row(m: Member, today: datetime.date) -> MemberRow:
    return MemberRow(
        pk=m.pk,
        name=m.name,
        sex=m.get_sex_display(),
        relation=m.get_relation_display(),
        id_number=mask_id_number(m.id_number),
        age=age_on(m.birth_date, today),
        ethnicity=m.get_ethnicity_display(),
        education=m.get_education_display(),
        school_status=m.get_school_status_display(),
        health_status=mask_value("health_status", m.health_status) or "",
        disability_grade=str(mask_value("disability_grade", m.disability_grade) or ""),
        labour_capacity=m.get_labour_capacity_display(),
        work_status=m.get_work_status_display(),
        work_months=m.work_months,
        basic_medical_insured=m.basic_medical_insured,
        critical_illness_insured=m.critical_illness_insured,
        pension_insured=m.pension_insured,
        dibao=m.dibao,
        tekun=m.tekun,
    )


# The income items of the card's table and of the income form (registry.dictionary): (field,
# label, is a sub-item of transfer income).
INCOME_LINES: list[tuple[str, Any, bool]] = [
    (f.key, field_label(f.key), bool(f.part_of))
    for f in dictionary.fields("income", on="detail")
    if f.kind == "money"
]


def _income_table(incomes: list[IncomeRecord], persons: int) -> dict[str, Any]:
    """Rows of items by columns of years, with net and per-capita net income derived."""
    lines = [
        {"label": label, "sub": sub, "values": [getattr(i, field) for i in incomes]}
        for field, label, sub in INCOME_LINES
    ]
    net = [i.net_income for i in incomes]
    per_capita = [i.per_capita_net_income(persons) for i in incomes]
    return {
        "years": [i.year for i in incomes],
        "lines": lines,
        "net": net,
        "per_capita": per_capita,
    }


def _detail_rows(
    household: Household, section: str, village_path: list[Any]
) -> list[dict[str, Any]]:
    """The card page's rows of one section of household fields (registry.dictionary: "detail"
    in `appears`): label, kind and the value to show; sensitive values masked, behind "查看"."""
    rows = []
    name = "conditions" if section == "condition" else section
    for f in dictionary.fields("household", on="detail", section=name):
        value: Any = getattr(household, f.key) if f.stored else None
        kind = "decimal" if f.kind in ("decimal", "money") else f.kind
        if f.key == "village":
            value, kind = village_path, "path"
        elif f.sensitive:
            value = mask_value(f.key, value) or ""
        elif f.kind == "code":
            value = (f.table or {}).get(value, value)
        elif f.kind == "codes":
            value = [(f.table or {}).get(code, code) for code in value or []]
        rows.append(
            {
                "key": f.key,
                # the village is shown by its names (county / township / village), not its code
                "label": _("所属村") if f.key == "village" else field_label(f.key),
                "kind": kind,
                "value": value,
                "reveal": f.sensitive,
            }
        )
    return rows


@authenticated
@require_http_methods(["GET"])
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    """The household card (户卡). Unknown and out-of-scope households are both 404."""
    try:
        household: Household = household_for(request.user, household_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    today = timezone.localdate()
    members = [_member_row(m, today) for m in members_of(household)]
    incomes = list(household.incomes.order_by("year"))
    village = household.village
    township = village.parent
    county = township.parent if township else None
    village_path = [r for r in (county, township, village) if r is not None]
    context = {
        "nav": "households",
        "household": household,
        "village_path": village_path,
        # the household's fields by section, as the data dictionary lists them for the card
        **{
            f"{section}_rows": _detail_rows(household, section, village_path)
            for section in ("basic", "condition", "monitoring")
        },
        "members": members,
        "income": _income_table(incomes, len(members)),
        # years the income form offers to enter: last year and this year, when not recorded
        "income_new_years": [
            y for y in (today.year - 1, today.year) if y not in {i.year for i in incomes}
        ],
        "history": list(household.status_history.order_by("changed_on", "id")),
        "assessment": assessment_view(household),
        # the "查看" buttons of the masked fields (PII-1: the reveal endpoint checks again)
        "may_reveal": bool(getattr(request.user, "may_export_unmasked", False)),
        # births, marriages, moves and deaths are natural changes: links to open the case
        "may_change_members": getattr(request.user, "role", "") in WRITER_ROLES
        and household.poverty_status not in c.CLOSED_STATUSES,
        "member_adds": list(ADDS.items()),
        "member_removals": list(REMOVALS.items()),
        # the household's plan (一户一策): measures, coverage, the forms (measure_views)
        **measure_context(request.user, household),
        # asset income payments credited to the household's income (assets; issue 23 item 4)
        "asset_income": household_asset_income(household.pk),
        # the 2026 layer by the province's rules (feeds.layers; issue 22 item 5)
        "layer": household_layer(household, today),
    }
    return render(request, "web/household_detail.html", context)


INCOME_FORM_LINES: list[tuple[str, Any, bool]] = [
    (f.key, field_label(f.key), bool(f.part_of))
    for f in dictionary.fields("income", on="form")
    if f.kind == "money"
]
# How an item enters the net income (the form's live figures, income.js): added, subtracted, or
# not at all (transfer items are part of the transfer income; out-of-pocket spending is not a
# business cost).
INCOME_SIGN = {f.key: f.net for f in dictionary.fields("income") if f.net}


@authenticated
@require_http_methods(["GET", "POST"])
def household_income(request: HttpRequest, household_id: int, year: int) -> HttpResponse:
    """Enter or correct one year's income of a household (收入录入): the items, with the net and
    per-capita net income computed as one types (income.js) and again on the server after
    saving. A save on a stale version is refused (409) and changes nothing."""
    try:
        household: Household = household_for(request.user, household_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    income = income_of(household, year)
    persons = members_of(household).count()
    values: dict[str, Any] = {
        key: ("" if income is None or getattr(income, key) is None else getattr(income, key))
        for key in INCOME_AMOUNTS
    }
    version = income.version if income is not None else 0
    error, error_field, status = "", "", 200
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in INCOME_AMOUNTS}
        try:
            expected = int(request.POST.get("version", ""))
        except ValueError:
            error, status = _("表单已过期，请刷新后重新填写。"), 400
        else:
            try:
                do_record_income(
                    household.pk, year, values, actor=request.user, expected_version=expected
                )
            except DomainError as exc:
                error, error_field, status = exc.message, exc.field or "", exc.status
            else:
                messages.success(request, _("%(year)s 年度收入已保存。") % {"year": year})
                return redirect(reverse("web:household", args=[household.pk]) + "#income")
            version = expected
    lines = [
        {
            "key": key,
            "label": label,
            "sub": sub,
            "value": values[key],
            "sign": INCOME_SIGN.get(key, ""),
            "invalid": key == error_field,
        }
        for key, label, sub in INCOME_FORM_LINES
    ]
    context = {
        "nav": "households",
        "household": household,
        "year": year,
        "persons": persons,
        "income": income,
        "per_capita": income.per_capita_net_income(persons) if income is not None else None,
        "lines": lines,
        "version": version,
        "error": error,
        "may_write": getattr(request.user, "role", "") in WRITER_ROLES,
    }
    return render(request, "web/household_income.html", context, status=status)


# --- 编辑户信息、成员信息 -----------------------------------------------------------------------


def _edit_page(
    request: HttpRequest,
    form: RecordEditForm,
    save: Callable[[int, dict[str, Any]], Any],
    context: dict[str, Any],
    done: str,
    back: str,
) -> HttpResponse:
    """An edit page (GET shows the form, POST saves through `save(version, changes)`): invalid
    input is 400 naming the field, a stale version 409, and neither changes anything."""
    if getattr(request.user, "role", "") not in WRITER_ROLES:
        raise PermissionDenied(_("您的角色无权修改建档立卡数据。"))
    error, status = "", 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
            error = "；".join(
                f"{form.fields[name].label}：{''.join(str(e) for e in errors)}"
                if name in form.fields
                else "".join(str(e) for e in errors)
                for name, errors in form.errors.items()
            )
        elif not (changes := form.changes()):
            messages.info(request, _("没有修改任何内容。"))
            return redirect(back)
        else:
            try:
                save(form.cleaned_data["version"], changes)
            except OutOfScope as exc:
                raise Http404(exc.message) from exc
            except DomainError as exc:
                error, status = exc.message, exc.status
                field = (
                    "new_id_number"
                    if exc.field in ("id_number", "sex", "birth_date")
                    else exc.field
                )
                if field in form.fields:
                    form.add_error(field, exc.message)
            else:
                messages.success(request, done)
                return redirect(back)
    return render(
        request,
        "web/record_edit.html",
        {**context, "nav": "households", "form": form, "error": error},
        status=status,
    )


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


@authenticated
@require_http_methods(["GET", "POST"])
def household_edit(request: HttpRequest, household_id: int) -> HttpResponse:
    """编辑户信息: the household fields a cadre keeps up to date (not those the workflows own)."""
    try:
        household: Household = household_for(request.user, household_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = HouseholdEditForm(_posted(request), household=household)
    return _edit_page(
        request,
        form,
        lambda version, changes: do_update_household(
            household.pk, version, changes, actor=request.user
        ),
        {"household": household, "title": _("编辑户信息")},
        _("户信息已保存。"),
        reverse("web:household", args=[household.pk]) + "#basic",
    )


@authenticated
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, member_id: int) -> HttpResponse:
    """编辑成员信息. Births, deaths, marriages and moves are natural changes (a case), not edits."""
    try:
        member: Member = member_for(request.user, member_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    form = MemberEditForm(_posted(request), member=member)
    return _edit_page(
        request,
        form,
        lambda version, changes: do_update_member(member.pk, version, changes, actor=request.user),
        {
            "household": member.household,
            "member": member,
            "title": _("编辑成员信息 · %(name)s") % {"name": member.name},
        },
        _("成员“%(name)s”的信息已保存。") % {"name": member.name},
        reverse("web:household", args=[member.household_id]) + "#members",
    )


# --- 导入 ----------------------------------------------------------------------------------

MAX_LISTED = 200
# Labels shown through {% translate variable %}: import stages, job kinds and statuses, batch
# statuses (the catalogue learns them from here).
IMPORT_LABELS = (
    gettext_noop("开始"),
    gettext_noop("读取并校验"),
    gettext_noop("校验"),
    gettext_noop("写入"),
    gettext_noop("导入"),
    gettext_noop("排队中"),
    gettext_noop("处理中"),
    gettext_noop("已完成"),
    gettext_noop("失败"),
    gettext_noop("待确认"),
    gettext_noop("已导入"),
    gettext_noop("已拒绝"),
)


def _upload_path(batch: ImportBatch) -> Path:
    """Where a pending upload waits for confirmation (imports.jobs.upload_path)."""
    return upload_path(batch)


def _writer_only(request: HttpRequest) -> None:
    if getattr(request.user, "role", "") not in WRITER_ROLES:
        raise PermissionDenied(_("您的角色无权导入建档立卡数据。"))


@authenticated
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a form (.xlsx/.xls/.csv); it is checked against the registry, nothing is written yet."""
    _writer_only(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = do_queue_import_check(
                upload.read(),
                upload.name,
                actor=request.user,
                year=form.cleaned_data.get("income_year"),
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        return redirect("web:import_job", import_job_id=job.pk)
    context = {
        "form": form,
        "nav": "imports",
        "batches": batches_for(request.user)[:20],
        "jobs": [
            (job, job_state(job))
            for job in jobs_for(request.user).filter(
                status__in=[ImportJob.QUEUED, ImportJob.RUNNING]
            )[:10]
        ],
    }
    return render(request, "web/import_upload.html", context, status=400 if form.errors else 200)


@authenticated
@require_http_methods(["GET"])
def import_template(request: HttpRequest) -> HttpResponse:
    """The empty import template (.xlsx: 户表, 成员表, 说明): for whoever may import; it holds
    no registry data, so nothing is read or audited."""
    _writer_only(request)
    response = HttpResponse(build_template(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILENAME}"'
    return response


def _batch_or_404(request: HttpRequest, batch_id: int) -> ImportBatch:
    try:
        return batch_for(request.user, batch_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


def _stored(batch: ImportBatch) -> bytes | None:
    path = _upload_path(batch)
    return path.read_bytes() if path.exists() else None


def _plan_of(request: HttpRequest, batch: ImportBatch, data: bytes) -> ImportResult:
    """The plan its check stored (imports.stored): pages do not plan a file again. A batch
    checked before plans were stored is planned here (and only then)."""
    view = load_view(plan_path(batch))
    if view is not None:
        return view
    return plan_import(data, batch.filename, actor=request.user, year=batch.income_year)


@authenticated
@require_http_methods(["GET"])
def import_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The dry run: new, changed (field by field, masked), unchanged and refused, and the errors."""
    _writer_only(request)
    batch = _batch_or_404(request, batch_id)
    data = _stored(batch)
    result = _plan_of(request, batch, data) if data is not None else None
    context = {
        "nav": "imports",
        "batch": batch,
        "result": result,
        "counts": result.counts() if result else batch.counts(),
        "errors": [
            (
                e.sheet,
                e.row,
                column_letter(e.column) if e.column is not None else "",
                e.header,
                e.masked_value,
                e.reason,
            )
            for e in (result.errors[:MAX_LISTED] if result else [])
        ],
        "more_errors": max(0, len(result.errors) - MAX_LISTED) if result else 0,
        "new": result.plans_of("new", MAX_LISTED) if result else [],
        "changed": result.plans_of("changed", MAX_LISTED) if result else [],
        "unknown": [c for layout in (result.layouts if result else []) for c in layout.unknown],
        "field_choices": [(s.key, s.label) for s in assignable_fields()],
        "can_commit": bool(result and result.ok and batch.status == "pending"),
    }
    return render(request, "web/import_detail.html", context)


@authenticated
@require_http_methods(["POST"])
def import_commit(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Confirm: write the whole file, or nothing when any row is refused."""
    _writer_only(request)
    batch = _batch_or_404(request, batch_id)
    if batch.status != "pending" or not _upload_path(batch).exists():
        # a pending batch's upload is gone once left unconfirmed past the retention period
        gone = batch.status == "pending"
        messages.error(
            request, _("上传的文件已不在服务器上。") if gone else _("该批次已处理，不能再次确认。")
        )
        return redirect("web:import", batch_id=batch.pk)
    try:
        job = do_queue_import_commit(batch, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:import", batch_id=batch.pk)
    return redirect("web:import_job", import_job_id=job.pk)


def _job_or_404(request: HttpRequest, job_id: int) -> ImportJob:
    try:
        return job_for(request.user, job_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


def _job_finished(request: HttpRequest, job: ImportJob) -> str:
    """Where a finished job leads (its batch's dry run), with the outcome of a commit as a message."""
    batch = job.batch
    assert batch is not None
    if job.kind == ImportJob.COMMIT:
        if batch.status == "committed" and batch.finished_at and job.started_at:
            if batch.finished_at < job.started_at:
                messages.info(request, _("该文件此前已导入（内容相同），本次未做任何修改。"))
            else:
                messages.success(request, _("导入完成。"))
        elif batch.status == "pending":
            messages.warning(
                request,
                _(
                    "校验后登记数据已有变动，未导入任何数据；下面是按最新数据重新校验的结果，请核对后再次确认。"
                ),
            )
        else:
            messages.error(request, _("文件中有错误，未导入任何数据。"))
    return reverse("web:import", kwargs={"batch_id": batch.pk})


@authenticated
@require_http_methods(["GET"])
def import_job(request: HttpRequest, import_job_id: int) -> HttpResponse:
    """A background check or commit: its progress, polled until it ends, then its batch."""
    _writer_only(request)
    job = _job_or_404(request, import_job_id)
    if job.status == ImportJob.DONE:
        return redirect(_job_finished(request, job))
    context = {"nav": "imports", "job": job, "state": job_state(job)}
    return render(request, "web/import_job.html", context)


def _poll_without_session_write(request: HttpRequest) -> None:
    """A progress poll is not the user's activity and must not write: the security middleware
    saves a signed-in session once a minute (ADR 0026), and on SQLite the commit being watched
    holds the database's write lock until it ends."""
    request.session.save = lambda must_create=False: None  # type: ignore[method-assign]


@authenticated
@require_http_methods(["GET"])
def import_job_progress(request: HttpRequest, import_job_id: int) -> HttpResponse:
    """The progress fragment (HTMX); a finished job sends the browser on to its batch."""
    _writer_only(request)
    _poll_without_session_write(request)
    job = _job_or_404(request, import_job_id)
    if job.status == ImportJob.DONE:
        response = HttpResponse("")
        response["HX-Redirect"] = _job_finished(request, job)
        return response
    return render(request, "web/_import_job.html", {"job": job, "state": job_state(job)})


@authenticated
@require_http_methods(["GET"])
def import_report(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The error report: a copy of the upload with bad cells marked (only for the uploader)."""
    _writer_only(request)
    batch = _batch_or_404(request, batch_id)
    data = _stored(batch)
    if data is None:
        raise Http404(_("上传的文件已不在服务器上。"))
    result = _plan_of(request, batch, data)
    response = HttpResponse(
        build_report(data, result),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-report.xlsx"'
    return response


@authenticated
@require_http_methods(["POST"])
def import_mapping(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Save the user's choices for unrecognised columns, then show the dry run again."""
    _writer_only(request)
    batch = _batch_or_404(request, batch_id)
    columns = {
        header: key
        for header, key in zip(
            request.POST.getlist("header"), request.POST.getlist("field"), strict=False
        )
        if key
    }
    if columns:
        try:
            do_save_column_mapping(request.POST.get("name", ""), columns, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            replan(batch, request.user)  # the mapping changes how the file reads
            messages.success(request, _("列对应方案已保存。"))
    return redirect("web:import", batch_id=batch.pk)


# --- 导出 ----------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"xlsx": XLSX, "pdf": "application/pdf", "json": "application/json"}


def _export(write: Callable[[Any], ExportSummary], filename: str) -> HttpResponse | FileResponse:
    """Run an export action into a temporary file, then stream the file (bounded memory).

    The action has recorded its audit event when it returns, so the file leaves only audited.
    """
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    try:
        summary = write(out)
    except Forbidden as exc:
        out.close()
        raise PermissionDenied(exc.message) from exc
    except OutOfScope as exc:
        out.close()
        raise Http404(exc.message) from exc
    except DomainError as exc:
        out.close()
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    out.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"{filename}-{stamp}.{summary.format}",
        content_type=CONTENT_TYPES[summary.format],
    )


def _unmasked(request: HttpRequest) -> bool:
    return request.POST.get("unmasked") == "1"


def _approval(request: HttpRequest) -> int | None:
    """The approved request (审批单号) an unmasked export names; none without one (PII-4)."""
    value = request.POST.get("approval", "").strip()
    return int(value) if value.isdigit() else None


def _list_filters(request: HttpRequest) -> Any:
    form = HouseholdSearchForm(request.POST, regions=region_options(request.user))
    if not form.is_valid():
        return None
    return form.filters()


@authenticated
@require_http_methods(["POST"])
def export_roster(request: HttpRequest) -> HttpResponseBase:
    """The roster (花名册, .xlsx) of the household list's current filters; POST keeps them out of URLs."""
    filters = _list_filters(request)
    if filters is None:
        return HttpResponse(
            _("筛选条件有误。"), status=400, content_type="text/plain; charset=utf-8"
        )
    unmasked, approval = _unmasked(request), _approval(request)
    limit = int(getattr(settings, "EXPORT_INLINE_MAX_HOUSEHOLDS", 5000))
    if export_households(request.user, filters).count() > limit:
        # a large roster (a whole county) is written by the worker, downloaded when done
        try:
            job = do_queue_export_roster(
                filters, actor=request.user, unmasked=unmasked, approval=approval
            )
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        return redirect("web:export_job", export_job_id=job.pk)
    return _export(
        lambda out: do_export_roster(
            filters, out, actor=request.user, unmasked=unmasked, approval=approval
        ),
        "roster",
    )


def _export_job_or_404(request: HttpRequest, job_id: int) -> ExportJob:
    try:
        return export_job_for(request.user, job_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc


@authenticated
@require_http_methods(["GET"])
def export_job(request: HttpRequest, export_job_id: int) -> HttpResponse:
    """A queued export: its state (the page reloads itself until it ends), then the download."""
    job = _export_job_or_404(request, export_job_id)
    _poll_without_session_write(request)
    described = filters_of(job).described()  # an ID-shaped search term comes masked
    context = {
        "nav": "households",
        "job": job,
        "described": described,
        "ready": job.status == ExportJob.DONE and export_file_path(job).exists(),
        "retention_days": f"{float(getattr(settings, 'JOB_RETENTION_DAYS', 7)):g}",
    }
    return render(request, "web/export_job.html", context)


@authenticated
@require_http_methods(["GET"])
def export_job_download(request: HttpRequest, export_job_id: int) -> HttpResponseBase:
    """The file of a finished export, to the account that asked for it only."""
    job = _export_job_or_404(request, export_job_id)
    path = export_file_path(job)
    if job.status != ExportJob.DONE or not path.exists():
        raise Http404(_("导出文件不存在或已过保留期。"))
    stamp = timezone.localtime(job.finished_at).strftime("%Y%m%d-%H%M")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{job.kind}-{stamp}.{job.format}",
        content_type=CONTENT_TYPES[job.format],
    )


@authenticated
@require_http_methods(["POST"])
def export_facts(request: HttpRequest) -> HttpResponseBase:
    """Household facts (JSON) of the list's current filters for one year."""
    filters = _list_filters(request)
    years = {str(y) for y, _label in year_choices()}
    year = request.POST.get("year", "")
    if filters is None or year not in years:
        return HttpResponse(
            _("筛选条件有误。"), status=400, content_type="text/plain; charset=utf-8"
        )
    unmasked, approval = _unmasked(request), _approval(request)
    return _export(
        lambda out: do_export_facts(
            filters, int(year), out, actor=request.user, unmasked=unmasked, approval=approval
        ),
        f"facts-{year}",
    )


@authenticated
@require_http_methods(["POST"])
def export_card(request: HttpRequest, household_id: int) -> HttpResponseBase:
    """The household card (明白卡) as PDF or .xlsx."""
    fmt = request.POST.get("format", "pdf")
    unmasked, approval = _unmasked(request), _approval(request)
    return _export(
        lambda out: do_export_card(
            household_id, fmt, out, actor=request.user, unmasked=unmasked, approval=approval
        ),
        f"card-{household_id}",
    )


@authenticated
@require_http_methods(["GET", "POST"])
def unmasked_requests(request: HttpRequest) -> HttpResponse:
    """Unmasked export requests (PII-4): ask for one with a reason; the user's own requests with
    their 审批单号; the requests of others this user may approve or refuse."""
    user = request.user
    if not may_take_part_in_unmasked_exports(user):
        raise PermissionDenied(_("您没有导出未脱敏数据的权限，请联系安全管理员授权。"))
    regions = list(
        visible_regions(user).filter(level__in=["county", "township", "village"]).order_by("code")
    )
    form = UnmaskedRequestForm(request.POST or None, regions=regions)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            code = data["household_code"].strip()
            household = households_for(user).filter(household_code=code).first() if code else None
            try:
                if code and household is None:
                    raise OutOfScope(_("未找到户编号为“%(code)s”的户。") % {"code": code})
                made = do_request_unmasked_export(
                    data["kind"],
                    data["reason"],
                    actor=user,
                    region_code=data["region"] if household is None else "",
                    household_id=household.pk if household else None,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("已提交申请，审批单号 %(id)s，待另一名有权限的人员审批。") % {"id": made.pk},
                )
                return redirect("web:unmasked_requests")
    context = {
        "form": form,
        "mine": own_requests(user)[:50],
        "to_decide": requests_to_decide(user),
        "hours": settings.UNMASKED_EXPORT_APPROVAL_HOURS,
        "nav": "households",
    }
    return render(request, "web/unmasked_requests.html", context, status=status)


@authenticated
@require_http_methods(["POST"])
def decide_unmasked_request(request: HttpRequest, request_id: int, verdict: str) -> HttpResponse:
    """Approve or refuse another person's unmasked export request (audited either way)."""
    note = request.POST.get("note", "")[:500]
    try:
        if verdict == "approve":
            do_approve_unmasked_export(request_id, actor=request.user, note=note)
        else:
            do_refuse_unmasked_export(request_id, actor=request.user, note=note)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("web:unmasked_requests")
    done = _("已批准审批单号 %(id)s。") if verdict == "approve" else _("已驳回审批单号 %(id)s。")
    messages.success(request, done % {"id": request_id})
    return redirect("web:unmasked_requests")


@authenticated
@require_http_methods(["GET", "POST"])
def notice(request: HttpRequest) -> HttpResponseBase:
    """Village posting notice (公示): choose a village and its households, get a PDF."""
    user = request.user
    villages: list[Any] = [r for r in region_options(user) if r.level == "village"]
    if getattr(user, "role", "") == "helper":
        villages = list(visible_regions(user).filter(level="village").order_by("code"))
    data = request.POST if request.method == "POST" else request.GET
    village = data.get("village", "")
    form = NoticeForm(
        request.POST if request.method == "POST" else None,
        villages=villages,
        initial={"village": village},
    )
    households: list[Household] = []
    if village and village in {r.code for r in villages}:
        try:
            households = list(notice_candidates(user, village))
        except OutOfScope as exc:
            raise Http404(exc.message) from exc
    if request.method == "POST" and form.is_valid():
        spec = NoticeSpec(
            form.cleaned_data["kind"],
            form.cleaned_data["start"],
            form.cleaned_data["days"],
            form.cleaned_data["issuer"].strip(),
        )
        ids = [int(i) for i in request.POST.getlist("household") if i.isdigit()]
        if ids:
            return _export(
                lambda out: do_export_notice(village, ids, spec, out, actor=user),
                f"notice-{village}",
            )
        form.add_error(None, _("请至少选择一户。"))
    context = {
        "nav": "households",
        "form": form,
        "households": households,
        "village": village,
        "chosen": {int(i) for i in data.getlist("household") if i.isdigit()},
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "web/notice.html", context, status=status)
