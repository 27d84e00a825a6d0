"""Two disbursements racing for the last yuan on real PostgreSQL connections: exactly one wins.

Each thread holds its own connection and transaction; both wait at a barrier and then pay one
yuan from a project account that holds one yuan. The account's row lock serialises them; the
second reads the balance after the first committed and is refused. Then many threads post at once
and the balances still equal the sum of the postings.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from jingzhun.core.errors import DomainError
from jingzhun.projects.ledger import do_allocate_funds, do_disburse_funds, do_receive_funds
from jingzhun.projects.models import Account, Posting
from jingzhun.projects.selectors import project_balance, reconciliation

from .conftest import COUNTY, approve, plan_project

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


def test_two_disbursements_race_for_the_last_yuan_and_exactly_one_wins(
    world: Any, funded_source: Any
) -> None:
    county = world.user("county")
    project = approve(world, plan_project(world, funded_source, budget_fen=100))
    do_allocate_funds(
        project.pk, funded_source.pk, 100, timezone.localdate(), key="last-yuan", actor=county
    )
    results = _race(
        lambda n: do_disburse_funds(
            project.pk,
            funded_source.pk,
            100,
            timezone.localdate(),
            key=f"race-{n}",
            voucher=f"付-race-{n}",
            payee="收款人",
            actor=county,
        ),
        [1, 2],
    )
    wins = [r for r in results if isinstance(r, Posting)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(refused) == 1, results
    assert "余额不足" in refused[0].message
    assert project_balance(project.pk) == 0
    assert Posting.objects.filter(kind="disbursement").count() == 1
    assert reconciliation(county, COUNTY).ok


def test_many_threads_posting_at_once_keep_the_books_balanced(
    world: Any, funded_source: Any
) -> None:
    county = world.user("county")
    threads, each = 8, 10
    results = _race(
        lambda t: [
            do_receive_funds(
                funded_source.pk, 100 + t, timezone.localdate(), key=f"t{t}-{i}", actor=county
            )
            for i in range(each)
        ],
        list(range(threads)),
    )
    assert all(isinstance(r, list) for r in results), results
    source = Account.objects.get(kind="source", source=funded_source)
    expected = 50_000 * 100 + sum((100 + t) * each for t in range(threads))
    assert source.balance_fen == expected
    assert Posting.objects.filter(kind="receipt").count() == 1 + threads * each
    assert reconciliation(county, COUNTY).ok
