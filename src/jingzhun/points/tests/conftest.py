"""Fixtures: a village shop with goods in stock, made through the real actions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.points.actions import do_add_goods, do_create_shop, do_restock_goods
from jingzhun.points.models import PointsShop, ShopGoods
from jingzhun.projects.tests.conftest import funded_source, source  # noqa: F401 - fixtures

VILLAGE = "230231100201"
OTHER_VILLAGE = "230231100202"
OTHER_TOWNSHIP_VILLAGE = "230231101201"


def today() -> datetime.date:
    return timezone.localdate()


def last_month() -> datetime.date:
    """A day of the previous month (its appraisal may be posted)."""
    return today().replace(day=1) - datetime.timedelta(days=1)


@pytest.fixture
def shop(world: Any) -> PointsShop:
    return do_create_shop(
        VILLAGE, "第1镇1村爱心超市", keeper="刘会计", actor=world.user("township")
    )


@pytest.fixture
def goods(world: Any, shop: PointsShop) -> ShopGoods:
    item = do_add_goods(shop.pk, "洗衣粉", 10, unit="袋", actor=world.user("township"))
    return do_restock_goods(item.pk, 5, note="首批进货", actor=world.user("township"))


def household(world: Any, village: str = VILLAGE) -> Any:
    return world.households[village]
