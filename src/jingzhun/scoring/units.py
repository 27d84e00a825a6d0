"""The units a scheme assesses in a county over a period: its townships, the departments of the
measure catalogue in effect at the period's end, the work teams serving during the period."""

from __future__ import annotations

from django.db.models import Q

from jingzhun.core.figure_sources import Period, Unit
from jingzhun.regions import codes
from jingzhun.regions.models import Region


def units_for(kind: str, period: Period) -> list[Unit]:
    county = period.county_code
    if kind == "township":
        return [
            Unit("township", code, name, code)
            for code, name in Region.objects.filter(
                level="township", code__startswith=codes.prefix(county)
            )
            .order_by("code")
            .values_list("code", "name")
        ]
    if kind == "department":
        from jingzhun.assistance.catalogue import catalogue

        cat = catalogue(period.end)
        return [
            Unit("department", code, name, county, {"name": name})
            for code, name in sorted(cat.departments.items())
        ]
    if kind == "work_team":
        from jingzhun.assistance.models import WorkTeam

        teams = (
            WorkTeam.objects.filter(
                village__code__startswith=codes.prefix(county),
                term_start__lte=period.end,
                term_end__gte=period.start,
            )
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=period.start))
            .select_related("village")
            .order_by("village__code", "pk")
        )
        return [
            Unit(
                "work_team",
                str(t.pk),
                f"{t.village.name}驻村工作队",
                t.village_id,
                {"sending_units": t.sending_units},
            )
            for t in teams
        ]
    raise ValueError(kind)
