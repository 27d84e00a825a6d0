"""Fixtures: the world's county with a funded risk-compensation fund and loans made through the
real actions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.credit.actions import LoanTerms, do_create_loan, do_deposit_risk_fund
from jingzhun.credit.models import Loan

COUNTY = "230231000000"
VILLAGE = "230231100201"
OTHER_VILLAGE = "230231101201"
YUAN = 100


def terms(**over: Any) -> LoanTerms:
    values: dict[str, Any] = {
        "bank_name": "县农商银行",
        "contract_no": "JD-2026-0001",
        "amount_fen": 50_000 * YUAN,
        "rate_bp": 300,
        "term_months": 12,
        "start_date": datetime.date(2026, 3, 1),
        "credit_rating": "AA",
        "purpose": "breeding",
    }
    values.update(over)
    return LoanTerms(**values)


def head(household: Any) -> Any:
    return household.members.get(relation="head")


def make_loan(world: Any, village: str = VILLAGE, **over: Any) -> Loan:
    household = world.households[village]
    return do_create_loan(
        household.pk, head(household).pk, terms(**over), actor=world.user("county")
    )


@pytest.fixture
def fund(world: Any) -> Any:
    return do_deposit_risk_fund(
        COUNTY,
        1_000_000 * YUAN,
        timezone.localdate(),
        key="fund-1",
        memo="县财政注入",
        actor=world.user("county"),
    )


@pytest.fixture
def loan(world: Any, fund: Any) -> Loan:
    return make_loan(world)


def ordinary_household(world: Any, **fields: Any) -> Any:
    """An ordinary rural household (not registered) in the village, made through the action."""
    from conftest import make_id

    from jingzhun.registry.actions import do_create_household

    return do_create_household(
        "H-ORD-1",
        VILLAGE,
        {"poverty_status": "not_registered", "identified_year": None, **fields},
        [
            {
                "id_number": make_id("230231", "19800101", 91),
                "name": "钱七",
                "relation": "head",
                "basic_medical_insured": True,
            }
        ],
        actor=None,
    )
