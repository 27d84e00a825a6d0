"""The same indicators computed through the Django ORM, one aggregate query per indicator and year.

This is the baseline the bulk path is measured against (benchmarks/indicators.py) and a second
execution of the definitions: a test checks that both give the same figures. Not used by pages.
Exit-standard indicators (grain `criterion`) come from stored summaries either way and are left
out here.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone

from jingzhun.access.models import HelperPairing
from jingzhun.core.fieldcrypt import encrypted_fields
from jingzhun.regions.models import Region, RegionPopulation
from jingzhun.registry.models import Household, Member, StatusChange, present_on

from .compute import resolve_population
from .indicators import MEMBER_FIELDS, STATUS_GROUPS, IndicatorDef

Key = tuple[str, int, str, str]  # indicator, year, region, dimension
HOUSEHOLD_ANNOTATED = {"status": "ye_status", "paired": "is_paired", "persons": "persons",
                       "is_poor_village": "village__is_poor_village"}  # fmt: skip


def _status_subquery(year: int, ref: str) -> Subquery:
    return Subquery(
        StatusChange.objects.filter(
            household_id=OuterRef(ref), changed_on__lte=datetime.date(year, 12, 31)
        )
        .order_by("-changed_on", "-id")
        .values("status_to")[:1]
    )


def _households(county: str, year: int, today: datetime.date) -> QuerySet[Household]:
    persons = (
        Member.all_objects.filter(present_on(datetime.date(year, 12, 31)))
        .filter(household_id=OuterRef("pk"))
        .order_by()
        .values("household_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    paired = HelperPairing.objects.filter(
        household_id=OuterRef("pk"), start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    return Household.objects.filter(county_code=county).annotate(
        ye_status=_status_subquery(year, "pk"),
        persons=Coalesce(Subquery(persons, output_field=IntegerField()), 0),
        is_paired=Exists(paired),
    )


def _members(county: str, year: int, today: datetime.date) -> QuerySet[Member]:
    paired = HelperPairing.objects.filter(
        household_id=OuterRef("household_id"), start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    return Member.all_objects.filter(
        present_on(datetime.date(year, 12, 31)),
        household__county_code=county,
        household__deleted_at__isnull=True,
    ).annotate(
        ye_status=_status_subquery(year, "household_id"),
        age=Value(year) - ExtractYear("birth_date"),
        is_paired=Exists(paired),
    )


def condition_q(cond: Mapping[str, Any], *, member: bool = False) -> Q:
    """The condition as a Q over the annotated household (or member) queryset."""
    q = Q()
    for key, test in cond.items():
        if key == "any":
            alt = Q(pk__in=[])
            for sub in test:
                alt |= condition_q(sub, member=member)
            q &= alt
            continue
        if key in HOUSEHOLD_ANNOTATED:
            name = HOUSEHOLD_ANNOTATED[key]
            if member and key == "is_poor_village":
                name = "household__village__is_poor_village"
        elif key in MEMBER_FIELDS:
            name = key
        else:
            name = f"household__{key}" if member else key
        tests = test if isinstance(test, dict) else {"in" if isinstance(test, list) else "eq": test}
        for op, raw in tests.items():
            value = raw
            if key == "status":
                if isinstance(value, str) and value in STATUS_GROUPS:
                    value = list(STATUS_GROUPS[value])
                elif isinstance(value, list):
                    value = [s for v in value for s in STATUS_GROUPS.get(v, (v,))]
            if isinstance(value, list) and op == "eq":
                op = "in"
            q &= _compare(name, op, value)
    return q


def _compare(name: str, op: str, value: Any) -> Q:
    if op == "is_null":
        return Q(**{f"{name}__isnull": bool(value)})
    if op in ("in", "not_in"):
        values = value if isinstance(value, list) else [value]
        listed = [v for v in values if v is not None]
        q = Q(**{f"{name}__in": listed}) if listed else Q(pk__in=[])
        if None in values:
            q |= Q(**{f"{name}__isnull": True})
        return q if op == "in" else ~q
    if value is None:
        return Q(**{f"{name}__isnull": op == "eq"})
    if op == "ne":
        return ~Q(**{name: value})
    lookup = {"eq": "", "gt": "__gt", "gte": "__gte", "lt": "__lt", "lte": "__lte"}[op]
    return Q(**{f"{name}{lookup}": value})


def compute_county(
    county: str, definitions: Iterable[IndicatorDef], years: Sequence[int], current_year: int
) -> dict[Key, tuple[int, int | None]]:
    """{(indicator, year, region, dimension): (numerator, denominator)} for one county at every
    level, through the ORM (grouped by village in the database, summed upwards in Python).
    A definition over an encrypted member field (health: PII-2) is refused: the database can
    neither filter nor group on ciphertext (the DuckDB refresh opens it, analytics.refresh)."""
    definitions = list(definitions)
    sealed = {f.name for f in encrypted_fields(Member)}
    for d in definitions:
        if d.fields() & sealed:
            raise ValueError(
                f"指标 {d.id} 使用加密字段 {'、'.join(sorted(d.fields() & sealed))}："
                "ORM 路径无法按密文筛选或分组，请用批量刷新（DuckDB）。"
            )
    today = timezone.localdate()
    regions = list(
        Region.objects.filter(
            code__startswith=county[:6], level__in=["county", "township", "village"]
        ).values_list("code", "parent_id", "level")
    )
    parent = {code: p for code, p, _level in regions}
    own = {
        (code, year): n
        for code, year, n in RegionPopulation.objects.filter(
            region_id__in=[r[0] for r in regions]
        ).values_list("region_id", "year", "rural_population")
    }
    population = {
        (code, year): n
        for code, year, n in resolve_population([(c, p) for c, p, _l in regions], own, years)
    }
    out: dict[Key, tuple[int, int | None]] = {}
    for d in definitions:
        if d.grain == "criterion":
            continue
        for year in years if d.period == "yearly" else [current_year]:
            member = d.grain == "person" and d.member_level()
            qs: QuerySet[Any] = (
                _members(county, year, today) if member else _households(county, year, today)
            )
            qs = qs.filter(condition_q(d.filters, member=member))
            village = "household__village_id" if member else "village_id"
            dim = d.dimension
            if dim and member and dim not in MEMBER_FIELDS:
                dim = f"household__{dim}"
            measure: Any = (
                Count("pk") if (member or d.grain == "household") else Coalesce(Sum("persons"), 0)
            )
            num_q = condition_q(d.numerator.get("where") or {}, member=member)
            annotations: dict[str, Any] = {
                "n": _filtered(measure, num_q, member or d.grain == "household")
            }
            if d.denominator and "where" in d.denominator:
                den_q = condition_q(d.denominator["where"] or {}, member=member)
                annotations["d"] = _filtered(measure, den_q, member or d.grain == "household")
            group = [village, dim] if dim else [village]
            rows = qs.order_by().values(*group).annotate(**annotations)
            sums: dict[tuple[str, str], list[int]] = {}
            for row in rows:
                key_dim = str(row[dim]) if dim and row[dim] is not None else ""
                code = row[village]
                while code in parent:  # village, township, county (not above)
                    s = sums.setdefault((code, key_dim), [0, 0])
                    s[0] += int(row["n"] or 0)
                    s[1] += int(row.get("d") or 0)
                    code = parent.get(code)
            if not dim:
                for code, _p, _level in regions:
                    sums.setdefault((code, ""), [0, 0])
            for (code, key_dim), (n, den) in sums.items():
                if dim and n == 0 and den == 0:
                    continue
                if d.uses_population:
                    out[(d.id, year, code, key_dim)] = (n, population.get((code, year)))
                elif d.is_rate:
                    out[(d.id, year, code, key_dim)] = (n, den)
                else:
                    out[(d.id, year, code, key_dim)] = (n, None)
    return out


def _filtered(measure: Any, q: Q, counting: bool) -> Any:
    if counting:
        return Count("pk", filter=q)
    return Coalesce(Sum("persons", filter=q), 0)
