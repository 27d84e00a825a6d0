"""Two redemptions racing for a household's last points on real PostgreSQL connections:
exactly one wins, the balance and the stock end at what the entries say."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from jingzhun.core.errors import DomainError
from jingzhun.points.actions import do_earn_points, do_redeem_points
from jingzhun.points.models import PointsEntry, ShopGoods
from jingzhun.points.selectors import balance_of
from jingzhun.projects.tests.test_concurrency import _race

from .conftest import household, today

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="real concurrent connections need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_redemptions_race_for_the_last_points_and_exactly_one_wins(
    world: Any, shop: Any, goods: Any
) -> None:
    h = household(world)
    village = world.user("village")
    for n in range(4):  # 12 points: one bag of 10, not two
        do_earn_points(h.pk, "volunteer", today(), key=f"v-{n}", actor=village)
    results = _race(
        lambda n: do_redeem_points(
            shop.pk, goods.pk, h.pk, 1, today(), key=f"race-{n}", actor=village
        ),
        [1, 2],
    )
    wins = [r for r in results if isinstance(r, PointsEntry)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(refused) == 1, results
    assert "积分不足" in refused[0].message
    assert balance_of(h) == 2
    assert ShopGoods.objects.get(pk=goods.pk).stock == 4
    total = PointsEntry.objects.filter(household=h).aggregate(s=Sum("points"))["s"]
    assert total == balance_of(h)


def test_many_redemptions_at_once_never_oversell_the_stock(
    world: Any, shop: Any, goods: Any
) -> None:
    village = world.user("village")
    buyers = [household(world)]
    for n in range(13):  # 39 points: three bags
        do_earn_points(buyers[0].pk, "volunteer", today(), key=f"v-{n}", actor=village)
    results = _race(
        lambda n: do_redeem_points(
            shop.pk, goods.pk, buyers[0].pk, 1, today(), key=f"many-{n}", actor=village
        ),
        list(range(6)),
    )
    wins = [r for r in results if isinstance(r, PointsEntry)]
    assert len(wins) == 3, results
    assert ShopGoods.objects.get(pk=goods.pk).stock == 2
    assert balance_of(buyers[0]) == 9
