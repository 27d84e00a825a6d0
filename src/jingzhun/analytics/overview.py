"""The overview page's and /api/stats' year-end figures, read from the stored indicators.

The same numbers as `registry.selectors.registry_stats` (and `jingzhun stats`), but from the rows
`refresh-indicators` stored (RegionFigures) instead of aggregating the status history per request:
a handful of small queries whatever the size of the county (ADR 0065). Figures are as of
their `refreshed_at`; a registry write requests a refresh (core.hooks → analytics.request_refresh)
and the page says when one is pending.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from jingzhun.access.scoping import can_see_region
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.selectors import (
    MONITORING_FIRST_YEAR,
    BreakdownRow,
    RegistryStats,
    population_by_region,
)

from .compute import ANCHOR
from .models import RegionFigures, parse
from .selectors import data_version

# RegistryStats field -> stored indicator (all household/person counts without a breakdown)
COUNTS = {
    "registered_households": "registered_households",
    "registered_persons": "registered_persons",
    "exited_households": "exited_households",
    "exited_persons": "exited_persons",
    "remaining_households": "remaining_households",
    "remaining_persons": "remaining_persons",
    "ordinary_households": "ordinary_households",
    "ordinary_persons": "ordinary_persons",
    "monitored_households": "monitored_year_end",
}


@dataclass(frozen=True)
class StoredOverview:
    """A region's year-end figures and its children's rows, from stored indicators. `stats` is
    None when the region's figures of that year were never computed."""

    stats: RegistryStats | None
    rows: list[BreakdownRow]
    refreshed_at: datetime.datetime | None  # when the figures were computed
    refresh_pending: bool  # a refresh of the user's counties is queued or running


def _counts(stored: str | None) -> dict[str, int] | None:
    """{RegistryStats field: count} of a stored `figures` value; None when not computed (no
    ANCHOR row). Left-out rows of sparse indicators are zero (ADR 0027)."""
    figures = parse(stored)
    if ANCHOR not in figures:
        return None
    out = {}
    for field, indicator in COUNTS.items():
        value = figures.get(indicator, {}).get("")
        out[field] = int(value[0]) if value else 0
    return out


def _stats(
    counts: dict[str, int],
    rural: int | None,
    poor_flags: list[bool],
    townships: int,
    year: int,
) -> RegistryStats:
    remaining_p = counts["remaining_persons"]
    return RegistryStats(
        registered_households=counts["registered_households"],
        registered_persons=counts["registered_persons"],
        exited_households=counts["exited_households"],
        exited_persons=counts["exited_persons"],
        remaining_households=counts["remaining_households"],
        remaining_persons=remaining_p,
        rural_population=rural,
        poverty_incidence=round(remaining_p * 100 / rural, 2) if rural else None,
        poor_villages=sum(poor_flags),
        villages=len(poor_flags),
        townships=townships,
        ordinary_households=counts["ordinary_households"],
        ordinary_persons=counts["ordinary_persons"],
        monitored_households=(
            counts["monitored_households"] if year >= MONITORING_FIRST_YEAR else None
        ),
    )


def stored_overview(
    user: Any, region_code: str, year: int, *, breakdown: bool = True
) -> StoredOverview:
    """The region's figures at the end of `year` and (with `breakdown`) one row per child
    (townships of a county, villages of a township), as `registry_stats` and `region_breakdown`
    count them for a user who sees the whole region. Five queries. OutOfScope if the user may
    not see the region (helpers see single households, never a region's figures)."""
    if getattr(user, "role", "") == "helper" or not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    version = data_version(user, region_code)  # also: the region exists
    level = codes.level_of(region_code)
    child_level = {"county": "township", "township": "village"}.get(level, "")
    prefix = codes.prefix(region_code)
    # plain rows, not model instances: a county has ~830 regions (issue 26, B12)
    regions = list(
        Region.objects.filter(code__startswith=prefix)
        .order_by("code")
        .values_list("code", "name", "level", "parent_id", "is_poor_village")
    )
    children = [
        Region(code=code, name=name, level=level, parent_id=parent, is_poor_village=poor)
        for code, name, level, parent, poor in regions
        if level == child_level and parent == region_code
    ]
    wanted = [region_code, *(c.code for c in children)] if breakdown else [region_code]
    stored = dict(
        RegionFigures.objects.filter(Q(region_code__in=wanted), year=year).values_list(
            "region_code", "figures"
        )
    )
    population = population_by_region(prefix, year, [(r[0], r[3]) for r in regions])
    # villages (poor or not) and townships under the region and under each child: one pass
    width = len(codes.prefix(children[0].code)) if children else 0
    below: dict[str, tuple[list[bool], list[str]]] = {region_code: ([], [])}
    for child in children:
        below[child.code] = ([], [])
    by_prefix = {codes.prefix(c.code): c.code for c in children}
    for code, _name, level, _parent, poor in regions:
        owners = [region_code]
        child_code = by_prefix.get(code[:width]) if width else None
        if child_code is not None:
            owners.append(child_code)
        for owner in owners:
            if level == "village":
                below[owner][0].append(poor)
            elif level == "township":
                below[owner][1].append(code)

    def stats_of(code: str) -> RegistryStats | None:
        counts = _counts(stored.get(code))
        if counts is None:
            return None
        villages, townships = below[code]
        return _stats(counts, population(code), villages, len(townships), year)

    stats = stats_of(region_code)
    rows = []
    if stats is not None and breakdown:
        for child in children:
            child_stats = stats_of(child.code)
            if child_stats is not None:
                rows.append(BreakdownRow(region=child, stats=child_stats))
    return StoredOverview(
        stats=stats,
        rows=rows,
        refreshed_at=version.refreshed_at,
        refresh_pending=version.open_job is not None,
    )


def default_year(user: Any, region_code: str) -> int:
    """This year when the region's figures of this year are stored, else the latest stored
    year, else this year (the page then says the figures are not computed yet)."""
    this_year = timezone.localdate().year
    if not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    latest = (
        RegionFigures.objects.filter(region_code=region_code, year__lte=this_year)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )
    return latest if latest is not None else this_year
