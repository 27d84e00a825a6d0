"""Microcredit writes (issue 23 item 3; ADR 0079). Every write is an audited action.

- `do_create_loan`: judged by `rules.check_eligibility` (policy table `microcredit` in effect on
  the start date); an ineligible household is refused naming the failed criteria, nothing
  written; the loan keeps the trace and the policy version, and gets its schedule (interest each
  quarter, principal at maturity).
- `do_record_repayment`: under the loan's row lock; an idempotency key (the same key with the
  same content returns the repayment already made); principal above the outstanding balance is
  refused in Chinese. The interest subsidy is the policy's share of interest paid on time;
  overdue interest is never subsidised.
- `do_extend_loan`: 展期 at most once (policy `max_extensions`, a unique row), at most
  `max_extension_months`.
- `do_mark_overdue`: loans past maturity with principal outstanding become `overdue`.
- `do_deposit_risk_fund`, `do_compensate_loan`: the county's risk-compensation fund under its
  row lock (balance never negative); a payout only after `compensation_after_days` overdue, the
  fund's share (`fund_share_pct`) of the outstanding principal.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.scoping import check_household_in_scope
from jingzhun.audit.actions import record
from jingzhun.core.checks import clean_key, require_role
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.projects.money import check_fen, yuan
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household, Member

from . import rules
from .choices import CREDIT_RATINGS, FUND_WRITERS, LOAN_WRITERS, OPEN_STATUSES, PURPOSES
from .models import Extension, FundPosting, Loan, Repayment, RiskFund, ScheduleRow
from .scope import NOT_FOUND, check_county, scope_loans


class KeyConflict(DomainError):
    status = 409


def _day(value: Any, field: str, label: str) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise DomainError(f"{label}无效。", field=field)
    if value.year < 2014 or value > timezone.localdate() + datetime.timedelta(days=1):
        raise DomainError(f"{label}应在 2014 年以后，且不晚于今天。", field=field)
    return value


def _text(value: Any, field: str, label: str, limit: int) -> str:
    text = str(value or "").strip()
    if not text:
        raise DomainError(f"请填写{label}。", field=field)
    if len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise DomainError(f"{label}不能超过 {limit} 个字符，且不能含控制字符。", field=field)
    return text


def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def interest_fen(principal_fen: int, rate_bp: int, days: int) -> int:
    """Simple interest on a 360-day year (the banks' convention), rounded half up to the fen."""
    return (principal_fen * rate_bp * days * 2 + 360 * 10_000) // (2 * 360 * 10_000)


def schedule_rows(
    amount_fen: int, rate_bp: int, start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, int, int]]:
    """(due date, principal, interest): interest every quarter from the start, the principal and
    the last interest at maturity."""
    rows: list[tuple[datetime.date, int, int]] = []
    previous, n = start, 1
    while True:
        due = min(add_months(start, 3 * n), end)
        principal = amount_fen if due == end else 0
        rows.append((due, principal, interest_fen(amount_fen, rate_bp, (due - previous).days)))
        if due == end:
            return rows
        previous, n = due, n + 1


def _loan_locked(loan_id: int, actor: Any) -> Loan:
    loan = Loan.objects.select_for_update().filter(pk=loan_id).first()
    if loan is None:
        raise OutOfScope(NOT_FOUND)
    if actor is not None and not scope_loans(actor, Loan.objects.filter(pk=loan_id)).exists():
        raise OutOfScope(NOT_FOUND)
    return loan


@dataclass(frozen=True)
class LoanTerms:
    bank_name: str
    contract_no: str
    amount_fen: int
    rate_bp: int
    term_months: int
    start_date: datetime.date
    credit_rating: str
    purpose: str


def _household_and_borrower(household_id: int, borrower_id: int, actor: Any) -> tuple[Any, Any]:
    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    if actor is not None:
        check_household_in_scope(actor, household)
    borrower = Member.objects.filter(pk=borrower_id, household=household).first()
    return household, borrower


