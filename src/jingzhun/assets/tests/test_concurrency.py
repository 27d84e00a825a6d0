"""Two payments of the same plan racing on real PostgreSQL connections: exactly one pays.

Both threads wait at a barrier and then pay the posted plan with different idempotency keys.
The plan's row lock serialises them; the second reads the plan as paid and is refused, so the
household's income is credited once.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from jingzhun.assets.actions import do_pay_plan
from jingzhun.assets.models import DistributionPlan, PlanPayment
from jingzhun.core.errors import DomainError
from jingzhun.registry.models import IncomeRecord

from .conftest import VILLAGE, new_asset, posted_plan, receive, today

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="real concurrent connections need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def _race(work: Any, args: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(args))
    results: list[Any] = [None] * len(args)

    def run(i: int, arg: Any) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(arg)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_payments_of_one_plan_race_and_exactly_one_pays(world: Any) -> None:
    asset = new_asset(world)
    receive(world, asset, 10_000)
    plan = posted_plan(world, asset)
    county = world.user("county")
    results = _race(lambda n: do_pay_plan(plan.pk, today(), f"race-{n}", actor=county), [1, 2])
    wins = [r for r in results if isinstance(r, DistributionPlan)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(refused) == 1, results
    assert "不能重复支付" in refused[0].message
    income = IncomeRecord.objects.get(household=world.households[VILLAGE], year=today().year)
    assert income.wage_income == 8_000  # credited once
    assert PlanPayment.objects.filter(plan=plan, credited_at__isnull=False).count() == 1
