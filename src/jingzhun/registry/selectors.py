"""Scoped reads of the registry: household lists, search, detail, and the registry's own counts."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from jingzhun.access.scoping import granted_codes, scope_households, sees_single_households
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes
from jingzhun.regions.models import Region, RegionPopulation

from . import choices as c
from .idcard import check as check_id
from .idcard import mask as mask_id_number
from .models import Household, IncomeRecord, Member, StatusChange, id_index


@dataclass(frozen=True)
class HouseholdFilters:
    q: str = ""
    township: str = ""
    village: str = ""
    status: str = ""
    attribute: str = ""
    cause: str = ""
    statuses: tuple[str, ...] = ()  # a status group (the list's 已脱贫(全部) …), beside `status`

    def described(self) -> dict[str, Any]:
        """The filters that are set, for audit events: a search term shaped like an ID is masked."""
        described: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if not value:
                continue
            if name == "q":
                id_check = check_id(value)
                value = mask_id_number(value) if id_check.valid or len(value) >= 15 else value
            described[name] = list(value) if isinstance(value, tuple) else value
        return described


def households_for(user: Any, filters: HouseholdFilters | None = None) -> QuerySet[Household]:
    """The households the user may see, narrowed by filters and a search on name, ID or household code."""
    return apply_filters(scope_households(user, Household.objects.all()), filters)


def apply_filters(
    qs: QuerySet[Household], filters: HouseholdFilters | None = None
) -> QuerySet[Household]:
    """Narrow an already scoped household queryset by the list's filters (also used by exports)."""
    f = filters or HouseholdFilters()
    if f.township:
        qs = qs.filter(township_code=f.township)
    if f.village:
        qs = qs.filter(village_id=f.village)
    if f.status:
        qs = qs.filter(poverty_status=f.status)
    if f.statuses:
        qs = qs.filter(poverty_status__in=f.statuses)
    if f.attribute:
        qs = qs.filter(attribute=f.attribute)
    if f.cause:
        qs = qs.filter(Q(main_cause=f.cause))
    term = f.q.strip()
    if term:
        qs = qs.filter(_search(term))
    return qs.select_related("village").order_by("household_code")


# A search term this short matches names from their start (a surname, a two-character name):
# "contains" on one or two characters cannot use an index (a trigram index needs three) and
# matched a large part of a county (ADR 0070).
PREFIX_SEARCH_BELOW = 3


def name_lookup(term: str) -> str:
    """The lookup a name search uses for `term`: `startswith` for short terms, else `contains`."""
    return "startswith" if len(term) < PREFIX_SEARCH_BELOW else "contains"


def _search(term: str) -> Q:
    """A full ID number matches its member exactly; otherwise the household code, or the head's
    or a member's name: from its start for one or two characters, anywhere for three or more."""
    id_check = check_id(term)
    if id_check.valid:
        member_households = Member.objects.filter(
            id_number_index=id_index(id_check.normalized or term)
        ).values("household_id")
        return Q(pk__in=member_households)
    lookup = name_lookup(term)
    by_name = Member.objects.filter(**{f"name__{lookup}": term}).values("household_id")
    return Q(household_code=term) | Q(**{f"head_name__{lookup}": term}) | Q(pk__in=by_name)


def with_member_counts(households: QuerySet[Household]) -> QuerySet[Household]:
    """Annotate `member_count` (live members) on a household queryset, in the same query."""
    counts = (
        Member.objects.filter(household=OuterRef("pk"))
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return households.annotate(
        member_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0)
    )


def household_for(user: Any, household_id: int) -> Household:
    """One household the user may see, or OutOfScope (shown as 404)."""
    household = households_for(user).filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    return household


def members_of(household: Household) -> QuerySet[Member]:
    return household.members.all().order_by("id")


def income_of(household: Household, year: int) -> IncomeRecord | None:
    """The household's (already scoped: `household_for`) live income record of `year`."""
    return household.incomes.filter(year=year).first()


def member_for(user: Any, member_id: int) -> Member:
    """One member of a household the user may see, or OutOfScope (shown as 404)."""
    member = (
        Member.objects.filter(pk=member_id, household__in=households_for(user).values("pk"))
        .select_related("household")
        .first()
    )
    if member is None:
        raise OutOfScope("未找到该成员，或您无权访问。")
    return member


