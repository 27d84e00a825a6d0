"""Writes of the points shops and star ratings (issue 23 item 5; ADR points-shop-ledger).

Every function is an action (AGENTS.md rule 1): one transaction, role and scope checked, the
write, an audit event in the same transaction. A refusal is a `DomainError` in Chinese naming
the reason (over the monthly cap, not enough points, out of stock, household outside the shop's
area, …); nothing is written then.

Points move as append-only entries with a caller-chosen idempotency key (the same key with the
same content returns the entry already made; with other content it is refused). The household's
account and the goods are locked (`select_for_update`; account before goods, always) before
balance, cap and stock are read, so two redemptions racing for the last points are serialised
and the second finds them gone; CHECK constraints keep balance and stock at or above zero as a
last line. Corrections are reversals.

Earnings under an item with `appraisal: true` wait (pending) in the village's monthly appraisal:
they count once the appraisal has been posted for the rule's days (`appraisal_posting_days`)
and confirmed.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from jingzhun.access.scoping import check_household_in_scope, check_region_in_scope
from jingzhun.audit.actions import record
from jingzhun.core.checks import business_date, clean_key, require_role
from jingzhun.core.errors import DomainError, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household

from .choices import POINTS_RECORDERS, SHOP_MANAGERS
from .models import Appraisal, PointsAccount, PointsEntry, PointsShop, ShopGoods, StarRating
from .rules import Rules, rules_for
from .scope import HOUSEHOLD_NOT_FOUND, SHOP_NOT_FOUND, place_filter

MAX_QUANTITY: Final = 1000
MAX_STOCK: Final = 1_000_000
STALE: Final = "该户的星级评定已被他人修改，请刷新后重试。"


class KeyConflict(DomainError):
    status = 409


def clean(text: Any, field: str, label: str, most: int, *, required: bool = False) -> str:
    value = re.sub(r"[\x00-\x1f\x7f]", " ", str(text or "")).strip()
    if required and not value:
        raise DomainError(f"请填写{label}。", field=field)
    if len(value) > most:
        raise DomainError(f"{label}不能超过 {most} 个字。", field=field)
    return value


def _count(value: Any, field: str, label: str, most: int, *, signed: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{label}应为整数。", field=field)
    low = -most if signed else 1
    if value == 0 or not low <= value <= most:
        raise DomainError(
            f"{label}应为{'非零' if signed else '正'}整数，且绝对值不超过 {most}。", field=field
        )
    return value


def _household(household_id: Any, actor: Any) -> Household:
    household = Household.objects.filter(pk=household_id).first() if household_id else None
    if household is None:
        raise OutOfScope(HOUSEHOLD_NOT_FOUND)
    if actor is not None:
        check_household_in_scope(actor, household)
    return household


def _account(household: Household) -> PointsAccount:
    """The household's account, locked (opened on first use)."""
    PointsAccount.objects.get_or_create(
        household=household, defaults={"county_code": household.county_code}
    )
    return PointsAccount.objects.select_for_update().get(household=household)


def _same_key(key: str, **content: Any) -> PointsEntry | None:
    """The entry already written under this key when the content agrees (a retry), None when
    the key is new; KeyConflict when the key was used for something else."""
    existing = PointsEntry.objects.filter(key=key).first()
    if existing is None:
        return None
    if all(getattr(existing, k) == v for k, v in content.items()):
        return existing
    raise KeyConflict(
        f"幂等键“{key}”已用于另一笔积分记录（#{existing.pk}），请换一个键。", field="key"
    )


def _shop_locked(shop_id: Any, actor: Any) -> PointsShop:
    shop = PointsShop.objects.filter(pk=shop_id).first() if shop_id else None
    if shop is None:
        raise OutOfScope(SHOP_NOT_FOUND)
    if (
        actor is not None
        and not PointsShop.objects.filter(place_filter(actor), pk=shop.pk).exists()
    ):
        raise OutOfScope(SHOP_NOT_FOUND)
    return shop


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


# --- shops and goods ---------------------------------------------------------------------------


