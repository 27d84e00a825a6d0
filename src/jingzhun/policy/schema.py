"""Pydantic models of the policy file format `jingzhun.policy/v1` (files under `policies/`).

Pure Python: no Django here (the policy compute code must run without it).

Two kinds of file share one header:
- `kind: table`: a lookup table (poverty lines, monitoring ranges, helper quotas); each row has
  key fields, a value (or a formula, or nothing when the value is configurable) and a source key.
- `kind: standard`: parameters, variables and criteria written in the rule language
  (docs/development/rule-language.md); a provincial file `extends` the national one.

Every value names a source key declared in the file's `sources`, and every source carries one
of the labels of domain.md: official / press / secondary / reports / unsourced.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_ID = "jingzhun.policy/v1"

SourceLabel = Literal["official", "press", "secondary", "reports", "unsourced"]

SOURCE_LABELS_ZH: dict[str, str] = {
    "official": "官方文件或网站",
    "press": "官方媒体报道",
    "secondary": "转载或问答页面（待核实）",
    "reports": "县级报告",
    "unsourced": "未找到来源（可配置）",
}

NAME_RE = r"^[a-z][a-z0-9_]*$"
Name = Annotated[str, Field(pattern=NAME_RE)]
Jurisdiction = Annotated[str, Field(pattern=r"^(national|[1-9][0-9])$")]
Scalar = bool | int | Decimal | str
KeyValue = int | str

PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
PLACEHOLDER_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


class Strict(BaseModel):
    """Base: unknown keys are refused, values are not silently coerced from other shapes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    title: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    label: SourceLabel
    url: str | None = None
    note: str | None = None


class Header(Strict):
    schema_: Literal["jingzhun.policy/v1"] = Field(alias="schema")
    id: Name
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    jurisdiction: Jurisdiction
    effective_from: date
    effective_to: date | None = None
    sources: dict[Name, Source] = Field(min_length=1)
    note: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    @model_validator(mode="after")
    def _dates_in_order(self) -> Header:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to 早于 effective_from")
        return self

    def _check_source(self, key: str, where: str) -> None:
        if key not in self.sources:
            raise ValueError(f"{where} 引用的来源 “{key}” 未在 sources 中声明")


# ---------------------------------------------------------------------------------------- tables


class TableRow(Strict):
    key: dict[Name, KeyValue] = Field(default_factory=dict)
    value: Decimal | None = None
    formula: str | None = None
    configurable: bool = False
    source: Name
    note: str | None = None

    @model_validator(mode="after")
    def _value_present(self) -> TableRow:
        if self.value is None and self.formula is None and not self.configurable:
            raise ValueError("没有 value 的行必须给出 formula 或标明 configurable: true")
        return self