def visible_regions(user: Any) -> QuerySet[Region]:
    """Granted subtrees for region roles; for a paired helper, the villages of their households."""
    if sees_single_households(user):
        villages = households_for(user).order_by().values_list("village_id", flat=True).distinct()
        return Region.objects.filter(code__in=list(villages))
    q = Q(pk__in=[])
    for code in granted_codes(user):
        q |= Q(code__startswith=codes.prefix(code))
    return Region.objects.filter(q)


class RegionOption(NamedTuple):
    """A region of a filter menu: what the menus show and group by, nothing else."""

    code: str
    name: str
    level: str
    parent_id: str | None


def region_options(user: Any) -> list[RegionOption]:
    """Townships and villages under the user's grants, for filter menus.

    Plain rows, not Region instances: a county's ~830 model instances (with their parent
    descriptors) cost about 9 ms of CPU a request against 0.7 ms for the rows (issue 26, B12),
    and every list page with a township or village menu asks for them."""
    q = Q(pk__in=[])
    for code in granted_codes(user):
        q |= Q(code__startswith=codes.prefix(code))
    rows = (
        Region.objects.filter(q, level__in=["township", "village"])
        .order_by("code")
        .values_list("code", "name", "level", "parent_id")
    )
    return [RegionOption(*row) for row in rows]


@dataclass(frozen=True)
class RegistryStats:
    registered_households: int
    registered_persons: int
    exited_households: int
    exited_persons: int
    remaining_households: int
    remaining_persons: int
    rural_population: int | None
    poverty_incidence: float | None
    poor_villages: int
    villages: int
    townships: int
    # Outside the registered counts (issue 19): ordinary rural households (未建档立卡) at the year
    # end, and households that are monitoring objects now (a current attribute; None before
    # monitoring began, domain.md 3.6), registered or not.
    ordinary_households: int = 0
    ordinary_persons: int = 0
    monitored_households: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_LAST_STATUS_SQL = """
    WITH last_status AS (
        SELECT s.household_id, s.status_to,
               ROW_NUMBER() OVER (
                   PARTITION BY s.household_id ORDER BY s.changed_on DESC, s.id DESC
               ) AS rn
        FROM registry_statuschange s
        WHERE s.changed_on <= %s{history}
    ),
    sizes AS (
        SELECT m.household_id, COUNT(*) AS persons
        FROM registry_member m
        WHERE (m.deleted_at IS NULL OR m.left_on IS NOT NULL){members}
          AND (m.joined_on IS NULL OR m.joined_on <= %s)
          AND (m.left_on IS NULL OR m.left_on > %s)
        GROUP BY m.household_id
    )
    SELECT {group}, ls.status_to, COUNT(*), COALESCE(SUM(sz.persons), 0),
           SUM(CASE WHEN h.monitoring_category <> '' THEN 1 ELSE 0 END)
    FROM registry_household h
    JOIN last_status ls ON ls.household_id = h.id AND ls.rn = 1
    LEFT JOIN sizes sz ON sz.household_id = h.id
    WHERE h.deleted_at IS NULL AND {where}
    GROUP BY {group_by}ls.status_to
"""

_LEVEL_COLUMN = {
    "county": "h.county_code",
    "township": "h.township_code",
    "village": "h.village_id",
}

StatusCounts = dict[str, tuple[int, int, int]]  # status -> (households, persons, monitored)
MONITORING_FIRST_YEAR = 2021  # 防返贫监测 began in 2021 (domain.md 3.6)


