"""Pages of microcredit (issue 23 item 3): /credit/ the loans of the user's scope with filters and
figures, /credit/new/ the new-loan form with its eligibility trace, /credit/<id>/ a loan's card
(schedule, repayments, extension, compensation), /credit/overdue/ (+ .xlsx) the overdue list by
township and village, /credit/statements/ bank statements imported on the task queue,
/credit/fund/ the county's risk-compensation fund.

Thin: `credit.selectors` for reads, `credit.actions`/`credit.statements` for writes. A refusal
shows the action's Chinese sentence with its status (403 role, 404 scope, 409 key, 400 input).
"""

from __future__ import annotations

import datetime
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.credit.actions import (
    LoanTerms,
    Payment,
    do_compensate_loan,
    do_create_loan,
    do_deposit_risk_fund,
    do_export_overdue,
    do_extend_loan,
    do_mark_overdue,
    do_record_repayment,
    judge_application,
)
from jingzhun.credit.choices import (
    CREDIT_RATINGS,
    FUND_WRITERS,
    LOAN_STATUS,
    LOAN_WRITERS,
    PURPOSES,
    STATEMENT_WRITERS,
)
from jingzhun.credit.scope import counties_of, reads_loans
from jingzhun.credit.selectors import (
    figures,
    fund_for,
    loan_for,
    loans_for,
    overdue_for,
    statement_for,
    statements_for,
)
from jingzhun.credit.statements import do_submit_statement
from jingzhun.projects.money import parse_yuan
from jingzhun.regions.models import Region
from jingzhun.registry.idcard import mask as mask_id
from jingzhun.registry.selectors import households_for, region_options

from .policies import authenticated
from .writes import run_write
from .writes import status as write_status

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 5 * 1024 * 1024


def _reader(request: HttpRequest) -> None:
    if not reads_loans(request.user):
        raise Http404(_("未找到该页面，或您无权访问。"))


def _county(request: HttpRequest) -> str:
    counties = counties_of(request.user)
    if not counties:
        raise Http404(_("未找到该页面，或您无权访问。"))
    wanted = request.GET.get("county") or request.POST.get("county") or counties[0]
    if wanted not in counties:
        raise Http404(_("未找到该县的小额信贷台账，或您无权访问。"))
    return wanted


def _date(value: str | None, field: str = "date") -> datetime.date:
    try:
        return datetime.date.fromisoformat((value or "").strip())
    except ValueError as exc:
        raise DomainError(_("日期应为 YYYY-MM-DD。"), field=field) from exc


def _int(value: str | None, field: str, label: str) -> int:
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 9:
        raise DomainError(_("请填写有效的%(label)s。") % {"label": label}, field=field)
    return int(text)


def _rate_bp(value: str | None) -> int:
    """A rate typed in percent ("3.45") → basis points."""
    text = (value or "").strip().rstrip("%")
    try:
        bp = round(float(text) * 100)
    except ValueError as exc:
        raise DomainError(_("年利率应为百分数，如 3.45。"), field="rate") from exc
    if not 0 <= bp <= 2400 or abs(float(text) * 100 - bp) > 1e-6:
        raise DomainError(_("年利率应在 0 至 24 之间，最多两位小数。"), field="rate")
    return bp


@authenticated
@require_http_methods(["GET"])
def loan_list(request: HttpRequest) -> HttpResponseBase:
    """The loans of the user's scope; filters status, region, bank, contract or head's name."""
    _reader(request)
    user = request.user
    status = request.GET.get("status", "")
    status = status if status in LOAN_STATUS or status == "open" else ""
    region = request.GET.get("region", "")[:12]
    q = request.GET.get("q", "").strip()[:40]
    bank = request.GET.get("bank", "").strip()[:50]
    qs = loans_for(user, status=status, region=region, q=q, bank=bank)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {
        k: v for k, v in {"status": status, "region": region, "q": q, "bank": bank}.items() if v
    }
    context = {
        "nav": "credit",
        "page": page,
        "query": urlencode(filters) + "&" if filters else "",
        "statuses": LOAN_STATUS,
        "status": status,
        "region": region,
        "townships": [r for r in region_options(user) if r.level == "township"],
        "figures": figures(user, region=region),
        "writes": getattr(user, "role", "") in LOAN_WRITERS,
        "county_staff": bool(counties_of(user)),
    }
    return render(request, "web/credit/loans.html", context)


def _terms(post: Any) -> LoanTerms:
    return LoanTerms(
        bank_name=post.get("bank_name", ""),
        contract_no=post.get("contract_no", ""),
        amount_fen=parse_yuan(post.get("amount"), field="amount"),
        rate_bp=_rate_bp(post.get("rate")),
        term_months=_int(post.get("term_months"), "term_months", _("期限")),
        start_date=_date(post.get("start_date"), "start_date"),
        credit_rating=post.get("credit_rating", ""),
        purpose=post.get("purpose", ""),
    )


