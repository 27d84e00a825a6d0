"""The battle map's assistance figures (作战图·精准帮扶, issue 21 item 6).

Pairing coverage, households without measures, visits per household in a month, work-team
attendance, measures by kind and department and helper load against quota, for one region of
the reader's scope (province, prefecture, county, township or village; above the county every
figure is the sum of the counties' figures, helpers included: see `helper_loads`). They are computed per request, set-wise, and
not stored as indicators: they change with every pairing, visit, measure and check-in (the
stored indicators change on a refresh), and they read tables of this app, which sits above
analytics in the layers (ADR 0064).

Each figure is defined once, as a condition over households (`HOUSEHOLD_FIGURES`), helpers or
villages; the counts are one aggregate over those conditions and the list behind a figure
(`figure_households`, `figure_helpers`, `figure_villages`) filters by the same condition, so a
figure and its list cannot disagree. A fixed number of queries whatever the number of
households, helpers or villages.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from jingzhun.access.models import HelperPairing, User
from jingzhun.access.scoping import can_see_region
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes
from jingzhun.registry.models import Household
from jingzhun.registry.selectors import households_for

from .actions import current_pairings_q
from .catalogue import catalogue
from .choices import UNPAIRED_GROUPS
from .measure_selectors import COUNTING_STATUSES, liaison_kinds
from .models import HelperProfile, Measure, Visit
from .quotas import Quota, quota_for
from .selectors import _under, group_filter
from .team_selectors import Month, OverviewRow, TeamOverview, team_overview

GROUPS = tuple(UNPAIRED_GROUPS)  # registered, monitored

# Figures over households: key -> (label, condition over the annotated households of `_base`).
# `paired`: a pairing running on the day; `measured`: a counting measure the reader may see;
# `visited`: a visit in the month.
HOUSEHOLD_FIGURES: dict[str, str] = {
    "total:registered": "建档立卡户",
    "total:monitored": "监测对象",
    "paired:registered": "已结对的建档立卡户",
    "paired:monitored": "已结对的监测对象",
    "unpaired:registered": "未结对的建档立卡户",
    "unpaired:monitored": "未结对的监测对象",
    "without_measures:registered": "无帮扶措施的建档立卡户",
    "without_measures:monitored": "无帮扶措施的监测对象",
    "paired": "有帮扶责任人的户",
    "visited": "当月已走访的户",
    "not_visited": "当月未走访的户",
}
HELPER_FIGURES: dict[str, str] = {
    "helpers": "有结对户的帮扶责任人",
    "over": "超过结对上限",
    "at": "达到结对上限",
    "under": "未达结对上限",
    "no_quota": "未设上限（无职级或本县未配置）",
}
VILLAGE_FIGURES: dict[str, str] = {
    "without_team": "没有工作队的村",
    "without_secretary": "没有第一书记的村",
    "below_minimum": "队员人数不足的村",
    "below_attendance": "在村天数不足的村",
}


def _condition(key: str) -> Q:
    what, _sep, group = key.partition(":")
    in_group = group_filter(group) if group else Q()
    if what == "total":
        return in_group
    if what == "paired":
        return in_group & Q(paired=True)
    if what == "unpaired":
        return in_group & Q(paired=False)
    if what == "without_measures":
        return in_group & Q(measured=False)
    if what == "visited":
        return Q(paired=True, visited=True)
    if what == "not_visited":
        return Q(paired=True, visited=False)
    raise OutOfScope("没有这一指标。")


ABOVE_COUNTY = ("province", "prefecture")


def check_region(user: Any, region: str) -> str:
    """The region code when the reader may see it (province, prefecture, county, township or
    village), else OutOfScope."""
    try:
        level = codes.level_of(region)
    except codes.CodeError as exc:
        raise OutOfScope("未找到该区划，或您无权访问。") from exc
    if level not in (*ABOVE_COUNTY, "county", "township", "village") or not can_see_region(
        user, region
    ):
        raise OutOfScope("未找到该区划，或您无权访问。")
    return region


def as_of(month: Month, today: datetime.date | None = None) -> datetime.date:
    """The day the pairings are taken on: the month's last day, or today in the running month."""
    today = today or timezone.localdate()
    return min(month.last, today)


def _counting(user: Any) -> QuerySet[Measure]:
    """Measures that count (approved, in progress, completed), of the kinds the reader may see."""
    qs = Measure.objects.filter(status__in=sorted(COUNTING_STATUSES))
    kinds = liaison_kinds(user)
    if kinds is not None:
        qs = qs.filter(kind__in=sorted(kinds))
    return qs


