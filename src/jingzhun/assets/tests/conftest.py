"""Fixtures: an asset of village 100201 with income received, through the real actions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.assets.actions import (
    do_approve_plan,
    do_create_plan,
    do_post_plan,
    do_record_asset_income,
    do_register_asset,
    do_set_plan_payment,
)
from jingzhun.assets.models import Asset, DistributionPlan

VILLAGE = "230231100201"
OTHER_VILLAGE = "230231100202"
YUAN = 100


def today() -> datetime.date:
    return timezone.localdate()


def new_asset(world: Any, *, region: str = VILLAGE, name: str = "第1镇1村光伏电站") -> Asset:
    return do_register_asset(
        region,
        name,
        "solar",
        "operating",
        400_000 * YUAN,
        capacity_kw=100,
        custodian="王管护",
        actor=world.user("village"),
    )


def receive(world: Any, asset: Asset, amount_yuan: int, voucher: str = "电费结算-1") -> Any:
    return do_record_asset_income(
        asset.pk,
        today() - datetime.timedelta(days=30),
        amount_yuan * YUAN,
        voucher,
        f"key-{asset.pk}-{voucher}",
        actor=world.user("village"),
    )


def posted_plan(
    world: Any, asset: Asset, *, job: int = 8_000, works: int = 1_000
) -> DistributionPlan:
    """A plan of 10,000 yuan (job 8,000, works 1,000, retention 1,000) paying the village's
    household 8,000 yuan of job wages, approved and posted 10 days ago."""
    household = world.households[VILLAGE]
    plan = do_create_plan(
        asset.pk,
        today().year,
        f"{today().year} 年光伏收益分配方案",
        {"public_job": job * YUAN, "works": works * YUAN, "retention": 1_000 * YUAN},
        actor=world.user("village"),
    )
    do_set_plan_payment(
        plan.pk,
        household.pk,
        "public_job",
        job * YUAN,
        "护林员公益岗位 12 个月",
        actor=world.user("village"),
    )
    plan = do_approve_plan(plan.pk, actor=world.user("township"))
    return do_post_plan(
        plan.pk, today() - datetime.timedelta(days=10), actor=world.user("township")
    )


@pytest.fixture
def asset(world: Any) -> Asset:
    a = new_asset(world)
    receive(world, a, 10_000)
    return a
