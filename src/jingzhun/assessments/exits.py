"""Village and county exit on the registry (issue 24 item 5): the facts each is judged on.

A village's facts: its registered poor population still remaining at the year end and its
rural population (the incidence of domain.md 3.4, from the status history as `jingzhun stats`
counts it, ADR 0004), the region flags (`is_western`, `is_poor_village`: data on the Region
row, set when the regions are loaded) and the conditions entered for the year
(`VillageConditions`; an empty one is null, so the criterion reading it is unknown). A county's
facts: the county's year-end counts, the flags, the 三率一度 sample figures (null until a sampled
self-check gives them), and what the latest stored village decisions of the year say about its
poor villages. Reads only; the actions in assessments.actions judge and store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from jingzhun.core import hooks
from jingzhun.core.errors import DomainError
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry import choices as c
from jingzhun.registry.selectors import (
    population_by_region,
    registry_stats,
    village_year_end_counts,
)

from .models import RegionAssessment, VillageConditions

VILLAGE_EXIT, COUNTY_EXIT = "village_exit", "county_exit"
REGION_STANDARDS = (VILLAGE_EXIT, COUNTY_EXIT)
# The conditions a village enters for a year (VillageConditions fields), in the form's order.
CONDITION_FIELDS = (
    "hardened_road",
    "safe_water",
    "power",
    "broadcast_tv",
    "culture_center",
    "clinic",
    "broadband",
    "collective_income",
)
# The 三率一度 sample figures (county_exit inputs) a sampled self-check gives; null until then.
SAMPLE_FIELDS = (
    "sampled_exited_persons",
    "sampled_wrong_exit_persons",
    "sampled_non_registered_persons",
    "verified_missed_persons",
    "surveyed_households",
    "approving_households",
)


@dataclass(frozen=True)
class RegionFacts:
    region: Region
    facts: dict[str, Any]

    @property
    def sha256(self) -> str:
        return facts_hash(self.facts)


def jsonable(value: Any) -> Any:
    """Facts as stored (JSON): money as a number, dates as ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def facts_hash(facts: dict[str, Any]) -> str:
    text = json.dumps(jsonable(facts), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def county_region(county_code: str) -> Region:
    """The county's Region row; a clear error when the code is not a loaded county."""
    region = Region.objects.filter(code=county_code, level="county").first()
    if region is None:
        raise DomainError(f"区划表中没有县级区划 {county_code}（请先导入区划）。", field="county")
    return region


def village_facts(county_code: str, year: int) -> list[RegionFacts]:
    """Every village of the county with its facts for `year` (three queries for the county:
    year-end counts per village, rural populations, the year's conditions)."""
    prefix = codes.prefix(county_code)
    villages = list(
        Region.objects.filter(code__startswith=prefix, level="village").order_by("code")
    )
    counts = village_year_end_counts(county_code, year)
    population = population_by_region(prefix, year)
    conditions = {
        v.village_id: v
        for v in VillageConditions.objects.filter(year=year, village__code__startswith=prefix)
    }
    result = []
    for village in villages:
        by_status = counts.get(village.code, {})
        remaining = [by_status.get(s, (0, 0, 0)) for s in c.REMAINING_STATUSES]
        exited = [by_status.get(s, (0, 0, 0)) for s in c.EXITED_STATUSES]
        found = conditions.get(village.code)
        facts: dict[str, Any] = {
            "region_code": village.code,
            "name": village.name,
            "remaining_poor_households": sum(x[0] for x in remaining),
            "remaining_poor_persons": sum(x[1] for x in remaining),
            "exited_persons": sum(x[1] for x in exited),
            "rural_population": population(village.code),
            "is_western": village.is_western,
            "is_poor_village": village.is_poor_village,
            "conditions_version": found.version if found else None,
        }
        for name in CONDITION_FIELDS:
            facts[name] = getattr(found, name) if found else None
        result.append(RegionFacts(village, facts))
    return result


def latest_village_decisions(county_code: str, year: int) -> dict[str, RegionAssessment]:
    """The latest stored village_exit decision of each village of the county for the year."""
    rows = RegionAssessment.objects.filter(
        standard=VILLAGE_EXIT, year=year, region__code__startswith=codes.prefix(county_code)
    ).order_by("region_id", "-created_at", "-pk")
    latest: dict[str, RegionAssessment] = {}
    for row in rows:
        latest.setdefault(row.region_id, row)
    return latest


def county_facts(county_code: str, year: int) -> RegionFacts:
    """The county's facts for `year`; its poor villages read from their latest village decisions."""
    county = county_region(county_code)
    stats = registry_stats(county_code, year)
    rural = stats.rural_population
    poor = list(
        Region.objects.filter(
            code__startswith=codes.prefix(county_code), level="village", is_poor_village=True
        )
        .order_by("code")
        .values_list("code", flat=True)
    )
    decisions = latest_village_decisions(county_code, year)
    unjudged = [v for v in poor if v not in decisions]
    # a village failing a criterion has not exited; one only unknown (conditions not entered)
    # is undetermined, like an unjudged one
    not_exited = [v for v in poor if v in decisions and decisions[v].failed]
    undetermined = [
        v for v in poor if v in decisions and not decisions[v].passed and not decisions[v].failed
    ]
    exited = len(poor) - len(unjudged) - len(not_exited) - len(undetermined)
    facts: dict[str, Any] = {
        "region_code": county.code,
        "name": county.name,
        "remaining_poor_persons": stats.remaining_persons,
        "exited_population": stats.exited_persons,
        "registered_persons": stats.registered_persons,
        "rural_population": rural,
        "non_registered_rural_population": (
            rural - stats.registered_persons if rural is not None else None
        ),
        "is_western": county.is_western,
        "villages": stats.villages,
        "villages_judged": len(decisions),
        "villages_exited": sum(1 for d in decisions.values() if d.passed),
        "poor_villages": len(poor),
        # Kleene: one poor village that failed → not all exited (failed); else one without a
        # decision, or with only unknown criteria → null (the criterion is unknown)
        "poor_villages_exited": exited if not_exited or not (unjudged or undetermined) else None,
        "poor_villages_not_exited": not_exited,
        "poor_villages_undetermined": undetermined,
        "poor_villages_unjudged": unjudged,
        "village_decisions": {
            code: decisions[code].pk for code in sorted(decisions) if code in set(poor)
        },
    }
    # 三率一度: the sample figures of the county's surveyed self-check for the year (the
    # selfcheck app, through core.hooks); unknown (null) until one is recorded
    sample = hooks.sample_facts(county.code, year) or {}
    for name in SAMPLE_FIELDS:
        facts[name] = sample.get(name)
    facts["selfcheck"] = sample.get("selfcheck")
    return RegionFacts(county, facts)
