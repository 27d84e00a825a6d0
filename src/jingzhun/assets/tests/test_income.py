"""A paid plan becomes part of the household's income for the year, so the exit rule sees it:
below the line before the payment, above it after, with the trace naming the asset income.

The county's clock is set to 20 December 2019 (timezone.localdate), so the distribution is
judged against the 2019 household exit standard (line 3,218 yuan a person; the fixture
household has two members)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.assessments.actions import do_assess_households
from jingzhun.assessments.models import Assessment
from jingzhun.assets.actions import do_pay_plan
from jingzhun.assets.selectors import household_asset_income, income_trace
from jingzhun.audit.models import AuditEvent
from jingzhun.registry.actions import do_record_income, do_update_household
from jingzhun.registry.models import Household, IncomeRecord

from .conftest import VILLAGE, new_asset, posted_plan, receive

DAY = datetime.date(2019, 12, 20)


@pytest.fixture
def in_2019(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: DAY)


def _judge(household: Household) -> Assessment:
    do_assess_households(
        Household.objects.filter(pk=household.pk), "household_exit", 2019, actor=None
    )
    return Assessment.objects.filter(household=household, year=2019).order_by("-pk")[0]


def test_a_payment_lifts_the_household_above_the_line_and_the_trace_names_it(
    world: Any, in_2019: None
) -> None:
    county = world.user("county")
    household = world.households[VILLAGE]
    do_update_household(
        household.pk,
        household.version,
        {
            "food_secure": True,
            "clothing_secure": True,
            "house_safety_grade": "A",
            "water_quantity_ok": True,
            "water_quality_ok": True,
            "water_convenience_ok": True,
            "water_reliability_ok": True,
        },
        actor=county,
    )
    do_record_income(household.pk, 2019, {"wage_income": "5000"}, actor=county)
    before = _judge(household)
    assert "income" in before.failed  # 2,500 yuan a person: below 3,218

    asset = new_asset(world)
    receive(world, asset, 10_000)
    plan = posted_plan(world, asset, job=1_600, works=7_400)  # the household: 1,600 of job wages
    do_pay_plan(plan.pk, DAY, "pay-2019", actor=county)

    income = IncomeRecord.objects.get(household=household, year=2019)
    assert income.wage_income == 6_600
    after = _judge(household)
    assert "income" not in after.failed and after.passed  # 3,300 yuan a person
    [line] = income_trace(household.pk, 2019)
    assert "第1镇1村光伏电站" in str(line) and "公益岗位工资" in str(line)
    assert "1,600.00 元" in str(line) and "工资性收入" in str(line)
    event = AuditEvent.objects.filter(event="registry.income.record", object_id=str(household.pk))
    sources = [e.diff.get("source", "") for e in event]
    assert any(f"方案#{plan.pk}" in s and "第1镇1村光伏电站" in s for s in sources)

    # a retry of the payment changes nothing: the income is not counted twice
    do_pay_plan(plan.pk, DAY, "pay-2019", actor=county)
    assert IncomeRecord.objects.get(household=household, year=2019).wage_income == 6_600
    assert [p.plan_id for p in household_asset_income(household.pk)] == [plan.pk]