@action
@transaction.atomic
def do_create_shop(region_code: str, name: str, *, keeper: str = "", actor: Any) -> PointsShop:
    """Open a points shop serving a village or a whole township."""
    require_role(actor, SHOP_MANAGERS, "开设爱心超市（由县、乡镇开设）")
    region = Region.objects.filter(pk=str(region_code or "")).first()
    if region is None or region.level not in ("township", "village"):
        raise DomainError("爱心超市的服务区域应为一个乡镇或一个村。", field="region")
    if actor is not None:
        check_region_in_scope(actor, region.code)
    name = clean(name, "name", "超市名称", 100, required=True)
    keeper = clean(keeper, "keeper", "管理员", 50)
    if PointsShop.objects.filter(region=region, name=name).exists():
        raise DomainError(f"“{region.name}”已有名为“{name}”的爱心超市。", field="name")
    shop = PointsShop.objects.create(
        name=name,
        region=region,
        county_code=codes.county_of(region.code),
        township_code=codes.township_of(region.code),
        village_code=region.code if region.level == "village" else "",
        keeper=keeper,
    )
    record(
        "points.shop.create",
        actor=actor,
        object_type="points_shop",
        object_id=shop.pk,
        diff={"name": name, "region": region.code, "keeper": keeper},
    )
    return shop


@action
@transaction.atomic
def do_add_goods(
    shop_id: int, name: str, price_points: int, *, unit: str = "件", actor: Any
) -> ShopGoods:
    """Put goods on a shop's shelf at a price in points (stock comes with restocking)."""
    require_role(actor, SHOP_MANAGERS, "管理超市商品")
    shop = _shop_locked(shop_id, actor)
    name = clean(name, "name", "商品名称", 100, required=True)
    unit = clean(unit, "unit", "单位", 10, required=True)
    price = _count(price_points, "price_points", "兑换积分", 100_000)
    if ShopGoods.objects.filter(shop=shop, name=name).exists():
        raise DomainError(f"“{shop.name}”已有商品“{name}”。", field="name")
    goods = ShopGoods.objects.create(shop=shop, name=name, unit=unit, price_points=price)
    record(
        "points.goods.add",
        actor=actor,
        object_type="shop_goods",
        object_id=goods.pk,
        diff={"shop": shop.pk, "name": name, "unit": unit, "price_points": price},
    )
    return goods


@action
@transaction.atomic
def do_restock_goods(goods_id: int, quantity: int, *, note: str = "", actor: Any) -> ShopGoods:
    """Add goods to the stock (a negative quantity takes damaged or counted-out goods off;
    the stock never goes below zero)."""
    require_role(actor, SHOP_MANAGERS, "管理超市商品")
    goods = ShopGoods.objects.select_for_update().filter(pk=goods_id).first()
    if goods is None:
        raise OutOfScope("未找到该商品，或您无权访问。")
    _shop_locked(goods.shop_id, actor)
    quantity = _count(quantity, "quantity", "数量", MAX_STOCK, signed=True)
    note = clean(note, "note", "说明", 200)
    if goods.stock + quantity < 0:
        raise DomainError(
            f"库存不足：“{goods.name}”现有 {goods.stock} {goods.unit}，不能减少 {-quantity} {goods.unit}。",
            field="quantity",
        )
    before = goods.stock
    ShopGoods.objects.filter(pk=goods.pk).update(
        stock=F("stock") + quantity, version=F("version") + 1, updated_at=timezone.now()
    )
    goods.refresh_from_db()
    record(
        "points.goods.restock",
        actor=actor,
        object_type="shop_goods",
        object_id=goods.pk,
        diff={"stock": [before, goods.stock], "quantity": quantity, "note": note},
    )
    return goods


# --- earning -----------------------------------------------------------------------------------


def _month_points(household: Household, day: datetime.date) -> int:
    """Points earned in the calendar month of `day` (pending or counted, net of reversals)."""
    first = _month_start(day)
    earned = PointsEntry.objects.filter(
        household=household, kind="earn", on_date__gte=first, on_date__lt=_next_month(first)
    )
    gross = earned.aggregate(s=Sum("points"))["s"] or 0
    back = PointsEntry.objects.filter(reverses__in=earned).aggregate(s=Sum("points"))["s"] or 0
    return int(gross) + int(back)


