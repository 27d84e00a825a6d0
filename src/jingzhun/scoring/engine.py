"""Scoring a set of units under a scheme: figures in, points with a trace out, then ranks and the
red and black lists. No database here but through the figure sources' `values`.

Arithmetic is the rule language's (policy.interpreter: Decimal, 4 places, division by zero is
null). Each indicator's points are kept within [min_points, max_points] and rounded to 0.01
half away from zero; a unit's score is the sum of its rounded points, so the trace adds up to
the score exactly. A value or points that come out null (no data, a rate over nothing) are
worth what the indicator's `on_null` says: 0, full marks, or the computation is refused.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jingzhun.core import figure_sources as fs
from jingzhun.core.errors import DomainError
from jingzhun.policy import interpreter
from jingzhun.policy.lang import RuleError

from .scheme import Formula, Indicator, Scheme

CENT = Decimal("0.01")
NO_COLUMNS: frozenset[str] = frozenset()


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_names(scheme: Scheme) -> None:
    """Refuse a scheme naming a figure nobody registers, or one that does not apply to the
    scheme's kind of unit (before anything is computed or written)."""
    registered = fs.registered()
    for ind in scheme.doc.indicators:
        for name in sorted(scheme.values[ind.id].names | scheme.points[ind.id].names):
            found = registered.get(name)
            if found is None:
                raise DomainError(
                    f"考核方案 {scheme.path} 的指标 {ind.id}（{ind.label}）引用了未知数据 "
                    f"“{name}”：没有应用登记这一数据来源。",
                    field="scheme",
                )
            if scheme.doc.unit_kind not in found.unit_kinds:
                raise DomainError(
                    f"考核方案 {scheme.path} 的指标 {ind.id} 引用的数据 “{name}” 不适用于"
                    f"{fs.UNIT_KINDS[scheme.doc.unit_kind]}。",
                    field="scheme",
                )


