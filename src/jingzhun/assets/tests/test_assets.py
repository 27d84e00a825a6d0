"""The asset register, income received, distribution plans and their refusals (issue 23 item 4)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from jingzhun.assets.actions import (
    do_approve_plan,
    do_change_asset_state,
    do_confirm_asset,
    do_create_plan,
    do_pay_plan,
    do_record_asset_income,
    do_register_asset,
    do_set_plan_payment,
)
from jingzhun.assets.models import Asset, AssetIncome, DistributionPlan, PlanPayment
from jingzhun.assets.rules import check_plan, rules_on
from jingzhun.assets.selectors import asset_for, assets_for, figures, plan_for
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.projects.ledger import KeyConflict
from jingzhun.regions.actions import RegionRow, do_load_regions
from jingzhun.registry.models import IncomeRecord

from .conftest import OTHER_VILLAGE, VILLAGE, YUAN, new_asset, posted_plan, receive, today


def state() -> tuple[int, ...]:
    return (
        Asset.objects.count(),
        AssetIncome.objects.count(),
        DistributionPlan.objects.count(),
        PlanPayment.objects.count(),
        IncomeRecord.objects.count(),
        AuditEvent.objects.count(),
    )


def refused(match: str, work: Any, error: type[Exception] = DomainError) -> None:
    before = state()
    with pytest.raises(error, match=match):
        work()
    assert state() == before, "a refusal writes nothing"


def test_register_confirm_and_state(world: Any) -> None:
    asset = new_asset(world)
    assert (asset.county_code, asset.township_code, asset.village_code) == (
        "230231000000",
        "230231100000",
        VILLAGE,
    )
    refused("不能晚于今天", lambda: do_confirm_asset(
        asset.pk, today() + datetime.timedelta(days=1), "拜泉县确权〔2026〕1号", actor=world.user("county")
    ))  # fmt: skip
    refused("无权办理资产确权", lambda: do_confirm_asset(
        asset.pk, today(), "确权书", actor=world.user("village")
    ), Forbidden)  # fmt: skip
    asset = do_confirm_asset(asset.pk, today(), "拜泉县确权〔2026〕1号", actor=world.user("county"))
    assert asset.confirmed_on == today() and asset.confirmed_by == world.user("county")
    refused(
        "不能重复确权", lambda: do_confirm_asset(asset.pk, today(), "x", actor=world.user("county"))
    )
    asset = do_change_asset_state(
        asset.pk, "damaged", reason="冰雹损坏组件", actor=world.user("village")
    )
    assert asset.state == "damaged" and asset.version == 3
    refused("无权处置资产", lambda: do_change_asset_state(
        asset.pk, "disposed", reason="报废", actor=world.user("township")
    ), Forbidden)  # fmt: skip
    events = AuditEvent.objects.filter(object_type="asset", object_id=str(asset.pk))
    assert {e.event for e in events} >= {
        "assets.asset.register",
        "assets.asset.confirm",
        "assets.asset.state",
    }


def test_a_household_owner_lives_in_the_village_and_a_source_project_was_handed_over(
    world: Any,
) -> None:
    other = world.households[OTHER_VILLAGE]
    refused("不是第1镇1村的农户", lambda: do_register_asset(
        VILLAGE, "肉牛", "livestock", "household", 8_000 * YUAN, owner_kind="household",
        owner_household_id=other.pk, actor=world.user("county"),
    ))  # fmt: skip
    from jingzhun.projects.tests.conftest import new_project

    project = new_project(world)
    refused("资产移交后才能登记", lambda: do_register_asset(
        VILLAGE, "光伏", "solar", "operating", 1, project_id=project.pk, actor=world.user("county")
    ))  # fmt: skip


def test_income_is_idempotent_and_vouchers_unique(world: Any) -> None:
    asset = new_asset(world)
    first = receive(world, asset, 500)
    again = receive(world, asset, 500)  # a retry with the same key: the same row
    assert again.pk == first.pk and AssetIncome.objects.count() == 1
    refused("已用于另一笔收益", lambda: do_record_asset_income(
        asset.pk, today(), 600 * YUAN, "电费结算-1", f"key-{asset.pk}-电费结算-1", actor=world.user("village")
    ), KeyConflict)  # fmt: skip
    refused("不能重复登记", lambda: do_record_asset_income(
        asset.pk, today(), 600 * YUAN, "电费结算-1", "another-key", actor=world.user("village")
    ))  # fmt: skip


@pytest.mark.parametrize(
    ("amounts", "error"),
    [
        # golden cases worked out from the rules table: labour >= 80%, retention and reward <= 20%
        ({"public_job": 8_000, "works": 0, "retention": 2_000}, None),  # labour 80% exactly
        ({"public_job": 7_000, "works": 1_000, "reward": 1_000, "retention": 1_000}, None),
        (
            {"public_job": 7_000, "works": 900, "reward": 1_050, "retention": 1_050},
            "低于 80%",
        ),  # 79%
        ({"public_job": 8_500, "reward": 0, "retention": 1_500}, None),
        (
            {"public_job": 8_000, "reward": 2_001},
            "奖励补助 2,001.00 元，占分配合计的比例超过了 20%",
        ),
        (
            {"public_job": 8_000, "retention": 2_001},
            "村集体留存 2,001.00 元，占分配合计的比例超过了 20%",
        ),
        ({"public_job": 20_001}, "超过了该资产本年度已到账"),
    ],
)
def test_golden_distribution_rules(amounts: dict[str, int], error: str | None) -> None:
    rules = rules_on(datetime.date(2026, 12, 1))
    fen = {u: amounts.get(u, 0) * YUAN for u in ("public_job", "reward", "works", "retention")}
    if error is None:
        trace = check_plan(rules, fen, 20_000 * YUAN, {})
        assert all(line["passed"] for line in trace) and len(trace) == 4
        assert "asset_income_rules" in trace[0]["source"]
    else:
        with pytest.raises(DomainError, match=error):
            check_plan(rules, fen, 20_000 * YUAN, {})


def test_plan_refusals_write_nothing(world: Any, asset: Asset) -> None:
    village = world.user("village")
    refused("超过了资产“第1镇1村光伏电站”", lambda: do_create_plan(
        asset.pk, today().year, "方案", {"public_job": 10_001 * YUAN}, actor=village
    ))  # fmt: skip
    plan = do_create_plan(
        asset.pk,
        today().year,
        "方案",
        {"public_job": 8_000 * YUAN, "retention": 2_000 * YUAN},
        actor=village,
    )
    refused(
        "已到账且未分配",
        lambda: do_create_plan(
            asset.pk, today().year, "第二个方案", {"public_job": 1 * YUAN}, actor=village
        ),
    )  # fmt: skip  the first plan holds all of the income
    other = world.households[OTHER_VILLAGE]
    refused("不是资产所在村（第1镇1村）的农户", lambda: do_set_plan_payment(
        plan.pk, other.pk, "public_job", 100 * YUAN, "保洁员", actor=world.user("county")
    ))  # fmt: skip
    mine = world.households[VILLAGE]
    refused("不得简单发钱", lambda: do_set_plan_payment(
        plan.pk, mine.pk, "retention", 100 * YUAN, "人均分配", actor=village
    ))  # fmt: skip
    refused("须写明依据", lambda: do_set_plan_payment(
        plan.pk, mine.pk, "public_job", 100 * YUAN, "  ", actor=village
    ))  # fmt: skip
    refused("超过了方案中该用途的金额", lambda: do_set_plan_payment(
        plan.pk, mine.pk, "public_job", 8_001 * YUAN, "保洁员", actor=village
    ))  # fmt: skip
    refused(
        "尚未审批，不能支付",
        lambda: do_pay_plan(plan.pk, today(), "pay-1", actor=world.user("county")),
    )
    refused("没有到户名单", lambda: do_approve_plan(plan.pk, actor=world.user("township")))
    refused("无权审批", lambda: do_approve_plan(plan.pk, actor=village), Forbidden)


def test_a_plan_moves_draft_approved_posted_paid(world: Any, asset: Asset) -> None:
    plan = posted_plan(world, asset)
    assert plan.state == "posted" and plan.posting_pdf and len(plan.posting_sha256) == 64
    assert plan.trace and all(line["passed"] for line in plan.trace)
    assert "asset_income_rules" in plan.policy_version
    refused(
        "公示期满后才能支付",
        lambda: do_pay_plan(
            plan.pk, today() - datetime.timedelta(days=6), "pay-1", actor=world.user("county")
        ),
    )  # fmt: skip  posted 10 days ago for 5 days: the day before it ended
    paid = do_pay_plan(plan.pk, today(), "pay-1", actor=world.user("county"))
    assert paid.state == "paid"
    assert do_pay_plan(plan.pk, today(), "pay-1", actor=world.user("county")).pk == plan.pk  # retry
    refused(
        "不能重复支付", lambda: do_pay_plan(plan.pk, today(), "pay-2", actor=world.user("county"))
    )
    income = IncomeRecord.objects.get(household=world.households[VILLAGE], year=today().year)
    assert income.wage_income == 8_000
    f = figures(world.user("county"), "230231000000", today().year)
    assert (f.received_fen, f.distributed_fen, f.households) == (10_000 * YUAN, 8_000 * YUAN, 1)


def test_rewards_count_as_other_transfer_income(world: Any, asset: Asset) -> None:
    village = world.user("village")
    mine = world.households[VILLAGE]
    from jingzhun.registry.actions import do_record_income

    do_record_income(
        mine.pk, today().year, {"transfer_income": "300", "other_transfer": "100"}, actor=village
    )
    plan = do_create_plan(
        asset.pk, today().year, "奖补方案",
        {"public_job": 8_000 * YUAN, "reward": 1_000 * YUAN, "retention": 1_000 * YUAN}, actor=village,
    )  # fmt: skip
    do_set_plan_payment(plan.pk, mine.pk, "public_job", 8_000 * YUAN, "护林员", actor=village)
    do_set_plan_payment(plan.pk, mine.pk, "reward", 500 * YUAN, "孝老爱亲奖励", actor=village)
    do_approve_plan(plan.pk, actor=world.user("county"))
    do_post_plan_ago(world, plan.pk)
    do_pay_plan(plan.pk, today(), "pay-r", actor=world.user("county"))
    income = IncomeRecord.objects.get(household=mine, year=today().year)
    assert (income.wage_income, income.transfer_income, income.other_transfer) == (8_000, 800, 600)


def do_post_plan_ago(world: Any, plan_id: int) -> None:
    from jingzhun.assets.actions import do_post_plan

    do_post_plan(plan_id, today() - datetime.timedelta(days=10), actor=world.user("township"))


def test_scoping_other_township_and_other_county(world: Any, asset: Asset) -> None:
    from jingzhun.access.models import RegionGrant, User

    do_load_regions(
        [
            RegionRow(3, "230232000000", "另一县"),
            RegionRow(4, "230232100000", "另一镇"),
            RegionRow(5, "230232100201", "另一村"),
        ],
        actor=None,
        source="fixture",
    )
    stranger = User.objects.create_user(username="c2", password="Test-pass-2026", role="county")
    RegionGrant.objects.create(user=stranger, region_id="230232000000")
    theirs = do_register_asset("230232100201", "另一县光伏", "solar", "operating", 1, actor=None)
    assert list(assets_for(stranger)) == [theirs]
    assert asset not in assets_for(world.user("other_township"))
    for user in (stranger, world.user("other_township"), world.user("helper")):
        with pytest.raises(OutOfScope):
            asset_for(user, asset.pk)
    with pytest.raises(OutOfScope):
        asset_for(world.user("county"), theirs.pk)
    plan = posted_plan(world, asset)
    with pytest.raises(OutOfScope):
        plan_for(stranger, plan.pk)
    refused(
        "未找到该分配方案", lambda: do_pay_plan(plan.pk, today(), "k", actor=stranger), OutOfScope
    )
    refused("未找到该资产", lambda: do_record_asset_income(
        asset.pk, today(), 1, "v", "k", actor=stranger
    ), OutOfScope)  # fmt: skip
    refused("未找到该资产", lambda: do_create_plan(
        theirs.pk, today().year, "x", {"public_job": 1}, actor=world.user("county")
    ), OutOfScope)  # fmt: skip


def test_demo_assets_pay_a_plan_to_the_village_households(world: Any) -> None:
    from jingzhun.assets.demo import seed_demo_assets

    paid = seed_demo_assets("230231000000")
    assert paid == 1  # the fixture village has one household
    plan = DistributionPlan.objects.get(state="paid")
    assert plan.village_code == VILLAGE and plan.trace
    income = IncomeRecord.objects.get(household=world.households[VILLAGE], year=today().year)
    assert income.wage_income == 6_000 and income.other_transfer == 800
    assert seed_demo_assets("230231000000") == 0  # once


def test_demo_assets_link_the_handed_over_demo_project(world: Any) -> None:
    from jingzhun.assets.demo import seed_demo_assets
    from jingzhun.projects.demo import seed_demo_projects

    seed_demo_projects("230231000000")
    seed_demo_assets("230231000000")
    station = Asset.objects.filter(village_code=VILLAGE, kind="solar").get()
    assert station.project is not None and station.project.state == "handed_over"
