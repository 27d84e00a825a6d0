"""Pages of the project bank and the fund ledger (issue 23 items 1-2).

/projects/ lists the projects of the user's scope (county, township, village staff, auditors) and
lets village, township and county staff propose one; /projects/<id>/ shows a project with its
lifecycle moves, funding plan, postings (公告公示, PDF), benefit links (联农带农), its money by
source and the forms to allocate and pay; /funds/ is the county's ledger (sources, receipts,
postings, reversals, file import); /funds/reconciliation/ the reconciliation (+ .xlsx).

Thin like the other views: `projects.selectors` for reads, `projects.actions` and
`projects.ledger` for writes. A refusal shows the action's Chinese sentence with the status its
error carries (403 role, 404 out of scope, 409 stale or key conflict, 400 otherwise).
"""

from __future__ import annotations

import datetime
import io
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.projects import lifecycle
from jingzhun.projects.actions import (
    do_create_project,
    do_download_project_posting,
    do_export_fund_posting,
    do_export_reconciliation,
    do_link_benefit,
    do_move_project,
    do_post_project,
    do_set_project_funding,
    do_unlink_benefit,
)
from jingzhun.projects.choices import (
    BENEFIT_KINDS,
    DISBURSERS,
    FUND_WRITERS,
    PROJECT_KINDS,
    PROJECT_PROPOSERS,
    PROJECT_READERS,
    SOURCE_KINDS,
)
from jingzhun.projects.ledger import (
    do_allocate_funds,
    do_create_fund_source,
    do_disburse_funds,
    do_receive_funds,
    do_reverse_posting,
)
from jingzhun.projects.models import PostingImport
from jingzhun.projects.money import parse_yuan
from jingzhun.projects.posting_jobs import do_submit_postings
from jingzhun.projects.scope import counties_of
from jingzhun.projects.selectors import (
    benefit_summary,
    benefits_of,
    postings_for,
    postings_of_project,
    project_for,
    project_funds,
    projects_for,
    reconciliation,
    source_rows,
    sources_for,
    state_counts,
)
from jingzhun.registry.selectors import households_for, region_options

from .policies import authenticated
from .writes import run_write
from .writes import status as write_status

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _reader(request: HttpRequest) -> None:
    if getattr(request.user, "role", "") not in PROJECT_READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))


def _county(request: HttpRequest) -> str:
    counties = counties_of(request.user)
    if not counties:
        raise Http404(_("未找到该页面，或您无权访问。"))
    wanted = request.GET.get("county") or request.POST.get("county") or counties[0]
    if wanted not in counties:
        raise Http404(_("未找到该县的资金账，或您无权访问。"))
    return wanted