def gather(
    scheme: Scheme,
    units: Sequence[fs.Unit],
    period: fs.Period,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, dict[str, Decimal | None]]:
    """{figure name: {unit key: value}} of every figure the scheme reads."""
    names = sorted(scheme.figure_names)
    out: dict[str, dict[str, Decimal | None]] = {}
    for i, name in enumerate(names, 1):
        out[name] = fs.values(name, units, period)
        if progress is not None:
            progress(f"读取数据 {name}", 5 + 80 * i // max(len(names), 1))
    return out


@dataclass
class UnitResult:
    unit: fs.Unit
    score: Decimal
    trace: list[dict[str, Any]]
    rank: int = 0
    band: str = ""


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _evaluate(formula: Formula, params: Mapping[str, object], year: int, where: str) -> Any:
    try:
        result = interpreter.evaluate(
            formula.node, {}, params=params, year=year, household_columns=NO_COLUMNS
        ).value
    except RuleError as exc:
        raise DomainError(f"{where}：公式 “{formula.text}” 无法计算（{exc.message}）。") from exc
    if result is not None and not isinstance(result, Decimal):
        raise DomainError(f"{where}：公式 “{formula.text}” 的结果不是数值。")
    return result


def _indicator(
    scheme: Scheme,
    ind: Indicator,
    unit: fs.Unit,
    figures: Mapping[str, Mapping[str, Decimal | None]],
    year: int,
) -> dict[str, Any]:
    where = f"{unit.label}（{unit.key}）的指标 {ind.id}（{ind.label}）"
    read = sorted(scheme.values[ind.id].names | scheme.points[ind.id].names)
    params: dict[str, object] = {name: figures[name][unit.key] for name in read}
    params["weight"] = ind.weight
    value = _evaluate(scheme.values[ind.id], params, year, where)
    note = ""
    points: Decimal | None = None
    if value is not None:
        points = _evaluate(scheme.points[ind.id], {**params, "value": value}, year, where)
    if points is None:
        if ind.on_null == "refuse":
            raise DomainError(f"{where}没有数据（结果为空，如分母为 0），方案规定此时不能计分。")
        points = ind.ceiling if ind.on_null == "full" else Decimal(0)
        note = (
            "无数据（如分母为 0），按方案计满分"
            if ind.on_null == "full"
            else "无数据（如分母为 0），按方案计 0 分"
        )
    elif points > ind.ceiling:
        note = f"计算得 {_number(points)} 分，超过满分按 {_number(ind.ceiling)} 分计"
        points = ind.ceiling
    elif points < ind.min_points:
        note = f"计算得 {_number(points)} 分，低于下限按 {_number(ind.min_points)} 分计"
        points = ind.min_points
    registered = fs.registered()
    return {
        "id": ind.id,
        "label": ind.label,
        "weight": _number(ind.weight),
        "value_formula": scheme.values[ind.id].text,
        "points_formula": scheme.points[ind.id].text,
        "figures": [
            {
                "name": name,
                "label": registered[name].label,
                "value": _number(figures[name][unit.key]),
                "unit": registered[name].unit,
                "source": registered[name].source,
            }
            for name in read
        ],
        "value": _number(value),
        "points": format(cents(points), "f"),
        "note": note,
    }


def score_units(
    scheme: Scheme,
    units: Sequence[fs.Unit],
    figures: Mapping[str, Mapping[str, Decimal | None]],
    period: fs.Period,
) -> list[UnitResult]:
    """Every unit's points and score (a DomainError for the first unit a scheme refuses)."""
    results = []
    for unit in units:
        trace = [
            _indicator(scheme, ind, unit, figures, period.end.year) for ind in scheme.doc.indicators
        ]
        score = sum((Decimal(t["points"]) for t in trace), Decimal(0))
        results.append(UnitResult(unit, cents(score), trace))
    rank(scheme, results)
    return results


def rank(scheme: Scheme, results: list[UnitResult]) -> None:
    """Competition ranking (1, 1, 3: equal scores share a rank), then the lists: a unit is on the
    red list when the red conditions hold (`rank_within`: its rank from the top), on the black
    list when the black ones do (`rank_within`: its rank from the bottom, 1 + the units scoring
    less); a unit meeting both is on the black list only."""
    scores = [r.score for r in results]
    for r in results:
        r.rank = 1 + sum(1 for s in scores if s > r.score)
        from_bottom = 1 + sum(1 for s in scores if s < r.score)
        red = _holds(scheme.doc.red, r.rank, r.score, red=True)
        black = _holds(scheme.doc.black, from_bottom, r.score, red=False)
        r.band = "black" if black else "red" if red else ""
    results.sort(key=lambda r: (r.rank, r.unit.key))


def _holds(band: Any, position: int, score: Decimal, *, red: bool) -> bool:
    if band is None:
        return False
    checks = []
    if band.rank_within is not None:
        checks.append(position <= band.rank_within)
    if red and band.score_at_least is not None:
        checks.append(score >= band.score_at_least)
    if not red and band.score_below is not None:
        checks.append(score < band.score_below)
    return all(checks) if band.when == "all" else any(checks)


# --- periods ---------------------------------------------------------------------------------


def parse_period(text: str, county_code: str) -> fs.Period:
    """'2026' (year), '2026Q3' (quarter), '2026-10' (month) → a Period (DomainError otherwise)."""
    raw = str(text or "").strip().upper()
    try:
        if raw.isdigit() and len(raw) == 4:
            year = int(raw)
            return fs.Period(
                "year", raw, datetime.date(year, 1, 1), datetime.date(year, 12, 31), county_code
            )
        if len(raw) == 6 and raw[4] == "Q" and raw[:4].isdigit() and raw[5] in "1234":
            year, q = int(raw[:4]), int(raw[5])
            start = datetime.date(year, 3 * q - 2, 1)
            return fs.Period("quarter", raw, start, _month_end(year, 3 * q), county_code)
        if len(raw) == 7 and raw[4] == "-" and raw[:4].isdigit() and raw[5:].isdigit():
            year, month = int(raw[:4]), int(raw[5:])
            start = datetime.date(year, month, 1)
            return fs.Period("month", raw, start, _month_end(year, month), county_code)
    except ValueError:
        pass
    raise DomainError(
        f"考核周期 “{text}” 无效：应为年度（2026）、季度（2026Q3）或月度（2026-10）。",
        field="period",
    )


def _month_end(year: int, month: int) -> datetime.date:
    nxt = datetime.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - datetime.timedelta(days=1)


__all__ = ["UnitResult", "check_names", "gather", "parse_period", "rank", "score_units"]
