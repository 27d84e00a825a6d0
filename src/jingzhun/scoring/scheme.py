"""Scoring schemes (考核评分办法) as policy data: `policies/scoring/*.yaml` (ADR scoring).

A scheme scores one kind of unit (township, department, work team) for periods (month, quarter,
year): a list of indicators, each with a weight, a `value` expression over named figures
(core.figure_sources), a `points` expression over `value` and `weight` (default: `value`),
points kept within [min_points, max_points] (default [0, weight]), and what a figure without
data (a rate over nothing, a division by zero) is worth: `on_null` zero | full | refuse. Then
the red and black lists (红黑榜) by rank and score. The header is the policy files' header
(policy.schema.Header: id, version, dates, jurisdiction, sources with labels); `county:` limits a
scheme to one county. The content hash (policy.store.content_hash) is the version a score keeps.

Expressions are the rule language (policy.lang.parse): arithmetic, comparisons, `coalesce`,
no `eval`. Names are figure names (`inspection.problems_overdue`, `map.exit_rate`), `weight`,
and in `points` also `value`; a name no figure source registers is refused before anything is
computed (scoring.engine.check_names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from jingzhun.policy import lang
from jingzhun.policy.schema import Header, Name, Strict
from jingzhun.policy.store import PolicyError, _explain, _Loader, content_hash, default_root

FOLDER = "scoring"
UnitKind = Literal["township", "department", "work_team"]
PeriodKind = Literal["month", "quarter", "year"]
# functions of the rule language a formula may call (the others read household members)
ALLOWED_FUNCTIONS = frozenset({"coalesce", "is_known"})
RESERVED = frozenset({"weight", "value"})


class Band(Strict):
    """A list (红榜 or 黑榜): a unit is on it when the given conditions hold (`when: all`, the
    default) or any of them (`when: any`). `rank_within`: among the first N (red) or the last N
    (black) by score, ties included; `score_at_least` (red) / `score_below` (black)."""

    label: str = Field(min_length=1)
    rank_within: int | None = Field(None, ge=1)
    score_at_least: Decimal | None = None
    score_below: Decimal | None = None
    when: Literal["all", "any"] = "all"
    source: Name
    note: str | None = None

    @model_validator(mode="after")
    def _some_condition(self) -> Band:
        if self.rank_within is None and self.score_at_least is None and self.score_below is None:
            raise ValueError("榜单至少要有 rank_within、score_at_least 或 score_below 之一")
        return self


class Indicator(Strict):
    id: Name
    label: str = Field(min_length=1)
    weight: Decimal = Field(gt=0)
    value: str = Field(min_length=1)
    points: str = "value"
    min_points: Decimal = Decimal(0)
    max_points: Decimal | None = None
    on_null: Literal["zero", "full", "refuse"] = "zero"
    source: Name
    note: str | None = None

    @property
    def ceiling(self) -> Decimal:
        return self.weight if self.max_points is None else self.max_points


class Publication(Strict):
    """Who sees a published ranking: `public` = every assessed unit of the county sees the
    whole ranking (names, scores, ranks, lists) and its own score card; `county` = a unit sees
    only its own card."""

    ranking: Literal["public", "county"] = "public"


class SchemeFile(Header):
    kind: Literal["scoring_scheme"]
    county: str | None = Field(None, pattern=r"^\d{6}$")
    unit_kind: UnitKind
    periods: list[PeriodKind] = Field(min_length=1)
    total: Decimal = Field(gt=0)
    publication: Publication = Publication()
    red: Band | None = None
    black: Band | None = None
    indicators: list[Indicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> SchemeFile:
        seen: set[str] = set()
        ceiling = Decimal(0)
        for i, ind in enumerate(self.indicators):
            self._check_source(ind.source, f"indicators[{i}]")
            if ind.id in seen:
                raise ValueError(f"indicators[{i}] 的 id “{ind.id}” 重复")
            seen.add(ind.id)
            if ind.ceiling < ind.min_points:
                raise ValueError(f"indicators[{i}] 的 max_points 小于 min_points")
            ceiling += ind.ceiling
        for name in ("red", "black"):
            band = getattr(self, name)
            if band is not None:
                self._check_source(band.source, name)
        if self.red is not None and self.red.score_below is not None:
            raise ValueError("red 红榜用 score_at_least，不用 score_below")
        if self.black is not None and self.black.score_at_least is not None:
            raise ValueError("black 黑榜用 score_below，不用 score_at_least")
        if ceiling != self.total:
            raise ValueError(f"各指标满分之和 {ceiling} 与总分 total {self.total} 不一致")
        return self


@dataclass(frozen=True)
class Formula:
    text: str
    node: lang.Node
    names: frozenset[str]  # dotted figure names it reads (not weight/value)


@dataclass(frozen=True)
class Scheme:
    path: str
    hash: str
    doc: SchemeFile
    values: dict[str, Formula]  # indicator id → value formula
    points: dict[str, Formula]

    @property
    def key(self) -> str:
        return f"{self.doc.id}@{self.doc.version}"

    @property
    def figure_names(self) -> frozenset[str]:
        out: set[str] = set()
        for f in (*self.values.values(), *self.points.values()):
            out |= f.names
        return frozenset(out)

    def in_effect(self, on: date) -> bool:
        d = self.doc
        return d.effective_from <= on and (d.effective_to is None or on <= d.effective_to)

    def cited(self) -> str:
        return f"考核方案 {self.doc.id}，文件 {self.path}，版本 {self.doc.version}，内容哈希 {self.hash[:12]}"


def _names(node: Any, where: str, *, allow_value: bool) -> set[str]:
    """The names an expression reads; refuses functions that read households."""
    out: set[str] = set()
    if isinstance(node, lang.Name):
        dotted = node.dotted
        if dotted == "value" and not allow_value:
            raise PolicyError(f"{where}：value 只能用在 points 中")
        if dotted not in RESERVED:
            if len(node.parts) < 2:
                raise PolicyError(f"{where}：未知名称 {dotted!r}（数据名应为 “应用.数据”）")
            out.add(dotted)
        return out
    if isinstance(node, lang.Call) and node.func not in ALLOWED_FUNCTIONS:
        raise PolicyError(f"{where}：考核公式不能使用函数 {node.func}")
    for attr in ("operand", "left", "right", "low", "high"):
        child = getattr(node, attr, None)
        if child is not None:
            out |= _names(child, where, allow_value=allow_value)
    for attr in ("operands", "args"):
        for child in getattr(node, attr, ()) or ():
            out |= _names(child, where, allow_value=allow_value)
    return out


def _formula(text: str, where: str, *, allow_value: bool) -> Formula:
    try:
        node = lang.parse(text)
    except lang.RuleError as exc:
        raise PolicyError(f"{where}：表达式无法解析（{exc.message}）") from exc
    return Formula(text, node, frozenset(_names(node, where, allow_value=allow_value)))


def load_scheme(path: Path, *, name: str | None = None) -> Scheme:
    shown = name or str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"考核方案 {shown} 无法读取（{exc}）") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"考核方案 {shown} 无效：（文件顶层）：应为映射（键: 值）")
    try:
        doc = SchemeFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_explain(shown, exc)) from exc
    values, points = {}, {}
    for i, ind in enumerate(doc.indicators):
        where = f"考核方案 {shown} 无效：indicators[{i}]"
        values[ind.id] = _formula(ind.value, f"{where}.value", allow_value=False)
        points[ind.id] = _formula(ind.points, f"{where}.points", allow_value=True)
    return Scheme(shown, content_hash(data), doc, values, points)


def load_schemes(root: Path | None = None) -> list[Scheme]:
    folder = (root or default_root()) / FOLDER
    if not folder.is_dir():
        return []
    found = [
        load_scheme(p, name=p.relative_to(folder.parent).as_posix())
        for p in sorted(folder.rglob("*.y*ml"))
    ]
    seen: dict[tuple[str, str], str] = {}
    for s in found:
        ident = (s.doc.id, s.doc.version)
        if ident in seen:
            raise PolicyError(f"考核方案 {s.path} 与 {seen[ident]} 的 id 和版本相同")
        seen[ident] = s.path
    return found


@lru_cache(maxsize=1)
def _cached() -> tuple[Scheme, ...]:
    return tuple(load_schemes())


def all_schemes() -> list[Scheme]:
    return list(_cached())


def clear_cache() -> None:
    _cached.cache_clear()


def schemes_for(county_code: str, on: date | None = None) -> list[Scheme]:
    """The schemes of a county (its own or those for every county), newest per id in effect on
    `on` (every version when None)."""
    county = county_code[:6]
    found = [
        s
        for s in all_schemes()
        if (s.doc.county in (None, county))
        and (s.doc.jurisdiction == "national" or county.startswith(s.doc.jurisdiction))
    ]
    if on is None:
        return sorted(found, key=lambda s: (s.doc.id, s.doc.effective_from))
    newest: dict[str, Scheme] = {}
    for s in found:
        if s.in_effect(on) and (
            s.doc.id not in newest or s.doc.effective_from > newest[s.doc.id].doc.effective_from
        ):
            newest[s.doc.id] = s
    return sorted(newest.values(), key=lambda s: s.doc.id)


def scheme_by_hash(hash_: str) -> Scheme | None:
    return next((s for s in all_schemes() if s.hash == hash_), None)
