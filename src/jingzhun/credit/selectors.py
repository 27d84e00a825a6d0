"""Scoped reads of the microcredit app: loans, overdue lists, figures, the fund, statements."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from jingzhun.core.errors import OutOfScope

from .choices import LOAN_STATUS, OPEN_STATUSES
from .models import FundPosting, Loan, RiskFund, StatementImport
from .scope import NOT_FOUND, check_county, counties_of, scope_loans


def overdue_q(on: datetime.date | None = None) -> Q:
    """Open loans past maturity with principal outstanding (whether marked yet or not)."""
    on = on or timezone.localdate()
    return Q(status__in=OPEN_STATUSES, end_date__lt=on, outstanding_fen__gt=0)


def _region(qs: QuerySet[Any], region: str) -> QuerySet[Any]:
    if not region or not region.isdigit() or len(region) != 12:
        return qs
    if region.endswith("00000000"):  # a province or prefecture: its counties
        return qs.filter(
            county_code__startswith=region[:2] if region.endswith("0" * 10) else region[:4]
        )
    if region.endswith("000000"):
        return qs.filter(county_code=region)
    if region.endswith("000"):
        return qs.filter(township_code=region)
    return qs.filter(village_code=region)


def loans_for(
    user: Any, *, status: str = "", region: str = "", q: str = "", bank: str = ""
) -> QuerySet[Loan]:
    qs = scope_loans(user, Loan.objects.all()).select_related("household", "borrower")
    if status == "open":  # outstanding: the battle map's figure
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status == "overdue":
        qs = qs.filter(overdue_q())
    elif status in LOAN_STATUS:
        qs = qs.filter(status=status)
    qs = _region(qs, region)
    if q:
        qs = qs.filter(Q(contract_no__startswith=q) | Q(household__head_name__startswith=q))
    if bank:
        qs = qs.filter(bank_name=bank)
    return qs.order_by("-start_date", "-pk")


def overdue_for(user: Any, *, region: str = "") -> QuerySet[Loan]:
    qs = _region(scope_loans(user, Loan.objects.filter(overdue_q())), region)
    return qs.select_related("household", "borrower", "household__village").order_by(
        "village_code", "end_date", "pk"
    )


def loan_for(user: Any, loan_id: int) -> Loan:
    loan = (
        scope_loans(user, Loan.objects.filter(pk=loan_id))
        .select_related("household", "borrower", "household__village")
        .first()
    )
    if loan is None:
        raise OutOfScope(NOT_FOUND)
    return loan


@dataclass(frozen=True)
class Figures:
    outstanding_count: int
    outstanding_fen: int
    overdue_count: int
    overdue_fen: int

    @property
    def overdue_rate(self) -> str:
        """Overdue principal over outstanding principal, in percent (two decimals)."""
        if not self.outstanding_fen:
            return "0.00"
        hundredths = (self.overdue_fen * 10_000 + self.outstanding_fen // 2) // self.outstanding_fen
        return f"{hundredths // 100}.{hundredths % 100:02d}"


def figures(user: Any, *, region: str = "") -> Figures:
    """Loans outstanding (count, principal) and overdue, one aggregate over the user's scope."""
    qs = _region(scope_loans(user, Loan.objects.filter(status__in=OPEN_STATUSES)), region)
    od = overdue_q()
    row = qs.aggregate(
        n=Count("pk"),
        amount=Sum("outstanding_fen"),
        od_n=Count("pk", filter=od),
        od_amount=Sum("outstanding_fen", filter=od),
    )
    return Figures(
        int(row["n"] or 0),
        int(row["amount"] or 0),
        int(row["od_n"] or 0),
        int(row["od_amount"] or 0),
    )


def fund_for(user: Any, county_code: str) -> tuple[RiskFund | None, QuerySet[FundPosting]]:
    check_county(user, county_code)
    fund = RiskFund.objects.filter(county_code=county_code).first()
    return fund, FundPosting.objects.filter(fund__county_code=county_code).select_related("loan")


def statements_for(user: Any) -> QuerySet[StatementImport]:
    return StatementImport.objects.filter(county_code__in=counties_of(user)).order_by("-pk")


def statement_for(user: Any, job_id: int) -> StatementImport:
    job = statements_for(user).filter(pk=job_id).first()
    if job is None:
        raise OutOfScope("未找到该对账单导入，或您无权访问。")
    return job
