"""The demo loans: written through the actions, repayments consistent with the balances."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from jingzhun.credit.demo import seed_demo_loans
from jingzhun.credit.models import Loan, Repayment
from jingzhun.credit.selectors import figures

from .conftest import COUNTY

pytestmark = pytest.mark.django_db


def test_demo_loans_balance_with_their_repayments(world: Any) -> None:
    made = seed_demo_loans(COUNTY, loans=4)
    assert made == 4
    assert seed_demo_loans(COUNTY) == 0  # once
    for loan in Loan.objects.all():
        paid = Repayment.objects.filter(loan=loan).aggregate(s=Sum("principal_fen"))["s"] or 0
        assert loan.outstanding_fen == loan.amount_fen - paid, loan
        assert loan.eligibility and loan.policy_version.startswith("microcredit@")
        assert loan.status != "repaid" or loan.outstanding_fen == 0
    f = figures(world.user("county"))
    assert f.overdue_count <= 2


def test_overdue_command(world: Any) -> None:
    import datetime
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from jingzhun.credit.actions import do_deposit_risk_fund

    from .conftest import OTHER_VILLAGE, make_loan

    do_deposit_risk_fund(COUNTY, 10**9, timezone.localdate(), key="f", actor=None)
    loan = make_loan(
        world,
        village=OTHER_VILLAGE,
        start_date=timezone.localdate() - datetime.timedelta(days=400),
        amount_fen=10_000_00,
    )
    out = io.StringIO()
    call_command("credit", "overdue", stdout=out)
    assert f"{COUNTY}：1 笔贷款转为逾期" in out.getvalue()
    loan.refresh_from_db()
    assert loan.status == "overdue"
