"""API routes of assessment (考核, issue 24 item 4): /api/scoring/….

Thin: `scoring.selectors` for reads (the county everything of its periods; a unit the published
ranking as the scheme says and its own score card), `scoring.actions` for writes (computation
queued on the task queue; publishing with the period's version).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Path, Router, Schema
from pydantic import Field

from jingzhun.core.errors import Forbidden
from jingzhun.scoring import selectors as sel
from jingzhun.scoring.actions import do_publish_period, do_request_scoring
from jingzhun.scoring.models import ScorePeriod, UnitScore
from jingzhun.scoring.scheme import schemes_for

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"  # the same marker as api.api's routes (AUTHZ-1)
AUTHENTICATED = {POLICY_KEY: "authenticated"}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE

router = Router(tags=["考核"])


class IndicatorOut(Schema):
    id: str
    label: str
    weight: str
    value: str
    points: str
    on_null: str


class SchemeOut(Schema):
    id: str
    version: str
    hash: str
    title: str
    unit_kind: str
    periods: list[str]
    total: str
    ranking: str
    indicators: list[IndicatorOut]


class ScoreRow(Schema):
    id: int
    unit_kind: str
    unit_key: str
    unit_label: str
    score: str
    rank: int
    band: str


class PeriodOut(Schema):
    id: int
    version: int
    county_code: str
    scheme_id: str
    unit_kind: str
    kind: str
    label: str
    start: datetime.date
    end: datetime.date
    published: bool
    published_at: datetime.datetime | None
    job_id: int | None = Field(None, description="所示计算（县级：最近一次完成的；其他：已发布的）")
    job_status: str = Field("", description="最近一次计算的状态（县级可见）")
    job_progress: int = 0
    scores: list[ScoreRow] = []


class RequestIn(Schema):
    scheme_id: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,59}$")
    period: str = Field(..., pattern=r"^\d{4}([Qq][1-4]|-\d{2})?$")
    correction: str = Field("", max_length=500)


class RequestOut(Schema):
    period_id: int
    job_id: int
    status: str


class PublishIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)


class FigureOut(Schema):
    name: str
    label: str
    value: str | None
    unit: str
    source: str


class TraceOut(Schema):
    id: str
    label: str
    weight: str
    value_formula: str
    points_formula: str
    figures: list[FigureOut]
    value: str | None
    points: str
    note: str


class CardOut(ScoreRow):
    period_id: int
    period: str
    job_id: int
    scheme_hash: str
    published: bool
    trace: list[TraceOut]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _row(r: UnitScore) -> dict[str, Any]:
    return {
        "id": r.pk,
        "unit_kind": r.unit_kind,
        "unit_key": r.unit_key,
        "unit_label": r.unit_label,
        "score": f"{r.score:.2f}",
        "rank": r.rank,
        "band": r.band,
    }


def _period(user: Any, p: ScorePeriod, *, scores: bool) -> dict[str, Any]:
    job = sel.shown_job(user, p)
    newest = next(iter(sel.jobs_of(user, p)), None)
    return {
        "id": p.pk,
        "version": p.version,
        "county_code": p.county_code,
        "scheme_id": p.scheme_id,
        "unit_kind": p.unit_kind,
        "kind": p.kind,
        "label": p.label,
        "start": p.start,
        "end": p.end,
        "published": p.published,
        "published_at": p.published_at,
        "job_id": job.pk if job else None,
        "job_status": newest.status if newest else "",
        "job_progress": newest.progress if newest else 0,
        "scores": [_row(r) for r in sel.ranking(user, p)] if scores else [],
    }


@router.get(
    "/scoring/schemes",
    response={200: list[SchemeOut], **LIST},
    summary="本县生效的考核方案（指标、权重、公式）",
    openapi_extra=AUTHENTICATED,
)
def schemes(request: HttpRequest) -> list[dict[str, Any]]:
    county = sel.home_county(_user(request))
    found = schemes_for(county) if county else []
    return [
        {
            "id": x.doc.id,
            "version": x.doc.version,
            "hash": x.hash,
            "title": x.doc.title,
            "unit_kind": x.doc.unit_kind,
            "periods": list(x.doc.periods),
            "total": str(x.doc.total),
            "ranking": x.doc.publication.ranking,
            "indicators": [
                {
                    "id": i.id,
                    "label": i.label,
                    "weight": str(i.ceiling),
                    "value": i.value,
                    "points": i.points,
                    "on_null": i.on_null,
                }
                for i in x.doc.indicators
            ],
        }
        for x in found
    ]


@router.get(
    "/scoring/periods",
    response={200: list[PeriodOut], **LIST},
    summary="考核周期（县级：本县全部；乡镇、村、工作队：已发布的）",
    openapi_extra=AUTHENTICATED,
)
def periods(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    return [_period(user, p, scores=False) for p in sel.periods_for(user)[:200]]


@router.post(
    "/scoring/periods",
    response={201: RequestOut, **WRITE},
    summary="计算一个考核周期（县级业务人员；后台任务；已发布的须填写更正说明）",
    openapi_extra=AUTHENTICATED,
)
def request_scoring(request: HttpRequest, body: RequestIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    county = sel.home_county(user) if sel.county_codes(user) else None
    if county is None:
        raise Forbidden("您的角色无权发起考核计算。")
    job = do_request_scoring(
        county_code=county,
        scheme_id=body.scheme_id,
        period=body.period,
        correction=body.correction,
        actor=user,
    )
    return 201, {"period_id": job.period_id, "job_id": job.pk, "status": job.status}


@router.get(
    "/scoring/periods/{score_period_id}",
    response={200: PeriodOut, **READ},
    summary="一个考核周期的排名和红黑榜",
    openapi_extra=AUTHENTICATED,
)
def period(
    request: HttpRequest, score_period_id: int = Path(..., ge=1, le=s.MAX_ID)
) -> dict[str, Any]:
    user = _user(request)
    return _period(user, sel.period_for(user, score_period_id), scores=True)


@router.post(
    "/scoring/periods/{score_period_id}/publish",
    response={200: PeriodOut, **WRITE},
    summary="发布最近一次计算结果（县级业务人员；留痕）",
    openapi_extra=AUTHENTICATED,
)
def publish(
    request: HttpRequest, body: PublishIn, score_period_id: int = Path(..., ge=1, le=s.MAX_ID)
) -> dict[str, Any]:
    user = _user(request)
    sel.period_for(user, score_period_id)  # another county's period: 404 before anything
    done = do_publish_period(score_period_id, version=body.version, actor=user)
    return _period(user, done, scores=True)


@router.get(
    "/scoring/scores/{unit_score_id}",
    response={200: CardOut, **READ},
    summary="一个考核对象的得分明细（每项数据的取值和来源、得分）",
    openapi_extra=AUTHENTICATED,
)
def card(request: HttpRequest, unit_score_id: int = Path(..., ge=1, le=s.MAX_ID)) -> dict[str, Any]:
    score = sel.card_for(_user(request), unit_score_id)
    period = score.job.period
    return {
        **_row(score),
        "period_id": period.pk,
        "period": period.label,
        "job_id": score.job_id,
        "scheme_hash": score.job.scheme_hash,
        "published": period.published_job_id == score.job_id,
        "trace": score.trace,
    }
