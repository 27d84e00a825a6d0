"""API routes of project assets and their income (issue 23 item 4): /api/assets…,
/api/asset-plans…, /api/asset-incomes, /api/asset-payments.

Thin: `assets.selectors` for reads (scoped by region like the projects: county, township,
village staff and auditors; another region's ids are 404), `assets.actions` for writes. Money
is integer fen (`*_fen`). A refusal is the action's Chinese sentence with its status.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.assets.actions import do_record_asset_income
from jingzhun.assets.models import Asset, AssetIncome, DistributionPlan, PlanPayment
from jingzhun.assets.money import MAX_FEN
from jingzhun.assets.selectors import (
    asset_for,
    assets_for,
    incomes_for,
    payments_for,
    payments_of,
    plan_for,
    plans_for,
)

from . import schemas as s

AUTHENTICATED = {"x-jingzhun-policy": "authenticated"}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
PathId = Path(..., ge=1, le=s.MAX_ID)

router = Router(tags=["项目资产"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class AssetPaging(Schema):
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=500)


class AssetParams(AssetPaging):
    kind: str = Field("", max_length=20)
    state: str = Field("", max_length=20)
    q: str = Field("", max_length=50)


class YearParams(AssetPaging):
    year: int | None = Field(None, ge=2014, le=2100)
    state: str = Field("", max_length=20)


class AssetOut(Schema):
    id: int
    version: int
    name: str
    kind: str
    kind_label: str
    category: str
    village_code: str
    owner_kind: str
    owner_household_id: int | None
    project_id: int | None
    value_fen: int
    state: str
    state_label: str
    custodian: str
    capacity_kw: int | None
    confirmed_on: datetime.date | None
    confirmation_document: str


class AssetPage(Schema):
    total: int
    rows: list[AssetOut]


class AssetIncomeOut(Schema):
    id: int
    asset_id: int
    received_on: datetime.date
    amount_fen: int
    voucher: str
    note: str


class AssetIncomePage(Schema):
    total: int
    rows: list[AssetIncomeOut]


class AssetIncomeIn(Schema):
    received_on: datetime.date
    amount_fen: int = Field(..., ge=1, lt=MAX_FEN, description="金额（分）")
    voucher: str = Field(..., min_length=1, max_length=50)
    key: str = Field(..., min_length=1, max_length=64, description="幂等键：重试同一请求时不变")
    note: str = Field("", max_length=200)


class PaymentOut(Schema):
    id: int
    plan_id: int
    household_id: int
    household_code: str
    use: str
    basis: str
    amount_fen: int
    income_year: int | None


class PaymentPage(Schema):
    total: int
    rows: list[PaymentOut]


class AssetPlanOut(Schema):
    id: int
    version: int
    asset_id: int
    year: int
    title: str
    state: str
    public_job_fen: int
    reward_fen: int
    works_fen: int
    retention_fen: int
    total_fen: int
    policy_version: str
    posted_on: datetime.date | None
    paid_on: datetime.date | None


class AssetPlanPage(Schema):
    total: int
    rows: list[AssetPlanOut]


class PlanDetailOut(AssetPlanOut):
    payments: list[PaymentOut]
    trace: list[dict[str, Any]]


def _asset(a: Asset) -> dict[str, Any]:
    return {
        **{k: getattr(a, k) for k in AssetOut.model_fields if hasattr(a, k)},
        "owner_household_id": a.owner_household_id,
        "project_id": a.project_id,
    }


def _income(i: AssetIncome) -> dict[str, Any]:
    return {k: getattr(i, k) for k in AssetIncomeOut.model_fields}


def _plan(p: DistributionPlan) -> dict[str, Any]:
    return {k: getattr(p, k) for k in AssetPlanOut.model_fields}


def _payment(x: PlanPayment) -> dict[str, Any]:
    return {
        **{k: getattr(x, k) for k in PaymentOut.model_fields if k != "household_code"},
        "household_code": x.household.household_code,
    }


@router.get(
    "/assets",
    response={200: AssetPage, **LIST},
    summary="项目资产台账：调用者范围内的资产",
    openapi_extra=AUTHENTICATED,
)
def list_assets(request: HttpRequest, params: Query[AssetParams]) -> dict[str, Any]:
    qs = assets_for(_user(request), kind=params.kind, state=params.state, q=params.q)
    rows = list(qs[params.offset : params.offset + params.limit])
    return {"total": qs.count(), "rows": [_asset(a) for a in rows]}


@router.get(
    "/assets/{asset_id}",
    response={200: AssetOut, **READ},
    summary="一项资产",
    openapi_extra=AUTHENTICATED,
)
def get_asset(request: HttpRequest, asset_id: int = PathId) -> dict[str, Any]:
    return _asset(asset_for(_user(request), asset_id))


@router.post(
    "/assets/{asset_id}/incomes",
    response={201: AssetIncomeOut, **WRITE},
    summary="登记资产收益到账（幂等键：重试不重复记账；凭证号每项资产唯一）",
    openapi_extra=AUTHENTICATED,
)
def record_income(
    request: HttpRequest, body: AssetIncomeIn, asset_id: int = PathId
) -> tuple[int, dict[str, Any]]:
    income = do_record_asset_income(
        asset_id,
        body.received_on,
        body.amount_fen,
        body.voucher,
        body.key,
        note=body.note,
        actor=_user(request),
    )
    return 201, _income(income)


@router.get(
    "/asset-incomes",
    response={200: AssetIncomePage, **LIST},
    summary="资产收益到账：调用者范围内，按到账年度",
    openapi_extra=AUTHENTICATED,
)
def list_incomes(request: HttpRequest, params: Query[YearParams]) -> dict[str, Any]:
    qs = incomes_for(_user(request), year=params.year)
    rows = list(qs[params.offset : params.offset + params.limit])
    return {"total": qs.count(), "rows": [_income(i) for i in rows]}


@router.get(
    "/asset-plans",
    response={200: AssetPlanPage, **LIST},
    summary="资产收益分配方案：调用者范围内，按年度和状态",
    openapi_extra=AUTHENTICATED,
)
def list_plans(request: HttpRequest, params: Query[YearParams]) -> dict[str, Any]:
    qs = plans_for(_user(request), year=params.year, state=params.state)
    rows = list(qs[params.offset : params.offset + params.limit])
    return {"total": qs.count(), "rows": [_plan(p) for p in rows]}


@router.get(
    "/asset-plans/{plan_id}",
    response={200: PlanDetailOut, **READ},
    summary="一份分配方案：用途金额、到户名单、规则核对记录",
    openapi_extra=AUTHENTICATED,
)
def get_plan(request: HttpRequest, plan_id: int = PathId) -> dict[str, Any]:
    p = plan_for(_user(request), plan_id)
    return {
        **_plan(p),
        "payments": [_payment(x) for x in payments_of(p)],
        "trace": list(p.trace or []),
    }


@router.get(
    "/asset-payments",
    response={200: PaymentPage, **LIST},
    summary="资产收益分配到户（已支付并计入农户收入）：按计入收入的年度",
    openapi_extra=AUTHENTICATED,
)
def list_payments(request: HttpRequest, params: Query[YearParams]) -> dict[str, Any]:
    qs = payments_for(_user(request), year=params.year)
    rows = list(qs[params.offset : params.offset + params.limit])
    return {"total": qs.count(), "rows": [_payment(x) for x in rows]}
