"""Configurable parameters of the household exit standard change the decision as documented."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from jingzhun.policy.decide import decide
from jingzhun.policy.store import PolicyError, PolicyStore, default_root, default_store

FACTS: dict[str, Any] = {
    "household_code": "T1",
    "village_code": "230231100201",
    "identification_standard": "national",
    "food_secure": True,
    "clothing_secure": True,
    "house_safety_grade": "A",
    "relocated": False,
    "water_quantity_ok": True,
    "water_quality_ok": True,
    "water_convenience_ok": True,
    "water_reliability_ok": True,
    "members": [
        {"name": "甲", "birth_date": "1950-01-01", "basic_medical_insured": True},
    ],
    # 2019 line 3218: wage 2300 + pension 1000 = 3300 > 3218; without the pension 2300 < 3218
    "income": {
        "wage_income": 2300,
        "business_income": 0,
        "property_income": 0,
        "transfer_income": 1000,
        "pension_payment": 1000,
        "business_costs": 0,
    },
}


def _store_with(tmp_path: Path, old: str, new: str) -> PolicyStore:
    root = tmp_path / "policies"
    shutil.copytree(default_root(), root)
    path = root / "standards" / "household_exit" / "national-2016-04-28.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return PolicyStore.load(root)


def test_all_transfer_items_count_by_default() -> None:
    decision = decide(default_store(), "household_exit", FACTS, year=2019)
    assert decision.passed


def test_an_item_left_out_is_deducted_from_transfer_income(tmp_path: Path) -> None:
    store = _store_with(tmp_path, "      - pension_payment\n", "")
    decision = decide(store, "household_exit", FACTS, year=2019)
    assert decision.failed == ["income"]
    income = decision.criteria[0]
    assert income.observed["per_capita_net_income"] == 2300
    # an unrecorded deducted item: the amount to deduct is unknown, so the income is unknown
    facts = {**FACTS, "income": {**FACTS["income"], "pension_payment": None}}
    assert decide(store, "household_exit", facts, year=2019).unknown == ["income"]


def test_an_unknown_transfer_item_is_refused(tmp_path: Path) -> None:
    store = _store_with(tmp_path, "      - pension_payment\n", "      - lottery_winnings\n")
    with pytest.raises(PolicyError, match="counted_transfer_items"):
        decide(store, "household_exit", FACTS, year=2019)


def test_requiring_the_previous_year_is_refused_not_ignored(tmp_path: Path) -> None:
    store = _store_with(
        tmp_path,
        "    value: false\n    configurable: true\n    source: local_practice\n    note: >\n      默认关闭",
        "    value: true\n    configurable: true\n    source: local_practice\n    note: >\n      默认关闭",
    )
    with pytest.raises(PolicyError, match="require_previous_year"):
        decide(store, "household_exit", FACTS, year=2019)