def _base(user: Any, region: str, month: Month, day: datetime.date) -> QuerySet[Household]:
    """The households of the region in the reader's scope, annotated paired/measured/visited."""
    return (
        households_for(user)
        .filter(_under(region))
        .annotate(
            paired=Exists(
                HelperPairing.objects.filter(current_pairings_q(day), household=OuterRef("pk"))
            ),
            measured=Exists(_counting(user).filter(household=OuterRef("pk"))),
            visited=Exists(
                Visit.objects.filter(
                    household=OuterRef("pk"),
                    visited_on__gte=month.first,
                    visited_on__lte=month.last,
                )
            ),
        )
    )


@dataclass(frozen=True)
class Breakdown:
    code: str
    label: str
    households: int  # households with a counting measure of this kind/department
    measures: int


@dataclass
class HelperLoad:
    helper: User
    profile: HelperProfile | None
    in_region: int  # households of the region paired with them on the day
    load: int  # households paired with them anywhere (what the quota counts)
    quota: Quota | None

    @property
    def bucket(self) -> str:
        if self.quota is None:
            return "no_quota"
        if self.load > self.quota.limit:
            return "over"
        if self.load == self.quota.limit:
            return "at"
        return "under"


@dataclass
class AssistanceBoard:
    region: str
    month: Month
    day: datetime.date
    households: dict[str, int]  # HOUSEHOLD_FIGURES key -> count
    visits: int  # visits in the month to the region's paired households
    by_kind: list[Breakdown]
    by_department: list[Breakdown]
    helpers: dict[str, int]  # HELPER_FIGURES key -> count
    teams: TeamOverview
    team_figures: dict[str, int] = field(default_factory=dict)  # VILLAGE_FIGURES key -> count

    def coverage(self, group: str) -> float | None:
        """Paired households of the group as a percentage (None when the group is empty)."""
        total = self.households[f"total:{group}"]
        return None if not total else 100 * self.households[f"paired:{group}"] / total

    @property
    def group_rows(self) -> list[dict[str, Any]]:
        """Per group: its coverage, and (key, count) cells before and after it (the table)."""
        rows = []
        for group in GROUPS:
            cells = [
                (key, self.households[key])
                for key in (
                    f"{w}:{group}" for w in ("total", "paired", "unpaired", "without_measures")
                )
            ]
            rows.append(
                {
                    "group": group,
                    "coverage": self.coverage(group),
                    "before": cells[:2],
                    "after": cells[2:],
                }
            )
        return rows

    @property
    def helper_rows(self) -> list[tuple[str, str, int]]:
        return [(k, label, self.helpers[k]) for k, label in HELPER_FIGURES.items()]

    @property
    def team_rows(self) -> list[tuple[str, str, int]]:
        return [(k, label, self.team_figures[k]) for k, label in VILLAGE_FIGURES.items()]

    @property
    def visits_per_household(self) -> float | None:
        paired = self.households["paired"]
        return None if not paired else self.visits / paired

    @property
    def serving_members(self) -> int:
        return sum(r.serving for r in self.teams.rows)

    @property
    def check_in_days(self) -> int:
        return sum(r.days for r in self.teams.rows)


def _breakdowns(user: Any, region: str, column: str) -> list[Breakdown]:
    cat = catalogue()
    scoped = households_for(user).filter(_under(region)).order_by().values("pk")
    rows = (
        _counting(user)
        .filter(household_id__in=scoped)
        .order_by()
        .values(column)
        .annotate(n=Count("pk"), h=Count("household", distinct=True))
    )
    label = cat.kind_label if column == "kind" else cat.department_label
    return sorted(
        (Breakdown(r[column], label(r[column]), r["h"], r["n"]) for r in rows),
        key=lambda b: b.code,
    )


def helper_loads(user: Any, region: str, day: datetime.date) -> list[HelperLoad]:
    """The helpers with a household of the region paired on the day, their load and quota
    (the quota of the region's county and the helper's rank category). Three queries.

    Above the county (province, prefecture) the rows are the counties' rows one after the
    other (ADR "province-assistance-screening"): quotas are per county, and a helper paired in
    two counties is counted in each, so that a prefecture's helper figures are the sum of its
    counties' and the province's the sum of its prefectures'. One query for the counties,
    then three per county with paired households."""
    if codes.level_of(region) in ABOVE_COUNTY:
        counties = (
            households_for(user)
            .filter(_under(region))
            .order_by("county_code")
            .values_list("county_code", flat=True)
            .distinct()
        )
        return [row for county in counties for row in helper_loads(user, county, day)]
    scoped = households_for(user).filter(_under(region)).order_by().values("pk")
    helpers = list(
        User.objects.filter(
            pk__in=HelperPairing.objects.filter(current_pairings_q(day), household_id__in=scoped)
            .order_by()
            .values("helper_id")
        )
        .annotate(
            in_region=Count(
                "pairings__household",
                filter=current_pairings_q(day, prefix="pairings__")
                & Q(pairings__household_id__in=scoped),
                distinct=True,
            ),
            load=Count(
                "pairings__household",
                filter=Q(pairings__end_date__isnull=True) | Q(pairings__end_date__gt=day),
                distinct=True,
            ),
        )
        .order_by("username")
    )
    profiles = {p.user_id: p for p in HelperProfile.objects.filter(user__in=helpers)}
    county = region[:6]
    quotas: dict[str, Quota | None] = {}
    rows = []
    for helper in helpers:
        profile = profiles.get(helper.pk)
        quota = None
        if profile is not None:
            if profile.kind not in quotas:
                quotas[profile.kind] = quota_for(county, profile.kind, day)
            quota = quotas[profile.kind]
        rows.append(HelperLoad(helper, profile, helper.in_region, helper.load, quota))
    return rows


