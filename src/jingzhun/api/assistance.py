"""API routes of helper pairing (issue 21 item 2): /api/pairings…, /api/helpers.

Thin: `assistance.selectors` for reads (scoped: a helper gets their own households only),
`assistance.actions` for writes. A pairing over quota is a 400 naming the rule; a household out of
the caller's scope a 404, exactly like an unknown one; a stale version a 409.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.access.models import HelperPairing
from jingzhun.assistance.actions import do_end_pairing, do_pair_helper
from jingzhun.assistance.selectors import (
    HelperRow,
    helper_rows,
    pairing_for,
    pairings_for,
    unpaired_count,
    unpaired_households,
)
from jingzhun.registry.actions import WRITER_ROLES
from jingzhun.registry.models import Household

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"  # the same marker as api.api's routes (AUTHZ-1)
AUTHENTICATED = {POLICY_KEY: "authenticated"}
PAIRING_WRITE = {POLICY_KEY: "authenticated", "x-jingzhun-writer-roles": sorted(WRITER_ROLES)}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
PathId = Path(..., ge=1, le=s.MAX_ID)
RegionCode = Field("", pattern=r"^(\d{12})?$", description="区划代码（12 位）：只列其下的户")

router = Router(tags=["结对帮扶"])


class PairingOut(Schema):
    id: int
    version: int
    household_id: int
    household_code: str
    head_name: str
    village_code: str
    village_name: str
    poverty_status: str
    monitoring_category: str
    helper_id: int
    helper_username: str
    helper_name: str
    helper_unit: str
    helper_kind: str
    start_date: datetime.date
    end_date: datetime.date | None
    end_reason: str
    successor_id: int | None


class PairingPage(Schema):
    count: int
    items: list[PairingOut]


class PairingParams(s.Paging):
    region: str = RegionCode
    helper_id: int | None = Field(None, ge=1, le=s.MAX_ID, description="只列这名帮扶责任人的结对")
    current: bool = Field(True, description="true：只列当前结对；false：含已结束的")


class PairIn(Schema):
    household_id: int = Field(..., ge=1, le=s.MAX_ID)
    helper_id: int = Field(..., ge=1, le=s.MAX_ID)
    start_date: datetime.date = Field(..., description="结对开始日期，不能晚于今天")


class EndIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1, description="读取时的版本号")
    end_date: datetime.date
    reason: str = Field("", max_length=200, description="结束原因（未指定接续人时必填）")
    successor_id: int | None = Field(
        None, ge=1, le=s.MAX_ID, description="接续的帮扶责任人（移交）；自结束日期起结对"
    )


class EndOut(Schema):
    ended: PairingOut
    successor: PairingOut | None


class UnpairedParams(s.Paging):
    group: Literal["registered", "monitored"] = Field(
        "registered", description="registered：建档立卡户；monitored：监测对象"
    )
    region: str = RegionCode


class UnpairedOut(Schema):
    id: int
    household_code: str
    head_name: str
    village_code: str
    village_name: str
    poverty_status: str
    monitoring_category: str


class UnpairedPage(Schema):
    count: int
    items: list[UnpairedOut]


class QuotaOut(Schema):
    limit: int
    rule: str = Field(description="规则原文及策略文件、版本、内容哈希")
    version: str
    file: str


class HelperOut(Schema):
    id: int
    username: str
    name: str
    unit: str
    kind: str
    title: str
    load: int = Field(description="当前结对户数（全部）")
    in_scope: int = Field(description="其中在调用者范围内的户数")
    quota: QuotaOut | None


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _pairing(p: HelperPairing) -> dict[str, Any]:
    h = p.household
    profile = getattr(p.helper, "helper_profile", None)
    return {
        "id": p.pk,
        "version": p.version,
        "household_id": h.pk,
        "household_code": h.household_code,
        "head_name": h.head_name,
        "village_code": h.village_id,
        "village_name": h.village.name,
        "poverty_status": h.poverty_status,
        "monitoring_category": h.monitoring_category,
        "helper_id": p.helper_id,
        "helper_username": p.helper.username,
        "helper_name": p.helper.display_name,
        "helper_unit": profile.unit if profile else "",
        "helper_kind": profile.kind if profile else "",
        "start_date": p.start_date,
        "end_date": p.end_date,
        "end_reason": p.end_reason,
        "successor_id": p.successor_id,
    }


def _unpaired(h: Household) -> dict[str, Any]:
    return {
        "id": h.pk,
        "household_code": h.household_code,
        "head_name": h.head_name,
        "village_code": h.village_id,
        "village_name": h.village.name,
        "poverty_status": h.poverty_status,
        "monitoring_category": h.monitoring_category,
    }


def _helper(row: HelperRow) -> dict[str, Any]:
    q = row.quota
    return {
        "id": row.helper.pk,
        "username": row.helper.username,
        "name": row.helper.display_name,
        "unit": row.profile.unit if row.profile else "",
        "kind": row.profile.kind if row.profile else "",
        "title": row.profile.title if row.profile else "",
        "load": row.load,
        "in_scope": row.in_scope,
        "quota": None
        if q is None
        else {"limit": q.limit, "rule": q.rule, "version": q.version, "file": q.path},
    }


@router.get(
    "/pairings",
    response={200: PairingPage, **LIST},
    summary="结对帮扶名单（按调用者范围；帮扶责任人只看到本人的结对户）",
    openapi_extra=AUTHENTICATED,
)
def list_pairings(request: HttpRequest, params: Query[PairingParams]) -> dict[str, Any]:
    qs = pairings_for(
        _user(request), region=params.region, helper_id=params.helper_id, current=params.current
    )
    window = qs[params.offset : params.offset + params.limit]
    return {"count": qs.count(), "items": [_pairing(p) for p in window]}


@router.post(
    "/pairings",
    response={201: PairingOut, **WRITE},
    summary="结对（超过结对上限时拒绝并说明依据的规则）",
    description="户须在调用者范围内（否则 404，不做任何修改）；帮扶责任人须已登记单位和职级类别。",
    openapi_extra=PAIRING_WRITE,
)
def create_pairing(request: HttpRequest, body: PairIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    made = do_pair_helper(body.household_id, body.helper_id, body.start_date, actor=user)
    return 201, _pairing(pairing_for(user, made.pk))


@router.get(
    "/pairings/unpaired",
    response={200: UnpairedPage, **LIST},
    summary="没有当前帮扶责任人的建档立卡户或监测对象",
    openapi_extra=AUTHENTICATED,
)
def list_unpaired(request: HttpRequest, params: Query[UnpairedParams]) -> dict[str, Any]:
    user = _user(request)
    qs = unpaired_households(user, params.group, region=params.region)
    window = qs[params.offset : params.offset + params.limit]
    count = unpaired_count(user, params.group, region=params.region)  # not qs.count(): issue 26
    return {"count": count, "items": [_unpaired(h) for h in window]}


@router.get(
    "/pairings/{pairing_id}",
    response={200: PairingOut, **READ},
    summary="一条结对记录",
    openapi_extra=AUTHENTICATED,
)
def get_pairing(request: HttpRequest, pairing_id: int = PathId) -> dict[str, Any]:
    return _pairing(pairing_for(_user(request), pairing_id))


@router.post(
    "/pairings/{pairing_id}/end",
    response={200: EndOut, **WRITE},
    summary="结束结对：须指定接续的帮扶责任人（移交）或填写结束原因",
    description="须带读取时的版本号：已被他人修改时返回 409，不做任何修改。",
    openapi_extra=PAIRING_WRITE,
)
def end_pairing(request: HttpRequest, body: EndIn, pairing_id: int = PathId) -> dict[str, Any]:
    user = _user(request)
    ended = do_end_pairing(
        pairing_id,
        body.version,
        body.end_date,
        reason=body.reason,
        successor_id=body.successor_id,
        actor=user,
    )
    follow = ended.successor_pairing
    return {
        "ended": _pairing(pairing_for(user, ended.pairing.pk)),
        "successor": _pairing(pairing_for(user, follow.pk)) if follow else None,
    }


@router.get(
    "/helpers",
    response={200: list[HelperOut], **LIST},
    summary="帮扶责任人及其结对户数与上限（帮扶责任人只看到本人）",
    openapi_extra=AUTHENTICATED,
)
def list_helpers(request: HttpRequest) -> list[dict[str, Any]]:
    return [_helper(r) for r in helper_rows(_user(request))]
