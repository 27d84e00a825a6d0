"""Golden cases: facts in, expected decision out (tests/policy_cases/*.yaml)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from jingzhun.policy.decide import decide
from jingzhun.policy.store import PolicyStore

CASES_DIR = Path(__file__).parent / "policy_cases"


def _apply(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    facts = copy.deepcopy(base)
    for key, value in patch.items():
        if key == "income" and isinstance(value, dict):
            facts["income"] = {**(facts.get("income") or {}), **value}
        elif key == "add_members":
            facts["members"] = [*facts["members"], *value]
        else:
            facts[key] = copy.deepcopy(value)
    return facts


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            facts = _apply(doc["base"], case.get("patch") or {})
            params.append(
                pytest.param(doc["standard"], case, facts, id=f"{path.stem}:{case['name']}")
            )
    return params


@pytest.fixture(scope="module")
def store() -> PolicyStore:
    return PolicyStore.load()


def test_there_are_at_least_forty_golden_cases() -> None:
    assert len(_cases()) >= 40


@pytest.mark.parametrize(("standard", "case", "facts"), _cases())
def test_golden_case(
    store: PolicyStore, standard: str, case: dict[str, Any], facts: dict[str, Any]
) -> None:
    decision = decide(store, standard, facts, year=case["year"])
    expect = case["expect"]
    assert (decision.passed, sorted(decision.failed), sorted(decision.unknown)) == (
        expect["passed"],
        sorted(expect["failed"]),
        sorted(expect["unknown"]),
    ), [(c.id, c.result, c.explanation) for c in decision.criteria]
    assert len(decision.policy_version) == 64
    for criterion in decision.criteria:
        assert criterion.explanation and "{" not in criterion.explanation


def test_a_year_before_the_standard_took_effect_is_a_clear_error(store: PolicyStore) -> None:
    from jingzhun.policy.store import PolicyError

    with pytest.raises(PolicyError, match="没有有效的 household_exit 标准"):
        decide(store, "household_exit", {"village_code": "230231100201", "members": []}, year=2014)
