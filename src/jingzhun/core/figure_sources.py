"""Named figure sources for assessment (考核, issue 24 item 4; scoring app, ADR scoring).

A figure source is a number about a unit (a township, a department, a work team) over a period:
problems found by inspections, overdue problems, a battle map indicator of the unit's region,
tickets answered late, tasks done on time. Scoring schemes (policies/scoring/) name figures, the
scorer asks this registry for their values and never needs to know which app computes them.

An app adds figures in its `AppConfig.ready()` with `register(FigureSource(...))`: a name
(`app.figure`, lower case, dots), a Chinese label, the unit kinds it applies to, a `values`
function (many units at once, one query or a few: units → {unit key: number or None}) and a
`behind` function giving the list behind the figure for one unit (a link with a query, or
rows), so that a score card can show where every point came from. `None` means no data (a
rate with a zero denominator): the scheme says what such a figure is worth.

Pure registry: core imports no domain app; the apps register themselves (like core.hooks).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "UNIT_KINDS",
    "Behind",
    "FigureSource",
    "Period",
    "Unit",
    "register",
    "registered",
    "source",
    "unregister",
    "values",
]

# The kinds of units assessed (a scheme scores one kind).
UNIT_KINDS = {"township": "乡镇", "department": "行业部门", "work_team": "驻村工作队"}

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Unit:
    """A unit assessed: `key` is unique among the units of its kind in a county (a township's
    region code, a department's code, a work team's id); `region_code` the region its data lie
    in (a township, the team's village, the county for a department)."""

    kind: str
    key: str
    label: str
    region_code: str
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Period:
    """A month, a quarter or a year: both ends included."""

    kind: str  # month | quarter | year
    label: str  # 2026-10, 2026Q3, 2026
    start: datetime.date
    end: datetime.date
    county_code: str


@dataclass(frozen=True)
class Behind:
    """The list behind a figure for one unit: a link (URL name, arguments, query) to an existing
    list page, or rows (text, URL name, arguments) listed on the score card itself."""

    url_name: str = ""
    args: tuple[Any, ...] = ()
    query: Mapping[str, str] = field(default_factory=dict)
    rows: tuple[tuple[str, str, tuple[Any, ...]], ...] = ()
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "url_name": self.url_name,
            "args": list(self.args),
            "query": dict(self.query),
            "rows": [[text, name, list(args)] for text, name, args in self.rows],
            "note": self.note,
        }


Number = Decimal | int | float | None
ValuesFn = Callable[[Sequence[Unit], Period], Mapping[str, Number]]
BehindFn = Callable[[Unit, Period, Any], Behind | None]


@dataclass(frozen=True)
class FigureSource:
    name: str
    label: str
    unit_kinds: frozenset[str]
    values: ValuesFn
    behind: BehindFn | None = None
    unit: str = ""  # 个, %, 天 …
    source: str = ""  # where the figure comes from, in Chinese (shown on the card)
    app: str = ""

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise ValueError(f"figure source name {self.name!r}: lower case, app.figure")
        unknown = set(self.unit_kinds) - set(UNIT_KINDS)
        if unknown:
            raise ValueError(f"figure source {self.name}: unknown unit kinds {sorted(unknown)}")


_SOURCES: dict[str, FigureSource] = {}


def register(figure: FigureSource) -> None:
    """Add a figure source (again with the same name: replaced, so a reload is harmless)."""
    _SOURCES[figure.name] = figure


def register_many(figures: Iterable[FigureSource]) -> None:
    for f in figures:
        register(f)


def unregister(name: str) -> None:
    _SOURCES.pop(name, None)


def registered() -> dict[str, FigureSource]:
    return dict(sorted(_SOURCES.items()))


def source(name: str) -> FigureSource | None:
    return _SOURCES.get(name)


def values(name: str, units: Sequence[Unit], period: Period) -> dict[str, Decimal | None]:
    """{unit key: value} of figure `name` for the units (KeyError: not registered)."""
    found = _SOURCES[name].values(units, period)
    out: dict[str, Decimal | None] = {}
    for unit in units:
        raw = found.get(unit.key)
        out[unit.key] = None if raw is None else Decimal(str(raw))
    return out