@action
@transaction.atomic
def do_earn_points(
    household_id: int,
    item: str,
    on_date: datetime.date,
    *,
    key: str,
    note: str = "",
    actor: Any,
) -> PointsEntry:
    """Points for a household under one item of the rules in effect on the day. Refused over
    the monthly cap; an appraisal item waits for the village's monthly appraisal."""
    require_role(actor, POINTS_RECORDERS, "登记积分")
    household = _household(household_id, actor)
    key = clean_key(key)
    on_date = business_date(on_date)
    rules = rules_for(household.county_code, on_date)
    entry_item = rules.item(str(item or ""))
    if entry_item is None:
        names = "、".join(i.name for i in rules.doc.items)
        raise DomainError(
            f"积分事项“{item}”不在积分规则 {rules.cited} 中，应为：{names}。", field="item"
        )
    account = _account(household)  # locks: serialises this household's cap checks
    existing = _same_key(
        key, household_id=household.pk, kind="earn", item=entry_item.code, on_date=on_date
    )
    if existing is not None:
        return existing
    cap = rules.doc.monthly_cap
    already = _month_points(household, on_date)
    if already + entry_item.points > cap:
        raise DomainError(
            f"超过每月积分上限：{household.head_name}户 {on_date:%Y 年 %m 月}已得 {already} 分，"
            f"本次“{entry_item.name}” {entry_item.points} 分，每户每月最多 {cap} 分"
            f"（积分规则 {rules.cited}）。",
            field="item",
        )
    appraisal = None
    state = "counted"
    if entry_item.appraisal:
        appraisal, _created = Appraisal.objects.get_or_create(
            village_id=household.village_id,
            month=_month_start(on_date),
            defaults={"county_code": household.county_code},
        )
        appraisal = Appraisal.objects.select_for_update().get(pk=appraisal.pk)
        if appraisal.state != "open":
            raise DomainError(
                f"该村 {on_date:%Y 年 %m 月}的月度评议已公示，不能再登记该月需评议的积分事项。",
                field="on_date",
            )
        state = "pending"
    note = clean(note, "note", "说明", 200)
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                household=household,
                county_code=household.county_code,
                kind="earn",
                state=state,
                points=entry_item.points,
                on_date=on_date,
                key=key,
                item=entry_item.code,
                item_name=entry_item.name,
                rules_version=rules.version,
                appraisal=appraisal,
                note=note,
                recorded_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise KeyConflict(f"幂等键“{key}”已被使用，未写入。", field="key") from exc
    if state == "counted":
        PointsAccount.objects.filter(pk=account.pk).update(balance=F("balance") + entry.points)
    record(
        "points.entry.earn",
        actor=actor,
        object_type="points_entry",
        object_id=entry.pk,
        diff={
            "household": household.pk,
            "item": entry_item.code,
            "points": entry.points,
            "state": state,
            "on_date": on_date.isoformat(),
            "rules_version": rules.version,
            "month_before": already,
            "cap": cap,
            "key": key,
        },
    )
    return entry


# --- monthly appraisal -------------------------------------------------------------------------


def _appraisal_locked(appraisal_id: int, actor: Any) -> Appraisal:
    appraisal = Appraisal.objects.select_for_update().filter(pk=appraisal_id).first()
    if appraisal is None:
        raise OutOfScope("未找到该月度评议，或您无权访问。")
    if actor is not None:
        try:
            check_region_in_scope(actor, appraisal.village_id)
        except OutOfScope as exc:
            raise OutOfScope("未找到该月度评议，或您无权访问。") from exc
    return appraisal


@action
@transaction.atomic
def do_post_appraisal(appraisal_id: int, *, actor: Any) -> Appraisal:
    """Post the village's monthly appraisal (公示); its points count after the posting days.
    Only a month that is over is posted."""
    require_role(actor, POINTS_RECORDERS, "公示月度评议")
    appraisal = _appraisal_locked(appraisal_id, actor)
    today = timezone.localdate()
    if appraisal.state != "open":
        raise DomainError(f"该评议已是“{appraisal.state_label}”，不能再次公示。", field="state")
    if _next_month(appraisal.month) > today:
        raise DomainError(
            f"{appraisal.month:%Y 年 %m 月}尚未结束，月末之后才能公示该月的评议。", field="state"
        )
    rules = rules_for(appraisal.county_code, today)
    Appraisal.objects.filter(pk=appraisal.pk).update(
        state="posted",
        posted_on=today,
        posting_days=rules.doc.appraisal_posting_days,
        posted_by=actor if getattr(actor, "pk", None) else None,
        rules_version=rules.version,
    )
    appraisal.refresh_from_db()
    record(
        "points.appraisal.post",
        actor=actor,
        object_type="appraisal",
        object_id=appraisal.pk,
        diff={
            "village": appraisal.village_id,
            "month": appraisal.month.isoformat(),
            "posted_on": today.isoformat(),
            "posting_days": appraisal.posting_days,
            "rules_version": rules.version,
        },
    )
    return appraisal


