"""Scoped reads of household plans (一户一策, issue 21 item 3): measures, plans, coverage.

Every read starts from `access.scoping` (households the reader may see); a department liaison
additionally sees only the measures of their department's kinds (`LiaisonDepartment`; none
when their account names no department). Coverage is computed here from the measures and the
catalogue's rules, never stored.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet

from jingzhun.access.scoping import scope_by_household
from jingzhun.core.errors import OutOfScope
from jingzhun.policy.schema import CoverageRule
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household
from jingzhun.registry.selectors import households_for

from .catalogue import Catalogue, catalogue
from .choices import MEASURE_STATUS, OPEN_MEASURE_STATUSES
from .models import LiaisonDepartment, Measure, MeasureEvidence
from .selectors import _under, count_without, group_filter

# Measures that count for coverage: approved and not cancelled/refused.
COUNTING_STATUSES = frozenset({"approved", "in_progress", "completed"})


def liaison_kinds(user: Any) -> frozenset[str] | None:
    """The kinds a liaison may see (empty when no department is set); None for other roles."""
    if getattr(user, "role", "") != "liaison":
        return None
    row = LiaisonDepartment.objects.filter(user=user).first()
    if row is None:
        return frozenset()
    return catalogue().kinds_of_department(row.department)


def measures_for(
    user: Any,
    *,
    region: str = "",
    kind: str = "",
    department: str = "",
    status: str = "",
    year: int | None = None,
) -> QuerySet[Measure]:
    """Measures of the households the user may see, filtered; a liaison's restricted to kinds."""
    qs = scope_by_household(user, Measure.objects.all())
    kinds = liaison_kinds(user)
    if kinds is not None:
        qs = qs.filter(kind__in=sorted(kinds))
    if region:
        qs = qs.filter(_under(region, "household__"))
    if kind:
        qs = qs.filter(kind=kind)
    if department:
        qs = qs.filter(department=department)
    if status:
        qs = qs.filter(status=status)
    if year is not None:
        qs = qs.filter(year=year)
    return qs.select_related("household", "household__village", "proposed_by", "approved_by")


def measure_for(user: Any, measure_id: int) -> Measure:
    measure = measures_for(user).filter(pk=measure_id).first()
    if measure is None:
        raise OutOfScope("未找到该帮扶措施，或您无权访问。")
    return measure


def measure_evidence_for(user: Any, evidence_id: int) -> MeasureEvidence:
    """One evidence file of a measure the user may see; OutOfScope otherwise."""
    item = (
        MeasureEvidence.objects.filter(pk=evidence_id, measure__in=measures_for(user).values("pk"))
        .select_related("measure")
        .first()
    )
    if item is None:
        raise OutOfScope("未找到该佐证材料，或您无权访问。")
    return item


def liaison_rows(user: Any) -> list[tuple[Any, str]]:
    """Liaison accounts with their department code ("" when none), for county staff only
    (the people who set it); an empty list for everyone else."""
    from jingzhun.access.models import User

    if getattr(user, "role", "") != "county":
        return []
    departments = dict(LiaisonDepartment.objects.values_list("user_id", "department"))
    return [
        (u, departments.get(u.pk, ""))
        for u in User.objects.filter(role="liaison", is_active=True).order_by("username")
    ]


def completed_measures(household: Household, on: datetime.date) -> list[Measure]:
    """The household's measures completed on or before a day (what risk elimination reads)."""
    return list(
        Measure.objects.filter(
            household=household, status="completed", completed_on__lte=on
        ).order_by("completed_on", "pk")
    )


@dataclass(frozen=True)
class CoverageResult:
    rule: CoverageRule
    met: bool
    detail: str  # Chinese: what was counted, or what is missing


def _applies(rule: CoverageRule, household: Household) -> bool:
    if household.poverty_status in c.CLOSED_STATUSES:
        return False
    if rule.applies_to == "registered":
        return household.poverty_status in c.REGISTERED_STATUSES
    return bool(household.monitoring_category)


def coverage(
    household: Household,
    measures: list[Measure],
    *,
    risk_types: list[str] | None = None,
    cat: Catalogue | None = None,
) -> list[CoverageResult]:
    """The catalogue's coverage rules that apply to the household, each met or not, computed
    from its counting measures (approved, in progress or completed). `risk_types`: the
    monitored household's risk types (from its monitoring case)."""
    cat = cat or catalogue()
    counting = [m for m in measures if m.status in COUNTING_STATUSES]
    results = []
    for rule in cat.rules:
        if not _applies(rule, household):
            continue
        if rule.min is not None:
            pool = [m for m in counting if not rule.industry_link or m.kind in cat.industry_kinds]
            n = len(pool)
            what = "产业带动措施" if rule.industry_link else "帮扶措施"
            results.append(
                CoverageResult(rule, n >= rule.min, f"已有 {n} 项{what}，要求至少 {rule.min} 项。")
            )
        else:
            risks = list(risk_types or [])
            addressed = {r for m in counting for r in _addresses(cat, m.kind)}
            missing = [r for r in risks if r not in addressed]
            if not risks:
                detail = "未登记风险类型。"
            elif missing:
                detail = "尚无措施对应：" + "、".join(c.RISK_TYPE.get(r, r) for r in missing) + "。"
            else:
                detail = "每项风险类型均有对应措施。"
            results.append(CoverageResult(rule, bool(risks) and not missing, detail))
    return results


