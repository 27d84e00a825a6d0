"""The figure sources that exist on main, registered for the scorer (core.figure_sources).

- `map.<indicator>`: a battle map indicator (stored RegionFigures) of the unit's region in the
  period's year, or the newest computed year before it (townships; work teams: their village);
  the list behind is the household list the dashboard links.
- `inspection.*`: problems of inspections (督查问题) of the unit: in its region (townships,
  work teams' villages) or with it as responsible unit (departments, by the department's name):
  found in the period, closed in the period (on time), overdue at the period's end (or today),
  escalated (挂牌督办) in the period; the list behind is the problems themselves.
- `team.*`: a work team's check-in days in the period and serving members at its end.
- `measures.*`: a department's measures completed in the period, and overdue at its end.

Other apps register theirs the same way in their own `ready()` (tickets, tasks): the scorer
reads only the registry.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db.models import Q
from django.utils import timezone

from jingzhun.core.figure_sources import Behind, FigureSource, Period, Unit, register_many
from jingzhun.regions import codes

ROW_LIMIT = 200
ALL_KINDS = frozenset({"township", "department", "work_team"})
REGION_KINDS = frozenset({"township", "work_team"})


def as_of(period: Period) -> datetime.date:
    """The day a figure 'at the period's end' is taken: the end, or today while it runs."""
    return min(period.end, timezone.localdate())


# --- battle map indicators -------------------------------------------------------------------


def _map_values(indicator: str) -> Callable[[Sequence[Unit], Period], dict[str, Any]]:
    def values(units: Sequence[Unit], period: Period) -> dict[str, Any]:
        from jingzhun.analytics.compute import ANCHOR, missing_figure, sparse
        from jingzhun.analytics.models import RegionFigures, parse
        from jingzhun.analytics.selectors import definitions

        d = definitions()[indicator]
        rows: dict[str, str] = {}  # the newest computed year up to the period's year
        for code, figures in (
            RegionFigures.objects.filter(
                region_code__in={u.region_code for u in units}, year__lte=period.end.year
            )
            .order_by("year")
            .values_list("region_code", "figures")
        ):
            rows[code] = figures
        out: dict[str, Any] = {}
        for unit in units:
            stored = parse(rows.get(unit.region_code))
            figure = stored.get(indicator, {}).get("")
            if figure is None and ANCHOR in stored and sparse(d):
                figure = missing_figure(d)
            out[unit.key] = None if figure is None else d.value(figure[0], figure[1])
        return out

    return values


def _map_behind(indicator: str) -> Callable[[Unit, Period, Any], Behind]:
    def behind(unit: Unit, period: Period, user: Any) -> Behind:
        from jingzhun.analytics.selectors import definitions

        d = definitions()[indicator]
        level = codes.level_of(unit.region_code)
        if d.household_list:
            query = {level: unit.region_code} if level in ("township", "village") else {}
            query.update(d.household_list)
            return Behind(url_name="web:households", query=query)
        return Behind(
            url_name="web:dashboard",
            query={"region": unit.region_code, "year": str(period.end.year)},
            note="作战图指标（无户清单）",
        )

    return behind


def map_sources() -> list[FigureSource]:
    from jingzhun.analytics.selectors import definitions

    return [
        FigureSource(
            name=f"map.{d.id}",
            label=f"作战图：{d.label}",
            unit_kinds=REGION_KINDS,
            values=_map_values(d.id),
            behind=_map_behind(d.id),
            unit=d.unit,
            source=(
                f"作战图指标 {d.id}（{d.file}），{d.source_label or d.source}；"
                "期末所在年度（未计算则取此前最近一年）"
            ),
            app="analytics",
        )
        for d in definitions().values()
        if not d.dimension
    ]


# --- inspection problems ---------------------------------------------------------------------


