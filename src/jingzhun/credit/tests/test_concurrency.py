"""Two repayments racing for the last yuan of a loan on real PostgreSQL connections: exactly
one wins (the loan's row lock serialises them; the second reads the balance after the first
committed and is refused). Then two payouts race for the last of the risk fund."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from jingzhun.core.errors import DomainError
from jingzhun.credit.actions import Payment, do_record_repayment
from jingzhun.credit.models import Loan, Repayment

from .conftest import YUAN

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


def test_two_repayments_race_for_the_last_yuan_and_exactly_one_wins(world: Any, loan: Loan) -> None:
    county = world.user("county")
    do_record_repayment(
        loan.pk,
        Payment(datetime.date(2026, 9, 1), loan.amount_fen - YUAN),
        key="all-but-one",
        actor=county,
    )
    results = _race(
        lambda n: do_record_repayment(
            loan.pk, Payment(timezone.localdate(), YUAN), key=f"last-{n}", actor=county
        ),
        [1, 2],
    )
    wins = [r for r in results if isinstance(r, Repayment)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(refused) == 1, results
    assert "超过贷款" in refused[0].message and "未入账" in refused[0].message
    loan.refresh_from_db()
    assert loan.outstanding_fen == 0 and loan.status == "repaid"
    assert Repayment.objects.filter(loan=loan).count() == 2


def test_the_same_key_retried_at_once_posts_once(world: Any, loan: Loan) -> None:
    county = world.user("county")
    results = _race(
        lambda _n: do_record_repayment(
            loan.pk, Payment(timezone.localdate(), 100 * YUAN), key="retry", actor=county
        ),
        [1, 2, 3],
    )
    assert all(isinstance(r, Repayment) for r in results), results
    assert len({r.pk for r in results}) == 1
    loan.refresh_from_db()
    assert loan.outstanding_fen == loan.amount_fen - 100 * YUAN