@action
@transaction.atomic
def do_confirm_appraisal(appraisal_id: int, *, actor: Any) -> Appraisal:
    """After the posting period, the appraisal's pending points count (balances credited)."""
    require_role(actor, POINTS_RECORDERS, "确认月度评议")
    appraisal = _appraisal_locked(appraisal_id, actor)
    today = timezone.localdate()
    if appraisal.state != "posted" or appraisal.posted_on is None:
        raise DomainError(
            f"该评议当前为“{appraisal.state_label}”，公示期满后才能确认。", field="state"
        )
    ends = appraisal.posted_on + datetime.timedelta(days=appraisal.posting_days)
    if today < ends:
        raise DomainError(
            f"公示期未满：{appraisal.posted_on:%Y-%m-%d} 起公示 {appraisal.posting_days} 天，"
            f"{ends:%Y-%m-%d} 起才能确认计入积分。",
            field="state",
        )
    pending = PointsEntry.objects.filter(appraisal=appraisal, state="pending")
    per_household: dict[int, int] = defaultdict(int)
    for household_id, points in pending.values_list("household_id", "points"):
        per_household[household_id] += points
    accounts = {
        a.household_id: a
        for a in PointsAccount.objects.select_for_update()
        .filter(household_id__in=list(per_household))
        .order_by("pk")
    }
    for household_id, points in per_household.items():
        if accounts[household_id].balance + points < 0:  # pragma: no cover - reversals net ≥ 0
            raise DomainError("积分余额不足，不能确认。", field="state")
        if points:
            PointsAccount.objects.filter(pk=accounts[household_id].pk).update(
                balance=F("balance") + points
            )
    counted = pending.update(state="counted")
    Appraisal.objects.filter(pk=appraisal.pk).update(
        state="confirmed",
        confirmed_on=today,
        confirmed_by=actor if getattr(actor, "pk", None) else None,
    )
    appraisal.refresh_from_db()
    record(
        "points.appraisal.confirm",
        actor=actor,
        object_type="appraisal",
        object_id=appraisal.pk,
        diff={
            "village": appraisal.village_id,
            "month": appraisal.month.isoformat(),
            "entries": counted,
            "points": sum(per_household.values()),
            "households": len(per_household),
        },
    )
    return appraisal


# --- redemption --------------------------------------------------------------------------------


@action
@transaction.atomic
def do_redeem_points(
    shop_id: int,
    goods_id: int,
    household_id: int,
    quantity: int,
    on_date: datetime.date,
    *,
    key: str,
    actor: Any,
) -> PointsEntry:
    """A household takes goods from a shop of its village or township for points. Refused when
    the points are not enough, the goods are out of stock or the household lives elsewhere."""
    require_role(actor, POINTS_RECORDERS, "办理积分兑换")
    shop = _shop_locked(shop_id, actor)
    household = _household(household_id, actor)
    key = clean_key(key)
    on_date = business_date(on_date)
    quantity = _count(quantity, "quantity", "数量", MAX_QUANTITY)
    if not shop.serves(household):
        raise DomainError(
            f"{household.head_name}户不在“{shop.name}”的服务区域（{shop.region.name}），"
            "请到本村或本乡镇的爱心超市兑换。",
            field="household",
        )
    account = _account(household)  # account first, then the goods: the one lock order
    goods = ShopGoods.objects.select_for_update().filter(pk=goods_id, shop=shop).first()
    if goods is None:
        raise DomainError("该商品不在本超市的货架上。", field="goods")
    cost = goods.price_points * quantity
    existing = _same_key(
        key, household_id=household.pk, kind="redeem", goods_id=goods.pk, quantity=quantity
    )
    if existing is not None:
        return existing
    if goods.stock < quantity:
        raise DomainError(
            f"库存不足：“{goods.name}”现有 {goods.stock} {goods.unit}，本次兑换 {quantity} {goods.unit}。",
            field="quantity",
        )
    if account.balance < cost:
        raise DomainError(
            f"积分不足：{household.head_name}户积分余额 {account.balance} 分，"
            f"兑换“{goods.name}” {quantity} {goods.unit}需 {cost} 分。",
            field="quantity",
        )
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                household=household,
                county_code=household.county_code,
                kind="redeem",
                points=-cost,
                on_date=on_date,
                key=key,
                shop=shop,
                goods=goods,
                quantity=quantity,
                item_name=goods.name,
                recorded_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise KeyConflict(f"幂等键“{key}”已被使用，未写入。", field="key") from exc
    PointsAccount.objects.filter(pk=account.pk).update(balance=F("balance") - cost)
    ShopGoods.objects.filter(pk=goods.pk).update(stock=F("stock") - quantity)
    record(
        "points.entry.redeem",
        actor=actor,
        object_type="points_entry",
        object_id=entry.pk,
        diff={
            "household": household.pk,
            "shop": shop.pk,
            "goods": goods.pk,
            "quantity": quantity,
            "points": -cost,
            "balance": [account.balance, account.balance - cost],
            "stock": [goods.stock, goods.stock - quantity],
            "key": key,
        },
    )
    return entry


