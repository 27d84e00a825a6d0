"""Scoped reads of village work teams (issue 21 item 1): one village's team page and the
county overview. A village is visible when the user's region grants contain it
(`access.scoping.can_see_region`); a work-team member is granted their village.

Attendance is counted from the check-ins of a calendar month against the rule
`min_days_per_month` of `work_team_rules`; a month not yet over is shown as far as it has
gone, and only a finished month counts as "below the rule" in the overview.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from jingzhun.access.scoping import check_region_in_scope, region_filter
from jingzhun.core.errors import OutOfScope
from jingzhun.regions.codes import prefix as region_prefix
from jingzhun.regions.models import Region

from .models import TeamCheckIn, TeamMember, WorkTeam
from .teams import TeamRules, team_rules


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> datetime.date:
        return datetime.date(self.year, self.month, 1)

    @property
    def last(self) -> datetime.date:
        nxt = Month.after(self)
        return nxt.first - datetime.timedelta(days=1)

    @staticmethod
    def after(m: Month) -> Month:
        return Month(m.year + m.month // 12, m.month % 12 + 1)

    @staticmethod
    def before(m: Month) -> Month:
        return Month(m.year - (m.month == 1), 12 if m.month == 1 else m.month - 1)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def over(self, today: datetime.date) -> bool:
        return self.last < today

    @staticmethod
    def parse(text: str | None, default: Month) -> Month:
        try:
            year, month = (int(part) for part in (text or "").split("-"))
            if 2000 <= year <= 2100 and 1 <= month <= 12:
                return Month(year, month)
        except ValueError:
            pass
        return default

    @staticmethod
    def of(day: datetime.date) -> Month:
        return Month(day.year, day.month)


@dataclass
class MemberRow:
    member: TeamMember
    days: int  # check-ins in the month
    below: bool  # a finished month with fewer days than the rule (while serving all month)
    checked_in_today: bool = False


@dataclass
class VillageTeam:
    village: Region
    team: WorkTeam | None
    rules: TeamRules
    month: Month
    month_over: bool
    serving: list[MemberRow] = field(default_factory=list)
    history: list[TeamMember] = field(default_factory=list)
    past_teams: list[WorkTeam] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def secretary(self) -> TeamMember | None:
        return next((r.member for r in self.serving if r.member.role == "secretary"), None)


def _serving_q(day: datetime.date) -> Q:
    return Q(ended_on__isnull=True) | Q(ended_on__gte=day)


def _expected_days(member: TeamMember, month: Month, rule: int) -> int:
    """The rule's days, when the member served the whole month; a partial month is not judged."""
    served_from = member.start_date
    served_to = member.ended_on or datetime.date.max
    if served_from > month.first or served_to < month.last:
        return 0
    return rule


def village_team(user: Any, code: str, month: Month | None = None) -> VillageTeam:
    """The village's live team, its serving members with this month's days, its history."""
    check_region_in_scope(user, code)
    village = Region.objects.filter(pk=code, level="village").first()
    if village is None:
        raise OutOfScope("未找到该村，或您无权访问。")
    today = timezone.localdate()
    month = month or Month.of(today)
    rules = team_rules(today)
    team = WorkTeam.objects.filter(village=village, ended_on__isnull=True).first()
    result = VillageTeam(
        village=village,
        team=team,
        rules=rules,
        month=month,
        month_over=month.over(today),
        past_teams=list(
            WorkTeam.objects.filter(village=village, ended_on__isnull=False).order_by("-term_start")
        ),
    )
    if team is None:
        result.warnings.append("该村没有在任的驻村工作队。")
        return result
    members = list(
        TeamMember.objects.filter(team=team)
        .select_related("user", "successor")
        .order_by("start_date", "pk")
    )
    counts = dict(
        TeamCheckIn.objects.filter(member__team=team, day__gte=month.first, day__lte=month.last)
        .values_list("member")
        .annotate(n=Count("pk"))
        .values_list("member", "n")
    )
    today_ids = set(
        TeamCheckIn.objects.filter(member__team=team, day=today).values_list("member", flat=True)
    )
    rule_days = rules.min_days_per_month.value
    for m in members:
        if m.ended_on is None:
            days = counts.get(m.pk, 0)
            expected = _expected_days(m, month, rule_days)
            below = result.month_over and expected > 0 and days < expected
            result.serving.append(MemberRow(m, days, below, m.pk in today_ids))
        else:
            result.history.append(m)
    n = len(result.serving)
    if n < rules.min_members.value:
        result.warnings.append(
            f"在任队员 {n} 人，少于规则要求的 {rules.min_members.value} 人："
            f"{rules.cite(rules.min_members)}。"
        )
    if result.secretary is None:
        result.warnings.append("该村没有在任的第一书记。")
    for row in result.serving:
        if row.below:
            result.warnings.append(
                f"{row.member.name} {month.key} 在村 {row.days} 天，少于规则要求的 {rule_days} 天。"
            )
    return result


@dataclass
class OverviewRow:
    village: Region
    team: WorkTeam | None
    serving: int
    secretary: str
    below_attendance: list[str]  # names of members below the rule in the month
    days: int  # check-ins of the village's serving members in the month
    min_members: int

    @property
    def below_minimum(self) -> bool:
        return self.team is not None and self.serving < self.min_members