@authenticated
@require_http_methods(["GET", "POST"])
def loan_new(request: HttpRequest) -> HttpResponseBase:
    """Find the household by its code, choose the borrower, check (the trace), register."""
    user = request.user
    if getattr(user, "role", "") not in LOAN_WRITERS:
        raise PermissionDenied(_("您的角色无权登记小额信贷。"))
    data = request.POST if request.method == "POST" else request.GET
    code = data.get("household_code", "").strip()[:32]
    household = households_for(user).filter(household_code=code).first() if code else None
    members = []
    if household is not None:
        members = [
            (m.pk, m.name, mask_id(m.id_number or ""), m.get_relation_display())
            for m in household.members.filter(left_on__isnull=True).order_by("pk")
        ]
    elif code:
        messages.error(
            request, _("未找到户编号为“%(code)s”的农户，或您无权访问。") % {"code": code}
        )
    judgement = None
    if request.method == "POST" and household is not None:
        made: list[Any] = []

        def check() -> None:
            borrower = _int(request.POST.get("borrower"), "borrower", _("借款人"))
            terms = _terms(request.POST)
            if request.POST.get("step") == "create":
                made.append(do_create_loan(household.pk, borrower, terms, actor=user))
            else:
                made.append(judge_application(household.pk, borrower, terms, actor=user))

        step = request.POST.get("step")
        if run_write(
            request, check, _("已登记贷款。") if step == "create" else _("已完成资格审查。")
        ):
            if step == "create":
                return redirect("web:credit_loan", loan_id=made[0].pk)
            judgement = made[0]
    context = {
        "nav": "credit",
        "code": code,
        "household": household,
        "members": members,
        "form": request.POST if request.method == "POST" else {},
        "ratings": CREDIT_RATINGS,
        "purposes": PURPOSES,
        "judgement": judgement,
        "today": timezone.localdate(),
    }
    return render(request, "web/credit/loan_new.html", context, status=write_status(request))


@authenticated
@require_http_methods(["GET", "POST"])
def loan(request: HttpRequest, loan_id: int) -> HttpResponseBase:
    """A loan's card; POST `form` = repay | extend | compensate."""
    _reader(request)
    user = request.user
    try:
        item = loan_for(user, loan_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        post = request.POST
        key = (post.get("key") or uuid.uuid4().hex)[:64]
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "repay": (
                lambda: do_record_repayment(
                    item.pk,
                    Payment(
                        _date(post.get("paid_on"), "paid_on"),
                        parse_yuan(
                            post.get("principal") or "0", field="principal", allow_zero=True
                        ),
                        parse_yuan(post.get("interest") or "0", field="interest", allow_zero=True),
                    ),
                    key=key,
                    actor=user,
                ),
                _("已登记还款。"),
            ),
            "extend": (
                lambda: do_extend_loan(
                    item.pk,
                    _date(post.get("new_end_date"), "new_end_date"),
                    post.get("reason", ""),
                    expected_version=_int(post.get("version"), "version", _("版本")),
                    actor=user,
                ),
                _("已办理展期。"),
            ),
            "compensate": (
                lambda: do_compensate_loan(
                    item.pk, _date(post.get("on_date"), "on_date"), key=key, actor=user
                ),
                _("已由风险补偿金代偿。"),
            ),
        }
        form = post.get("form", "")
        if form not in work:
            return HttpResponse(
                _("未知的表单。"), status=400, content_type="text/plain; charset=utf-8"
            )
        if run_write(request, *work[form]):
            return redirect("web:credit_loan", loan_id=item.pk)
        item = loan_for(user, loan_id)
    role = getattr(user, "role", "")
    repayments = list(item.repayments.order_by("paid_on", "pk"))
    context = {
        "nav": "credit",
        "loan": item,
        "borrower_id": mask_id(item.borrower.id_number or ""),
        "schedule": list(item.schedule.order_by("seq")),
        "repayments": repayments,
        "paid": {
            "principal": sum(r.principal_fen for r in repayments),
            "interest": sum(r.interest_fen for r in repayments),
            "subsidy": sum(r.subsidy_fen for r in repayments),
        },
        "extension": getattr(item, "extension", None) if hasattr(item, "extension") else None,
        "writes": role in LOAN_WRITERS and item.status in ("active", "extended", "overdue"),
        "compensates": role in FUND_WRITERS and item.status == "overdue",
        "key": uuid.uuid4().hex,
        "today": timezone.localdate(),
    }
    return render(request, "web/credit/loan.html", context, status=write_status(request))