def _addresses(cat: Catalogue, kind: str) -> list[str]:
    entry = cat.kinds.get(kind)
    return list(entry.risk_types) if entry else []


def household_risk_types(household: Household) -> list[str]:
    """The risk types of the household's latest monitoring case (workflows), [] when none."""
    from jingzhun.workflows.models import Case

    case = (
        Case.objects.filter(household=household, kind="monitoring")
        .exclude(risk_types=[])
        .order_by("-opened_on", "-pk")
        .first()
    )
    return list(case.risk_types) if case else []


@dataclass
class Plan:
    """A household's plan (一户一策): its measures per year and the coverage computed from them."""

    household: Household
    measures: list[Measure]
    coverage: list[CoverageResult]
    years: dict[int, list[Measure]] = field(default_factory=dict)

    @property
    def open_count(self) -> int:
        return sum(1 for m in self.measures if m.status in OPEN_MEASURE_STATUSES)


def household_plan(user: Any, household_id: int, *, scoped: Household | None = None) -> Plan:
    """The plan of a household in the reader's scope (OutOfScope otherwise). `scoped`: the
    household already read through the reader's scope (the card), not read again."""
    household = (
        scoped
        if scoped is not None and scoped.pk == household_id
        else households_for(user).filter(pk=household_id).first()
    )
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    measures = list(
        measures_for(user)
        .filter(household=household)
        .prefetch_related("evidence")
        .order_by("-year", "start_date", "pk")
    )
    years: dict[int, list[Measure]] = {}
    for m in measures:
        years.setdefault(m.year, []).append(m)
    # Coverage is a property of the household: computed over all its measures, not only those a
    # liaison may list.
    every = list(Measure.objects.filter(household=household))
    return Plan(
        household=household,
        measures=measures,
        coverage=coverage(household, every, risk_types=household_risk_types(household)),
        years=years,
    )


def _counting_measures(year: int | None) -> QuerySet[Measure]:
    counting = Measure.objects.filter(status__in=sorted(COUNTING_STATUSES))
    return counting if year is None else counting.filter(year=year)


def _group_households(user: Any, group: str, region: str) -> QuerySet[Household]:
    return households_for(user).filter(group_filter(group)).filter(_under(region))


def households_without_measures(
    user: Any, group: str, *, region: str = "", year: int | None = None
) -> QuerySet[Household]:
    """Registered or monitored households in the user's scope without a counting measure (of
    the year, when given)."""
    counting = _counting_measures(year).filter(household=OuterRef("pk"))
    return (
        _group_households(user, group, region)
        .filter(~Exists(counting))
        .select_related("village")
        .order_by("household_code")
    )


def without_measures_count(
    user: Any, group: str, *, region: str = "", year: int | None = None
) -> int:
    """`households_without_measures(...).count()`, counted as count_without does."""
    return count_without(_group_households(user, group, region), _counting_measures(year))


@dataclass(frozen=True)
class MeasureFigures:
    by_kind: list[tuple[str, str, int]]  # code, label, count
    by_department: list[tuple[str, str, int]]
    by_status: list[tuple[str, str, int]]
    without: dict[str, int]  # group -> households without a counting measure
    total: int


def measure_figures(user: Any, *, region: str = "", year: int | None = None) -> MeasureFigures:
    """The county/township figures: measures by kind, department and status (cancelled and
    refused excluded from kind and department), households without measures per group."""
    cat = catalogue()
    qs = measures_for(user, region=region, year=year).order_by()
    counting = qs.filter(status__in=sorted(COUNTING_STATUSES))
    kinds = Counter({r["kind"]: r["n"] for r in counting.values("kind").annotate(n=Count("pk"))})
    departments = Counter(
        {r["department"]: r["n"] for r in counting.values("department").annotate(n=Count("pk"))}
    )
    statuses = {r["status"]: r["n"] for r in qs.values("status").annotate(n=Count("pk"))}
    without = {
        g: without_measures_count(user, g, region=region, year=year)
        for g in ("registered", "monitored")
    }
    return MeasureFigures(
        by_kind=[(k, cat.kind_label(k), n) for k, n in sorted(kinds.items())],
        by_department=[(d, cat.department_label(d), n) for d, n in sorted(departments.items())],
        by_status=[(s, MEASURE_STATUS[s], statuses.get(s, 0)) for s in MEASURE_STATUS],
        without=without,
        total=sum(statuses.values()),
    )


def open_measure_counts(household_ids: list[int]) -> dict[int, int]:
    """Open measures (proposed, approved, in progress) per household, for the helper's home."""
    rows = (
        Measure.objects.filter(
            household_id__in=household_ids, status__in=sorted(OPEN_MEASURE_STATUSES)
        )
        .order_by()
        .values("household_id")
        .annotate(n=Count("pk"))
    )
    return {r["household_id"]: r["n"] for r in rows}