def _problem_q(figure: str, period: Period) -> Q:
    day = as_of(period)
    if figure == "problems_found":
        return Q(found_on__range=(period.start, period.end))
    if figure == "problems_closed":
        return Q(closed_on__range=(period.start, period.end))
    if figure == "problems_closed_on_time":
        return Q(closed_on__range=(period.start, period.end), closed_on__lte=F_deadline())
    if figure == "problems_overdue":
        return Q(found_on__lte=day, deadline__lt=day) & (
            Q(closed_on__isnull=True) | Q(closed_on__gt=day)
        )
    if figure == "problems_listed":
        return Q(escalation_rows__escalated_on__range=(period.start, period.end))
    raise KeyError(figure)


def F_deadline() -> Any:
    from django.db.models import F

    return F("deadline")


def _department_names(units: Iterable[Unit]) -> dict[str, str]:
    return {str(u.extra.get("name", u.label)): u.key for u in units}


def _problems(figure: str, units: Sequence[Unit], period: Period) -> Any:
    from jingzhun.inspection.models import Problem

    return (
        Problem.objects.filter(region__code__startswith=codes.prefix(period.county_code))
        .filter(_problem_q(figure, period))
        .distinct()
    )


def _unit_problem_q(unit: Unit) -> Q:
    if unit.kind == "department":
        return Q(responsible_unit=str(unit.extra.get("name", unit.label)))
    return Q(region__code__startswith=codes.prefix(unit.region_code))


def _problem_values(figure: str) -> Callable[[Sequence[Unit], Period], dict[str, Any]]:
    def values(units: Sequence[Unit], period: Period) -> dict[str, Any]:
        rows = _problems(figure, units, period).values_list(
            "pk", "region__code", "responsible_unit"
        )
        counts: dict[str, int] = defaultdict(int)
        departments = _department_names(u for u in units if u.kind == "department")
        prefixes = [(codes.prefix(u.region_code), u.key) for u in units if u.kind != "department"]
        for _pk, region, responsible in rows:
            if responsible in departments:
                counts[departments[responsible]] += 1
            for prefix, key in prefixes:
                if region.startswith(prefix):
                    counts[key] += 1
        return {u.key: counts.get(u.key, 0) for u in units}

    return values


def _problem_behind(figure: str) -> Callable[[Unit, Period, Any], Behind]:
    def behind(unit: Unit, period: Period, user: Any) -> Behind:
        from jingzhun.inspection.selectors import problems_for

        found = (
            problems_for(user)
            .filter(_problem_q(figure, period))
            .filter(_unit_problem_q(unit))
            .filter(region__code__startswith=codes.prefix(period.county_code))
            .distinct()
            .order_by("found_on", "pk")[:ROW_LIMIT]
        )
        rows = tuple(
            (
                f"#{p.pk} {p.found_on:%Y-%m-%d} {p.category_label} {p.region.name} "
                f"（{p.status_label}，期限 {p.deadline:%Y-%m-%d}）",
                "web:problem",
                (p.pk,),
            )
            for p in found
        )
        return Behind(rows=rows, note="督查问题（您权限范围内的）")

    return behind


PROBLEM_FIGURES = {
    "problems_found": "期内发现的督查问题",
    "problems_closed": "期内销号的督查问题",
    "problems_closed_on_time": "期内按期销号的督查问题",
    "problems_overdue": "期末逾期未销号的督查问题",
    "problems_listed": "期内升级挂牌督办的督查问题",
}


def inspection_sources() -> list[FigureSource]:
    return [
        FigureSource(
            name=f"inspection.{key}",
            label=label,
            unit_kinds=ALL_KINDS,
            values=_problem_values(key),
            behind=_problem_behind(key),
            unit="个",
            source="督查整改（inspection）：乡镇、驻村工作队按问题所在区域，部门按责任单位名称",
            app="inspection",
        )
        for key, label in PROBLEM_FIGURES.items()
    ]


# --- work teams ------------------------------------------------------------------------------


def _team_ids(units: Sequence[Unit]) -> list[int]:
    return [int(u.key) for u in units if u.key.isdigit()]