def _check_terms(t: LoanTerms) -> None:
    check_fen(t.amount_fen, field="amount")
    if isinstance(t.rate_bp, bool) or not isinstance(t.rate_bp, int) or not 0 <= t.rate_bp <= 2400:
        raise DomainError("年利率应在 0% 至 24% 之间。", field="rate")
    if (
        isinstance(t.term_months, bool)
        or not isinstance(t.term_months, int)
        or not 1 <= t.term_months <= 120
    ):
        raise DomainError("期限应为 1 至 120 个月。", field="term_months")
    if t.purpose not in PURPOSES:
        raise DomainError(
            f"用途应为生产经营：{'、'.join(PURPOSES.values())}（不得用于建房、婚丧、消费或转借企业）。",
            field="purpose",
        )
    if t.credit_rating not in CREDIT_RATINGS:
        raise DomainError(
            f"信用等级应为 {'、'.join(CREDIT_RATINGS)} 之一（须经银行评级授信）。",
            field="credit_rating",
        )


def _judge(household: Any, borrower: Any, t: LoanTerms) -> Any:
    _day(t.start_date, "start_date", "放款日期")
    _check_terms(t)
    return rules.check_eligibility(
        rules.Application(
            household,
            borrower,
            t.amount_fen,
            t.term_months,
            t.rate_bp,
            t.start_date,
            t.credit_rating,
        )
    )


def judge_application(household_id: int, borrower_id: int, t: LoanTerms, *, actor: Any) -> Any:
    """The eligibility trace for an application, without writing (the new-loan form's check)."""
    household, borrower = _household_and_borrower(household_id, borrower_id, actor)
    return _judge(household, borrower, t)