def _date(value: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError as exc:
        raise DomainError(_("日期应为 YYYY-MM-DD。"), field="date") from exc


def _int(value: str | None, field: str) -> int:
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 18:
        raise DomainError(_("请选择或填写有效的编号。"), field=field)
    return int(text)


@authenticated
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponseBase:
    """The projects of the user's scope, by state; proposers get the proposal form."""
    _reader(request)
    user = request.user
    if request.method == "POST":
        if getattr(user, "role", "") not in PROJECT_PROPOSERS:
            raise PermissionDenied(_("您的角色无权申报项目。"))
        made: list[Any] = []

        def create() -> None:
            made.append(
                do_create_project(
                    request.POST.get("region", ""),
                    request.POST.get("name", ""),
                    request.POST.get("kind", ""),
                    _int(request.POST.get("year"), "year"),
                    parse_yuan(request.POST.get("budget"), field="budget", allow_zero=True),
                    task=request.POST.get("task", ""),
                    targets=request.POST.get("targets", ""),
                    benefit_mechanism=request.POST.get("benefit_mechanism", ""),
                    implementer=request.POST.get("implementer", ""),
                    responsible=request.POST.get("responsible", ""),
                    actor=user,
                )
            )

        if run_write(request, create, _("已申报项目。")):
            return redirect("web:project", project_id=made[0].pk)
    state = request.GET.get("state", "")
    kind = request.GET.get("kind", "")
    qs = projects_for(
        user,
        state=state if state in lifecycle.STATES else "",
        kind=kind if kind in PROJECT_KINDS else "",
        q=request.GET.get("q", "")[:50],
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "projects",
        "page": page,
        "counts": [(s, lifecycle.STATES[s], n) for s, n in state_counts(user).items()],
        "states": lifecycle.STATES,
        "kinds": PROJECT_KINDS,
        "state": state,
        "kind": kind,
        "proposes": getattr(user, "role", "") in PROJECT_PROPOSERS,
        "regions": region_options(user) if getattr(user, "role", "") in PROJECT_PROPOSERS else [],
        "counties": counties_of(user),
        "year": timezone.localdate().year,
        "form": request.POST if request.method == "POST" else {},
    }
    status = write_status(request)
    return render(request, "web/projects.html", context, status=status)


@authenticated
@require_http_methods(["GET", "POST"])
def project(request: HttpRequest, project_id: int) -> HttpResponseBase:
    """One project; POST `form` = move | funding | posting | benefit | unlink | allocate | pay."""
    _reader(request)
    user = request.user
    try:
        p = project_for(user, project_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        form = request.POST.get("form", "")
        post = request.POST
        today = timezone.localdate()
        key = post.get("key") or uuid.uuid4().hex
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "move": (
                lambda: do_move_project(
                    p.pk,
                    post.get("move", ""),
                    expected_version=_int(post.get("version"), "version"),
                    reason=post.get("reason", ""),
                    actor=user,
                ),
                _("已办理。"),
            ),
            "funding": (
                lambda: do_set_project_funding(
                    p.pk,
                    _int(post.get("source"), "source"),
                    parse_yuan(post.get("planned"), field="planned", allow_zero=True),
                    actor=user,
                ),
                _("已保存资金计划。"),
            ),
            "posting": (
                lambda: do_post_project(
                    p.pk,
                    post.get("kind", ""),
                    _date(post.get("start")),
                    days=_int(post.get("days"), "days"),
                    issuer=post.get("issuer", ""),
                    actor=user,
                ),
                _("已发布公告。"),
            ),
            "benefit": (lambda: _link(request, p.pk), _("已登记受益农户。")),
            "unlink": (
                lambda: do_unlink_benefit(
                    _int(post.get("link"), "link"), post.get("reason", ""), actor=user
                ),
                _("已撤销该受益登记。"),
            ),
            "allocate": (
                lambda: do_allocate_funds(
                    p.pk,
                    _int(post.get("source"), "source"),
                    parse_yuan(post.get("amount")),
                    _date(post.get("on_date") or today.isoformat()),
                    key=key,
                    memo=post.get("memo", ""),
                    actor=user,
                ),
                _("已下达资金。"),
            ),
            "pay": (
                lambda: do_disburse_funds(
                    p.pk,
                    _int(post.get("source"), "source"),
                    parse_yuan(post.get("amount")),
                    _date(post.get("on_date") or today.isoformat()),
                    key=key,
                    voucher=post.get("voucher", ""),
                    payee=post.get("payee", ""),
                    memo=post.get("memo", ""),
                    actor=user,
                ),
                _("已支付。"),
            ),
        }
        if form not in work:
            return HttpResponse(
                _("未知的表单。"), status=400, content_type="text/plain; charset=utf-8"
            )
        if run_write(request, *work[form]):
            return redirect("web:project", project_id=p.pk)
        p = project_for(user, project_id)
    role = getattr(user, "role", "")
    funds = project_funds(p)
    context = {
        "nav": "projects",
        "p": p,
        "steps": list(p.steps.select_related("actor").order_by("at", "pk")),
        "moves": lifecycle.allowed_moves(p.state, role),
        "funds": funds,
        "benefits": benefits_of(p),
        "summary": benefit_summary(p),
        "postings": postings_of_project(p),
        "sources": sources_for(user, year=None) if role == "county" else [],
        "benefit_kinds": BENEFIT_KINDS,
        "county_writes": role in FUND_WRITERS,
        "pays": role in DISBURSERS and p.state in lifecycle.PAYABLE,
        "allocates": role in FUND_WRITERS and p.state in lifecycle.ALLOCATABLE,
        "proposes": role in PROJECT_PROPOSERS,
        "today": timezone.localdate(),
        "key": uuid.uuid4().hex,
    }
    status = write_status(request)
    return render(request, "web/project.html", context, status=status)


def _link(request: HttpRequest, project_id: int) -> Any:
    """The household by its code, among the user's households; then the benefit link."""
    code = request.POST.get("household_code", "").strip()[:32]
    household = households_for(request.user).filter(household_code=code).first()
    if household is None:
        raise DomainError(
            _("未找到户编号为“%(code)s”的农户，或您无权访问。") % {"code": code}, field="household"
        )
    return do_link_benefit(
        project_id,
        household.pk,
        request.POST.get("kind", ""),
        _int(request.POST.get("year"), "year"),
        parse_yuan(request.POST.get("amount"), allow_zero=True),
        note=request.POST.get("note", ""),
        actor=request.user,
    )


def _file(write: Callable[[Any], str], content_type: str) -> HttpResponseBase:
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    try:
        name = write(out)
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
    response = FileResponse(out, as_attachment=True, filename=name, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


@authenticated
@require_http_methods(["GET"])
def fund_posting(request: HttpRequest, project_id: int, fmt: str) -> HttpResponseBase:
    """The project's fund posting (资金公告) as PDF or .xlsx (audited)."""
    _reader(request)
    content_type = "application/pdf" if fmt == "pdf" else XLSX
    return _file(
        lambda out: do_export_fund_posting(project_id, fmt, out, actor=request.user), content_type
    )


@authenticated
@require_http_methods(["GET"])
def posting_pdf(request: HttpRequest, posting_id: int) -> HttpResponseBase:
    """A project posting's PDF as it was put up (audited)."""
    _reader(request)
    try:
        posting = do_download_project_posting(posting_id, actor=request.user)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    response = FileResponse(
        io.BytesIO(bytes(posting.pdf)),
        as_attachment=True,
        filename=f"posting-{posting.project_id}-{posting.kind}-{posting.pk}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "no-store"
    return response


@authenticated
@require_http_methods(["GET", "POST"])
def funds(request: HttpRequest) -> HttpResponseBase:
    """The county's ledger: sources with their money, recent postings; county staff register
    sources and receipts, reverse postings and import a file of postings."""
    county = _county(request)
    user = request.user
    if request.method == "POST":
        if getattr(user, "role", "") not in FUND_WRITERS:
            raise PermissionDenied(_("只有县级业务人员可以登记资金。"))
        post = request.POST
        form = post.get("form", "")
        key = post.get("key") or uuid.uuid4().hex
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "source": (
                lambda: do_create_fund_source(
                    county,
                    _int(post.get("year"), "year"),
                    post.get("kind", ""),
                    post.get("name", ""),
                    document=post.get("document", ""),
                    actor=user,
                ),
                _("已登记资金来源。"),
            ),
            "receipt": (
                lambda: do_receive_funds(
                    _int(post.get("source"), "source"),
                    parse_yuan(post.get("amount")),
                    _date(post.get("on_date")),
                    key=key,
                    memo=post.get("memo", ""),
                    actor=user,
                ),
                _("已登记资金到账。"),
            ),
            "reverse": (
                lambda: do_reverse_posting(
                    _int(post.get("posting"), "posting"),
                    post.get("reason", ""),
                    key=key,
                    actor=user,
                ),
                _("已冲正。"),
            ),
        }
        submitted: list[PostingImport] = []
        work["import"] = (
            lambda: submitted.append(_import(request, county)),
            _("文件已提交，正在后台导入。"),
        )
        if form not in work:
            return HttpResponse(
                _("未知的表单。"), status=400, content_type="text/plain; charset=utf-8"
            )
        if run_write(request, *work[form]):
            if submitted:  # the import runs on the queue: its page shows the progress
                return redirect("web:funds_import", job_id=submitted[0].pk)
            return redirect(f"{request.path}?county={county}")
    kind = request.GET.get("kind", "")
    context = {
        "nav": "funds",
        "county": county,
        "counties": counties_of(user),
        "rows": source_rows(user, county),
        "postings": postings_for(
            user,
            county,
            kind=kind if kind in ("receipt", "allocation", "disbursement", "reversal") else "",
        ),
        "source_kinds": SOURCE_KINDS,
        "writes": getattr(user, "role", "") in FUND_WRITERS,
        "today": timezone.localdate(),
        "year": timezone.localdate().year,
        "key": uuid.uuid4().hex,
    }
    status = write_status(request)
    return render(request, "web/funds.html", context, status=status)


def _import(request: HttpRequest, county: str) -> PostingImport:
    upload = request.FILES.get("file")
    if upload is None:
        raise DomainError(_("请选择要导入的 CSV 文件。"), field="file")
    return do_submit_postings(county, upload.name or "", upload.read(), actor=request.user)


@authenticated
@require_http_methods(["GET"])
def funds_import(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """A postings file's import: its step while the worker runs it, then its batch or its
    reason. Only the county's fund staff who may import see it (others: 404)."""
    job = PostingImport.objects.filter(pk=job_id).select_related("batch").first()
    user = request.user
    if (
        job is None
        or getattr(user, "role", "") not in FUND_WRITERS
        or job.county_code not in counties_of(user)
    ):
        raise Http404(_("未找到该导入任务，或您无权访问。"))
    running = job.status in (PostingImport.QUEUED, PostingImport.RUNNING)
    context = {"nav": "funds", "job": job, "running": running, "county": job.county_code}
    return render(request, "web/funds_import.html", context)


@authenticated
@require_http_methods(["GET"])
def funds_reconciliation(request: HttpRequest) -> HttpResponseBase:
    """Each account's balance against its postings, the county's sum, sources and projects."""
    county = _county(request)
    if request.GET.get("format") == "xlsx":
        return _file(lambda out: do_export_reconciliation(county, out, actor=request.user), XLSX)
    context = {"nav": "funds", "county": county, "report": reconciliation(request.user, county)}
    return render(request, "web/funds_reconciliation.html", context)