def _status_counts(
    region_code: str,
    as_of: datetime.date,
    household_ids: list[int] | None,
    *,
    group_column: str | None = None,
) -> dict[str, StatusCounts]:
    """{group: {status: (households, persons)}} at the end of `as_of`, from the status history;
    persons are the members present that day (registry.models.present_on,
    ADR 0055).

    Without `group_column` the one group is "". `household_ids` (a helper's scope) narrows further.
    """
    column = _LEVEL_COLUMN.get(codes.level_of(region_code))
    history = members = ""
    ids: list[int] = []
    if household_ids is not None:
        if not household_ids:
            return {}
        # a helper's few households: read only their history and members (issue 26, B12)
        listed = ",".join(["%s"] * len(household_ids))
        history = f" AND s.household_id IN ({listed})"
        members = f" AND m.household_id IN ({listed})"
        ids = list(household_ids)
    params: list[Any] = [as_of, *ids, *ids, as_of, as_of]
    if column is None:  # province or prefecture
        where = "h.village_id LIKE %s"
        params.append(codes.prefix(region_code) + "%")
    else:
        where = f"{column} = %s"
        params.append(region_code)
    if household_ids is not None:
        where += f" AND h.id IN ({','.join(['%s'] * len(household_ids))})"
        params.extend(household_ids)
    sql = _LAST_STATUS_SQL.format(
        group=group_column or "''",
        group_by=f"{group_column}, " if group_column else "",  # PostgreSQL refuses GROUP BY ''
        where=where,
        history=history,
        members=members,
    )
    result: dict[str, StatusCounts] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for group, status, n, p, monitored in cursor.fetchall():
            result.setdefault(group, {})[status] = (int(n), int(p), int(monitored or 0))
    return result


def _population_by_region(
    prefix: str, year: int, tree: Iterable[tuple[str, str | None]] | None = None
) -> Callable[[str], int | None]:
    """A lookup of rural population under `prefix`: a region's own figure, else its children's sum.

    Two queries whatever the size of the subtree (a province has tens of thousands of villages);
    one when the caller already holds the subtree's (code, parent) pairs (`tree`).
    """
    figures = dict(
        RegionPopulation.objects.filter(year=year, region__code__startswith=prefix).values_list(
            "region_id", "rural_population"
        )
    )
    children: dict[str, list[str]] = {}
    if figures:
        if tree is None:
            tree = Region.objects.filter(code__startswith=prefix).values_list("code", "parent_id")
        for code, parent in tree:
            if parent is not None:
                children.setdefault(parent, []).append(code)
    known: dict[str, int | None] = {}

    def population(code: str) -> int | None:
        if code in figures:
            return int(figures[code])
        if code not in known:
            found = [v for v in map(population, children.get(code, [])) if v is not None]
            known[code] = sum(found) if found else None
        return known[code]

    return population


population_by_region = _population_by_region  # public: analytics.overview reads it too


def rural_population(region_code: str, year: int) -> int | None:
    """The region's own figure for the year, or else the sum over its children (recursively)."""
    return _population_by_region(codes.prefix(region_code), year)(region_code)


def _stats(
    counts: StatusCounts, rural: int | None, poor_flags: list[bool], townships: int, year: int
) -> RegistryStats:
    """RegistryStats from status counts: registered = exited + remaining (ADR 0004); ordinary
    households apart; monitored ones among the households on the registry at the year end."""
    exited = [counts.get(s, (0, 0, 0)) for s in c.EXITED_STATUSES]
    remaining = [counts.get(s, (0, 0, 0)) for s in c.REMAINING_STATUSES]
    ordinary = counts.get(c.NOT_REGISTERED, (0, 0, 0))
    monitored = sum(v[2] for s, v in counts.items() if s not in c.CLOSED_STATUSES)
    exited_h, exited_p = sum(x[0] for x in exited), sum(x[1] for x in exited)
    remaining_h, remaining_p = sum(x[0] for x in remaining), sum(x[1] for x in remaining)
    return RegistryStats(
        registered_households=exited_h + remaining_h,
        registered_persons=exited_p + remaining_p,
        exited_households=exited_h,
        exited_persons=exited_p,
        remaining_households=remaining_h,
        remaining_persons=remaining_p,
        rural_population=rural,
        poverty_incidence=round(remaining_p * 100 / rural, 2) if rural else None,
        poor_villages=sum(poor_flags),
        villages=len(poor_flags),
        townships=townships,
        ordinary_households=ordinary[0],
        ordinary_persons=ordinary[1],
        monitored_households=monitored if year >= MONITORING_FIRST_YEAR else None,
    )


def _scoped_household_ids(user: Any, region_code: str) -> list[int] | None:
    """None when the user sees the whole region; a helper's household ids; OutOfScope otherwise."""
    if user is None:
        return None
    if sees_single_households(user):
        return list(scope_households(user, Household.objects.all()).values_list("id", flat=True))
    if not any(region_code.startswith(codes.prefix(g)) for g in granted_codes(user)):
        raise OutOfScope("未找到该区划，或您无权访问。")
    return None


