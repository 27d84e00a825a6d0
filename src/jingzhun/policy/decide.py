"""Judging one household against a resolved standard: one result per criterion, with reasons.

Pure Python (no Django): parameters are looked up in the policy store by year, province and the
household's identification standard; each criterion's expression is evaluated with a trace; the
decision carries the policy version (content hash) so it can be replayed and explained later.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .interpreter import Result, evaluate
from .lang import Node, RuleError, parse
from .store import PolicyError, PolicyStore, ResolvedStandard

PASSED, FAILED, UNKNOWN = "passed", "failed", "unknown"
RESULT_LABELS = {PASSED: "通过", FAILED: "未通过", UNKNOWN: "未知"}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
# The itemised transfer incomes (domain.md 2.4) that parameter `counted_transfer_items` selects.
TRANSFER_ITEMS = (
    "ecological_compensation",
    "dibao_payment",
    "tekun_payment",
    "pension_payment",
    "family_planning_payment",
    "other_transfer",
)


@dataclass(frozen=True)
class CriterionResult:
    id: str
    label: str
    kind: str  # criterion or blocker
    result: str  # passed / failed / unknown
    explanation: str
    observed: dict[str, Any]
    required: dict[str, Any]
    missing: list[str]
    members: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    household_code: str
    standard: str
    year: int
    province: str | None
    reference_date: str
    policy_version: str
    policy_files: list[str]
    passed: bool
    criteria: list[CriterionResult]

    @property
    def failed(self) -> list[str]:
        return [c.id for c in self.criteria if c.result == FAILED]

    @property
    def unknown(self) -> list[str]:
        return [c.id for c in self.criteria if c.result == UNKNOWN]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"], data["unknown"] = self.failed, self.unknown
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class CompiledStandard:
    """A resolved standard with its expressions parsed once, for judging many households."""

    def __init__(self, standard: ResolvedStandard, store: PolicyStore) -> None:
        self.standard = standard
        self.store = store
        self.variables: dict[str, Node] = {n: parse(v.expr) for n, v in standard.variables.items()}
        self._apply_counted_transfer_items()
        previous = standard.parameters.get("require_previous_year")
        if previous is not None and previous.value is True:
            # Refused rather than ignored: judging without it would pass households the policy
            # means to hold back. Needs the previous year's income in the facts (not yet there).
            raise PolicyError(
                "参数 require_previous_year（要求上一年度也超过标准）已开启，但本系统尚未支持按两个"
                "年度判定；请关闭该参数，或等待后续版本。"
            )
        self.criteria: list[tuple[Any, Node]] = [(c, parse(c.holds)) for c in standard.criteria]
        # The version of a decision covers the standard's files and every table it reads, so a
        # changed poverty line is a new policy version even though the standard file is the same.
        tables = sorted({p.table for p in standard.parameters.values() if p.table})
        hashes = [standard.hash, *(store.table_file(t, standard.on).hash for t in tables)]
        self.version = hashlib.sha256("+".join(hashes).encode()).hexdigest()
        self.files = [f"{f.path}@{f.hash[:12]}" for f in standard.files] + [
            f"{store.table_file(t, standard.on).path}@{store.table_file(t, standard.on).hash[:12]}"
            for t in tables
        ]

    def _apply_counted_transfer_items(self) -> None:
        """Items left out of `counted_transfer_items` are deducted from transfer_income (in the
        variable counted_transfer_income); an unrecorded deducted item makes the income unknown."""
        param = self.standard.parameters.get("counted_transfer_items")
        if param is None or "counted_transfer_income" not in self.variables:
            return
        items = param.value if isinstance(param.value, list) else None
        if items is None or any(i not in TRANSFER_ITEMS for i in items):
            known = "、".join(TRANSFER_ITEMS)
            raise PolicyError(f"参数 counted_transfer_items 应为以下项目的列表：{known}")
        excluded = [i for i in TRANSFER_ITEMS if i not in items]
        if excluded:
            expr = "income.transfer_income - " + " - ".join(f"income.{i}" for i in excluded)
            self.variables["counted_transfer_income"] = parse(expr)

    def parameters(
        self, *, year: int, province: str | None, facts: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Parameter values for one household: constants, field groups and table lookups."""
        values: dict[str, Any] = {}
        for name, param in self.standard.parameters.items():
            if param.table:
                keys: dict[str, Any] = {}
                for key in param.by or []:
                    if key == "year":
                        keys[key] = year
                    elif key == "province":
                        keys[key] = province
                    else:
                        keys[key] = facts.get(key) or None
                found = self.store.lookup(param.table, on=date(year, 12, 31), **keys)
                values[name] = found.value if found is not None else None
            elif param.fields is not None:
                values[name] = dict(param.fields)
            else:
                values[name] = param.value
        return values

    def decide(
        self, facts: Mapping[str, Any], *, year: int, province: str | None = None
    ) -> Decision:
        """Judge one household. A criterion passes only when its expression is true."""
        province = province or (str(facts.get("village_code") or "")[:2] or None)
        params = self.parameters(year=year, province=province, facts=facts)
        results = []
        for criterion, node in self.criteria:
            outcome = evaluate(
                node, dict(facts), params=params, variables=self.variables, year=year
            )
            results.append(self._result(criterion, outcome, params, year, facts))
        return Decision(
            household_code=str(facts.get("household_code", "")),
            standard=self.standard.id,
            year=year,
            province=province,
            reference_date=date(year, 12, 31).isoformat(),
            policy_version=self.version,
            policy_files=self.files,
            passed=all(r.result == PASSED for r in results),
            criteria=results,
        )

    def _result(
        self,
        criterion: Any,
        outcome: Result,
        params: Mapping[str, Any],
        year: int,
        facts: Mapping[str, Any] | None = None,
    ) -> CriterionResult:
        value = outcome.value
        result = PASSED if value is True else FAILED if value is False else UNKNOWN
        trace = outcome.trace
        values = {**trace.reads, **trace.variables}
        is_param = {k: k.split(".")[0] in params for k in values}
        observed = {k: v for k, v in values.items() if not is_param[k]}
        required = {k: v for k, v in values.items() if is_param[k]}
        # Only an unknown result is explained by missing values; a decided one may have read
        # null fields that did not matter (Kleene logic short-circuits).
        missing = sorted(k for k, v in values.items() if v is None) if result == UNKNOWN else []
        # The members that decided a quantifier: those matching `any`, those failing `all`.
        members = [
            ref.name or f"第{ref.index + 1}名成员"
            for q in trace.quantifiers
            if q.func in ("any", "all")
            for ref in (q.true if q.func == "any" else q.false)
        ]
        context = {
            **params,
            **observed,
            "year": year,
            "matching_members": "、".join(members) or "无",
        }
        if facts is not None:
            # a variable the explanation names but the rule did not need (the incidence of
            # `remaining < max * population`) is evaluated for the text only
            for name in _PLACEHOLDER.findall(criterion.explain):
                if name not in context and name in self.variables:
                    try:
                        shown = evaluate(
                            self.variables[name],
                            dict(facts),
                            params=params,
                            variables=self.variables,
                            year=year,
                        )
                    except RuleError:  # e.g. a division by a zero population: left unknown
                        continue
                    context[name] = shown.value
        explanation = _PLACEHOLDER.sub(
            lambda m: _show(_dig(context, m.group(1))), criterion.explain
        )
        if result == UNKNOWN and missing:
            explanation += f"（缺少：{'、'.join(missing)}）"
        return CriterionResult(
            id=criterion.id,
            label=criterion.label,
            kind=criterion.kind,
            result=result,
            explanation=explanation,
            observed=observed,
            required=required,
            missing=missing,
            members=members,
        )


def _dig(context: Mapping[str, Any], dotted: str) -> Any:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _show(value: Any) -> str:
    if value is None:
        return "未知"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return f"{value:,.0f}"
        # a rate (0.0021) would read 0.00 with two places
        return f"{value:.4f}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def decide(
    store: PolicyStore,
    standard_id: str,
    facts: Mapping[str, Any],
    *,
    year: int,
    province: str | None = None,
) -> Decision:
    """Convenience: resolve the standard for the year and province, then judge one household."""
    province = province or (str(facts.get("village_code") or "")[:2] or None)
    standard = store.standard_for_year(standard_id, year=year, province=province)
    return CompiledStandard(standard, store).decide(facts, year=year, province=province)
