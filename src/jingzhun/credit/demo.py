"""Demo microcredit (`jingzhun demo`): a few hundred loans in the demo county, through the real
actions (eligibility trace and policy version on each), with plausible repayments written
set-wise: interest each quarter, most matured loans repaid in full, one or two overdue.
Deterministic (a fixed seed); a few seconds on SQLite."""

from __future__ import annotations

import datetime
import random
from typing import Any, Final

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError
from jingzhun.core.models import action_writes
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household

from . import rules
from .actions import LoanTerms, add_months, do_create_loan, do_deposit_risk_fund, do_mark_overdue
from .models import Loan, Repayment, RiskFund, ScheduleRow

LOANS: Final = 300  # at most; one loan per 100 registered households, at least 30
OVERDUE: Final = 2
BANKS: Final = ("县农村商业银行", "中国农业银行县支行", "中国邮政储蓄银行县支行")
PURPOSES: Final = ("breeding", "planting", "planting", "breeding", "processing", "commerce")
RATINGS: Final = ("AAA", "AA", "AA", "A", "A", "B")


@transaction.atomic  # one commit: per-loan commits were most of the time on SQLite
def seed_demo_loans(county_code: str, *, loans: int | None = None) -> int:
    """Loans to registered or monitored households of the county (`loans`, or one per 100
    registered households between 30 and LOANS: a small test county stays quick); returns how
    many."""
    county = User.objects.filter(username="county", role="county").first()
    if county is None or Loan.objects.filter(county_code=county_code).exists():
        return 0
    rng = random.Random(20_26)
    if loans is None:
        registered = Household.objects.filter(
            county_code=county_code, poverty_status__in=c.REGISTERED_STATUSES
        ).count()
        loans = min(LOANS, max(30, registered // 100))
    today = timezone.localdate()
    RiskFund.objects.filter(county_code=county_code, postings__isnull=True).delete()
    do_deposit_risk_fund(
        county_code,
        5_000_000 * 100,
        today - datetime.timedelta(days=3 * 365),
        key=f"demo-fund-{county_code}",
        memo="县财政注入风险补偿金（演示）",
        actor=county,
    )
    households = list(
        Household.objects.filter(county_code=county_code, poverty_status__in=c.REGISTERED_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)[: loans * 4]
    )
    rng.shuffle(households)
    made: list[Loan] = []
    for n, hid in enumerate(households):
        if len(made) >= loans:
            break
        household = Household.objects.get(pk=hid)
        borrower = household.members.filter(relation="head").first()
        if borrower is None:
            continue
        start = today - datetime.timedelta(days=rng.randint(30, 3 * 365))
        term = rng.choice((12, 12, 24, 36))
        policy = rules.policy_on(start, county_code)
        cap = rules.rate_cap_bp(policy, term)
        terms = LoanTerms(
            bank_name=rng.choice(BANKS),
            contract_no=f"XD{start.year}{n + 1:05d}",
            amount_fen=rng.choice((10_000, 20_000, 30_000, 50_000)) * 100,
            rate_bp=cap - rng.choice((0, 0, 5, 10)),
            term_months=term,
            start_date=start,
            credit_rating=rng.choice(RATINGS),
            purpose=rng.choice(PURPOSES),
        )
        try:
            made.append(do_create_loan(hid, borrower.pk, terms, actor=county))
        except DomainError:
            continue  # an ineligible household (e.g. a loan still open): the next one
    _repay(made, rng, today, county)
    do_mark_overdue(county_code, actor=county)
    return len(made)


@transaction.atomic
def _repay(loans: list[Loan], rng: random.Random, today: datetime.date, actor: Any) -> None:
    """Repayments as the banks' statements would report them: every quarter's interest on its
    due date, the principal at maturity; all but OVERDUE matured loans repaid."""
    matured = [x for x in loans if x.end_date < today]
    late = set(x.pk for x in rng.sample(matured, min(OVERDUE, len(matured))))
    rows: list[Repayment] = []
    repaid: list[int] = []
    for loan in loans:
        for s in ScheduleRow.objects.filter(loan=loan, due_date__lt=today).order_by("seq"):
            if loan.pk in late and s.principal_fen:
                continue
            subsidy = s.interest_fen * loan.subsidy_share_pct // 100
            rows.append(
                Repayment(
                    loan=loan,
                    key=f"demo-{loan.pk}-{s.seq}",
                    paid_on=s.due_date,
                    principal_fen=s.principal_fen,
                    interest_fen=s.interest_fen,
                    subsidy_fen=subsidy,
                    source="statement",
                    recorded_by=actor,
                )
            )
            if s.principal_fen:
                repaid.append(loan.pk)
    # early repayment of part of the principal on some open loans
    for loan in loans:
        if loan.end_date >= today and rng.random() < 0.15:
            paid_on = min(add_months(loan.start_date, 6), today)
            rows.append(
                Repayment(
                    loan=loan,
                    key=f"demo-{loan.pk}-early",
                    paid_on=paid_on,
                    principal_fen=loan.amount_fen // 5,
                    interest_fen=0,
                    source="manual",
                    recorded_by=actor,
                )
            )
    Repayment.objects.bulk_create(rows, batch_size=1000)
    with action_writes():
        early = {r.loan_id: r.principal_fen for r in rows if r.key.endswith("-early")}
        for pk, fen in early.items():
            Loan.objects.filter(pk=pk).update(outstanding_fen=F("outstanding_fen") - fen)
        Loan.objects.filter(pk__in=repaid).update(outstanding_fen=0, status="repaid")
    record(
        "credit.demo.repayments",
        actor=actor,
        object_type="county",
        object_id=loans[0].county_code if loans else "",
        diff={"repayments": len(rows), "repaid_loans": len(repaid), "overdue": len(late)},
    )