@dataclass
class TeamOverview:
    rules: TeamRules
    month: Month
    month_over: bool
    rows: list[OverviewRow]

    @property
    def without_team(self) -> list[OverviewRow]:
        return [r for r in self.rows if r.team is None]

    @property
    def without_secretary(self) -> list[OverviewRow]:
        return [r for r in self.rows if r.team is not None and not r.secretary]

    @property
    def below_minimum(self) -> list[OverviewRow]:
        return [r for r in self.rows if r.below_minimum]

    @property
    def below_attendance(self) -> list[OverviewRow]:
        return [r for r in self.rows if r.below_attendance]

    @property
    def with_team(self) -> int:
        return sum(1 for r in self.rows if r.team is not None)


@dataclass(frozen=True)
class TownshipTeams:
    """One township's line of a county's teams overview: its villages' figures, counted."""

    township: Region
    villages: int
    with_team: int
    without_team: int
    without_secretary: int
    below_minimum: int
    below_attendance: int


def township_summary(overview: TeamOverview) -> list[TownshipTeams]:
    """The overview's villages counted by township (in code order): what a county's page shows
    instead of every village (issue 26: ~800 villages, 236 kB, listed up to twice)."""
    by_township: dict[str, list[OverviewRow]] = defaultdict(list)
    for row in overview.rows:
        by_township[row.village.code[:9] + "000"].append(row)
    townships = Region.objects.in_bulk(list(by_township), field_name="code")
    return [
        TownshipTeams(
            township=townships[code],
            villages=len(rows),
            with_team=sum(1 for r in rows if r.team is not None),
            without_team=sum(1 for r in rows if r.team is None),
            without_secretary=sum(1 for r in rows if r.team is not None and not r.secretary),
            below_minimum=sum(1 for r in rows if r.below_minimum),
            below_attendance=sum(1 for r in rows if r.below_attendance),
        )
        for code, rows in sorted(by_township.items())
        if code in townships
    ]


def team_overview(
    user: Any, month: Month | None = None, *, poor_only: bool = False, region: str = ""
) -> TeamOverview:
    """Every village of the user's scope (poor villages only on request; under `region` when
    given: the battle map's) with its team figures: a handful of grouped queries, whatever the
    number of villages."""
    today = timezone.localdate()
    month = month or Month.before(Month.of(today))
    rules = team_rules(today)
    villages = Region.objects.filter(region_filter(user), level="village")
    if region:
        villages = villages.filter(code__startswith=region_prefix(region))
    if poor_only:
        villages = villages.filter(is_poor_village=True)
    villages_list = list(villages.order_by("code"))
    # the villages, teams and members as subqueries, not lists of ~800 values each: a county's
    # lists made the queries themselves costly to send and parse (issue 26)
    live_teams = WorkTeam.objects.filter(
        village__in=villages.order_by().values("code"), ended_on__isnull=True
    )
    teams = {
        t.village_id: t
        for t in live_teams.only("pk", "village_id", "sending_units", "term_start", "term_end")
    }
    serving = TeamMember.objects.filter(
        team__in=live_teams.order_by().values("pk"), ended_on__isnull=True
    )
    members = list(serving.only("pk", "team_id", "name", "role", "start_date", "ended_on"))
    counts = dict(
        TeamCheckIn.objects.filter(
            member__in=serving.order_by().values("pk"), day__gte=month.first, day__lte=month.last
        )
        .values("member")
        .annotate(n=Count("pk"))
        .values_list("member", "n")
    )
    by_team: dict[int, list[TeamMember]] = defaultdict(list)
    for m in members:
        by_team[m.team_id].append(m)
    month_over = month.over(today)
    rule_days = rules.min_days_per_month.value
    rows: list[OverviewRow] = []
    for village in villages_list:
        team = teams.get(village.code)
        serving = by_team.get(team.pk, []) if team else []
        below = [
            m.name
            for m in serving
            if month_over
            and _expected_days(m, month, rule_days) > 0
            and counts.get(m.pk, 0) < rule_days
        ]
        row = OverviewRow(
            village=village,
            team=team,
            serving=len(serving),
            secretary=next((m.name for m in serving if m.role == "secretary"), ""),
            below_attendance=below,
            days=sum(counts.get(m.pk, 0) for m in serving),
            min_members=rules.min_members.value,
        )
        rows.append(row)
    return TeamOverview(rules=rules, month=month, month_over=month_over, rows=rows)


def memberships_of(user: Any) -> list[TeamMember]:
    """The serving memberships of a work-team member's account (their check-in page)."""
    return list(
        TeamMember.objects.filter(user=user, ended_on__isnull=True, team__ended_on__isnull=True)
        .select_related("team__village")
        .order_by("pk")
    )


def team_member_for(user: Any, member_id: int) -> TeamMember:
    """One member of a village of the user's scope (404 otherwise)."""
    member = TeamMember.objects.select_related("team__village").filter(pk=member_id).first()
    if member is None:
        raise OutOfScope("未找到该队员，或您无权访问。")
    check_region_in_scope(user, member.team.village_id)
    return member


def team_accounts(user: Any, code: str) -> list[Any]:
    """Active work-team member accounts granted the village (or a region above it): the
    accounts a member posted to this village may be linked to."""
    from jingzhun.access.models import User

    check_region_in_scope(user, code)
    ancestors: list[str] = []
    region = Region.objects.filter(pk=code).first()
    while region is not None:
        ancestors.append(region.code)
        region = region.parent
    return list(
        User.objects.filter(role="workteam", is_active=True, grants__region_id__in=ancestors)
        .distinct()
        .order_by("username")
    )