# --- corrections -------------------------------------------------------------------------------


@action
@transaction.atomic
def do_reverse_points_entry(entry_id: int, reason: str, *, key: str, actor: Any) -> PointsEntry:
    """Correct an earning or a redemption by its reversal (冲正): the points go back the other
    way (a redemption's goods back into the stock). Nothing is deleted."""
    require_role(actor, POINTS_RECORDERS, "冲正积分记录")
    original = PointsEntry.objects.filter(pk=entry_id).select_related("household").first()
    if original is None:
        raise OutOfScope("未找到该积分记录，或您无权访问。")
    household = _household(original.household_id, actor)
    key = clean_key(key)
    reason = clean(reason, "reason", "冲正原因", 200, required=True)
    account = _account(household)
    existing = _same_key(key, kind="reversal", reverses_id=original.pk)
    if existing is not None:
        return existing
    if original.kind == "reversal":
        raise DomainError("冲正记录不能再冲正。", field="entry")
    if PointsEntry.objects.filter(reverses=original).exists():
        raise DomainError(f"积分记录 #{original.pk} 已经冲正过。", field="entry")
    goods = None
    if original.kind == "redeem":
        goods = ShopGoods.objects.select_for_update().get(pk=original.goods_id)
    if original.appraisal_id is not None and original.state == "pending":
        appraisal = Appraisal.objects.select_for_update().get(pk=original.appraisal_id)
        if appraisal.state == "confirmed":  # pragma: no cover - confirmed turns entries counted
            raise DomainError("该评议已确认。", field="entry")
    state = original.state
    points = -original.points
    if state == "counted" and account.balance + points < 0:
        raise DomainError(
            f"积分不足，不能冲正：{household.head_name}户积分余额 {account.balance} 分，"
            f"冲正该笔“{original.item_name}”需扣回 {-points} 分（积分已兑换）。",
            field="entry",
        )
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                household=household,
                county_code=household.county_code,
                kind="reversal",
                state=state,
                points=points,
                on_date=timezone.localdate(),
                key=key,
                item=original.item,
                item_name=original.item_name,
                rules_version=original.rules_version,
                appraisal_id=original.appraisal_id,
                shop_id=original.shop_id,
                goods_id=original.goods_id,
                quantity=original.quantity,
                reverses=original,
                note=reason,
                recorded_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise DomainError("该记录已被冲正或幂等键重复，未写入。", field="entry") from exc
    if state == "counted":
        PointsAccount.objects.filter(pk=account.pk).update(balance=F("balance") + points)
    if goods is not None:
        ShopGoods.objects.filter(pk=goods.pk).update(stock=F("stock") + original.quantity)
    record(
        "points.entry.reverse",
        actor=actor,
        object_type="points_entry",
        object_id=entry.pk,
        reason=reason,
        diff={"reverses": original.pk, "points": points, "state": state, "key": key},
    )
    return entry


# --- star ratings ------------------------------------------------------------------------------


