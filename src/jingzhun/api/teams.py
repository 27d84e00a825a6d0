"""API routes of village work teams (issue 21 item 1): /api/teams….

Thin: `assistance.team_selectors` for reads (villages of the caller's region grants; a
work-team member their village), `assistance.teams` for the check-in. A village out of scope
is a 404 like an unknown one; a check-in dated in the future a 400 naming the field.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router, Schema
from pydantic import Field

from jingzhun.assistance.team_selectors import Month, team_overview, village_team
from jingzhun.assistance.teams import do_check_in

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"  # the same marker as api.api's routes (AUTHZ-1)
AUTHENTICATED = {POLICY_KEY: "authenticated"}
READ, LIST, WRITE = s.READ, s.LIST, s.WRITE
MonthText = Field("", pattern=r"^(\d{4}-\d{2})?$", description="月份 YYYY-MM（默认：上个月）")

router = Router(tags=["驻村工作队"])


class TeamRulesOut(Schema):
    min_members: int
    min_term_years: int
    min_days_per_month: int
    file: str
    version: str


class TeamOverviewRowOut(Schema):
    village_code: str
    village_name: str
    has_team: bool
    serving: int
    secretary: str
    below_minimum: bool
    below_attendance: list[str] = Field(description="当月在村天数少于规则的在任队员")
    days: int = Field(description="在任队员当月在村天数合计")


class TeamOverviewOut(Schema):
    month: str
    month_over: bool
    rules: TeamRulesOut
    villages: int
    without_team: int
    without_secretary: int
    below_minimum: int
    below_attendance: int
    rows: list[TeamOverviewRowOut] = Field(
        description="本页的村（按村代码，每页 limit 个；汇总数字是范围内全部村的）"
    )
    next_after: str = Field(description="下一页的 after（本页最后一个村的代码）；没有下一页时为空")


class TeamOverviewParams(Schema):
    month: str = MonthText
    poor: bool = Field(False, description="true：只列贫困村")
    # paged: a county's 800 villages in one answer were 160 kB (issue 26, B12)
    limit: int = Field(100, ge=1, le=1000, description="每页村数")
    after: str = Field(
        "",
        max_length=12,
        pattern=r"^[0-9]*$",
        description="按村代码翻页：只列代码在此之后的村（上一页返回的 next_after）",
    )


class TeamMemberOut(Schema):
    id: int
    version: int
    name: str
    role: str
    sending_unit: str
    start_date: datetime.date
    term_end: datetime.date
    ended_on: datetime.date | None
    handover_note: str
    successor_id: int | None
    days: int | None = Field(None, description="当月在村天数（在任队员）")
    below: bool = False


class VillageTeamOut(Schema):
    village_code: str
    village_name: str
    team_id: int | None
    sending_units: str
    term_start: datetime.date | None
    term_end: datetime.date | None
    month: str
    month_over: bool
    serving: list[TeamMemberOut]
    history: list[TeamMemberOut]
    warnings: list[str]


class TeamVillageParams(Schema):
    month: str = Field("", pattern=r"^(\d{4}-\d{2})?$", description="月份 YYYY-MM（默认：本月）")


class TeamCheckInIn(Schema):
    day: datetime.date = Field(..., description="在村日期，不能晚于今天")
    note: str = Field("", max_length=200)


class TeamCheckInOut(Schema):
    id: int
    member_id: int
    day: datetime.date
    note: str


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _rules(rules: Any) -> dict[str, Any]:
    return {
        "min_members": rules.min_members.value,
        "min_term_years": rules.min_term_years.value,
        "min_days_per_month": rules.min_days_per_month.value,
        "file": rules.path,
        "version": rules.version,
    }


def _member(m: Any, days: int | None = None, below: bool = False) -> dict[str, Any]:
    return {
        "id": m.pk,
        "version": m.version,
        "name": m.name,
        "role": m.role,
        "sending_unit": m.sending_unit,
        "start_date": m.start_date,
        "term_end": m.term_end,
        "ended_on": m.ended_on,
        "handover_note": m.handover_note,
        "successor_id": m.successor_id,
        "days": days,
        "below": below,
    }


@router.get(
    "/teams",
    response={200: TeamOverviewOut, **LIST},
    summary="驻村工作队概况：无工作队、无第一书记、人数不足、在村天数不足的村（按调用者范围）",
    openapi_extra=AUTHENTICATED,
)
def overview(request: HttpRequest, params: Query[TeamOverviewParams]) -> dict[str, Any]:
    default = Month.before(Month.of(timezone.localdate()))
    data = team_overview(_user(request), Month.parse(params.month, default), poor_only=params.poor)
    following = [r for r in data.rows if r.village.code > params.after]  # rows in code order
    page, more = following[: params.limit], len(following) > params.limit
    return {
        "month": data.month.key,
        "month_over": data.month_over,
        "rules": _rules(data.rules),
        "villages": len(data.rows),
        "without_team": len(data.without_team),
        "without_secretary": len(data.without_secretary),
        "below_minimum": len(data.below_minimum),
        "below_attendance": len(data.below_attendance),
        "next_after": page[-1].village.code if more and page else "",
        "rows": [
            {
                "village_code": r.village.code,
                "village_name": r.village.name,
                "has_team": r.team is not None,
                "serving": r.serving,
                "secretary": r.secretary,
                "below_minimum": r.below_minimum,
                "below_attendance": r.below_attendance,
                "days": r.days,
            }
            for r in page
        ],
    }


@router.get(
    "/teams/{code}",
    response={200: VillageTeamOut, **READ},
    summary="一个村的驻村工作队：在任队员、当月在村天数、轮换记录、提醒",
    openapi_extra=AUTHENTICATED,
)
def village(
    request: HttpRequest,
    params: Query[TeamVillageParams],
    code: str = Path(..., pattern=r"^\d{12}$"),
) -> dict[str, Any]:
    month = Month.parse(params.month, Month.of(timezone.localdate()))
    data = village_team(_user(request), code, month)
    team = data.team
    return {
        "village_code": data.village.code,
        "village_name": data.village.name,
        "team_id": team.pk if team else None,
        "sending_units": team.sending_units if team else "",
        "term_start": team.term_start if team else None,
        "term_end": team.term_end if team else None,
        "month": data.month.key,
        "month_over": data.month_over,
        "serving": [_member(r.member, r.days, r.below) for r in data.serving],
        "history": [_member(m) for m in data.history],
        "warnings": data.warnings,
    }


@router.post(
    "/teams/members/{team_member_id}/check-ins",
    response={201: TeamCheckInOut, **WRITE},
    summary="驻村打卡：队员本人，或县、乡、村业务人员代为登记；每人每天一次，不能晚于今天",
    openapi_extra=AUTHENTICATED,
)
def check_in(
    request: HttpRequest,
    body: TeamCheckInIn,
    team_member_id: int = Path(..., ge=1, le=s.MAX_ID),
) -> tuple[int, dict[str, Any]]:
    made = do_check_in(team_member_id, body.day, body.note, actor=_user(request))
    return 201, {"id": made.pk, "member_id": made.member_id, "day": made.day, "note": made.note}
