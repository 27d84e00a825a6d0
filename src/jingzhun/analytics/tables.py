"""The dashboard's tables as plain data, shared by the page, the .xlsx export and the PDF report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from jingzhun.registry import choices as c

from . import selectors
from .indicators import IndicatorDef
from .selectors import Figure, Scope

KEY_FIGURES = (
    "registered_households",
    "registered_persons",
    "exited_households",
    "exited_persons",
    "remaining_households",
    "remaining_persons",
    "poverty_incidence",
    "exit_rate",
    "ordinary_households",
    "ordinary_persons",
)
CHILD_COLUMNS = (
    "registered_households",
    "registered_persons",
    "exited_households",
    "exited_persons",
    "remaining_households",
    "remaining_persons",
    "poverty_incidence",
)
COVERAGE = (
    "medical_insurance_coverage",
    "pension_insurance_coverage",
    "safe_housing_coverage",
    "safe_water_coverage",
    "schooling_coverage",
    "pairing_coverage",
    "monitored_households",
    "monitored_risk_open",
)
BREAKDOWNS = (
    ("households_by_cause", c.CAUSE),
    ("households_by_attribute", c.ATTRIBUTE),
    ("monitored_by_category", c.MONITORING_CATEGORY),
    ("monitored_by_risk", c.RISK_STATUS),
)
TREND = ("poverty_incidence", "remaining_persons", "exited_persons", "registered_persons")
# Chinese labels, translated where shown (gettext_noop marks them for the catalogue)
CRITERIA = {
    "income": gettext_noop("收入"),
    "food": gettext_noop("不愁吃"),
    "clothing": gettext_noop("不愁穿"),
    "education": gettext_noop("义务教育有保障"),
    "medical": gettext_noop("基本医疗有保障"),
    "housing": gettext_noop("住房安全有保障"),
    "water": gettext_noop("饮水安全有保障"),
}


def display(d: IndicatorDef, fig: Figure | None) -> str:
    if fig is None:
        return "—"
    value = d.value(*fig)
    if value is None:
        return "—"
    if d.is_rate:
        return f"{value:.2f}%" if d.scale == 100 else f"{value:.2f}"
    return f"{int(value):,}"


def number(d: IndicatorDef, fig: Figure | None) -> float | None:
    return None if fig is None else d.value(*fig)


@dataclass
class Cell:
    indicator: str
    text: str
    value: float | None
    numerator: int | None = None
    denominator: int | None = None


@dataclass
class Dashboard:
    scope: Scope
    year: int
    years: list[int]
    key: list[tuple[IndicatorDef, Cell]]
    coverage: list[tuple[IndicatorDef, Cell]]
    children: list[tuple[Any, list[Cell], Cell]]  # region, cells, map cell
    child_columns: list[IndicatorDef]
    breakdowns: list[tuple[IndicatorDef, list[tuple[str, str, Cell]]]]
    criteria: list[tuple[str, Cell]]
    trend: dict[str, list[tuple[int, float | None]]]
    map_indicator: IndicatorDef
    extra: dict[str, Any] = field(default_factory=dict)
    # the regions on the map with their map cell: the children, but a province's counties
    mapped: list[tuple[Any, Cell]] = field(default_factory=list)


def _cell(d: IndicatorDef, fig: Figure | None) -> Cell:
    return Cell(
        d.id, display(d, fig), number(d, fig), fig[0] if fig else None, fig[1] if fig else None
    )


def build(user: Any, scope: Scope, year: int, map_indicator: str) -> Dashboard:
    defs = selectors.definitions()
    region = scope.region.code
    own = selectors.figures(user, region, year)
    mapped = defs.get(map_indicator) or defs["poverty_incidence"]
    wanted = {*CHILD_COLUMNS, mapped.id}
    kids = selectors.child_figures(user, scope.children, year, wanted)
    children = []
    for child in scope.children:
        if child.code not in kids:
            continue
        figs = kids[child.code]
        children.append(
            (
                child,
                [_cell(defs[i], figs.get(i)) for i in CHILD_COLUMNS],
                _cell(mapped, figs.get(mapped.id)),
            )
        )
    breakdowns = []
    for ind, labels in BREAKDOWNS:
        d = defs[ind]
        rows = [
            (dim, labels.get(dim, dim or gettext_noop("未填写")), _cell(d, fig))
            for (i, dim), fig in sorted(own.items(), key=lambda kv: -kv[1][0])
            if i == ind
        ]
        if rows:
            breakdowns.append((d, rows))
    crit = defs["exit_criterion_pass_rate"]
    criteria = [
        (label, _cell(crit, own[("exit_criterion_pass_rate", key)]))
        for key, label in CRITERIA.items()
        if ("exit_criterion_pass_rate", key) in own
    ]
    if criteria and ("exit_all_pass_rate", "") in own:
        criteria.insert(
            0,
            (
                gettext_noop("全部标准"),
                _cell(defs["exit_all_pass_rate"], own[("exit_all_pass_rate", "")]),
            ),
        )
    if scope.region.level == "province":
        # a province's map shows its counties (the table its prefectures): one more read
        counties = selectors.counties_below(user, scope.region.code)
        figs_of = selectors.child_figures(user, counties, year, [mapped.id])
        shown = [
            (r, _cell(mapped, figs_of[r.code].get(mapped.id)))
            for r in counties
            if r.code in figs_of
        ]
    else:
        shown = [(child, m) for child, _cells, m in children]
    series = selectors.trend(user, region, TREND)
    trend = {
        ind: [(y, number(defs[ind], fig)) for y, fig in sorted(series.get(ind, {}).items())]
        for ind in TREND
    }
    return Dashboard(
        scope=scope,
        year=year,
        years=selectors.years(user, region),
        key=[(defs[i], _cell(defs[i], own.get((i, "")))) for i in KEY_FIGURES],
        coverage=[(defs[i], _cell(defs[i], own.get((i, "")))) for i in COVERAGE if (i, "") in own],
        children=children,
        child_columns=[defs[i] for i in CHILD_COLUMNS],
        breakdowns=breakdowns,
        criteria=criteria,
        trend=trend,
        map_indicator=mapped,
        mapped=shown,
    )


def map_choices() -> list[IndicatorDef]:
    """Indicators a map can be coloured by: those without a breakdown."""
    return [d for d in selectors.definitions().values() if not d.dimension]
