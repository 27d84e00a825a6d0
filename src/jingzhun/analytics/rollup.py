"""Figures above the county: a prefecture's and a province's rows recomputed from their counties'
stored rows (ADR 0083).

Every stored figure is a numerator and a denominator that add up across regions (counts of
households or persons, and for rates the counted rows or the rural population), so a region
above the county is the sum of its counties' numerators over the sum of their denominators:
rates are recomputed, never averaged. A denominator none of the counties knows stays unknown
(None); a region's own rural population, when recorded, replaces the sum for the indicators
over the population (the rule of compute.resolve_population). Left-out sparse rows (ADR 0027)
add nothing: they stand for a zero numerator and a zero or unknown denominator.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Q

from jingzhun.regions.models import Region, RegionPopulation

from .indicators import IndicatorDef
from .models import RegionFigures, parse

ABOVE = ("prefecture", "province")


def ancestors(county_codes: Iterable[str]) -> dict[str, list[str]]:
    """{county code: the codes of its prefecture and province in the region tree}."""
    wanted = sorted(set(county_codes))
    if not wanted:
        return {}
    provinces = sorted({c[:2] for c in wanted})
    q = Q(pk__in=[])
    for p in provinces:
        q |= Q(code__startswith=p)
    parent = dict(
        Region.objects.filter(q, level__in=("county", *ABOVE)).values_list("code", "parent_id")
    )
    out: dict[str, list[str]] = {}
    for county in wanted:
        chain: list[str] = []
        up = parent.get(county)
        while up is not None and up not in chain:
            chain.append(up)
            up = parent.get(up)
        out[county] = chain
    return out


def add(total: dict[str, dict[str, list[Any]]], figures: dict[str, Any]) -> None:
    """Add one region's {indicator: {dimension: [numerator, denominator]}} into `total`."""
    for indicator, dims in figures.items():
        into = total.setdefault(indicator, {})
        for dimension, (numerator, denominator) in dims.items():
            cell = into.setdefault(dimension, [0, None])
            cell[0] += numerator
            if denominator is not None:
                cell[1] = (cell[1] or 0) + denominator


def roll_up(
    counties: Sequence[str] | None,
    definitions: Sequence[IndicatorDef],
    stamp: datetime.datetime,
) -> int:
    """Replace the rows of the prefectures and provinces above `counties` (None: every stored
    county) by the sums over all their counties' stored rows. The caller holds the
    transaction, after the counties' rows are stored. Returns the rows written."""
    if counties is None:
        touched = list(
            RegionFigures.objects.filter(level="county")
            .values_list("region_code", flat=True)
            .distinct()
        )
    else:
        touched = list(counties)
    above = sorted({a for chain in ancestors(touched).values() for a in chain})
    if not above:
        return 0
    q = Q(pk__in=[])
    for code in above:
        q |= Q(region_code__startswith=code[:4] if code[2:4] != "00" else code[:2])
    rows = RegionFigures.objects.filter(q, level="county").values_list(
        "region_code", "year", "figures"
    )
    chains = ancestors({code for code, _y, _f in rows})
    totals: dict[tuple[str, int], dict[str, dict[str, list[Any]]]] = {}
    for code, year, stored in rows.iterator(chunk_size=500):
        figures = parse(stored)
        for target in chains.get(code, []):
            if target in above:
                add(totals.setdefault((target, year), {}), figures)
    _own_population(totals, definitions)
    RegionFigures.objects.filter(region_code__in=above).delete()
    levels = dict(Region.objects.filter(code__in=above).values_list("code", "level"))
    RegionFigures.objects.bulk_create(
        [
            RegionFigures(
                region_code=code,
                year=year,
                level=levels[code],
                figures=json.dumps(figures, ensure_ascii=False, separators=(",", ":")),
                refreshed_at=stamp,
            )
            for (code, year), figures in sorted(totals.items())
        ],
        batch_size=500,
    )
    return len(totals)


def _own_population(
    totals: dict[tuple[str, int], dict[str, dict[str, list[Any]]]],
    definitions: Sequence[IndicatorDef],
) -> None:
    """A region's own recorded rural population replaces the counties' sum as the denominator of
    the indicators over the population."""
    regions = {code for code, _year in totals}
    own = {
        (code, year): population
        for code, year, population in RegionPopulation.objects.filter(
            region_id__in=regions
        ).values_list("region_id", "year", "rural_population")
    }
    over_population = [d.id for d in definitions if d.uses_population]
    for key, figures in totals.items():
        population = own.get(key)
        if population is None:
            continue
        for indicator in over_population:
            for cell in figures.get(indicator, {}).values():
                cell[1] = population