def _region_teams(user: Any, region: str, month: Month) -> TeamOverview:
    return team_overview(user, month, region=region)


def _team_rows(overview: TeamOverview, key: str) -> list[OverviewRow]:
    if key not in VILLAGE_FIGURES:
        raise OutOfScope("没有这一指标。")
    rows: list[OverviewRow] = getattr(overview, key)
    if key == "below_attendance" and not overview.month_over:
        return []
    return rows


def assistance_board(
    user: Any, region: str, month: Month | None = None, *, today: datetime.date | None = None
) -> AssistanceBoard:
    """Every assistance figure of a region of the reader's scope."""
    check_region(user, region)
    today = today or timezone.localdate()
    month = month or Month.before(Month.of(today))
    day = as_of(month, today)
    base = _base(user, region, month, day)
    names = {key: f"figure_{i}" for i, key in enumerate(HOUSEHOLD_FIGURES)}
    counts = base.order_by().aggregate(
        **{names[key]: Count("pk", filter=_condition(key)) for key in HOUSEHOLD_FIGURES}
    )
    households = {key: counts[names[key]] or 0 for key in HOUSEHOLD_FIGURES}
    paired_ids = base.filter(Q(paired=True)).order_by().values("pk")
    visits = Visit.objects.filter(
        household_id__in=paired_ids, visited_on__gte=month.first, visited_on__lte=month.last
    ).count()
    loads = helper_loads(user, region, day)
    helper_counts = {key: 0 for key in HELPER_FIGURES}
    helper_counts["helpers"] = len(loads)
    for row in loads:
        helper_counts[row.bucket] += 1
    teams = _region_teams(user, region, month)
    return AssistanceBoard(
        region=region,
        month=month,
        day=day,
        households=households,
        visits=visits,
        by_kind=_breakdowns(user, region, "kind"),
        by_department=_breakdowns(user, region, "department"),
        helpers=helper_counts,
        teams=teams,
        team_figures={key: len(_team_rows(teams, key)) for key in VILLAGE_FIGURES},
    )


# The lists behind the figures -----------------------------------------------------------------


def figure_households(
    user: Any, region: str, figure: str, month: Month, *, today: datetime.date | None = None
) -> QuerySet[Household]:
    """The households behind a household figure (HOUSEHOLD_FIGURES, `kind:<code>` or
    `department:<code>`): exactly those the figure counts."""
    check_region(user, region)
    day = as_of(month, today)
    what, _sep, code = figure.partition(":")
    if what in ("kind", "department"):
        if not code:
            raise OutOfScope("没有这一指标。")
        measures = _counting(user).filter(household=OuterRef("pk"), **{what: code})
        qs = households_for(user).filter(_under(region)).filter(Exists(measures))
    elif figure in HOUSEHOLD_FIGURES:
        qs = _base(user, region, month, day).filter(_condition(figure))
    else:
        raise OutOfScope("没有这一指标。")
    return qs.select_related("village").order_by("household_code")


def figure_helpers(
    user: Any, region: str, figure: str, month: Month, *, today: datetime.date | None = None
) -> list[HelperLoad]:
    """The helpers behind a helper figure (HELPER_FIGURES)."""
    check_region(user, region)
    if figure not in HELPER_FIGURES:
        raise OutOfScope("没有这一指标。")
    rows = helper_loads(user, region, as_of(month, today))
    return rows if figure == "helpers" else [r for r in rows if r.bucket == figure]


def figure_villages(user: Any, region: str, figure: str, month: Month) -> list[OverviewRow]:
    """The villages (with their teams) behind a work-team figure (VILLAGE_FIGURES)."""
    check_region(user, region)
    return _team_rows(_region_teams(user, region, month), figure)


def figure_label(figure: str) -> str:
    """The Chinese name of a figure (for the list page's title)."""
    what, _sep, code = figure.partition(":")
    if what == "kind":
        return f"有“{catalogue().kind_label(code)}”措施的户"
    if what == "department":
        return f"有“{catalogue().department_label(code)}”措施的户"
    for table in (HOUSEHOLD_FIGURES, HELPER_FIGURES, VILLAGE_FIGURES):
        if figure in table:
            return table[figure]
    raise OutOfScope("没有这一指标。")
