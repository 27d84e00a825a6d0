"""Scoped reads of the stored indicator figures, boundaries and refresh jobs.

A region role sees the figures of its granted regions and what lies below them (a township user:
its township and villages, never the county). Helpers see single households, not regions: the
dashboard is out of their scope.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jingzhun.access.scoping import can_see_region, granted_codes
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes
from jingzhun.regions.models import Region

from .compute import ANCHOR, missing_figure, sparse
from .indicators import IndicatorDef, load_indicators
from .models import RefreshJob, RegionFigures, RegionShape, flatten, parse

Figure = tuple[int, int | None]  # numerator, denominator


@dataclass(frozen=True)
class Scope:
    region: Region
    path: list[Region]  # from the user's granted root down to region
    children: list[Region]


_DEFS: list[IndicatorDef] | None = None


def definitions() -> dict[str, IndicatorDef]:
    global _DEFS
    if _DEFS is None:
        _DEFS = load_indicators()
    return {d.id: d for d in _DEFS}


def dashboard_roots(user: Any) -> list[Region]:
    if getattr(user, "role", "") == "helper":
        return []
    return list(Region.objects.filter(code__in=granted_codes(user)).order_by("code"))


def dashboard_region(user: Any, region_code: str | None) -> tuple[str, str]:
    """(region, root): the region to show (default: the user's first granted region) and the
    granted region its path starts from, checked against the grants without reading regions
    (data_version then checks that the region exists). OutOfScope when not visible."""
    granted = [] if getattr(user, "role", "") == "helper" else granted_codes(user)
    if not granted:
        raise OutOfScope("未找到该区划，或您无权访问。")
    code = region_code or granted[0]
    try:
        level = codes.level_of(code)
    except codes.CodeError as exc:
        raise OutOfScope("未找到该区划，或您无权访问。") from exc
    if level not in ("county", "township", "village", "province", "prefecture") or not (
        can_see_region(user, code)
    ):
        raise OutOfScope("未找到该区划，或您无权访问。")
    return code, next(g for g in granted if code.startswith(codes.prefix(g)))


def dashboard_scope(user: Any, region_code: str | None) -> Scope:
    """The region to show (default: the user's first granted region), its path and children,
    with one query for the regions (the path and the children together)."""
    code, root = dashboard_region(user, region_code)
    chain = [code]
    while chain[-1] != root:
        parent = codes.parent_of(chain[-1])
        if parent is None:
            break
        chain.append(parent)
    rows = list(Region.objects.filter(Q(code__in=chain) | Q(parent_id=code)).order_by("code"))
    found = {r.code: r for r in rows if r.code in chain}
    if code not in found:
        raise OutOfScope("未找到该区划，或您无权访问。")
    children = [r for r in rows if r.parent_id == code and r.code != code]
    return Scope(found[code], [found[c] for c in reversed(chain) if c in found], children)


JOBS_LOOKED_AT = 20  # the newest jobs only: an older one touching the user is long finished


def _job_counties(user: Any) -> list[str]:
    return sorted({g[:6] + "000000" for g in granted_codes(user)})


@dataclass(frozen=True)
class DataVersion:
    """When the region's figures were computed and its children's boundaries last changed:
    the dashboard's cached data is valid while both stay the same. Asked in the same query:
    the newest refresh job touching the user's counties, if it is not done (the page shows its
    progress)."""

    refreshed_at: Any  # None: never computed
    shapes_at: Any
    open_job: int | None = None  # pk of that job; None when there is none or it is done

    @property
    def key(self) -> str:
        def stamp(value: Any) -> str:
            return value.isoformat() if value is not None else "-"

        return f"{stamp(self.refreshed_at)}/{stamp(self.shapes_at)}"


def data_version(user: Any, region_code: str) -> DataVersion:
    """One plain query (the dashboard asks on every request): whether the region exists, its
    refresh time, the newest boundary of the region and its children, and the newest job
    touching the user's counties (among the last JOBS_LOOKED_AT) unless it is done.
    OutOfScope if the region does not exist."""
    if not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    regions, values, shapes, jobs = (
        m._meta.db_table for m in (Region, RegionFigures, RegionShape, RefreshJob)
    )
    # A job touches the user when it lists none (all counties) or one of the user's counties.
    counties = _job_counties(user)
    listed = """',' || j."counties" || ',' LIKE %s"""
    touches = " OR ".join([""" j."counties" = '' """, *[listed] * len(counties)])
    sql = (
        f'SELECT (SELECT 1 FROM "{regions}" WHERE "code" = %s), '
        f'(SELECT "refreshed_at" FROM "{values}" WHERE "region_code" = %s '
        f'ORDER BY "refreshed_at" DESC LIMIT 1), '
        f'(SELECT max(s."updated_at") FROM "{shapes}" s JOIN "{regions}" r '
        f'ON r."code" = s."region_id" WHERE r."parent_id" = %s OR r."code" = %s), '
        f'(SELECT CASE WHEN j."status" = %s THEN 0 ELSE j."id" END '
        f'FROM (SELECT "id", "counties", "status" FROM "{jobs}" '
        f'ORDER BY "id" DESC LIMIT {JOBS_LOOKED_AT}) j '
        f'WHERE {touches} ORDER BY j."id" DESC LIMIT 1)'
    )
    params = [region_code, region_code, region_code, region_code, RefreshJob.DONE]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *(f"%,{c},%" for c in counties)])
        exists, refreshed, shaped, job = cursor.fetchone()
    if not exists:
        raise OutOfScope("未找到该区划，或您无权访问。")
    return DataVersion(_as_datetime(refreshed), _as_datetime(shaped), job or None)


def _as_datetime(value: Any) -> Any:
    """A timestamp from a plain query (SQLite returns text in UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
    return value


def _sparse_defs() -> list[IndicatorDef]:
    return [d for d in definitions().values() if sparse(d)]


def _fill(figs: dict[Any, Figure], key: Any) -> None:
    """Put back the left-out rows of sparse indicators (compute.sparse, ADR 0027) of a computed
    region and year: `key(indicator)` is the dictionary key of an indicator's figure."""
    for d in _sparse_defs():
        figs.setdefault(key(d.id), missing_figure(d))


def figures(user: Any, region_code: str, year: int) -> dict[tuple[str, str], Figure]:
    """{(indicator, dimension): (numerator, denominator)} of one region and year."""
    if not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    stored = (
        RegionFigures.objects.filter(region_code=region_code, year=year)
        .values_list("figures", flat=True)
        .first()
    )
    out = {(i, d): (n, den) for i, d, n, den in flatten(parse(stored))}
    if (ANCHOR, "") in out:
        _fill(out, lambda i: (i, ""))
    return out


def _flat(stored: dict[str, Any], wanted: Iterable[str]) -> dict[str, Figure]:
    """{indicator: figure} of the wanted indicators without a breakdown in a `figures` value."""
    out = {}
    for indicator in wanted:
        value = stored.get(indicator, {}).get("")
        if value is not None:
            out[indicator] = (value[0], value[1])
    return out


def child_figures(
    user: Any, children: Iterable[Region], year: int, indicators: Iterable[str]
) -> dict[str, dict[str, Figure]]:
    """{child code: {indicator: figure}} (no breakdowns) for the visible children."""
    codes_ = [c.code for c in children if can_see_region(user, c.code)]
    wanted = {*indicators, ANCHOR}
    rows = RegionFigures.objects.filter(region_code__in=codes_, year=year).values_list(
        "region_code", "figures"
    )
    out: dict[str, dict[str, Figure]] = {c: {} for c in codes_}
    for code, stored in rows:
        out[code] = _flat(parse(stored), wanted)
    for figs in out.values():
        if ANCHOR in figs:
            for d in _sparse_defs():
                if d.id in wanted:
                    figs.setdefault(d.id, missing_figure(d))
    return out


def trend(user: Any, region_code: str, indicators: Iterable[str]) -> dict[str, dict[int, Figure]]:
    """{indicator: {year: figure}} of one region over all stored years."""
    if not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    wanted = list(indicators)
    rows = RegionFigures.objects.filter(region_code=region_code).values_list("year", "figures")
    out: dict[str, dict[int, Figure]] = {}
    for year, stored in rows:
        for ind, figure in _flat(parse(stored), {*wanted, ANCHOR}).items():
            out.setdefault(ind, {})[year] = figure
    computed = sorted(out.get(ANCHOR, {}))
    for d in _sparse_defs():
        if d.id in wanted:
            series = out.setdefault(d.id, {})
            for year in computed:
                series.setdefault(year, missing_figure(d))
    if ANCHOR not in wanted:
        out.pop(ANCHOR, None)
    return out


def years(user: Any, region_code: str) -> list[int]:
    if not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    return sorted(
        RegionFigures.objects.filter(region_code=region_code).values_list("year", flat=True)
    )


def refreshed_at(user: Any, region_code: str) -> Any:
    """When the region's figures were last computed (None: never)."""
    if not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    return (
        RegionFigures.objects.filter(region_code=region_code)
        .order_by("-refreshed_at")
        .values_list("refreshed_at", flat=True)
        .first()
    )


def counties_below(user: Any, region_code: str) -> list[Region]:
    """The visible counties under a province or prefecture, in code order."""
    if not can_see_region(user, region_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    return [
        r
        for r in Region.objects.filter(
            level="county", code__startswith=codes.prefix(region_code)
        ).order_by("code")
        if can_see_region(user, r.code)
    ]


def shapes(user: Any, regions: Iterable[Region]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the visible regions that have a boundary."""
    wanted = {r.code: r for r in regions if can_see_region(user, r.code)}
    features = [
        {
            "type": "Feature",
            # illustrative: drawn by the generator, not a real boundary (the map says 示意)
            "properties": {
                "code": code,
                "name": wanted[code].name,
                "illustrative": source == RegionShape.DEMO,
            },
            "geometry": geometry,
        }
        for code, geometry, source in RegionShape.objects.filter(region_id__in=list(wanted))
        .order_by("region_id")
        .values_list("region_id", "geometry", "source")
    ]
    return {"type": "FeatureCollection", "features": features}


def latest_job(user: Any) -> RefreshJob | None:
    """The newest refresh job touching one of the user's counties (or all counties)."""
    counties = set(_job_counties(user))
    for job in RefreshJob.objects.order_by("-pk")[:JOBS_LOOKED_AT]:
        listed = job.county_list()
        if listed is None or counties & set(listed):
            return job
    return None


def job_for(user: Any, job_id: int) -> RefreshJob:
    job = RefreshJob.objects.filter(pk=job_id).first()
    counties = set(_job_counties(user))
    if job is None or not (job.county_list() is None or counties & set(job.county_list() or [])):
        raise OutOfScope("未找到该任务，或您无权访问。")
    return job