def _stars(rules: Rules, stars: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    unknown = sorted(set(stars) - {c.code for c in rules.doc.star_criteria})
    if unknown:
        raise DomainError(
            f"评定项目“{'、'.join(unknown)}”不在评定标准 {rules.cited} 中。", field="stars"
        )
    given: dict[str, int] = {}
    trace = []
    for c in rules.doc.star_criteria:
        value = stars.get(c.code, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= c.stars:
            raise DomainError(f"“{c.name}”应为 0 至 {c.stars} 颗星。", field=c.code)
        given[c.code] = value
        trace.append({"criterion": c.code, "name": c.name, "stars": value, "most": c.stars})
    return given, trace


@action
@transaction.atomic
def do_rate_household(
    household_id: int,
    year: int,
    stars: dict[str, Any],
    *,
    expected_version: int | None = None,
    note: str = "",
    actor: Any,
) -> StarRating:
    """Rate a household for a year (五星新农家): stars per criterion of the rules. A rating not
    yet posted may be changed with its version; a posted one is final."""
    require_role(actor, POINTS_RECORDERS, "评定星级")
    household = _household(household_id, actor)
    today = timezone.localdate()
    if isinstance(year, bool) or not isinstance(year, int) or not 2014 <= year <= today.year:
        raise DomainError(f"年度应为 2014 至 {today.year} 之间的整数。", field="year")
    rules = rules_for(household.county_code, today)
    given, trace = _stars(rules, dict(stars or {}))
    total = sum(given.values())
    note = clean(note, "note", "说明", 200)
    values = {
        "stars": given,
        "total": total,
        "full": total >= rules.doc.full_stars,
        "rated_on": today,
        "rated_by": actor if getattr(actor, "pk", None) else None,
        "rules_version": rules.version,
        "trace": trace,
        "note": note,
    }
    current = StarRating.objects.select_for_update().filter(household=household, year=year).first()
    if current is None:
        if expected_version is not None:
            raise StaleVersion(STALE)
        try:
            with transaction.atomic():
                rating = StarRating.objects.create(
                    household=household,
                    county_code=household.county_code,
                    village_code=household.village_id,
                    year=year,
                    **values,
                )
        except IntegrityError as exc:
            raise StaleVersion(STALE) from exc
        before: dict[str, Any] = {}
    else:
        if current.state == "posted":
            raise DomainError(
                f"{household.head_name}户 {year} 年的星级评定已公示，不能修改。", field="year"
            )
        if expected_version is None:
            raise DomainError(
                f"{household.head_name}户 {year} 年已评定，修改请在原评定上进行。", field="year"
            )
        if expected_version != current.version:
            raise StaleVersion(STALE)
        before = {"stars": current.stars, "total": current.total}
        StarRating.objects.filter(pk=current.pk).update(
            **values, version=F("version") + 1, updated_at=timezone.now()
        )
        rating = StarRating.objects.get(pk=current.pk)
    record(
        "points.rating.rate",
        actor=actor,
        object_type="star_rating",
        object_id=rating.pk,
        diff={
            "household": household.pk,
            "year": year,
            "before": before,
            "stars": given,
            "total": total,
            "full": rating.full,
            "rules_version": rules.version,
        },
    )
    return rating


@action
@transaction.atomic
def do_post_ratings(village_code: str, year: int, *, actor: Any) -> int:
    """Post a village's star ratings of a year (公示): they are final from then on."""
    require_role(actor, POINTS_RECORDERS, "公示星级评定")
    village = Region.objects.filter(pk=str(village_code or ""), level="village").first()
    if village is None:
        raise OutOfScope("未找到该村，或您无权访问。")
    if actor is not None:
        check_region_in_scope(actor, village.code)
    rows = StarRating.objects.select_for_update().filter(
        village_code=village.code, year=year, state="draft"
    )
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        raise DomainError(f"“{village.name}” {year} 年没有待公示的星级评定。", field="year")
    today = timezone.localdate()
    StarRating.objects.filter(pk__in=ids).update(
        state="posted", posted_on=today, version=F("version") + 1, updated_at=timezone.now()
    )
    record(
        "points.rating.post",
        actor=actor,
        object_type="region",
        object_id=village.code,
        diff={"year": year, "ratings": len(ids), "posted_on": today.isoformat()},
    )
    return len(ids)