def _overdue_summary(qs: Any) -> list[dict[str, Any]]:
    rows = (
        qs.order_by()
        .values("township_code", "village_code")
        .annotate(n=Count("pk"), amount=Sum("outstanding_fen"))
        .order_by("township_code", "village_code")
    )
    rows = list(rows)
    names = dict(
        Region.objects.filter(
            code__in={r["village_code"] for r in rows} | {r["township_code"] for r in rows}
        ).values_list("code", "name")
    )
    for r in rows:
        r["village"] = names.get(r["village_code"], r["village_code"])
        r["township"] = names.get(r["township_code"], r["township_code"])
    return rows


@authenticated
@require_http_methods(["GET"])
def overdue(request: HttpRequest) -> HttpResponseBase:
    """Overdue loans by township and village, and the loans (masked)."""
    _reader(request)
    user = request.user
    region = request.GET.get("region", "")[:12]
    qs = overdue_for(user, region=region)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [(x, (today - x.end_date).days) for x in page.object_list]
    context = {
        "nav": "credit",
        "page": page,
        "rows": rows,
        "summary": _overdue_summary(overdue_for(user)),
        "region": region,
        "query": f"region={region}&" if region else "",
        "figures": figures(user, region=region),
    }
    return render(request, "web/credit/overdue.html", context)


@authenticated
@require_http_methods(["GET"])
def overdue_xlsx(request: HttpRequest) -> HttpResponseBase:
    _reader(request)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    try:
        do_export_overdue(request.user, out, region=request.GET.get("region", "")[:12])
    except Forbidden as exc:
        out.close()
        raise PermissionDenied(exc.message) from exc
    out.seek(0)
    name = f"逾期贷款清单-{timezone.localdate().isoformat()}.xlsx"
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)


@authenticated
@require_http_methods(["GET", "POST"])
def statements(request: HttpRequest) -> HttpResponseBase:
    """The county's bank statements; county staff upload one (imported by the worker)."""
    county = _county(request)
    user = request.user
    if request.method == "POST":
        if getattr(user, "role", "") not in STATEMENT_WRITERS:
            raise PermissionDenied(_("您的角色无权导入银行对账单。"))
        made: list[Any] = []

        def submit() -> None:
            upload = request.FILES.get("file")
            if upload is None:
                raise DomainError(_("请选择对账单文件（.xlsx 或 .csv）。"), field="file")
            if upload.size and upload.size > MAX_UPLOAD:
                raise DomainError(_("文件超过 5 MB，请按月拆分后导入。"), field="file")
            made.append(
                do_submit_statement(
                    county,
                    request.POST.get("bank_name", ""),
                    upload.name or "",
                    upload.read(),
                    actor=user,
                )
            )

        if run_write(request, submit, _("已上传，正在后台导入。")):
            return redirect("web:credit_statement", statement_id=made[0].pk)
    context = {
        "nav": "credit",
        "county": county,
        "jobs": statements_for(user)[:50],
        "uploads": getattr(user, "role", "") in STATEMENT_WRITERS,
    }
    return render(request, "web/credit/statements.html", context, status=write_status(request))


@authenticated
@require_http_methods(["GET"])
def statement(request: HttpRequest, statement_id: int) -> HttpResponseBase:
    """One import: progress (polled by HTMX while it runs), then the reconciliation report."""
    try:
        job = statement_for(request.user, statement_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    return render(request, "web/credit/statement.html", {"nav": "credit", "job": job})


@authenticated
@require_http_methods(["GET", "POST"])
def fund(request: HttpRequest) -> HttpResponseBase:
    """The county's risk-compensation fund; POST `form` = deposit | overdue (county staff)."""
    county = _county(request)
    user = request.user
    if request.method == "POST":
        if getattr(user, "role", "") not in FUND_WRITERS:
            raise PermissionDenied(_("您的角色无权管理风险补偿金。"))
        post = request.POST
        work: dict[str, tuple[Callable[[], Any], str]] = {
            "deposit": (
                lambda: do_deposit_risk_fund(
                    county,
                    parse_yuan(post.get("amount")),
                    _date(post.get("on_date"), "on_date"),
                    key=(post.get("key") or uuid.uuid4().hex)[:64],
                    memo=post.get("memo", ""),
                    actor=user,
                ),
                _("已注入风险补偿金。"),
            ),
            "overdue": (lambda: do_mark_overdue(county, actor=user), _("已更新逾期状态。")),
        }
        form = post.get("form", "")
        if form not in work:
            return HttpResponse(
                _("未知的表单。"), status=400, content_type="text/plain; charset=utf-8"
            )
        if run_write(request, *work[form]):
            return redirect("web:credit_fund")
    balance, postings = fund_for(user, county)
    context = {
        "nav": "credit",
        "county": county,
        "fund": balance,
        "postings": postings[:100],
        "writes": getattr(user, "role", "") in FUND_WRITERS,
        "key": uuid.uuid4().hex,
        "today": timezone.localdate(),
        "figures": figures(user, region=county),
    }
    return render(request, "web/credit/fund.html", context, status=write_status(request))