class TableFile(Header):
    kind: Literal["table"]
    unit: str = Field(min_length=1)
    keys: list[Name] = Field(min_length=1)
    defaults: dict[Name, KeyValue] = Field(default_factory=dict)
    rows: list[TableRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _rows_consistent(self) -> TableFile:
        unknown_defaults = sorted(set(self.defaults) - set(self.keys))
        if unknown_defaults:
            raise ValueError(f"defaults 含未声明的键：{', '.join(unknown_defaults)}")
        seen: set[tuple[tuple[str, str], ...]] = set()
        for i, row in enumerate(self.rows):
            self._check_source(row.source, f"rows[{i}]")
            unknown = sorted(set(row.key) - set(self.keys))
            if unknown:
                raise ValueError(f"rows[{i}].key 含未声明的键：{', '.join(unknown)}")
            ident = tuple(sorted((k, str(v)) for k, v in row.key.items()))
            if ident in seen:
                raise ValueError(f"rows[{i}] 与前面的行键值重复")
            seen.add(ident)
        return self


# ------------------------------------------------------------------------------------- standards


class Parameter(Strict):
    """One of: a constant `value`, named `fields` (school_age.min …), or a `table` lookup `by`."""

    label: str = Field(min_length=1)
    source: Name
    value: Scalar | list[str] | None = None
    fields: dict[Name, Scalar] | None = None
    table: Name | None = None
    by: list[Name] | None = None
    unit: str | None = None
    configurable: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Parameter:
        forms = [f for f in ("value", "fields", "table") if f in self.model_fields_set]
        if len(forms) != 1:
            raise ValueError("参数必须且只能给出 value、fields、table 三者之一")
        if (self.table is None) != (self.by is None):
            raise ValueError("table 与 by 必须同时给出")
        return self


class Variable(Strict):
    label: str = Field(min_length=1)
    expr: str = Field(min_length=1)
    source: Name
    note: str | None = None


class Criterion(Strict):
    id: Name
    label: str = Field(min_length=1)
    kind: Literal["criterion", "blocker"] = "criterion"
    source: Name
    holds: str = Field(min_length=1)
    explain: str = Field(min_length=1)
    note: str | None = None

    @field_validator("explain")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        for name in PLACEHOLDER_RE.findall(text):
            if not PLACEHOLDER_NAME_RE.match(name):
                raise ValueError(f"说明模板中的占位符 “{{{name}}}” 不是合法名称")
        return text


class Formula(Strict):
    label: str = Field(min_length=1)
    text: str = Field(min_length=1)
    expr: str | None = None
    source: Name


class StandardFile(Header):
    kind: Literal["standard"]
    extends: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*/national$")
    inputs: dict[Name, str] = Field(default_factory=dict)
    parameters: dict[Name, Parameter] = Field(default_factory=dict)
    variables: dict[Name, Variable] = Field(default_factory=dict)
    formulas: dict[Name, Formula] = Field(default_factory=dict)
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> StandardFile:
        if self.jurisdiction == "national" and self.extends is not None:
            raise ValueError("全国标准不能 extends 其他标准")
        if self.extends is not None and self.extends.split("/")[0] != self.id:
            raise ValueError(f"extends “{self.extends}” 与 id “{self.id}” 不一致")
        for name, p in self.parameters.items():
            self._check_source(p.source, f"parameters.{name}")
        for name, v in self.variables.items():
            self._check_source(v.source, f"variables.{name}")
        for name, f in self.formulas.items():
            self._check_source(f.source, f"formulas.{name}")
        ids: set[str] = set()
        for i, c in enumerate(self.criteria):
            self._check_source(c.source, f"criteria[{i}]")
            if c.id in ids:
                raise ValueError(f"criteria[{i}] 的 id “{c.id}” 重复")
            ids.add(c.id)
        clash = sorted(set(self.parameters) & set(self.variables))
        if clash:
            raise ValueError(f"参数与变量同名：{', '.join(clash)}")
        return self


# ------------------------------------------------------------------------ measure catalogues


class Department(Strict):
    name: str = Field(min_length=1)
    source: Name


class MeasureKindEntry(Strict):
    """One kind of assistance measure (帮扶措施类型): its code, name, responsible department,
    whether it counts as an industry link (产业带动) and the risk types (registry RISK_TYPE codes)
    it addresses."""

    code: Name
    name: str = Field(min_length=1)
    department: Name
    industry_link: bool = False
    risk_types: list[Name] = Field(default_factory=list)
    source: Name
    note: str | None = None


class CoverageRule(Strict):
    """A derived coverage rule: households of a group need at least `min` measures (of the kinds
    with `industry_link` when `industry_link` is true), or one measure addressing each risk type
    of a monitored household (`each_risk_type`)."""

    id: Name
    title: str = Field(min_length=1)
    applies_to: Literal["registered", "monitored"]
    industry_link: bool = False
    min: int | None = Field(default=None, ge=1)
    each_risk_type: bool = False
    source: Name
    note: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> CoverageRule:
        if (self.min is None) == (not self.each_risk_type):
            raise ValueError("覆盖规则必须且只能给出 min 或 each_risk_type: true 之一")
        return self


class MeasureCatalogueFile(Header):
    kind: Literal["measure_catalogue"]
    departments: dict[Name, Department] = Field(min_length=1)
    kinds: list[MeasureKindEntry] = Field(min_length=1)
    rules: list[CoverageRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _entries_consistent(self) -> MeasureCatalogueFile:
        for key, dep in self.departments.items():
            self._check_source(dep.source, f"departments.{key}")
        codes: set[str] = set()
        for i, entry in enumerate(self.kinds):
            self._check_source(entry.source, f"kinds[{i}]")
            if entry.department not in self.departments:
                raise ValueError(f"kinds[{i}] 的部门 “{entry.department}” 未在 departments 中声明")
            if entry.code in codes:
                raise ValueError(f"kinds[{i}] 的代码 “{entry.code}” 重复")
            codes.add(entry.code)
        ids: set[str] = set()
        for i, rule in enumerate(self.rules):
            self._check_source(rule.source, f"rules[{i}]")
            if rule.id in ids:
                raise ValueError(f"rules[{i}] 的 id “{rule.id}” 重复")
            ids.add(rule.id)
        return self


# ------------------------------------------------------------------- department feeds (issue 22)


class FeedColumn(Strict):
    """One column of a department roster. `field` names a registry.dictionary field when the
    column carries one (its label and synonyms then match the header); otherwise `label` and
    `synonyms` do. `kind` is how a cell is read."""

    key: Name
    field: Name | None = None
    label: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    kind: Literal["text", "money", "integer", "date", "code"] = "text"
    codes: dict[Name, list[str]] = Field(default_factory=dict)  # code -> spellings (kind code)
    required: bool = False

    @model_validator(mode="after")
    def _named(self) -> FeedColumn:
        if self.field is None and not self.label:
            raise ValueError(f"列 {self.key} 必须给出 field（数据字典字段）或 label")
        if self.kind == "code" and not self.codes and self.field is None:
            raise ValueError(f"列 {self.key} 为代码列，必须给出 codes 或数据字典字段")
        return self


class FeedSchedule(Strict):
    every: Literal["day", "week", "month", "quarter", "year", "event"]
    day: int | None = Field(default=None, ge=1, le=31)  # day of the month (month/quarter)
    note: str | None = None


class FeedEntry(Strict):
    """One department feed (部门数据源): code, name, department, schedule and its columns."""

    code: Name
    name: str = Field(min_length=1)
    department: Name
    schedule: FeedSchedule
    columns: list[FeedColumn] = Field(min_length=1)
    source: Name
    note: str | None = None


class Condition(Strict):
    """`column` (a feed column key, `member.<field>` of the matched member, or `age`: the
    matched member's age in whole years on the day of screening) compared with `op`."""

    column: str = Field(min_length=1)
    op: Literal["eq", "in", "gt", "gte", "lt", "lte", "between", "present"]
    value: Any = None
    # a missing value (an empty cell, an unmatched member field): the condition fails, or holds
    # (a vehicle roster without values: flag it and let the household explain)
    if_missing: Literal["fails", "holds"] = "fails"


class FeedRule(Strict):
    """A red line (flags the household) or a warning (opens a monitoring case) over one feed's
    matched rows (all `when` conditions hold), or over the registry's incomes (`feed:
    registry_income`: per-capita net income below the monitoring range)."""

    id: Name
    kind: Literal["red_line", "warning"]
    title: str = Field(min_length=1)
    feed: Name
    when: list[Condition] = Field(default_factory=list)
    risk_type: Name | None = None  # registry RISK_TYPE code of the opened case (warnings)
    source: Name
    note: str | None = None

    @model_validator(mode="after")
    def _risk(self) -> FeedRule:
        if self.kind == "warning" and not self.risk_type:
            raise ValueError(f"预警规则 {self.id} 必须给出 risk_type")
        return self


REGISTRY_INCOME: str = "registry_income"


class FeedCatalogueFile(Header):
    kind: Literal["feed_catalogue"]
    departments: dict[Name, Department] = Field(min_length=1)
    feeds: list[FeedEntry] = Field(min_length=1)
    rules: list[FeedRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _entries_consistent(self) -> FeedCatalogueFile:
        for key, dep in self.departments.items():
            self._check_source(dep.source, f"departments.{key}")
        columns: dict[str, set[str]] = {}
        for i, feed in enumerate(self.feeds):
            self._check_source(feed.source, f"feeds[{i}]")
            if feed.department not in self.departments:
                raise ValueError(f"feeds[{i}] 的部门 “{feed.department}” 未在 departments 中声明")
            if feed.code in columns:
                raise ValueError(f"feeds[{i}] 的代码 “{feed.code}” 重复")
            keys = [c.key for c in feed.columns]
            if "id_number" not in keys:
                raise ValueError(f"feeds[{i}]（{feed.code}）必须有 id_number 列（证件号码）")
            columns[feed.code] = set(keys)
        ids: set[str] = set()
        for i, rule in enumerate(self.rules):
            self._check_source(rule.source, f"rules[{i}]")
            if rule.id in ids:
                raise ValueError(f"rules[{i}] 的 id “{rule.id}” 重复")
            ids.add(rule.id)
            if rule.feed == REGISTRY_INCOME:
                continue
            if rule.feed not in columns:
                raise ValueError(f"rules[{i}] 的数据源 “{rule.feed}” 未在 feeds 中声明")
            for cond in rule.when:
                name = cond.column
                if (
                    name != "age"
                    and not name.startswith("member.")
                    and name not in columns[rule.feed]
                ):
                    raise ValueError(f"rules[{i}] 的条件列 “{name}” 不是数据源 {rule.feed} 的列")
        return self


# --------------------------------------------------------------------------- 2026 layers


# The facts a layer rule combines (feeds.layers computes each over a county's households).
LAYER_FACTS: tuple[str, ...] = (
    "tekun",  # 特困: the civil-affairs feed says so (else the registry's attribute)
    "dibao",  # 低保: likewise
    "dibao_edge",  # 低保边缘: the civil-affairs feed only
    "no_labour_capacity",  # no present member with ordinary or skilled labour capacity
    "monitored_risk",  # a monitored household whose risk is not eliminated
    "open_warning",  # a department warning not yet settled
    "registered",  # a registered household (poor or exited)
    "labour_capacity",  # at least one present member with ordinary or skilled labour capacity
)
LayerFact = Literal[
    "tekun",
    "dibao",
    "dibao_edge",
    "no_labour_capacity",
    "monitored_risk",
    "open_warning",
    "registered",
    "labour_capacity",
]


class LayerEntry(Strict):
    """One layer: a household is in it when all facts of any one list of `when_any` hold (and
    it is in no layer listed before)."""

    code: Name
    name: str = Field(min_length=1)
    when_any: list[list[LayerFact]] = Field(min_length=1)
    source: Name
    note: str | None = None

    @model_validator(mode="after")
    def _lists(self) -> LayerEntry:
        if any(not group for group in self.when_any):
            raise ValueError(f"分层 {self.code} 的 when_any 含空条件组")
        return self


class LayerRulesFile(Header):
    """Layers of the rural low-income population (农村低收入人口分层分类帮扶, 2026), in order."""

    kind: Literal["layer_rules"]
    layers: list[LayerEntry] = Field(min_length=1)
    unlayered: str = Field(min_length=1)  # the name shown for a household in no layer

    @model_validator(mode="after")
    def _layers(self) -> LayerRulesFile:
        seen: set[str] = set()
        for i, layer in enumerate(self.layers):
            self._check_source(layer.source, f"layers[{i}]")
            if layer.code in seen:
                raise ValueError(f"layers[{i}] 的代码 “{layer.code}” 重复")
            seen.add(layer.code)
        return self


# ------------------------------------------------------------- points shops (issue 23 item 5)


class PointsItem(Strict):
    """One way a household earns points (积分事项): points per occurrence, and whether it counts
    only after the village's monthly appraisal has been posted (月度评议公示)."""

    code: Name
    name: str = Field(min_length=1)
    points: int = Field(ge=1, le=1000)
    appraisal: bool = False
    source: Name
    note: str | None = None


class StarCriterion(Strict):
    """One criterion of the household star rating (五星新农家) and the stars it can give."""

    code: Name
    name: str = Field(min_length=1)
    stars: int = Field(ge=1, le=5)
    source: Name
    note: str | None = None


class PointsRulesFile(Header):
    """Points shop rules (爱心超市积分) and the star rating (五星新农家) of a jurisdiction."""

    kind: Literal["points_rules"]
    point_value_fen: int = Field(ge=1)  # what one point buys, in fen (never paid in cash)
    monthly_cap: int = Field(ge=1)  # most points a household earns in a calendar month
    appraisal_posting_days: int = Field(ge=0)  # days the monthly appraisal stays posted
    carry_over: bool = True  # balances carry over into the next month and year
    expires_after_months: int | None = Field(default=None, ge=1)  # None: points never expire
    rules_source: Name  # the source of the cap, the posting days and the carry-over
    items: list[PointsItem] = Field(min_length=1)
    star_criteria: list[StarCriterion] = Field(min_length=1)
    full_stars: int = Field(ge=1)  # stars a household needs to be listed as 五星

    @model_validator(mode="after")
    def _entries(self) -> PointsRulesFile:
        self._check_source(self.rules_source, "rules_source")
        named: list[tuple[str, list[tuple[str, str]]]] = [
            ("items", [(e.code, e.source) for e in self.items]),
            ("star_criteria", [(c.code, c.source) for c in self.star_criteria]),
        ]
        for what, entries in named:
            seen: set[str] = set()
            for i, (code, source) in enumerate(entries):
                self._check_source(source, f"{what}[{i}]")
                if code in seen:
                    raise ValueError(f"{what}[{i}] 的代码 “{code}” 重复")
                seen.add(code)
        if self.full_stars > sum(c.stars for c in self.star_criteria):
            raise ValueError("full_stars 超过各项星数之和")
        return self


PolicyFile = Annotated[
    TableFile
    | StandardFile
    | MeasureCatalogueFile
    | FeedCatalogueFile
    | LayerRulesFile
    | PointsRulesFile,
    Field(discriminator="kind"),
]