def registry_stats(region_code: str, year: int, *, user: Any = None) -> RegistryStats:
    """Counts at the end of `year` for a region; with a user, only what that user may see."""
    household_ids = _scoped_household_ids(user, region_code)
    counts = _status_counts(region_code, datetime.date(year, 12, 31), household_ids)
    below = Region.objects.filter(code__startswith=codes.prefix(region_code))
    return _stats(
        counts.get("", {}),
        rural_population(region_code, year),
        list(below.filter(level="village").values_list("is_poor_village", flat=True)),
        below.filter(level="township").count(),
        year,
    )


# --- Overview (web 总览): starting regions, a region's children, the latest year -----------


@dataclass(frozen=True)
class BreakdownRow:
    region: Region
    stats: RegistryStats


def overview_roots(user: Any) -> list[Region]:
    """Where an overview starts: the user's grants, or a helper's counties of paired households."""
    if sees_single_households(user):
        counties = scope_households(user, Household.objects.all()).values_list(
            "county_code", flat=True
        )
        return list(Region.objects.filter(code__in=set(counties)).order_by("code"))
    return list(Region.objects.filter(code__in=granted_codes(user)).order_by("code"))


def region_path(user: Any, region_code: str) -> list[Region]:
    """Regions from the user's overview root down to `region_code`; OutOfScope if not visible."""
    try:
        codes.level_of(region_code)
    except codes.CodeError as exc:
        raise OutOfScope("未找到该区划，或您无权访问。") from exc
    roots = [r.code for r in overview_roots(user)]
    root = next((r for r in roots if region_code.startswith(codes.prefix(r))), None)
    if root is None:
        raise OutOfScope("未找到该区划，或您无权访问。")
    chain = [region_code]
    while chain[-1] != root:
        parent = codes.parent_of(chain[-1])
        if parent is None:
            break
        chain.append(parent)
    found = {r.code: r for r in Region.objects.filter(code__in=chain)}
    if region_code not in found:
        raise OutOfScope("未找到该区划，或您无权访问。")
    return [found[code] for code in reversed(chain) if code in found]


def latest_status_year(user: Any) -> int | None:
    """The latest year with a status change among the user's households (the overview's default)."""
    latest = StatusChange.objects.filter(
        household__in=scope_households(user, Household.objects.all()).values("pk")
    ).aggregate(latest=Max("changed_on"))["latest"]
    return latest.year if latest else None


def region_breakdown(user: Any, region_code: str, year: int) -> list[BreakdownRow]:
    """registry_stats of each child of a county (townships) or township (villages), in 4 queries.

    Same definitions and scoping as registry_stats(child, year, user=user); a village has no
    children here.
    """
    household_ids = _scoped_household_ids(user, region_code)
    child_level, column = {
        "county": ("township", "h.township_code"),
        "township": ("village", "h.village_id"),
    }.get(codes.level_of(region_code), ("", ""))
    if not child_level:
        return []
    prefix = codes.prefix(region_code)
    regions = list(
        Region.objects.filter(code__startswith=prefix).exclude(code=region_code).order_by("code")
    )
    counts = _status_counts(
        region_code, datetime.date(year, 12, 31), household_ids, group_column=column
    )
    population = _population_by_region(prefix, year)
    rows = []
    for child in (r for r in regions if r.level == child_level):
        below = [r for r in regions if r.code.startswith(codes.prefix(child.code))]
        rows.append(
            BreakdownRow(
                region=child,
                stats=_stats(
                    counts.get(child.code, {}),
                    population(child.code),
                    [r.is_poor_village for r in below if r.level == "village"],
                    sum(1 for r in below if r.level == "township"),
                    year,
                ),
            )
        )
    return rows


def village_year_end_counts(county_code: str, year: int) -> dict[str, StatusCounts]:
    """{village code: {status: (households, persons, monitored)}} of a county at the end of
    `year`, from the status history (ADR 0004), in one query: what village exit reads. Unscoped:
    callers (assessments.exits) check the actor's scope first."""
    return _status_counts(
        county_code, datetime.date(year, 12, 31), None, group_column="h.village_id"
    )