@action
@transaction.atomic
def do_create_loan(household_id: int, borrower_id: int, terms: LoanTerms, *, actor: Any) -> Loan:
    """Register a loan granted by a bank, after the eligibility check (refused naming the
    failed criteria; nothing written)."""
    require_role(actor, LOAN_WRITERS, "登记小额信贷（由县、乡镇业务人员登记）")
    bank = _text(terms.bank_name, "bank_name", "贷款银行", 50)
    contract = _text(terms.contract_no, "contract_no", "借据号", 40)
    # the county's fund row is the lock that serialises lending against its leverage limit
    household, borrower = _household_and_borrower(household_id, borrower_id, actor)
    fund, _ = RiskFund.objects.get_or_create(county_code=household.county_code)
    RiskFund.objects.select_for_update().filter(pk=fund.pk).first()
    judgement = _judge(household, borrower, terms)
    if not judgement.eligible:
        failed = "；".join(f"{c['label']}（{c['detail']}）" for c in judgement.failed)
        raise DomainError(
            f"该户不符合小额信贷条件，未登记：{failed}。依据：{judgement.policy.cite}",
            field=judgement.failed[0]["id"],
        )
    if Loan.objects.filter(county_code=household.county_code, contract_no=contract).exists():
        raise DomainError(f"借据号“{contract}”在本县已登记过，不能重复登记。", field="contract_no")
    end = add_months(terms.start_date, terms.term_months)
    share = judgement.policy.number("subsidy_share_pct")
    loan = Loan.objects.create(
        household=household,
        borrower=borrower,
        county_code=household.county_code,
        township_code=household.township_code,
        village_code=household.village_id,
        bank_name=bank,
        contract_no=contract,
        amount_fen=terms.amount_fen,
        rate_bp=terms.rate_bp,
        term_months=terms.term_months,
        start_date=terms.start_date,
        end_date=end,
        purpose=terms.purpose,
        credit_rating=terms.credit_rating,
        subsidy_share_pct=share,
        outstanding_fen=terms.amount_fen,
        policy_version=judgement.version,
        eligibility=judgement.trace,
        warnings=[c["detail"] for c in judgement.warnings],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    ScheduleRow.objects.bulk_create(
        ScheduleRow(loan=loan, seq=i, due_date=d, principal_fen=p, interest_fen=n)
        for i, (d, p, n) in enumerate(
            schedule_rows(loan.amount_fen, loan.rate_bp, terms.start_date, end), 1
        )
    )
    record(
        "credit.loan.create",
        actor=actor,
        object_type="loan",
        object_id=loan.pk,
        diff={
            "household": household.pk,
            "contract_no": contract,
            "bank": bank,
            "amount_fen": loan.amount_fen,
            "rate_bp": loan.rate_bp,
            "term_months": loan.term_months,
            "policy": loan.policy_version,
            "warnings": loan.warnings,
        },
    )
    return loan


@dataclass(frozen=True)
class Payment:
    paid_on: datetime.date
    principal_fen: int
    interest_fen: int = 0


def _same(existing: Repayment, loan_id: int, p: Payment) -> bool:
    return (
        existing.loan_id == loan_id
        and existing.paid_on == p.paid_on
        and existing.principal_fen == p.principal_fen
        and existing.interest_fen == p.interest_fen
    )


def _post_repayment(
    loan: Loan, p: Payment, *, key: str, actor: Any, statement: Any = None, row: int | None = None
) -> tuple[Repayment, bool]:
    """Inside an action, with the loan locked: (the repayment, whether it is new)."""
    existing = Repayment.objects.filter(key=key).first()
    if existing is not None:
        if _same(existing, loan.pk, p):
            return existing, False
        raise KeyConflict(
            f"幂等键“{key}”已用于另一笔还款（#{existing.pk}），请换一个键。", field="key"
        )
    if loan.status == "written_off":
        raise DomainError(
            f"贷款 {loan.contract_no} 已由风险补偿金代偿核销，不能再登记还款。", field="loan"
        )
    if p.principal_fen > loan.outstanding_fen:
        raise DomainError(
            f"还款本金 {yuan(p.principal_fen)} 元超过贷款 {loan.contract_no} 的未还本金 "
            f"{yuan(loan.outstanding_fen)} 元，未入账。",
            field="principal",
        )
    if p.paid_on < loan.start_date:
        raise DomainError(f"还款日期早于放款日期 {loan.start_date}。", field="paid_on")
    overdue = p.paid_on > loan.end_date
    subsidy = 0 if overdue else p.interest_fen * loan.subsidy_share_pct // 100
    try:
        with transaction.atomic():
            repayment = Repayment.objects.create(
                loan=loan,
                key=key,
                paid_on=p.paid_on,
                principal_fen=p.principal_fen,
                interest_fen=p.interest_fen,
                subsidy_fen=subsidy,
                overdue=overdue,
                source="statement" if statement is not None else "manual",
                statement=statement,
                statement_row=row,
                recorded_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise KeyConflict(
            f"幂等键“{key}”已被同时提交的另一笔还款使用，未重复入账。", field="key"
        ) from exc
    left = loan.outstanding_fen - p.principal_fen
    status = "repaid" if left == 0 else loan.status
    Loan.objects.filter(pk=loan.pk).update(
        outstanding_fen=F("outstanding_fen") - p.principal_fen,
        status=status,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    loan.outstanding_fen, loan.status = left, status
    record(
        "credit.repayment.record",
        actor=actor,
        object_type="loan",
        object_id=loan.pk,
        diff={
            "key": key,
            "paid_on": p.paid_on.isoformat(),
            "principal_fen": p.principal_fen,
            "interest_fen": p.interest_fen,
            "subsidy_fen": subsidy,
            "outstanding_fen": left,
            "statement": getattr(statement, "pk", None),
            "row": row,
        },
    )
    return repayment, True


@action
@transaction.atomic
def do_record_repayment(loan_id: int, payment: Payment, *, key: str, actor: Any) -> Repayment:
    """Record a repayment (retry with the same key: the same repayment, written once)."""
    require_role(actor, LOAN_WRITERS, "登记还款（由县、乡镇业务人员登记）")
    key = clean_key(key)
    _day(payment.paid_on, "paid_on", "还款日期")
    check_fen(payment.principal_fen, field="principal", allow_zero=True)
    check_fen(payment.interest_fen, field="interest", allow_zero=True)
    if payment.principal_fen == 0 and payment.interest_fen == 0:
        raise DomainError("本金和利息不能都为零。", field="principal")
    loan = _loan_locked(loan_id, actor)
    repayment, _new = _post_repayment(loan, payment, key=key, actor=actor)
    return repayment


@action
@transaction.atomic
def do_extend_loan(
    loan_id: int, new_end_date: datetime.date, reason: str, *, expected_version: int, actor: Any
) -> Loan:
    """展期: move the maturity once (policy max_extensions, max_extension_months)."""
    require_role(actor, LOAN_WRITERS, "办理展期（由县、乡镇业务人员办理）")
    reason = _text(reason, "reason", "展期原因", 200)
    loan = _loan_locked(loan_id, actor)
    if loan.version != expected_version:
        raise StaleVersion("该笔贷款已被他人修改，请刷新后重试。")
    policy = rules.policy_on(loan.start_date, loan.county_code)
    if loan.status not in OPEN_STATUSES or loan.outstanding_fen == 0:
        raise DomainError(
            f"贷款 {loan.contract_no} 状态为“{loan.status_label}”，不能展期。", field="loan"
        )
    if Extension.objects.filter(loan=loan).count() >= policy.number("max_extensions"):
        raise DomainError(
            f"贷款 {loan.contract_no} 已展期过，按政策只能展期 {policy.number('max_extensions')} 次。"
            f"依据：{policy.cite}",
            field="loan",
        )
    if not isinstance(new_end_date, datetime.date) or new_end_date <= loan.end_date:
        raise DomainError("展期后到期日期须晚于原到期日期。", field="new_end_date")
    longest = policy.number("max_extension_months")
    if new_end_date > add_months(loan.end_date, longest):
        raise DomainError(f"展期不能超过 {longest} 个月。依据：{policy.cite}", field="new_end_date")
    old_end = loan.end_date
    Extension.objects.create(
        loan=loan,
        old_end_date=old_end,
        new_end_date=new_end_date,
        reason=reason,
        policy_version=f"{rules.TABLE}@{policy.version}#{policy.hash[:12]}",
        extended_by=actor if getattr(actor, "pk", None) else None,
    )
    last = loan.schedule.order_by("-seq").first()
    seq = last.seq + 1 if last else 1
    ScheduleRow.objects.filter(loan=loan, due_date=old_end, principal_fen__gt=0).update(
        principal_fen=0
    )
    ScheduleRow.objects.create(
        loan=loan,
        seq=seq,
        due_date=new_end_date,
        principal_fen=loan.outstanding_fen,
        interest_fen=interest_fen(
            loan.outstanding_fen, loan.rate_bp, (new_end_date - old_end).days
        ),
    )
    Loan.objects.filter(pk=loan.pk).update(
        end_date=new_end_date,
        status="extended",
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    record(
        "credit.loan.extend",
        actor=actor,
        object_type="loan",
        object_id=loan.pk,
        diff={"end_date": [old_end.isoformat(), new_end_date.isoformat()], "reason": reason},
    )
    loan.refresh_from_db()
    return loan


@action
@transaction.atomic
def do_mark_overdue(county_code: str, *, on: datetime.date | None = None, actor: Any) -> int:
    """Loans of the county past maturity with principal outstanding become `overdue`."""
    require_role(actor, LOAN_WRITERS, "更新逾期状态")
    if actor is not None:
        check_county(actor, county_code)
    on = on or timezone.localdate()
    ids = list(
        Loan.objects.filter(
            county_code=county_code,
            status__in=("active", "extended"),
            end_date__lt=on,
            outstanding_fen__gt=0,
        ).values_list("pk", flat=True)
    )
    if ids:
        Loan.objects.filter(pk__in=ids).update(
            status="overdue", version=F("version") + 1, updated_at=timezone.now()
        )
        record(
            "credit.loan.overdue",
            actor=actor,
            object_type="county",
            object_id=county_code,
            diff={"loans": len(ids), "on": on.isoformat()},
        )
    return len(ids)


def _fund_locked(county_code: str) -> RiskFund:
    RiskFund.objects.get_or_create(county_code=county_code)
    return RiskFund.objects.select_for_update().get(county_code=county_code)


def _existing_posting(key: str, kind: str, amount: int, loan_id: int | None) -> FundPosting | None:
    existing = FundPosting.objects.filter(key=key).first()
    if existing is None:
        return None
    if existing.kind == kind and existing.amount_fen == amount and existing.loan_id == loan_id:
        return existing
    raise KeyConflict(
        f"幂等键“{key}”已用于另一笔补偿金收支（#{existing.pk}），请换一个键。", field="key"
    )


@action
@transaction.atomic
def do_deposit_risk_fund(
    county_code: str,
    amount_fen: int,
    on_date: datetime.date,
    *,
    key: str,
    memo: str = "",
    actor: Any,
) -> FundPosting:
    """Money put into the county's risk-compensation fund."""
    require_role(actor, FUND_WRITERS, "管理风险补偿金（由县级管理）")
    if not Region.objects.filter(pk=str(county_code), level="county").exists():
        raise DomainError(f"“{county_code}”不是本系统中的县级区划。", field="county")
    if actor is not None:
        check_county(actor, county_code)
    key = clean_key(key)
    amount = check_fen(amount_fen, field="amount")
    _day(on_date, "on_date", "业务日期")
    memo = str(memo or "").strip()[:200]
    fund = _fund_locked(county_code)
    existing = _existing_posting(key, "deposit", amount, None)
    if existing is not None:
        return existing
    balance = fund.balance_fen + amount
    RiskFund.objects.filter(pk=fund.pk).update(balance_fen=balance)
    posting = FundPosting.objects.create(
        fund=fund,
        kind="deposit",
        key=key,
        amount_fen=amount,
        balance_after_fen=balance,
        on_date=on_date,
        memo=memo,
        posted_by=actor if getattr(actor, "pk", None) else None,
    )
    record(
        "credit.fund.deposit",
        actor=actor,
        object_type="risk_fund",
        object_id=fund.pk,
        diff={"key": key, "amount_fen": amount, "balance_fen": balance},
    )
    return posting


@action
@transaction.atomic
def do_compensate_loan(
    loan_id: int, on_date: datetime.date, *, key: str, actor: Any
) -> FundPosting:
    """The fund pays its share of a bad loan (overdue long enough); the loan is written off."""
    require_role(actor, FUND_WRITERS, "办理风险补偿金代偿（由县级办理）")
    key = clean_key(key)
    _day(on_date, "on_date", "业务日期")
    loan = _loan_locked(loan_id, actor)
    if actor is not None:
        check_county(actor, loan.county_code)
    fund = _fund_locked(loan.county_code)
    policy = rules.policy_on(loan.start_date, loan.county_code)
    share = policy.number("fund_share_pct")
    amount = loan.outstanding_fen * share // 100
    existing = _existing_posting(key, "payout", amount, loan.pk)
    if existing is not None:
        return existing
    days = (on_date - loan.end_date).days
    need = policy.number("compensation_after_days")
    if loan.status != "overdue" or loan.outstanding_fen == 0 or days < need:
        raise DomainError(
            f"贷款 {loan.contract_no} 逾期 {max(days, 0)} 天（状态“{loan.status_label}”），"
            f"须逾期满 {need} 天方可代偿。依据：{policy.cite}",
            field="loan",
        )
    if amount > fund.balance_fen:
        raise DomainError(
            f"风险补偿金余额不足：余额 {yuan(fund.balance_fen)} 元，本次代偿 {yuan(amount)} 元，未代偿。",
            field="amount",
        )
    balance = fund.balance_fen - amount
    RiskFund.objects.filter(pk=fund.pk).update(balance_fen=balance)
    posting = FundPosting.objects.create(
        fund=fund,
        kind="payout",
        key=key,
        amount_fen=amount,
        balance_after_fen=balance,
        loan=loan,
        on_date=on_date,
        memo=f"代偿贷款 {loan.contract_no}（补偿金分担 {share}%）",
        posted_by=actor if getattr(actor, "pk", None) else None,
    )
    Loan.objects.filter(pk=loan.pk).update(
        status="written_off",
        compensated_fen=amount,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    record(
        "credit.fund.payout",
        actor=actor,
        object_type="loan",
        object_id=loan.pk,
        diff={"key": key, "amount_fen": amount, "share_pct": share, "balance_fen": balance},
    )
    return posting


@transaction.atomic
def do_export_overdue(user: Any, out: Any, *, region: str = "") -> int:
    """The user's overdue list as .xlsx (masked), audited; returns the rows written."""
    from .documents import write_overdue_xlsx
    from .scope import reads_loans
    from .selectors import overdue_for

    if not reads_loans(user):
        raise Forbidden("您的角色无权导出逾期贷款清单。")
    rows = write_overdue_xlsx(overdue_for(user, region=region), timezone.localdate(), out)
    record(
        "credit.overdue.export",
        actor=user,
        object_type="region",
        object_id=region or "scope",
        diff={"rows": rows, "masked": True},
    )
    return rows
