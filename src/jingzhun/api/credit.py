"""API routes of microcredit (issue 23 item 3): /api/credit/loans…, /api/credit/overdue,
/api/credit/figures.

Thin: `credit.selectors` for reads (scoped by the households' regions; helpers their paired
households), `credit.actions` for writes. Money is integer fen. Borrower ID numbers, phones and
bank accounts are masked. A refusal is the action's Chinese sentence with its status: 400 bad
input (a repayment above the outstanding balance…), 403 role, 404 out of scope, 409 a key used
for another repayment.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.credit.actions import Payment, do_record_repayment
from jingzhun.credit.models import Loan, Repayment
from jingzhun.credit.selectors import figures, loan_for, loans_for, overdue_for
from jingzhun.projects.money import MAX_FEN
from jingzhun.registry.idcard import mask as mask_id
from jingzhun.registry.masking import mask_bank_account, mask_phone

from . import schemas as s

AUTHENTICATED = {"x-jingzhun-policy": "authenticated"}
PathId = Path(..., ge=1, le=s.MAX_ID)
Region = Field("", pattern=r"^(\d{12})?$", description="区划代码（12 位：县、乡镇或村）")

router = Router(tags=["小额信贷"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class LoanOut(Schema):
    id: int
    version: int
    contract_no: str
    bank_name: str
    household_id: int
    household_code: str
    village_code: str
    borrower: str
    borrower_id_number: str = Field(..., description="已脱敏")
    amount_fen: int
    outstanding_fen: int
    rate_bp: int
    term_months: int
    start_date: datetime.date
    end_date: datetime.date
    status: str
    status_label: str
    subsidy_share_pct: int
    policy_version: str


class LoanPage(Schema):
    total: int
    rows: list[LoanOut]


class LoanParams(Schema):
    status: str = Field("", max_length=12)
    region: str = Region
    q: str = Field("", max_length=40)
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=500)


class CriterionOut(Schema):
    id: str
    label: str
    outcome: str
    detail: str
    source: str


class ScheduleOut(Schema):
    seq: int
    due_date: datetime.date
    principal_fen: int
    interest_fen: int


class RepaymentOut(Schema):
    id: int
    key: str
    paid_on: datetime.date
    principal_fen: int
    interest_fen: int
    subsidy_fen: int
    overdue: bool
    source: str
    statement_row: int | None


class LoanDetailOut(LoanOut):
    eligibility: list[CriterionOut]
    warnings: list[str]
    schedule: list[ScheduleOut]
    repayments: list[RepaymentOut]


class RepaymentIn(Schema):
    key: str = Field(..., min_length=1, max_length=64, description="幂等键：重试同一请求时不变")
    paid_on: datetime.date
    principal_fen: int = Field(0, ge=0, lt=MAX_FEN)
    interest_fen: int = Field(0, ge=0, lt=MAX_FEN)


class OverdueOut(LoanOut):
    overdue_days: int
    phone: str = Field(..., description="已脱敏")
    bank_account: str = Field(..., description="已脱敏")


class OverduePage(Schema):
    total: int
    rows: list[OverdueOut]


class FigureParams(Schema):
    region: str = Region


class FiguresOut(Schema):
    outstanding_count: int
    outstanding_fen: int
    overdue_count: int
    overdue_fen: int
    overdue_rate_pct: str


def _loan(loan: Loan) -> dict[str, Any]:
    return {
        "id": loan.pk,
        "version": loan.version,
        "contract_no": loan.contract_no,
        "bank_name": loan.bank_name,
        "household_id": loan.household_id,
        "household_code": loan.household.household_code,
        "village_code": loan.village_code,
        "borrower": loan.borrower.name,
        "borrower_id_number": mask_id(loan.borrower.id_number or ""),
        "amount_fen": loan.amount_fen,
        "outstanding_fen": loan.outstanding_fen,
        "rate_bp": loan.rate_bp,
        "term_months": loan.term_months,
        "start_date": loan.start_date,
        "end_date": loan.end_date,
        "status": loan.status,
        "status_label": loan.status_label,
        "subsidy_share_pct": loan.subsidy_share_pct,
        "policy_version": loan.policy_version,
    }


def _repayment(r: Repayment) -> dict[str, Any]:
    return {
        "id": r.pk,
        "key": r.key,
        "paid_on": r.paid_on,
        "principal_fen": r.principal_fen,
        "interest_fen": r.interest_fen,
        "subsidy_fen": r.subsidy_fen,
        "overdue": r.overdue,
        "source": r.source,
        "statement_row": r.statement_row,
    }


@router.get(
    "/credit/loans",
    response={200: LoanPage, **s.LIST},
    summary="小额信贷：调用者范围内的贷款（县、乡镇、村、审计；帮扶责任人看结对户）",
    openapi_extra=AUTHENTICATED,
)
def list_loans(request: HttpRequest, params: Query[LoanParams]) -> dict[str, Any]:
    qs = loans_for(_user(request), status=params.status, region=params.region, q=params.q)
    rows = list(qs[params.offset : params.offset + params.limit])
    return {"total": qs.count(), "rows": [_loan(x) for x in rows]}


@router.get(
    "/credit/loans/{loan_id}",
    response={200: LoanDetailOut, **s.READ},
    summary="一笔贷款：资格审查记录（逐条、政策版本）、还款计划、还款记录",
    openapi_extra=AUTHENTICATED,
)
def get_loan(request: HttpRequest, loan_id: int = PathId) -> dict[str, Any]:
    loan = loan_for(_user(request), loan_id)
    return {
        **_loan(loan),
        "eligibility": [
            {k: str(c.get(k, "")) for k in ("id", "label", "outcome", "detail", "source")}
            for c in loan.eligibility
        ],
        "warnings": [str(w) for w in loan.warnings],
        "schedule": list(
            loan.schedule.order_by("seq").values("seq", "due_date", "principal_fen", "interest_fen")
        ),
        "repayments": [_repayment(r) for r in loan.repayments.order_by("paid_on", "pk")],
    }


@router.post(
    "/credit/loans/{loan_id}/repayments",
    response={201: RepaymentOut, **s.WRITE},
    summary="登记还款（县、乡镇业务人员；幂等键；本金超过未还本金的拒绝，不入账）",
    openapi_extra=AUTHENTICATED,
)
def post_repayment(
    request: HttpRequest, body: RepaymentIn, loan_id: int = PathId
) -> tuple[int, dict[str, Any]]:
    r = do_record_repayment(
        loan_id,
        Payment(body.paid_on, body.principal_fen, body.interest_fen),
        key=body.key,
        actor=_user(request),
    )
    return 201, _repayment(r)


@router.get(
    "/credit/overdue",
    response={200: OverduePage, **s.LIST},
    summary="逾期贷款清单（按县、乡镇或村；证件号码、电话、银行账号已脱敏）",
    openapi_extra=AUTHENTICATED,
)
def list_overdue(request: HttpRequest, params: Query[LoanParams]) -> dict[str, Any]:
    qs = overdue_for(_user(request), region=params.region)
    today = timezone.localdate()
    rows = []
    for loan in qs[params.offset : params.offset + params.limit]:
        rows.append(
            {
                **_loan(loan),
                "overdue_days": (today - loan.end_date).days,
                "phone": mask_phone(loan.household.phone or ""),
                "bank_account": mask_bank_account(loan.household.bank_account or ""),
            }
        )
    return {"total": qs.count(), "rows": rows}


@router.get(
    "/credit/figures",
    response={200: FiguresOut, **s.LIST},
    summary="贷款余额（笔数、金额）与逾期率（调用者范围，或其中一个区划）",
    openapi_extra=AUTHENTICATED,
)
def credit_figures(request: HttpRequest, params: Query[FigureParams]) -> dict[str, Any]:
    f = figures(_user(request), region=params.region)
    return {
        "outstanding_count": f.outstanding_count,
        "outstanding_fen": f.outstanding_fen,
        "overdue_count": f.overdue_count,
        "overdue_fen": f.overdue_fen,
        "overdue_rate_pct": f.overdue_rate,
    }
