"""Eligibility (golden cases from the policy text), refusals, repayments, extension, the fund."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.credit.actions import (
    KeyConflict,
    Payment,
    do_compensate_loan,
    do_create_loan,
    do_deposit_risk_fund,
    do_extend_loan,
    do_mark_overdue,
    do_record_repayment,
    judge_application,
    schedule_rows,
)
from jingzhun.credit.models import Extension, FundPosting, Loan, Repayment, RiskFund, ScheduleRow
from jingzhun.credit.selectors import figures, loan_for, loans_for, overdue_for

from .conftest import (
    COUNTY,
    OTHER_VILLAGE,
    VILLAGE,
    YUAN,
    head,
    make_loan,
    ordinary_household,
    terms,
)

pytestmark = pytest.mark.django_db


def _outcomes(world: Any, household: Any, borrower: Any, **over: Any) -> dict[str, str]:
    j = judge_application(household.pk, borrower.pk, terms(**over), actor=world.user("county"))
    return {c["id"]: c["outcome"] for c in j.trace}


def _writes() -> tuple[int, ...]:
    return (
        Loan.all_objects.count(),
        Repayment.objects.count(),
        ScheduleRow.objects.count(),
        Extension.objects.count(),
        FundPosting.objects.count(),
        AuditEvent.objects.count(),
    )


# --- eligibility: golden cases written from domain.md 6 and the 2021 notice -------------------


def test_a_registered_household_within_every_limit_is_eligible(world: Any, fund: Any) -> None:
    h = world.households[VILLAGE]
    outcomes = _outcomes(world, h, head(h))
    assert outcomes == {
        "household_group": "passed",
        "borrower_member": "passed",
        "borrower_age": "passed",
        "credit_rating": "passed",
        "amount": "passed",
        "household_total": "passed",
        "term": "passed",
        "rate": "passed",
        "fund_leverage": "passed",
    }


@pytest.mark.parametrize(
    ("over", "failed"),
    [
        ({"amount_fen": 50_000 * YUAN + 1, "start_date": datetime.date(2025, 6, 1)}, "amount+"),
        ({"amount_fen": 100_000 * YUAN}, None),  # 2026: 帮扶小额信贷 up to 100,000
        ({"amount_fen": 100_000 * YUAN + 1}, "amount+"),
        ({"term_months": 37}, "term"),
        ({"term_months": 36, "rate_bp": 350}, None),  # 1-3 years: 5-year LPR 3.5%
        ({"term_months": 12, "rate_bp": 301}, "rate"),  # up to 1 year: 1-year LPR 3.0%
        ({"term_months": 13, "rate_bp": 351}, "rate"),
        ({"credit_rating": "B"}, None),
    ],
)
def test_limits_by_policy_version(
    world: Any, fund: Any, over: dict[str, Any], failed: str | None
) -> None:
    h = world.households[VILLAGE]
    outcomes = _outcomes(world, h, head(h), **over)
    bad = {k for k, v in outcomes.items() if v == "failed"}
    # an amount above the limit also exceeds the household's total
    expected = {"amount", "household_total"} if failed == "amount+" else {failed} - {None}
    assert bad == expected, outcomes


def test_2014_version_caps_at_the_benchmark_rate(world: Any, fund: Any) -> None:
    h = world.households[VILLAGE]
    j = judge_application(
        h.pk,
        head(h).pk,
        terms(start_date=datetime.date(2019, 5, 1), rate_bp=435),
        actor=world.user("county"),
    )
    assert j.eligible and "2014-12" in j.version
    j = judge_application(
        h.pk,
        head(h).pk,
        terms(start_date=datetime.date(2019, 5, 1), rate_bp=436),
        actor=world.user("county"),
    )
    assert [c["id"] for c in j.failed] == ["rate"]


def test_borrower_age_outside_18_65_is_a_warning_not_a_refusal(world: Any, fund: Any) -> None:
    h = world.households[VILLAGE]
    daughter = h.members.get(relation="daughter")  # born 2010: 15 on 2026-03-01
    outcomes = _outcomes(world, h, daughter)
    assert outcomes["borrower_age"] == "warning"
    assert "failed" not in outcomes.values()


def test_an_ordinary_household_is_refused_naming_the_criterion(world: Any, fund: Any) -> None:
    h = ordinary_household(world)
    before = _writes()
    with pytest.raises(DomainError) as err:
        do_create_loan(h.pk, head(h).pk, terms(), actor=world.user("county"))
    assert "建档立卡户或监测对象" in err.value.message and "不符合小额信贷条件" in err.value.message
    assert "microcredit" in err.value.message  # cites the policy file
    assert err.value.field == "household_group"
    assert _writes() == before


def test_a_monitored_ordinary_household_is_eligible_from_2021(world: Any, fund: Any) -> None:
    h = ordinary_household(world, monitoring_category="edge", risk_status="not_eliminated")
    assert _outcomes(world, h, head(h))["household_group"] == "passed"
    j = judge_application(
        h.pk, head(h).pk, terms(start_date=datetime.date(2019, 5, 1), rate_bp=400), actor=None
    )
    assert [c["id"] for c in j.failed] == ["household_group"]  # 2014-2020: registered only


def test_lending_beyond_ten_times_the_fund_is_refused(world: Any) -> None:
    do_deposit_risk_fund(
        COUNTY, 4_000 * YUAN, timezone.localdate(), key="small", actor=world.user("county")
    )
    before = _writes()
    with pytest.raises(DomainError) as err:
        make_loan(world)  # 50,000 > 10 x 4,000
    assert "风险补偿金的 10 倍" in err.value.message
    assert _writes() == before


def test_the_loan_keeps_its_trace_version_and_schedule(world: Any, loan: Loan) -> None:
    assert loan.policy_version.startswith("microcredit@2026-01")
    assert loan.eligibility[0]["id"] == "household_group"
    assert loan.end_date == datetime.date(2027, 3, 1)
    rows = list(loan.schedule.order_by("seq"))
    assert [r.due_date for r in rows] == [
        datetime.date(2026, 6, 1),
        datetime.date(2026, 9, 1),
        datetime.date(2026, 12, 1),
        datetime.date(2027, 3, 1),
    ]
    assert sum(r.principal_fen for r in rows) == loan.amount_fen
    # 50,000 yuan at 3% for 365 days on a 360-day year = 1,520.83 yuan
    assert sum(r.interest_fen for r in rows) == 152_083
    assert AuditEvent.objects.filter(event="credit.loan.create", object_id=str(loan.pk)).exists()


def test_schedule_of_a_short_loan_is_one_row() -> None:
    rows = schedule_rows(100_00, 360, datetime.date(2026, 1, 31), datetime.date(2026, 2, 28))
    assert rows == [(datetime.date(2026, 2, 28), 100_00, 28)]


def test_household_total_counts_open_loans(world: Any, loan: Loan) -> None:
    with pytest.raises(DomainError) as err:
        make_loan(world, contract_no="JD-2", amount_fen=60_000 * YUAN)
    assert "该户未还余额合计" in err.value.message


def test_duplicate_contract_and_bad_purpose_are_refused(world: Any, loan: Loan) -> None:
    other = world.households[OTHER_VILLAGE]
    with pytest.raises(DomainError, match="已登记过"):
        make_loan(world, village=OTHER_VILLAGE, amount_fen=10_000 * YUAN)
    with pytest.raises(DomainError, match="用途应为生产经营"):
        make_loan(world, village=OTHER_VILLAGE, contract_no="X", purpose="housing")
    assert Loan.objects.filter(household=other).count() == 0


def test_roles_and_scope_of_loan_writes(world: Any, fund: Any) -> None:
    h = world.households[VILLAGE]
    for name in ("village", "auditor", "helper"):
        with pytest.raises(Forbidden):
            do_create_loan(h.pk, head(h).pk, terms(), actor=world.user(name))
    with pytest.raises(OutOfScope):
        do_create_loan(h.pk, head(h).pk, terms(), actor=world.user("other_township"))
    assert Loan.objects.count() == 0


# --- repayments --------------------------------------------------------------------------------


def test_repayment_reduces_the_balance_and_subsidises_on_time_interest(
    world: Any, loan: Loan
) -> None:
    county = world.user("county")
    r = do_record_repayment(
        loan.pk, Payment(datetime.date(2026, 6, 1), 0, 375_00), key="r1", actor=county
    )
    assert r.subsidy_fen == 375_00  # 100% share (no Anhui row for Heilongjiang)
    do_record_repayment(
        loan.pk, Payment(datetime.date(2026, 9, 1), 20_000 * YUAN), key="r2", actor=county
    )
    loan.refresh_from_db()
    assert loan.outstanding_fen == 30_000 * YUAN and loan.status == "active"
    again = do_record_repayment(
        loan.pk, Payment(datetime.date(2026, 9, 1), 20_000 * YUAN), key="r2", actor=county
    )
    assert again.pk == Repayment.objects.get(key="r2").pk
    loan.refresh_from_db()
    assert loan.outstanding_fen == 30_000 * YUAN  # the retry wrote nothing


def test_a_repayment_above_the_balance_is_refused_in_chinese(world: Any, loan: Loan) -> None:
    before = _writes()
    with pytest.raises(DomainError) as err:
        do_record_repayment(
            loan.pk,
            Payment(datetime.date(2026, 9, 1), 50_000 * YUAN + 1),
            key="too-much",
            actor=world.user("township"),
        )
    assert "超过贷款 JD-2026-0001 的未还本金 50,000.00 元，未入账" in err.value.message
    assert _writes() == before
    with pytest.raises(KeyConflict):
        do_record_repayment(
            loan.pk, Payment(datetime.date(2026, 9, 1), 1), key="k", actor=world.user("county")
        )
        do_record_repayment(
            loan.pk, Payment(datetime.date(2026, 9, 1), 2), key="k", actor=world.user("county")
        )


def test_full_repayment_settles_the_loan(world: Any, loan: Loan) -> None:
    do_record_repayment(
        loan.pk,
        Payment(datetime.date(2026, 12, 1), 50_000 * YUAN, 100),
        key="all",
        actor=world.user("county"),
    )
    loan.refresh_from_db()
    assert loan.status == "repaid" and loan.outstanding_fen == 0


def test_read_only_and_out_of_scope_users_cannot_repay(world: Any, loan: Loan) -> None:
    p = Payment(datetime.date(2026, 9, 1), 100)
    for name in ("village", "auditor", "helper"):
        with pytest.raises(Forbidden):
            do_record_repayment(loan.pk, p, key=f"k-{name}", actor=world.user(name))
    with pytest.raises(OutOfScope):
        do_record_repayment(loan.pk, p, key="k-other", actor=world.user("other_township"))
    assert Repayment.objects.count() == 0


# --- overdue, extension, compensation ---------------------------------------------------------


def _past_due(world: Any, **over: Any) -> Loan:
    start = timezone.localdate() - datetime.timedelta(days=500)
    return make_loan(
        world,
        village=OTHER_VILLAGE,
        contract_no="JD-OLD",
        start_date=start,
        amount_fen=10_000 * YUAN,
        **over,
    )


def test_overdue_marking_lists_and_figures(world: Any, loan: Loan) -> None:
    old = _past_due(world)
    county = world.user("county")
    assert do_mark_overdue(COUNTY, actor=county) == 1
    old.refresh_from_db()
    assert old.status == "overdue"
    assert list(overdue_for(county)) == [old]
    assert list(overdue_for(world.user("township"))) == []  # township 100 has only the new loan
    f = figures(county)
    assert (f.outstanding_count, f.outstanding_fen) == (2, 60_000 * YUAN)
    assert (f.overdue_count, f.overdue_fen, f.overdue_rate) == (1, 10_000 * YUAN, "16.67")
    # overdue interest is never subsidised
    r = do_record_repayment(
        old.pk, Payment(timezone.localdate(), 0, 100_00), key="late", actor=county
    )
    assert r.overdue and r.subsidy_fen == 0


def test_extension_at_most_once(world: Any, loan: Loan) -> None:
    county = world.user("county")
    loan = do_extend_loan(
        loan.pk, datetime.date(2027, 9, 1), "因灾减产", expected_version=loan.version, actor=county
    )
    assert loan.status == "extended" and loan.end_date == datetime.date(2027, 9, 1)
    assert loan.schedule.filter(principal_fen__gt=0).get().due_date == datetime.date(2027, 9, 1)
    before = _writes()
    with pytest.raises(DomainError, match="只能展期 1 次"):
        do_extend_loan(
            loan.pk, datetime.date(2027, 12, 1), "再次", expected_version=loan.version, actor=county
        )
    assert _writes() == before


def test_extension_longer_than_the_rule_is_refused(world: Any, loan: Loan) -> None:
    with pytest.raises(DomainError, match="展期不能超过 12 个月"):
        do_extend_loan(
            loan.pk,
            datetime.date(2028, 6, 1),
            "因病",
            expected_version=loan.version,
            actor=world.user("county"),
        )


def test_compensation_after_90_days_and_never_below_zero(world: Any, loan: Loan) -> None:
    county = world.user("county")
    old = _past_due(world)
    do_mark_overdue(COUNTY, actor=county)
    too_early = old.end_date + datetime.timedelta(days=89)
    with pytest.raises(DomainError, match="须逾期满 90 天"):
        do_compensate_loan(old.pk, min(too_early, timezone.localdate()), key="c0", actor=county)
    posting = do_compensate_loan(old.pk, timezone.localdate(), key="c1", actor=county)
    assert posting.amount_fen == 8_000 * YUAN  # fund 8 : bank 2
    old.refresh_from_db()
    assert old.status == "written_off" and old.compensated_fen == 8_000 * YUAN
    assert RiskFund.objects.get(county_code=COUNTY).balance_fen == (1_000_000 - 8_000) * YUAN
    assert do_compensate_loan(old.pk, timezone.localdate(), key="c1", actor=county).pk == posting.pk
    with pytest.raises(DomainError, match="已由风险补偿金代偿"):
        do_record_repayment(old.pk, Payment(timezone.localdate(), 1), key="after", actor=county)


def test_a_payout_above_the_fund_balance_is_refused(world: Any) -> None:
    county = world.user("county")
    do_deposit_risk_fund(COUNTY, 1_000 * YUAN, timezone.localdate(), key="f", actor=county)
    old = _past_due(world)
    do_mark_overdue(COUNTY, actor=county)
    before = _writes()
    with pytest.raises(DomainError, match="风险补偿金余额不足"):
        do_compensate_loan(old.pk, timezone.localdate(), key="c", actor=county)
    assert _writes() == before
    assert RiskFund.objects.get(county_code=COUNTY).balance_fen == 1_000 * YUAN


# --- scoping -------------------------------------------------------------------------------------


def test_reads_are_scoped(world: Any, loan: Loan) -> None:
    assert list(loans_for(world.user("village"))) == [loan]
    assert list(loans_for(world.user("helper"))) == [loan]  # paired with that household
    assert list(loans_for(world.user("other_township"))) == []
    with pytest.raises(OutOfScope):
        loan_for(world.user("other_township"), loan.pk)
    assert loan_for(world.user("auditor"), loan.pk) == loan
