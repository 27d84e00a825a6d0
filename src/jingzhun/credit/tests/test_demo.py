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