def _check_in_days(units: Sequence[Unit], period: Period) -> dict[str, Any]:
    from django.db.models import Count

    from jingzhun.assistance.models import TeamCheckIn

    found = dict(
        TeamCheckIn.objects.filter(
            member__team_id__in=_team_ids(units), day__range=(period.start, period.end)
        )
        .values("member__team_id")
        .annotate(n=Count("pk"))
        .values_list("member__team_id", "n")
    )
    return {u.key: found.get(int(u.key), 0) for u in units}


def _members_serving(units: Sequence[Unit], period: Period) -> dict[str, Any]:
    from django.db.models import Count

    from jingzhun.assistance.models import TeamMember

    day = as_of(period)
    found = dict(
        TeamMember.objects.filter(team_id__in=_team_ids(units), start_date__lte=day)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))
        .values("team_id")
        .annotate(n=Count("pk"))
        .values_list("team_id", "n")
    )
    return {u.key: found.get(int(u.key), 0) for u in units}


def _team_behind(unit: Unit, period: Period, user: Any) -> Behind:
    return Behind(url_name="web:team_village", args=(unit.region_code,), note="驻村工作队页面")


def team_sources() -> list[FigureSource]:
    common = {"unit_kinds": frozenset({"work_team"}), "behind": _team_behind, "app": "assistance"}
    return [
        FigureSource(
            name="team.check_in_days",
            label="期内队员在村天数（打卡）合计",
            values=_check_in_days,
            unit="天",
            source="驻村工作队打卡（assistance.TeamCheckIn）",
            **common,  # type: ignore[arg-type]
        ),
        FigureSource(
            name="team.members_serving",
            label="期末在岗队员数",
            values=_members_serving,
            unit="人",
            source="驻村工作队队员（assistance.TeamMember）",
            **common,  # type: ignore[arg-type]
        ),
    ]


# --- departments' measures -------------------------------------------------------------------


def _measure_q(figure: str, period: Period) -> Q:
    from jingzhun.assistance.choices import OPEN_MEASURE_STATUSES

    if figure == "completed":
        return Q(status="completed", completed_on__range=(period.start, period.end))
    day = as_of(period)
    return Q(status__in=OPEN_MEASURE_STATUSES, end_date__lt=day)


def _measure_values(figure: str) -> Callable[[Sequence[Unit], Period], dict[str, Any]]:
    def values(units: Sequence[Unit], period: Period) -> dict[str, Any]:
        from django.db.models import Count

        from jingzhun.assistance.models import Measure

        found = dict(
            Measure.objects.filter(
                household__county_code=period.county_code,
                department__in=[u.key for u in units],
            )
            .filter(_measure_q(figure, period))
            .values("department")
            .annotate(n=Count("pk"))
            .values_list("department", "n")
        )
        return {u.key: found.get(u.key, 0) for u in units}

    return values


def _measure_behind(figure: str) -> Callable[[Unit, Period, Any], Behind]:
    def behind(unit: Unit, period: Period, user: Any) -> Behind:
        query = {"department": unit.key}
        if figure == "completed":
            query["status"] = "completed"
        return Behind(url_name="web:measures", query=query, note="帮扶措施清单")

    return behind


MEASURE_FIGURES = {
    "completed": "期内完成的帮扶措施",
    "overdue": "期末超过结束日期仍未完成的帮扶措施",
}


def measure_sources() -> list[FigureSource]:
    return [
        FigureSource(
            name=f"measures.{key}",
            label=label,
            unit_kinds=frozenset({"department"}),
            values=_measure_values(key),
            behind=_measure_behind(key),
            unit="项",
            source="一户一策帮扶措施（assistance.Measure），按责任部门",
            app="assistance",
        )
        for key, label in MEASURE_FIGURES.items()
    ]


def register_builtin() -> None:
    register_many([*inspection_sources(), *team_sources(), *measure_sources(), *lazy_map_sources()])


def lazy_map_sources() -> list[FigureSource]:
    """The battle map's indicators (their definitions are files read once)."""
    try:
        return map_sources()
    except Exception:
        return []
