"""Points shops: earning under the rules, the monthly cap and appraisal, redemption against
balance and stock, reversals, idempotency keys, refusals (Chinese, nothing written), scope."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.points.actions import (
    KeyConflict,
    do_confirm_appraisal,
    do_create_shop,
    do_earn_points,
    do_post_appraisal,
    do_redeem_points,
    do_restock_goods,
    do_reverse_points_entry,
)
from jingzhun.points.models import Appraisal, PointsAccount, PointsEntry, ShopGoods
from jingzhun.points.rules import rules_for
from jingzhun.points.selectors import balance_of, pending_of, shops_for

from .conftest import OTHER_TOWNSHIP_VILLAGE, OTHER_VILLAGE, household, last_month, today

pytestmark = pytest.mark.django_db


def _state() -> tuple[int, int, int, list[int]]:
    return (
        PointsEntry.objects.count(),
        AuditEvent.objects.count(),
        Appraisal.objects.count(),
        sorted(PointsAccount.objects.values_list("balance", flat=True))
        + sorted(ShopGoods.objects.values_list("stock", flat=True)),
    )


def _refused(work: Any, *words: str, error: type[DomainError] = DomainError) -> DomainError:
    before = _state()
    with pytest.raises(error) as caught:
        work()
    for word in words:
        assert word in caught.value.message, caught.value.message
    assert _state() == before, "a refusal wrote something"
    return caught.value


def earn(
    world: Any,
    item: str = "volunteer",
    *,
    key: str,
    on: datetime.date | None = None,
    village: str = "230231100201",
) -> PointsEntry:
    return do_earn_points(
        household(world, village).pk,
        item,
        on or today(),
        key=key,
        actor=world.user("village") if village == "230231100201" else world.user("county"),
    )


def test_the_shipped_rules_give_items_a_cap_and_five_stars() -> None:
    rules = rules_for("230231000000", today())
    assert rules.doc.monthly_cap == 40
    assert rules.doc.appraisal_posting_days == 3
    assert rules.doc.point_value_fen == 100
    assert [c.code for c in rules.doc.star_criteria] == [
        "hygiene",
        "civility",
        "filial",
        "lawful",
        "self_reliance",
    ]
    assert rules.item("volunteer") is not None and not rules.item("volunteer").appraisal
    assert rules.item("public_labour").appraisal


def test_earning_counts_at_once_and_a_retry_with_the_same_key_posts_once(world: Any) -> None:
    h = household(world)
    first = earn(world, key="earn-1")
    again = earn(world, key="earn-1")
    assert first.pk == again.pk and first.points == 3 and first.state == "counted"
    assert balance_of(h) == 3
    assert first.rules_version.startswith("2026-12-07#")
    event = AuditEvent.objects.filter(event="points.entry.earn").get()
    assert event.diff["cap"] == 40 and event.diff["month_before"] == 0


def test_a_key_used_for_something_else_is_refused(world: Any) -> None:
    earn(world, key="k")
    _refused(lambda: earn(world, "meeting", key="k"), "幂等键", "k", error=KeyConflict)


def test_an_unknown_item_is_refused_naming_the_rule_file(world: Any) -> None:
    _refused(lambda: earn(world, "singing", key="x"), "积分事项", "singing", "points_rules.yaml")


def test_the_monthly_cap_refuses_the_point_over_it(world: Any) -> None:
    h = household(world)
    for n in range(13):  # 13 x 3 = 39
        earn(world, key=f"v-{n}")
    assert balance_of(h) == 39
    err = _refused(lambda: earn(world, key="v-over"), "超过每月积分上限", "已得 39 分", "40")
    assert err.field == "item"
    earn(world, "meeting", key="m-1")  # 1 point more reaches the cap exactly
    assert balance_of(h) == 40
    # the next month starts again
    earn(world, key="last-month", on=last_month())
    assert balance_of(h) == 43


def test_an_appraisal_item_counts_after_the_posting_period(world: Any) -> None:
    h = household(world)
    village = world.user("village")
    entry = earn(world, "public_labour", key="labour", on=last_month())
    assert entry.state == "pending" and balance_of(h) == 0 and pending_of(h) == 2
    appraisal = entry.appraisal
    assert appraisal is not None
    _refused(lambda: do_confirm_appraisal(appraisal.pk, actor=village), "公示期满后")
    posted = do_post_appraisal(appraisal.pk, actor=village)
    assert posted.state == "posted" and posted.posting_days == 3
    # nothing more may be added to a posted month
    _refused(lambda: earn(world, "public_labour", key="late", on=last_month()), "已公示", "评议")
    _refused(lambda: do_confirm_appraisal(appraisal.pk, actor=village), "公示期未满", "3 天")
    with time_machine.travel(
        datetime.datetime.combine(today(), datetime.time(12)) + datetime.timedelta(days=3),
        tick=False,
    ):
        done = do_confirm_appraisal(appraisal.pk, actor=village)
    assert done.state == "confirmed"
    assert balance_of(h) == 2 and pending_of(h) == 0


def test_the_running_month_cannot_be_posted(world: Any) -> None:
    entry = earn(world, "public_labour", key="labour-now")
    _refused(lambda: do_post_appraisal(entry.appraisal_id, actor=world.user("village")), "尚未结束")


def test_redemption_takes_points_and_stock(world: Any, shop: Any, goods: Any) -> None:
    h = household(world)
    for n in range(7):
        earn(world, key=f"v-{n}")  # 21 points
    entry = do_redeem_points(
        shop.pk, goods.pk, h.pk, 2, today(), key="r-1", actor=world.user("village")
    )
    assert entry.points == -20 and entry.quantity == 2
    assert balance_of(h) == 1
    goods.refresh_from_db()
    assert goods.stock == 3
    retry = do_redeem_points(
        shop.pk, goods.pk, h.pk, 2, today(), key="r-1", actor=world.user("village")
    )
    assert retry.pk == entry.pk and balance_of(h) == 1


def test_not_enough_points_is_refused(world: Any, shop: Any, goods: Any) -> None:
    h = household(world)
    earn(world, key="v")
    err = _refused(
        lambda: do_redeem_points(
            shop.pk, goods.pk, h.pk, 1, today(), key="r", actor=world.user("village")
        ),
        "积分不足",
        "余额 3 分",
        "需 10 分",
    )
    assert err.field == "quantity"


def test_out_of_stock_is_refused(world: Any, shop: Any, goods: Any) -> None:
    h = household(world)
    for n in range(13):
        earn(world, key=f"v-{n}")
    _refused(
        lambda: do_redeem_points(
            shop.pk, goods.pk, h.pk, 6, today(), key="r", actor=world.user("village")
        ),
        "库存不足",
        "现有 5 袋",
        "兑换 6 袋",
    )
    _refused(lambda: do_restock_goods(goods.pk, -6, actor=world.user("township")), "库存不足")


def test_a_household_outside_the_shop_area_is_refused(world: Any, shop: Any, goods: Any) -> None:
    other = household(world, OTHER_VILLAGE)
    do_earn_points(other.pk, "good_deed", last_month(), key="g", actor=world.user("county"))
    _refused(
        lambda: do_redeem_points(
            shop.pk, goods.pk, other.pk, 1, today(), key="r", actor=world.user("county")
        ),
        "不在",
        "服务区域",
        "李四",
    )


def test_a_township_shop_serves_the_whole_township(world: Any) -> None:
    from jingzhun.points.actions import do_add_goods

    town = world.user("township")
    shop = do_create_shop("230231100000", "第1镇中心爱心超市", actor=town)
    goods = do_restock_goods(do_add_goods(shop.pk, "毛巾", 3, actor=town).pk, 10, actor=town)
    other = household(world, OTHER_VILLAGE)
    do_earn_points(other.pk, "volunteer", today(), key="v", actor=town)
    do_redeem_points(shop.pk, goods.pk, other.pk, 1, today(), key="r", actor=town)
    assert balance_of(other) == 0
    far = household(world, OTHER_TOWNSHIP_VILLAGE)
    do_earn_points(far.pk, "volunteer", today(), key="v2", actor=world.user("county"))
    _refused(
        lambda: do_redeem_points(
            shop.pk, goods.pk, far.pk, 1, today(), key="r2", actor=world.user("county")
        ),
        "服务区域",
    )


def test_reversals_correct_and_never_go_below_zero(world: Any, shop: Any, goods: Any) -> None:
    h = household(world)
    village = world.user("village")
    earned = [earn(world, key=f"v-{n}") for n in range(4)]  # 12
    redeemed = do_redeem_points(shop.pk, goods.pk, h.pk, 1, today(), key="r", actor=village)
    assert balance_of(h) == 2
    # taking back an earning whose points were spent would make the balance negative
    _refused(
        lambda: do_reverse_points_entry(earned[0].pk, "误登", key="rev-0", actor=village),
        "积分不足，不能冲正",
    )
    back = do_reverse_points_entry(redeemed.pk, "商品退回", key="rev-r", actor=village)
    assert back.points == 10 and balance_of(h) == 12
    goods.refresh_from_db()
    assert goods.stock == 5
    do_reverse_points_entry(earned[0].pk, "误登", key="rev-0", actor=village)
    assert balance_of(h) == 9
    _refused(
        lambda: do_reverse_points_entry(earned[0].pk, "再冲", key="rev-00", actor=village),
        "已经冲正",
    )
    _refused(
        lambda: do_reverse_points_entry(back.pk, "冲冲正", key="rev-x", actor=village), "不能再冲正"
    )
    # a reversed earning frees room under the monthly cap
    assert PointsEntry.objects.filter(household=h).count() == 7


def test_roles_and_scope(world: Any, shop: Any, goods: Any) -> None:
    h = household(world)
    _refused(
        lambda: do_earn_points(h.pk, "volunteer", today(), key="a", actor=world.user("auditor")),
        "无权",
        error=Forbidden,
    )
    _refused(
        lambda: do_earn_points(
            h.pk, "volunteer", today(), key="b", actor=world.user("other_township")
        ),
        "未找到该户",
        error=OutOfScope,
    )
    _refused(
        lambda: do_redeem_points(
            shop.pk, goods.pk, h.pk, 1, today(), key="c", actor=world.user("other_township")
        ),
        "未找到该爱心超市",
        error=OutOfScope,
    )
    _refused(
        lambda: do_create_shop("230231100202", "村超市", actor=world.user("village")),
        "无权",
        error=Forbidden,
    )
    _refused(
        lambda: do_create_shop("230231100201", "外乡超市", actor=world.user("other_township")),
        "未找到该区划",
        error=OutOfScope,
    )
    assert list(shops_for(world.user("other_township"))) == []
    assert list(shops_for(world.user("helper"))) == []
    assert [s.pk for s in shops_for(world.user("village"))] == [shop.pk]
