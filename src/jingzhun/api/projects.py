"""API routes of the project bank and the fund ledger (issue 23 items 1-2): /api/projects…,
/api/funds….

Thin: `projects.selectors` for reads (scoped: county, township, village), `projects.actions` and
`projects.ledger` for writes. Money is integer fen (`*_fen`). A refusal is the action's Chinese
sentence with its status: 400 bad input (overspend, unapproved project, duplicate voucher…),
403 role, 404 out of scope, 409 stale version or an idempotency key used for other content.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.projects import lifecycle
from jingzhun.projects.actions import (
    do_create_project,
    do_link_benefit,
    do_move_project,
    do_post_project,
    do_set_project_funding,
)
from jingzhun.projects.choices import BENEFIT_KINDS, POSTING_TYPES, PROJECT_KINDS, SOURCE_KINDS
from jingzhun.projects.ledger import (
    do_allocate_funds,
    do_create_fund_source,
    do_disburse_funds,
    do_receive_funds,
    do_reverse_posting,
)
from jingzhun.projects.models import Posting, Project
from jingzhun.projects.money import MAX_FEN
from jingzhun.projects.selectors import (
    benefit_summary,
    postings_of_project,
    project_for,
    project_funds,
    projects_for,
    reconciliation,
    source_rows,
)

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"
AUTHENTICATED = {POLICY_KEY: "authenticated"}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
PathId = Path(..., ge=1, le=s.MAX_ID)
Code = Field(..., pattern=r"^\d{12}$", description="12 位区划代码")
Fen = Field(..., ge=1, lt=MAX_FEN, description="金额（分）")
Key = Field(..., min_length=1, max_length=64, description="幂等键：重试同一请求时不变")

router = Router(tags=["项目资金"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class ProjectIn(Schema):
    region: str = Code
    name: str = Field(..., min_length=1, max_length=100)
    kind: str = Field(
        ..., description="项目类型：" + "、".join(f"{k}={v}" for k, v in PROJECT_KINDS.items())
    )
    year: int = Field(..., ge=2014, le=2100)
    budget_fen: int = Field(0, ge=0, lt=MAX_FEN)
    task: str = Field("", max_length=300)
    targets: str = Field("", max_length=300)
    benefit_mechanism: str = Field("", max_length=300)
    implementer: str = Field("", max_length=100)
    responsible: str = Field("", max_length=50)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None


class ProjectOut(Schema):
    id: int
    version: int
    name: str
    kind: str
    kind_label: str
    region: str
    county_code: str
    township_code: str
    village_code: str
    year: int
    budget_fen: int
    state: str
    state_label: str
    task: str
    targets: str
    benefit_mechanism: str
    implementer: str
    responsible: str
    start_date: datetime.date | None
    end_date: datetime.date | None


class ProjectPage(Schema):
    total: int
    rows: list[ProjectOut]


class ProjectParams(Schema):
    state: str = Field("", max_length=20)
    kind: str = Field("", max_length=20)
    year: int | None = Field(None, ge=2014, le=2100)
    q: str = Field("", max_length=50)
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=500)


class FundingLineOut(Schema):
    source_id: int
    source: str
    planned_fen: int
    allocated_fen: int
    disbursed_fen: int
    balance_fen: int


class FundPostingOut(Schema):
    id: int
    key: str
    kind: str
    amount_fen: int
    on_date: datetime.date
    voucher: str
    payee: str
    memo: str
    project_id: int | None
    reverses_id: int | None


class ProjectPostingOut(Schema):
    id: int
    kind: str
    start: datetime.date
    days: int
    issuer: str
    sha256: str


class ProjectDetailOut(ProjectOut):
    moves: list[str] = Field(description="调用者此时可办理的步骤")
    funding: list[FundingLineOut]
    planned_fen: int
    allocated_fen: int
    disbursed_fen: int
    balance_fen: int
    benefit_households: int
    benefit_amount_fen: int
    postings: list[ProjectPostingOut]


class ProjectMoveIn(Schema):
    move: str = Field(
        ..., max_length=20, description="步骤：" + "、".join(m.name for m in lifecycle.MOVES)
    )
    version: int = Field(..., ge=1, le=2**31 - 1)
    reason: str = Field("", max_length=200)


class FundingIn(Schema):
    planned_fen: int = Field(..., ge=0, lt=MAX_FEN, description="计划金额（分），0 = 删除")


class PostingIn(Schema):
    kind: str = Field(..., description="、".join(f"{k}={v}" for k, v in POSTING_TYPES.items()))
    start: datetime.date
    days: int = Field(10, ge=10, le=90)
    issuer: str = Field("", max_length=100)


class BenefitIn(Schema):
    household_id: int = Field(..., ge=1, le=s.MAX_ID)
    kind: str = Field(..., description="、".join(f"{k}={v}" for k, v in BENEFIT_KINDS.items()))
    year: int = Field(..., ge=2014, le=2100)
    amount_fen: int = Field(0, ge=0, lt=MAX_FEN)
    note: str = Field("", max_length=200)


class BenefitOut(Schema):
    id: int
    project_id: int
    household_id: int
    kind: str
    group: str
    year: int
    amount_fen: int


class SourceIn(Schema):
    county: str = Code
    year: int = Field(..., ge=2014, le=2100)
    kind: str = Field(..., description="、".join(f"{k}={v}" for k, v in SOURCE_KINDS.items()))
    name: str = Field(..., min_length=1, max_length=100)
    document: str = Field("", max_length=100)


class SourceOut(Schema):
    id: int
    county_code: str
    year: int
    kind: str
    name: str
    document: str
    received_fen: int = 0
    allocated_fen: int = 0
    disbursed_fen: int = 0
    unallocated_fen: int = 0
    unpaid_fen: int = 0


class CountyParams(Schema):
    county: str = Code
    year: int | None = Field(None, ge=2014, le=2100)


class ReceiptIn(Schema):
    source_id: int = Field(..., ge=1, le=s.MAX_ID)
    amount_fen: int = Fen
    on_date: datetime.date
    key: str = Key
    memo: str = Field("", max_length=200)


class AllocationIn(ReceiptIn):
    project_id: int = Field(..., ge=1, le=s.MAX_ID)


class DisbursementIn(AllocationIn):
    voucher: str = Field(..., min_length=1, max_length=50)
    payee: str = Field(..., min_length=1, max_length=100)
    household_id: int | None = Field(None, ge=1, le=s.MAX_ID)


class ReversalIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)
    key: str = Key


class MismatchOut(Schema):
    account_id: int
    stored_fen: int
    computed_fen: int


class ReconciliationOut(Schema):
    county: str
    ok: bool
    accounts: int
    postings: int
    total_balance_fen: int = Field(description="全县账户余额之和，复式记账下应为 0")
    mismatches: list[MismatchOut]
    sources: list[SourceOut]


def _project(p: Project) -> dict[str, Any]:
    return {
        "id": p.pk,
        "version": p.version,
        "name": p.name,
        "kind": p.kind,
        "kind_label": p.kind_label,
        "region": p.region_id,
        "county_code": p.county_code,
        "township_code": p.township_code,
        "village_code": p.village_code,
        "year": p.year,
        "budget_fen": p.budget_fen,
        "state": p.state,
        "state_label": p.state_label,
        "task": p.task,
        "targets": p.targets,
        "benefit_mechanism": p.benefit_mechanism,
        "implementer": p.implementer,
        "responsible": p.responsible,
        "start_date": p.start_date,
        "end_date": p.end_date,
    }


def _detail(user: Any, p: Project) -> dict[str, Any]:
    funds = project_funds(p)
    summary = benefit_summary(p)
    role = getattr(user, "role", "")
    return {
        **_project(p),
        "moves": [m.name for m in lifecycle.allowed_moves(p.state, role)],
        "funding": [
            {
                "source_id": line.source.pk,
                "source": line.source.name,
                "planned_fen": line.planned_fen,
                "allocated_fen": line.allocated_fen,
                "disbursed_fen": line.disbursed_fen,
                "balance_fen": line.balance_fen,
            }
            for line in funds.lines
        ],
        "planned_fen": funds.planned_fen,
        "allocated_fen": funds.allocated_fen,
        "disbursed_fen": funds.disbursed_fen,
        "balance_fen": funds.balance_fen,
        "benefit_households": summary["households"],
        "benefit_amount_fen": summary["amount_fen"],
        "postings": [
            {
                "id": x.pk,
                "kind": x.kind,
                "start": x.start,
                "days": x.days,
                "issuer": x.issuer,
                "sha256": x.sha256,
            }
            for x in postings_of_project(p)
        ],
    }


def _posting(p: Posting) -> dict[str, Any]:
    return {
        "id": p.pk,
        "key": p.key,
        "kind": p.kind,
        "amount_fen": p.amount_fen,
        "on_date": p.on_date,
        "voucher": p.voucher,
        "payee": p.payee,
        "memo": p.memo,
        "project_id": p.project_id,
        "reverses_id": p.reverses_id,
    }


def _source(row: Any) -> dict[str, Any]:
    src = row.source
    return {
        "id": src.pk,
        "county_code": src.county_code,
        "year": src.year,
        "kind": src.kind,
        "name": src.name,
        "document": src.document,
        "received_fen": row.received_fen,
        "allocated_fen": row.allocated_fen,
        "disbursed_fen": row.disbursed_fen,
        "unallocated_fen": row.unallocated_fen,
        "unpaid_fen": row.unpaid_fen,
    }


@router.get(
    "/projects",
    response={200: ProjectPage, **LIST},
    summary="项目库：调用者范围内的项目（县、乡镇、村）",
    openapi_extra=AUTHENTICATED,
)
def list_projects(request: HttpRequest, params: Query[ProjectParams]) -> dict[str, Any]:
    qs = projects_for(
        _user(request), state=params.state, kind=params.kind, year=params.year, q=params.q
    )
    rows = list(qs[params.offset : params.offset + params.limit])
    return {"total": qs.count(), "rows": [_project(p) for p in rows]}


@router.post(
    "/projects",
    response={201: ProjectOut, **WRITE},
    summary="申报项目（村、乡镇、县业务人员，实施地点须在本人范围内）",
    openapi_extra=AUTHENTICATED,
)
def create_project(request: HttpRequest, body: ProjectIn) -> tuple[int, dict[str, Any]]:
    p = do_create_project(
        body.region,
        body.name,
        body.kind,
        body.year,
        body.budget_fen,
        task=body.task,
        targets=body.targets,
        benefit_mechanism=body.benefit_mechanism,
        implementer=body.implementer,
        responsible=body.responsible,
        start_date=body.start_date,
        end_date=body.end_date,
        actor=_user(request),
    )
    return 201, _project(p)


@router.get(
    "/projects/{project_id}",
    response={200: ProjectDetailOut, **READ},
    summary="一个项目：资金计划与执行、受益农户、公告、可办理的步骤",
    openapi_extra=AUTHENTICATED,
)
def get_project(request: HttpRequest, project_id: int = PathId) -> dict[str, Any]:
    user = _user(request)
    return _detail(user, project_for(user, project_id))


@router.post(
    "/projects/{project_id}/moves",
    response={200: ProjectOut, **WRITE},
    summary="办理项目流程的一步（审核、入库、纳入计划、批复、实施、验收、绩效评价、移交、退回…）",
    openapi_extra=AUTHENTICATED,
)
def move_project(
    request: HttpRequest, body: ProjectMoveIn, project_id: int = PathId
) -> dict[str, Any]:
    p = do_move_project(
        project_id,
        body.move,
        expected_version=body.version,
        reason=body.reason,
        actor=_user(request),
    )
    return _project(p)


@router.put(
    "/projects/{project_id}/funding/{source_id}",
    response={200: ProjectOut, **WRITE},
    summary="项目资金计划：某一资金来源承担的金额（县级；纳入年度计划前）",
    openapi_extra=AUTHENTICATED,
)
def set_funding(
    request: HttpRequest,
    body: FundingIn,
    project_id: int = PathId,
    source_id: int = PathId,
) -> dict[str, Any]:
    p = do_set_project_funding(project_id, source_id, body.planned_fen, actor=_user(request))
    return _project(p)


@router.post(
    "/projects/{project_id}/postings",
    response={201: ProjectPostingOut, **WRITE},
    summary="发布项目计划公告或实施结果公告（PDF，公示不少于 10 天）",
    openapi_extra=AUTHENTICATED,
)
def post_project(
    request: HttpRequest, body: PostingIn, project_id: int = PathId
) -> tuple[int, dict[str, Any]]:
    x = do_post_project(
        project_id,
        body.kind,
        body.start,
        days=body.days,
        issuer=body.issuer,
        actor=_user(request),
    )
    return 201, {
        "id": x.pk,
        "kind": x.kind,
        "start": x.start,
        "days": x.days,
        "issuer": x.issuer,
        "sha256": x.sha256,
    }


@router.post(
    "/projects/{project_id}/benefits",
    response={201: BenefitOut, **WRITE},
    summary="登记联农带农受益农户（带动方式、年度、金额）",
    openapi_extra=AUTHENTICATED,
)
def link_benefit(
    request: HttpRequest, body: BenefitIn, project_id: int = PathId
) -> tuple[int, dict[str, Any]]:
    link = do_link_benefit(
        project_id,
        body.household_id,
        body.kind,
        body.year,
        body.amount_fen,
        note=body.note,
        actor=_user(request),
    )
    return 201, {
        "id": link.pk,
        "project_id": link.project_id,
        "household_id": link.household_id,
        "kind": link.kind,
        "group": link.group,
        "year": link.year,
        "amount_fen": link.amount_fen,
    }


@router.get(
    "/funds/sources",
    response={200: list[SourceOut], **READ},
    summary="一个县的资金来源：到账、下达、支付（均已扣除冲正）与余额（县级、审计人员）",
    openapi_extra=AUTHENTICATED,
)
def list_sources(request: HttpRequest, params: Query[CountyParams]) -> list[dict[str, Any]]:
    return [_source(r) for r in source_rows(_user(request), params.county, year=params.year)]


@router.post(
    "/funds/sources",
    response={201: SourceOut, **WRITE},
    summary="登记资金来源（县级）",
    openapi_extra=AUTHENTICATED,
)
def create_source(request: HttpRequest, body: SourceIn) -> tuple[int, dict[str, Any]]:
    src = do_create_fund_source(
        body.county,
        body.year,
        body.kind,
        body.name,
        document=body.document,
        actor=_user(request),
    )
    return 201, {
        "id": src.pk,
        "county_code": src.county_code,
        "year": src.year,
        "kind": src.kind,
        "name": src.name,
        "document": src.document,
    }


@router.post(
    "/funds/receipts",
    response={201: FundPostingOut, **WRITE},
    summary="资金到账（县级；同一幂等键重复提交返回原记账）",
    openapi_extra=AUTHENTICATED,
)
def receive(request: HttpRequest, body: ReceiptIn) -> tuple[int, dict[str, Any]]:
    p = do_receive_funds(
        body.source_id,
        body.amount_fen,
        body.on_date,
        key=body.key,
        memo=body.memo,
        actor=_user(request),
    )
    return 201, _posting(p)


@router.post(
    "/funds/allocations",
    response={201: FundPostingOut, **WRITE},
    summary="资金下达到项目（县级；不超过项目该来源的资金计划）",
    openapi_extra=AUTHENTICATED,
)
def allocate(request: HttpRequest, body: AllocationIn) -> tuple[int, dict[str, Any]]:
    p = do_allocate_funds(
        body.project_id,
        body.source_id,
        body.amount_fen,
        body.on_date,
        key=body.key,
        memo=body.memo,
        actor=_user(request),
    )
    return 201, _posting(p)


@router.post(
    "/funds/disbursements",
    response={201: FundPostingOut, **WRITE},
    summary="资金支付（已批复项目；凭证号不得重复；余额不足时拒绝）",
    openapi_extra=AUTHENTICATED,
)
def disburse(request: HttpRequest, body: DisbursementIn) -> tuple[int, dict[str, Any]]:
    p = do_disburse_funds(
        body.project_id,
        body.source_id,
        body.amount_fen,
        body.on_date,
        key=body.key,
        voucher=body.voucher,
        payee=body.payee,
        household_id=body.household_id,
        memo=body.memo,
        actor=_user(request),
    )
    return 201, _posting(p)


@router.post(
    "/funds/postings/{posting_id}/reversal",
    response={201: FundPostingOut, **WRITE},
    summary="冲正一笔记账（县级；原记账保留，每笔只能冲正一次）",
    openapi_extra=AUTHENTICATED,
)
def reverse(
    request: HttpRequest, body: ReversalIn, posting_id: int = PathId
) -> tuple[int, dict[str, Any]]:
    p = do_reverse_posting(posting_id, body.reason, key=body.key, actor=_user(request))
    return 201, _posting(p)


@router.get(
    "/funds/reconciliation",
    response={200: ReconciliationOut, **READ},
    summary="对账：各账户账面余额与记账重算是否一致，全县余额之和是否为 0",
    openapi_extra=AUTHENTICATED,
)
def reconcile(request: HttpRequest, params: Query[CountyParams]) -> dict[str, Any]:
    r = reconciliation(_user(request), params.county)
    return {
        "county": r.county_code,
        "ok": r.ok,
        "accounts": r.accounts,
        "postings": r.postings,
        "total_balance_fen": r.total_balance_fen,
        "mismatches": [
            {
                "account_id": m["account"].pk,
                "stored_fen": m["stored_fen"],
                "computed_fen": m["computed_fen"],
            }
            for m in r.mismatches
        ],
        "sources": [_source(x) for x in r.sources],
    }
