"""Indicator definitions as data (policies/indicators/*.yaml) and their translation to SQL.

Pure Python: no Django. An indicator counts rows of one grain (households, persons, or the
per-village criterion counts of the exit-standard assessments) that pass `filters` and its
numerator's `where`; a rate divides by a denominator (rows passing the denominator's `where`, or
the rural population of the region and year). Counts are additive, so village figures sum to the
township and township figures to the county by construction; rates are recomputed from the
summed numerator and denominator at every level.

A condition (`where`, `filters`) is a mapping of field to test, all of which must hold:
  field: value           equal (null: is null)
  field: [a, b]          one of
  field: {op: value}     op in eq, ne, in, not_in, gt, gte, lt, lte, is_null
  any: [cond, cond]      at least one of the nested conditions
Fields are a closed vocabulary (HOUSEHOLD_FIELDS, MEMBER_FIELDS below); the status groups
`registered`, `exited` and `remaining` expand to the statuses they stand for (ADR 0004).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jingzhun.registry import dictionary

__all__ = [
    "HOUSEHOLD_FIELDS",
    "MEMBER_FIELDS",
    "IndicatorDef",
    "IndicatorError",
    "condition_sql",
    "default_root",
    "load_indicators",
    "parse_indicators",
]

EXITED = ("exited_with_policy", "exited_no_policy")
REMAINING = ("not_exited", "returned")
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "registered": EXITED + REMAINING,
    "exited": EXITED,
    "remaining": REMAINING,
}

# field -> kind ("text", "bool", "int"); the compute tables carry these columns. Registry fields
# are the data dictionary's with "indicator" in `appears` (registry.dictionary); the others are
# derived by the reader.
_KIND = {"code": "text", "text": "text", "boolean": "bool", "integer": "int"}
DERIVED_HOUSEHOLD_FIELDS: dict[str, str] = {
    "status": "text",  # status at the end of the year, from the status history
    "paired": "bool",  # has a helper pairing running today
    "persons": "int",  # live members
    "is_poor_village": "bool",
}
HOUSEHOLD_FIELDS: dict[str, str] = {
    **{f.key: _KIND[f.kind] for f in dictionary.fields("household", on="indicator")},
    **DERIVED_HOUSEHOLD_FIELDS,
}
# `age`: completed years at the end of the year (from the birth date)
MEMBER_FIELDS: dict[str, str] = {
    f.key: _KIND[f.kind] for f in dictionary.fields("member", on="indicator")
}
GRAINS = ("household", "person", "criterion")
PERIODS = ("yearly", "current")
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "household": ("main_cause", "attribute", "monitoring_category", "risk_status", "status"),
    "person": ("main_cause", "attribute", "sex", "health_status", "labour_capacity"),
    "criterion": ("criterion",),
}
OPS = {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null"}
ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


class IndicatorError(ValueError):
    """A definition file that does not follow the schema (message in Chinese, with the file)."""


@dataclass(frozen=True)
class IndicatorDef:
    id: str
    label: str
    unit: str
    grain: str
    period: str
    group: str
    numerator: Mapping[str, Any]
    denominator: Mapping[str, Any] | None  # {"where": ...} or {"population": "rural"}
    filters: Mapping[str, Any] = field(default_factory=dict)
    dimension: str = ""
    scale: int = 1  # 100 for a percentage
    source: str = ""
    source_label: str = ""
    description: str = ""
    household_list: Mapping[str, str] = field(default_factory=dict)  # household list filters
    file: str = ""
    label_en: str = ""  # the English UI's label (empty: the Chinese one)
    unit_en: str = ""

    def title(self, language: str | None) -> str:
        """The label in a UI language ("en…": label_en when given)."""
        return self.label_en if (language or "").startswith("en") and self.label_en else self.label

    def unit_in(self, language: str | None) -> str:
        return self.unit_en if (language or "").startswith("en") and self.unit_en else self.unit

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    @property
    def uses_population(self) -> bool:
        return bool(self.denominator and "population" in self.denominator)

    def member_level(self) -> bool:
        """Whether the person count needs member rows (a member field in a condition)."""
        return self.grain == "person" and bool(self.fields() & set(MEMBER_FIELDS))

    def fields(self) -> set[str]:
        """The fields its conditions and its breakdown name."""
        parts = [self.filters, self.numerator.get("where") or {}]
        if self.denominator and "where" in self.denominator:
            parts.append(self.denominator["where"] or {})
        out = {f for p in parts for f in _fields(p)}
        if self.dimension:
            out.add(self.dimension)
        return out

    def value(self, numerator: int | None, denominator: int | None) -> float | None:
        if numerator is None:
            return None
        if not self.is_rate:
            return float(numerator)
        if not denominator:
            return None
        return numerator * self.scale / denominator


def default_root() -> Path:
    """policies/indicators of the repository (or JINGZHUN_INDICATORS_DIR)."""
    import os

    env = os.environ.get("JINGZHUN_INDICATORS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "policies" / "indicators"


def load_indicators(root: Path | None = None) -> list[IndicatorDef]:
    """Every definition under root, in file order then listed order; ids are unique."""
    folder = root or default_root()
    out: list[IndicatorDef] = []
    for path in sorted(folder.glob("*.yaml")):
        out.extend(parse_indicators(path.read_text(encoding="utf-8"), path.name))
    seen: set[str] = set()
    for d in out:
        if d.id in seen:
            raise IndicatorError(f"指标 {d.id} 重复定义（{d.file}）")
        seen.add(d.id)
    return out


def parse_indicators(text: str, name: str = "<text>") -> list[IndicatorDef]:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("indicators"), list):
        raise IndicatorError(f"{name}：须有 indicators 列表")
    sources = doc.get("sources") or {}
    if not isinstance(sources, dict):
        raise IndicatorError(f"{name}：sources 须为映射")
    group = str(doc.get("group") or "")
    return [_parse_one(raw, name, sources, group) for raw in doc["indicators"]]


def _parse_one(raw: Any, name: str, sources: dict[str, Any], group: str) -> IndicatorDef:
    if not isinstance(raw, dict):
        raise IndicatorError(f"{name}：每个指标须为映射")
    ident = str(raw.get("id") or "")
    where = f"{name} 指标 {ident or '?'}"
    if not ID_RE.match(ident):
        raise IndicatorError(f"{where}：id 须为小写字母、数字和下划线")
    known = {
        "id", "label", "unit", "grain", "period", "numerator", "denominator", "filters",
        "dimension", "scale", "source", "description", "household_list", "label_en", "unit_en",
    }  # fmt: skip
    unknown = set(raw) - known
    if unknown:
        raise IndicatorError(f"{where}：未知的键 {', '.join(sorted(unknown))}")
    grain = raw.get("grain", "household")
    if grain not in GRAINS:
        raise IndicatorError(f"{where}：grain 须为 {'、'.join(GRAINS)} 之一")
    period = raw.get("period", "yearly")
    if period not in PERIODS:
        raise IndicatorError(f"{where}：period 须为 {'、'.join(PERIODS)} 之一")
    vocabulary = _vocabulary(grain)
    filters = raw.get("filters") or {}
    _check_condition(filters, vocabulary, where)
    numerator = raw.get("numerator") or {}
    if not isinstance(numerator, dict) or set(numerator) - {"where", "count"}:
        raise IndicatorError(f"{where}：numerator 只能有 where（以及 criterion 的 count）")
    _check_condition(numerator.get("where") or {}, vocabulary, where)
    denominator = raw.get("denominator")
    if denominator is not None:
        if not isinstance(denominator, dict) or len(denominator) != 1:
            raise IndicatorError(f"{where}：denominator 须为 where: … 或 population: rural")
        if "population" in denominator:
            if denominator["population"] != "rural" or grain != "person":
                raise IndicatorError(f"{where}：population 分母只能是 rural，且按人计")
        elif "where" in denominator:
            _check_condition(denominator["where"] or {}, vocabulary, where)
        else:
            raise IndicatorError(f"{where}：denominator 须为 where: … 或 population: rural")
    if grain == "criterion" and numerator.get("count") not in ("passed", "failed", "unknown"):
        raise IndicatorError(
            f"{where}：criterion 指标的 numerator.count 须为 passed/failed/unknown"
        )
    dimension = str(raw.get("dimension") or "")
    if dimension and dimension not in DIMENSIONS[grain]:
        raise IndicatorError(f"{where}：dimension 须为 {'、'.join(DIMENSIONS[grain])} 之一")
    source = str(raw.get("source") or "")
    if not source or source not in sources:
        raise IndicatorError(f"{where}：source 须为本文件 sources 中声明的键")
    scale = int(raw.get("scale", 1))
    if scale not in (1, 100, 1000):
        raise IndicatorError(f"{where}：scale 须为 1、100 或 1000")
    listing = raw.get("household_list") or {}
    if not isinstance(listing, dict) or set(listing) - {"status", "attribute", "cause"}:
        raise IndicatorError(f"{where}：household_list 只能有 status、attribute、cause")
    label = str(raw.get("label") or "")
    if not label:
        raise IndicatorError(f"{where}：缺少中文 label")
    return IndicatorDef(
        id=ident,
        label=label,
        unit=str(raw.get("unit") or ""),
        grain=grain,
        period=period,
        group=group,
        numerator=numerator,
        denominator=denominator,
        filters=filters,
        dimension=dimension,
        scale=scale,
        source=source,
        source_label=str(sources[source]),
        description=str(raw.get("description") or ""),
        household_list={str(k): str(v) for k, v in listing.items()},
        file=name,
        label_en=str(raw.get("label_en") or ""),
        unit_en=str(raw.get("unit_en") or ""),
    )


def _vocabulary(grain: str) -> dict[str, str]:
    if grain == "criterion":
        return {"criterion": "text"}
    if grain == "person":
        return {**HOUSEHOLD_FIELDS, **MEMBER_FIELDS}
    return dict(HOUSEHOLD_FIELDS)


def _fields(cond: Mapping[str, Any]) -> Iterable[str]:
    for key, test in cond.items():
        if key == "any":
            for sub in test:
                yield from _fields(sub)
        else:
            yield key


def _check_condition(cond: Any, vocabulary: dict[str, str], where: str) -> None:
    if not isinstance(cond, dict):
        raise IndicatorError(f"{where}：条件须为映射")
    for key, test in cond.items():
        if key == "any":
            if not isinstance(test, list) or not test:
                raise IndicatorError(f"{where}：any 须为非空列表")
            for sub in test:
                _check_condition(sub, vocabulary, where)
            continue
        if key not in vocabulary:
            raise IndicatorError(f"{where}：未知字段 {key}")
        if isinstance(test, dict):
            if not test or set(test) - OPS:
                raise IndicatorError(f"{where}：{key} 的运算须为 {'、'.join(sorted(OPS))}")
            for op, value in test.items():
                _check_value(value, vocabulary[key], where, key, many=op in ("in", "not_in"))
        else:
            _check_value(test, vocabulary[key], where, key, many=isinstance(test, list))


def _check_value(value: Any, kind: str, where: str, key: str, *, many: bool) -> None:
    values = value if many else [value]
    if not isinstance(values, list):
        raise IndicatorError(f"{where}：{key} 须为列表")
    for v in values:
        ok = (
            v is None
            or (kind == "bool" and isinstance(v, bool))
            or (kind == "int" and isinstance(v, int) and not isinstance(v, bool))
            or (kind == "text" and isinstance(v, str))
        )
        if not ok:
            raise IndicatorError(f"{where}：{key} 的值 {v!r} 类型不符")


# --- SQL -------------------------------------------------------------------------------------


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, (datetime.date, str)):
        return "'" + str(value).replace("'", "''") + "'"
    raise IndicatorError(f"无法写成 SQL 的值 {value!r}")


def _expand(key: str, value: Any) -> Any:
    if key == "status" and isinstance(value, str) and value in STATUS_GROUPS:
        return list(STATUS_GROUPS[value])
    if key == "status" and isinstance(value, list):
        out: list[str] = []
        for v in value:
            out.extend(STATUS_GROUPS.get(v, (v,)))
        return out
    return value


def condition_sql(cond: Mapping[str, Any], columns: Mapping[str, str] | None = None) -> str:
    """The condition as a DuckDB boolean expression; `columns` maps field -> SQL column."""
    cols = columns or {}
    parts: list[str] = []
    for key, test in cond.items():
        if key == "any":
            parts.append("(" + " OR ".join(condition_sql(s, cols) for s in test) + ")")
            continue
        col = cols.get(key, f'"{key}"')
        tests = test if isinstance(test, dict) else {"in" if isinstance(test, list) else "eq": test}
        for op, raw in tests.items():
            value = _expand(key, raw)
            if isinstance(value, list) and op == "eq":
                op = "in"
            parts.append(_compare(col, op, value))
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def _compare(col: str, op: str, value: Any) -> str:
    if op == "is_null":
        return f"({col} IS NULL)" if value else f"({col} IS NOT NULL)"
    if op in ("in", "not_in"):
        values = value if isinstance(value, list) else [value]
        listed = [v for v in values if v is not None]
        sql = f"{col} IN ({', '.join(literal(v) for v in listed)})" if listed else "FALSE"
        if None in values:
            sql = f"({sql} OR {col} IS NULL)"
        return f"(coalesce({sql}, FALSE))" if op == "in" else f"(NOT coalesce({sql}, FALSE))"
    if value is None:
        return f"({col} IS NULL)" if op == "eq" else f"({col} IS NOT NULL)"
    sign = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    if op == "ne":  # a missing value differs from any given value
        return f"({col} IS DISTINCT FROM {literal(value)})"
    return f"coalesce({col} {sign} {literal(value)}, FALSE)"
