"""API routes of the points shops and star ratings (issue 23 item 5): /api/points….

Thin: `points.selectors` for reads (county, township, village staff and auditors, scoped),
`points.actions` for writes. A refusal is the action's Chinese sentence with its status: 400 bad
input (over the monthly cap, not enough points, out of stock, household outside the shop's
area…), 403 role, 404 out of scope, 409 stale version or an idempotency key used for other
content.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.points.actions import (
    do_earn_points,
    do_rate_household,
    do_redeem_points,
    do_reverse_points_entry,
)
from jingzhun.points.models import PointsEntry, StarRating
from jingzhun.points.selectors import (
    balance_of,
    entries_of,
    goods_of,
    pending_of,
    points_household,
    ratings_for,
    shops_for,
)

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"
AUTHENTICATED = {POLICY_KEY: "authenticated"}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
PathId = Path(..., ge=1, le=s.MAX_ID)
Key = Field(..., min_length=1, max_length=64, description="幂等键：重试同一请求时不变")
Id = Field(..., ge=1, le=s.MAX_ID)

router = Router(tags=["爱心超市"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class GoodsOut(Schema):
    id: int
    name: str
    unit: str
    price_points: int
    stock: int


class ShopOut(Schema):
    id: int
    name: str
    region: str
    keeper: str
    goods: list[GoodsOut]


class EntryOut(Schema):
    id: int
    household_id: int
    kind: str
    state: str = Field(description="pending = 待评议公示，counted = 已计入")
    points: int
    on_date: datetime.date
    item: str
    item_name: str
    rules_version: str
    shop_id: int | None
    goods_id: int | None
    quantity: int
    reverses_id: int | None


class BalanceOut(Schema):
    household_id: int
    balance: int
    pending: int
    entries: list[EntryOut]


class EarnIn(Schema):
    household_id: int = Id
    item: str = Field(..., min_length=1, max_length=40, description="积分规则中的事项代码")
    on_date: datetime.date
    key: str = Key
    note: str = Field("", max_length=200)


class RedeemIn(Schema):
    shop_id: int = Id
    goods_id: int = Id
    household_id: int = Id
    quantity: int = Field(1, ge=1, le=1000)
    on_date: datetime.date
    key: str = Key


class ReverseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)
    key: str = Key


class RatingIn(Schema):
    household_id: int = Id
    year: int = Field(..., ge=2014, le=2100)
    stars: dict[str, int] = Field(..., description="评定项目代码 → 星数（hygiene、civility…）")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="修改已有评定时的版本")
    note: str = Field("", max_length=200)


class RatingOut(Schema):
    id: int
    version: int
    household_id: int
    year: int
    stars: dict[str, int]
    total: int
    full: bool
    state: str
    rated_on: datetime.date
    posted_on: datetime.date | None
    rules_version: str


class RatingPage(Schema):
    total: int
    rows: list[RatingOut]


class RatingParams(Schema):
    year: int = Field(..., ge=2014, le=2100)
    village: str = Field("", pattern=r"^(\d{12})?$")
    full: bool | None = None
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=500)


def _entry(e: PointsEntry) -> dict[str, Any]:
    return {
        "id": e.pk,
        "household_id": e.household_id,
        "kind": e.kind,
        "state": e.state,
        "points": e.points,
        "on_date": e.on_date,
        "item": e.item,
        "item_name": e.item_name,
        "rules_version": e.rules_version,
        "shop_id": e.shop_id,
        "goods_id": e.goods_id,
        "quantity": e.quantity,
        "reverses_id": e.reverses_id,
    }


def _rating(r: StarRating) -> dict[str, Any]:
    return {
        "id": r.pk,
        "version": r.version,
        "household_id": r.household_id,
        "year": r.year,
        "stars": r.stars,
        "total": r.total,
        "full": r.full,
        "state": r.state,
        "rated_on": r.rated_on,
        "posted_on": r.posted_on,
        "rules_version": r.rules_version,
    }


@router.get(
    "/points/shops",
    response={200: list[ShopOut], **LIST},
    summary="爱心超市：调用者范围内的超市与商品（兑换积分、库存）",
    openapi_extra=AUTHENTICATED,
)
def list_shops(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": shop.pk,
            "name": shop.name,
            "region": shop.region_id,
            "keeper": shop.keeper,
            "goods": [
                {
                    "id": g.pk,
                    "name": g.name,
                    "unit": g.unit,
                    "price_points": g.price_points,
                    "stock": g.stock,
                }
                for g in goods_of(shop)
            ],
        }
        for shop in shops_for(_user(request))[:500]
    ]


@router.get(
    "/points/households/{household_id}",
    response={200: BalanceOut, **READ},
    summary="一户的积分余额、待评议积分与积分明细",
    openapi_extra=AUTHENTICATED,
)
def household_points(request: HttpRequest, household_id: int = PathId) -> dict[str, Any]:
    household = points_household(_user(request), household_id)
    return {
        "household_id": household.pk,
        "balance": balance_of(household),
        "pending": pending_of(household),
        "entries": [_entry(e) for e in entries_of(household)],
    }


@router.post(
    "/points/earnings",
    response={201: EntryOut, **WRITE},
    summary="登记积分（按积分规则的事项；每户每月上限；需评议事项待公示后计入）",
    openapi_extra=AUTHENTICATED,
)
def earn(request: HttpRequest, body: EarnIn) -> tuple[int, dict[str, Any]]:
    e = do_earn_points(
        body.household_id, body.item, body.on_date, key=body.key, note=body.note,
        actor=_user(request),
    )  # fmt: skip
    return 201, _entry(e)


@router.post(
    "/points/redemptions",
    response={201: EntryOut, **WRITE},
    summary="积分兑换商品（余额与库存不足、不在超市服务区域时拒绝）",
    openapi_extra=AUTHENTICATED,
)
def redeem(request: HttpRequest, body: RedeemIn) -> tuple[int, dict[str, Any]]:
    e = do_redeem_points(
        body.shop_id, body.goods_id, body.household_id, body.quantity, body.on_date,
        key=body.key, actor=_user(request),
    )  # fmt: skip
    return 201, _entry(e)


@router.post(
    "/points/entries/{entry_id}/reversal",
    response={201: EntryOut, **WRITE},
    summary="冲正一笔积分记录（积分获得或兑换）",
    openapi_extra=AUTHENTICATED,
)
def reverse(request: HttpRequest, body: ReverseIn, entry_id: int = PathId) -> tuple[int, Any]:
    e = do_reverse_points_entry(entry_id, body.reason, key=body.key, actor=_user(request))
    return 201, _entry(e)


@router.get(
    "/points/ratings",
    response={200: RatingPage, **LIST},
    summary="星级评定（五星新农家）：调用者范围内某年度的评定",
    openapi_extra=AUTHENTICATED,
)
def list_ratings(request: HttpRequest, params: Query[RatingParams]) -> dict[str, Any]:
    qs = ratings_for(_user(request), year=params.year, village=params.village, full=params.full)
    rows = list(qs[params.offset : params.offset + params.limit])
    return {"total": qs.count(), "rows": [_rating(r) for r in rows]}


@router.post(
    "/points/ratings",
    response={200: RatingOut, **WRITE},
    summary="评定一户的年度星级（修改未公示的评定时给出版本）",
    openapi_extra=AUTHENTICATED,
)
def rate(request: HttpRequest, body: RatingIn) -> dict[str, Any]:
    user = _user(request)
    r = do_rate_household(
        body.household_id, body.year, body.stars, expected_version=body.version,
        note=body.note, actor=user,
    )  # fmt: skip
    return _rating(r)
