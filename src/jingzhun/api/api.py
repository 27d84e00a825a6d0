"""The JSON API (django-ninja): thin routes over the registry's selectors and actions.

Every route needs a signed-in, active account (bearer token or web session) and declares its
access policy in the OpenAPI document as `x-jingzhun-policy` (AUTHZ-1: deny by default). What a
user sees is decided by the selectors' scoping (AUTHZ-2); what a user may change, by the actions.
Out-of-scope objects answer 404 exactly like unknown ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone, translation
from ninja import NinjaAPI, Path, Query
from ninja.errors import AuthenticationError, HttpError
from ninja.openapi.schema import OpenAPISchema

from jingzhun.analytics.overview import default_year, stored_overview
from jingzhun.audit.actions import record_now, record_out_of_scope
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.regions.codes import prefix
from jingzhun.registry.actions import (
    WRITER_ROLES,
    do_record_income,
    do_update_household,
    do_update_member,
)
from jingzhun.registry.idcard import check as check_id
from jingzhun.registry.models import Household
from jingzhun.registry.selectors import (
    HouseholdFilters,
    household_for,
    households_for,
    income_of,
    member_for,
    members_of,
    overview_roots,
    region_path,
    registry_stats,
    visible_regions,
)

from . import schemas as s
from .assets import router as assets_router
from .assistance import router as assistance_router
from .auth import session_auth, token_auth
from .credit import router as credit_router
from .feeds import router as feeds_router
from .governance import router as governance_router
from .inspection import router as inspection_router
from .measures import router as measures_router
from .points import router as points_router
from .projects import router as projects_router
from .scoring import router as scoring_router
from .teams import router as teams_router
from .workflows import router as workflows_router

logger = logging.getLogger(__name__)

POLICY_KEY = "x-jingzhun-policy"
# Any signed-in, active account may call the route; the data it gets is scoped by the selectors.
AUTHENTICATED = {POLICY_KEY: "authenticated"}
# Reaching the route needs a sign-in; the write itself is refused (403) for roles other than these.
REGISTRY_WRITE = {POLICY_KEY: "authenticated", "x-jingzhun-writer-roles": sorted(WRITER_ROLES)}
VIEW_POLICY_ATTR = "jingzhun_policy"  # the marker web views carry (web/policies.py)

NOT_SIGNED_IN = (
    "未登录或登录已失效：请先登录，或在请求头中提供有效的访问令牌（Authorization: Bearer <令牌>）。"
)
NO_ID_IN_URL = (
    "为保护个人信息，证件号码、银行账号等号码不能放在网址中查询："
    "请改用 POST /api/households/search，把查询条件放在请求体中。"
)
_LONG_NUMBER = re.compile(s.LONG_NUMBER)


def _public_docs(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The OpenAPI document and its viewer hold no data: reachable without signing in."""
    setattr(view, VIEW_POLICY_ATTR, "public")
    return view


class JingzhunAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document is built once per process, prefix and language.

    The document depends only on the code, and building it takes the better part of a second of
    CPU (pydantic's JSON schema of every route); it is public (no sign-in), so without this
    anyone could keep the server's workers busy by asking for /api/openapi.json.
    """

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        key = (path_prefix, translation.get_language())
        cache: dict[tuple[str, str | None], OpenAPISchema] = self.__dict__.setdefault(
            "_jingzhun_schemas", {}
        )
        if key not in cache:
            cache[key] = super().get_openapi_schema(path_prefix=path_prefix)
        return cache[key]


api = JingzhunAPI(
    title="精准 Jingzhun API",
    version="1",
    description=(
        "建档立卡数据接口。使用网页登录会话（修改类请求需带 CSRF 令牌）或访问令牌"
        "（`jingzhun token issue 用户名` 签发，请求头 `Authorization: Bearer <令牌>`）。"
        "返回的数据按账号的区域授权或帮扶关系限定范围；证件号码、电话、银行账号、健康状况均已脱敏。"
    ),
    urls_namespace="api",
    auth=[token_auth, session_auth],
    docs_decorator=_public_docs,
)

# --- errors: {"detail": "<Chinese sentence>"} with the status the domain error carries ----------


def _audit_refusal(request: HttpRequest, status: int) -> None:
    """A 403 is audited like the web's (AUDIT-1: denied attempts are logged too)."""
    if status != 403:
        return
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    record_now(
        "access.request.denied",
        actor=user if getattr(user, "is_authenticated", False) else None,
        object_type="path",
        object_id=request.path[:64],
        outcome="refused",
        diff={"method": request.method},
    )


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    _audit_refusal(request, exc.status)
    if isinstance(exc, OutOfScope):  # a denied attempt too, shown as 404 (rate-limited)
        match = request.resolver_match
        record_out_of_scope(
            getattr(request, "auth", None) or request.user,
            route=match.view_name if match else "api",
            path=request.path,
            method=request.method or "",
        )
    body: dict[str, Any] = {"detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(AuthenticationError)
def _not_signed_in(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": NOT_SIGNED_IN}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="jingzhun"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    _audit_refusal(request, exc.status_code)
    message = str(exc)
    if message.startswith("Cannot parse request body"):  # django-ninja's own English message
        message = "请求体无法解析：请发送 JSON（Content-Type: application/json）。"
    return api.create_response(request, {"detail": message}, status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "未找到。"}, status=404)


@api.exception_handler(DjangoValidationError)
def _invalid_value(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    # Safety net: schemas should refuse bad values first (422); never answer bad input with a 500.
    return api.create_response(
        request, {"detail": "数据不符合要求：" + "；".join(exc.messages)}, status=400
    )


@api.exception_handler(DataError)
@api.exception_handler(IntegrityError)
def _database_refused(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("database refused API input: %s", type(exc).__name__)
    return api.create_response(
        request, {"detail": "数据不符合数据库约束，未保存任何修改。"}, status=400
    )


READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
HouseholdParams = s.HouseholdFilterParams | s.HouseholdSearchIn
PathId = Path(..., ge=1, le=s.MAX_ID)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# --- regions -----------------------------------------------------------------------------------


@api.get(
    "/regions",
    response={200: s.RegionPage, **LIST},
    summary="可见的行政区划",
    tags=["区划"],
    openapi_extra=AUTHENTICATED,
)
def list_regions(request: HttpRequest, params: Query[s.RegionFilterParams]) -> dict[str, Any]:
    qs = visible_regions(_user(request))
    if params.parent:
        qs = qs.filter(parent_id=params.parent)
    if params.level:
        qs = qs.filter(level=params.level)
    qs = qs.order_by("code")
    window = qs[params.offset : params.offset + params.limit]
    return {"count": qs.count(), "items": [s.region_out(r) for r in window]}


@api.get(
    "/regions/{code}",
    response={200: s.RegionOut, **READ},
    summary="一个区划",
    tags=["区划"],
    openapi_extra=AUTHENTICATED,
)
def get_region(
    request: HttpRequest, code: str = Path(..., pattern=s.REGION_CODE)
) -> dict[str, Any]:
    region = visible_regions(_user(request)).filter(code=code).first()
    if region is None:
        raise OutOfScope("未找到该区划，或您无权访问。")
    return s.region_out(region)


# --- households --------------------------------------------------------------------------------


def _filters(params: HouseholdParams) -> HouseholdFilters:
    return HouseholdFilters(
        q=params.q,
        township=params.township,
        village=params.village,
        status=params.status,
        attribute=params.attribute,
        cause=params.cause,
    )


def _page(user: Any, params: HouseholdParams) -> dict[str, Any]:
    """A page by offset, or after a household code (keyset: read from the region's index in
    code order, whatever the depth; issue 26)."""
    qs = households_for(user, _filters(params))
    if params.after and params.offset:
        raise DomainError("after 与 offset 不能同时使用。", field="offset")
    if params.after:
        window = list(qs.filter(household_code__gt=params.after)[: params.limit + 1])
    else:
        window = list(qs[params.offset : params.offset + params.limit + 1])
    more = len(window) > params.limit
    window = window[: params.limit]
    return {
        "count": qs.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [s.household_summary(h) for h in window],
        "next_after": window[-1].household_code if more and window else "",
    }


@api.get(
    "/households",
    response={200: s.HouseholdPage, **LIST},
    summary="户列表（按户编号、姓名查询与筛选）",
    description="不接受证件号码等长号码作为 q（会出现在网址和日志中），请用 POST /api/households/search。",
    tags=["户"],
    openapi_extra=AUTHENTICATED,
)
def list_households(request: HttpRequest, params: Query[s.HouseholdFilterParams]) -> dict[str, Any]:
    if check_id(params.q).valid or _LONG_NUMBER.search(params.q):
        raise DomainError(NO_ID_IN_URL, field="q")
    return _page(_user(request), params)


@api.post(
    "/households/search",
    response={200: s.HouseholdPage, **LIST},
    summary="户查询（可按完整证件号码）",
    description="查询条件放在请求体中，证件号码不会出现在网址里。",
    tags=["户"],
    openapi_extra=AUTHENTICATED,
)
def search_households(request: HttpRequest, body: s.HouseholdSearchIn) -> dict[str, Any]:
    return _page(_user(request), body)


def _detail(household: Household) -> dict[str, Any]:
    incomes = household.incomes.order_by("year")
    return s.household_detail(household, members_of(household), incomes)


@api.get(
    "/households/{household_id}",
    response={200: s.HouseholdDetail, **READ},
    summary="户详情（含成员与收入）",
    tags=["户"],
    openapi_extra=AUTHENTICATED,
)
def get_household(request: HttpRequest, household_id: int = PathId) -> dict[str, Any]:
    return _detail(household_for(_user(request), household_id))


@api.patch(
    "/households/{household_id}",
    response={200: s.HouseholdDetail, **WRITE},
    summary="修改户信息（乐观锁：须带读取时的版本号）",
    description=(
        "版本号已过期时返回 409，不做任何修改。脱贫状态须通过状态变更办理；识别标准和年度、"
        "脱贫年度、监测和风险信息由案件办理，户主姓名随成员变化：均不能在此修改。"
    ),
    tags=["户"],
    openapi_extra=REGISTRY_WRITE,
)
def update_household(
    request: HttpRequest, body: s.HouseholdPatchIn, household_id: int = PathId
) -> dict[str, Any]:
    user = _user(request)
    changes = body.changes.model_dump(exclude_unset=True)
    if not changes:
        raise DomainError("没有要修改的字段。", field="changes")
    do_update_household(household_id, body.version, changes, actor=user)
    return _detail(household_for(user, household_id))


@api.get(
    "/households/{household_id}/members",
    response={200: list[s.MemberOut], **READ},
    summary="户的家庭成员",
    tags=["成员"],
    openapi_extra=AUTHENTICATED,
)
def list_members(request: HttpRequest, household_id: int = PathId) -> list[dict[str, Any]]:
    household = household_for(_user(request), household_id)
    return [s.member_out(m) for m in members_of(household)]


@api.get(
    "/members/{member_id}",
    response={200: s.MemberOut, **READ},
    summary="一名家庭成员",
    tags=["成员"],
    openapi_extra=AUTHENTICATED,
)
def get_member(request: HttpRequest, member_id: int = PathId) -> dict[str, Any]:
    member = member_for(_user(request), member_id)
    return s.member_out(member)


@api.patch(
    "/members/{member_id}",
    response={200: s.MemberOut, **WRITE},
    summary="修改家庭成员信息（乐观锁：须带读取时的版本号）",
    description=(
        "版本号已过期时返回 409，不做任何修改。证件号码、性别、出生日期须彼此一致；"
        "户主须通过自然变更更换，成员的增加和减少（出生、婚入、迁入、死亡、婚出、迁出）"
        "通过自然变更案件办理（POST /api/cases），不能在此修改。修改后该户的版本号随之增加。"
    ),
    tags=["成员"],
    openapi_extra=REGISTRY_WRITE,
)
def update_member(
    request: HttpRequest, body: s.MemberPatchIn, member_id: int = PathId
) -> dict[str, Any]:
    user = _user(request)
    changes = body.changes.model_dump(exclude_unset=True)
    if not changes:
        raise DomainError("没有要修改的字段。", field="changes")
    if changes.get("id_number"):  # sex and birth date follow a corrected number unless given
        changes.setdefault("sex", "")
        changes.setdefault("birth_date", "")
    do_update_member(member_id, body.version, changes, actor=user)
    return s.member_out(member_for(user, member_id))


# --- income ------------------------------------------------------------------------------------

IncomeYear = Path(..., ge=1900, le=9999)


def _income(household: Household, year: int) -> dict[str, Any]:
    income = income_of(household, year)
    if income is None:
        raise OutOfScope(f"该户尚无 {year} 年度的收入记录。")
    return s.household_income_out(income, members_of(household).count())


@api.get(
    "/households/{household_id}/incomes/{year}",
    response={200: s.HouseholdIncomeOut, **READ},
    summary="户某年度的收入（含计算的纯收入与人均纯收入）",
    description="该年度尚无收入记录时返回 404；录入时以版本号 0 提交。",
    tags=["收入"],
    openapi_extra=AUTHENTICATED,
)
def get_income(
    request: HttpRequest, household_id: int = PathId, year: int = IncomeYear
) -> dict[str, Any]:
    return _income(household_for(_user(request), household_id), year)


@api.put(
    "/households/{household_id}/incomes/{year}",
    response={200: s.HouseholdIncomeOut, **WRITE},
    summary="录入或更正户某年度的收入（乐观锁：须带读取时的版本号）",
    description=(
        "整条替换：未提交的项目视为未填（四项收入和生产经营性支出为 0）。版本号已过期时返回"
        " 409，不做任何修改；金额为负、不是数字、年度晚于今年时返回 400。纯收入与人均纯收入由系统计算。"
        "保存后该户的判定结果过期，由后台任务重新判定。"
    ),
    tags=["收入"],
    openapi_extra=REGISTRY_WRITE,
)
def put_income(
    request: HttpRequest, body: s.IncomeIn, household_id: int = PathId, year: int = IncomeYear
) -> dict[str, Any]:
    user = _user(request)
    amounts = body.model_dump(exclude={"version"})
    do_record_income(household_id, year, amounts, actor=user, expected_version=body.version)
    return _income(household_for(user, household_id), year)


# --- statistics --------------------------------------------------------------------------------


@api.get(
    "/stats",
    response={200: s.StatsOut, **READ},
    summary="建档立卡统计（年末口径）",
    description="区划默认为您的第一个授权区划；帮扶责任人只统计本人的帮扶户。",
    tags=["统计"],
    openapi_extra=AUTHENTICATED,
)
def get_stats(request: HttpRequest, params: Query[s.StatsParams]) -> dict[str, Any]:
    user = _user(request)
    code = params.region
    if not code:
        roots = overview_roots(user)
        if not roots:
            raise OutOfScope("您没有可统计的区划。")
        code = roots[0].code
    region = region_path(user, code)[-1]
    paired = user.role == "helper"
    # by default the latest year with stored figures (this year once computed), as the overview
    year = params.year or (timezone.localdate().year if paired else default_year(user, region.code))
    if paired and not visible_regions(user).filter(code__startswith=prefix(region.code)).exists():
        # A helper's regions are those holding one of their households, and the regions above.
        raise OutOfScope("未找到该区划，或您无权访问。")
    if paired:  # a helper's own few households, counted per request
        stats = registry_stats(region.code, year, user=user)
        return s.stats_out(region, year, stats, paired=True)
    # a region's stored year-end figures (analytics.overview, ADR 0065)
    stored = stored_overview(user, region.code, year, breakdown=False)
    if stored.stats is None:
        raise OutOfScope(f"{year} 年的年末指标尚未计算（作战图页面可重新计算）。")
    return s.stats_out(
        region,
        year,
        stored.stats,
        paired=False,
        computed_at=stored.refreshed_at,
        refresh_pending=stored.refresh_pending,
    )


# --- workflows (api/workflows.py) ---------------------------------------------------------------

api.add_router("/", workflows_router)
api.add_router("/", assistance_router)
api.add_router("/", teams_router)
api.add_router("/", measures_router)
api.add_router("/", feeds_router)
api.add_router("/", inspection_router)
api.add_router("/", scoring_router)
api.add_router("/", governance_router)
api.add_router("/", projects_router)
api.add_router("/", credit_router)
api.add_router("/", assets_router)
api.add_router("/", points_router)
