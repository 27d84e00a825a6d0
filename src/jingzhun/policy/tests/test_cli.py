"""`jingzhun policy evaluate`: JSON facts in, one decision summary per household out."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

PASSING = {
    "household_code": "H1",
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
    "members": [{"name": "甲", "birth_date": "1960-01-01", "basic_medical_insured": True}],
    "income": {
        "wage_income": 9000,
        "business_income": 0,
        "property_income": 0,
        "transfer_income": 0,
        "business_costs": 0,
    },
}


def run(tmp_path: Path, data: Any, *extra: str) -> list[dict[str, Any]]:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()
    call_command(
        "policy",
        "evaluate",
        "--standard",
        "household_exit",
        "--year",
        "2019",
        str(path),
        *extra,
        stdout=out,
    )
    return json.loads(out.getvalue())


def test_prints_passed_failed_unknown_and_the_policy_version(tmp_path: Path) -> None:
    failing = {**PASSING, "household_code": "H2", "food_secure": False, "income": None}
    result = run(tmp_path, [PASSING, failing])
    assert [set(r) for r in result] == [
        {"household_code", "passed", "failed", "unknown", "policy_version"}
    ] * 2
    assert (result[0]["passed"], result[0]["failed"], result[0]["unknown"]) == (True, [], [])
    assert (result[1]["passed"], result[1]["failed"], result[1]["unknown"]) == (
        False,
        ["food"],
        ["income"],
    )
    assert (
        result[0]["policy_version"] == result[1]["policy_version"]
        and len(result[0]["policy_version"]) == 64
    )


def test_gansu_households_get_the_provincial_variant(tmp_path: Path) -> None:
    gansu = {
        **PASSING,
        "village_code": "620102001001",
        "members": [
            {
                "name": "甲",
                "birth_date": "1960-01-01",
                "basic_medical_insured": True,
                "health_status": "serious_illness",
            }
        ],
    }
    result = run(tmp_path, [PASSING, gansu])
    assert result[0]["passed"] is True
    assert result[1]["failed"] == ["blocker_serious_illness"]
    assert result[0]["policy_version"] != result[1]["policy_version"]


def test_trace_explains_each_criterion_in_chinese(tmp_path: Path) -> None:
    result = run(
        tmp_path, [{**PASSING, "income": {**PASSING["income"], "wage_income": 3218}}], "--trace"
    )
    income = next(c for c in result[0]["criteria"] if c["id"] == "income")
    assert income["result"] == "failed"
    assert "3,218" in income["explanation"] and "2019" in income["explanation"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"household_code": "H1"}, "列表"),
        ([{"household_code": "H9", "members": "甲"}], "第 1 户（H9）：字段 members 类型不对"),
        (
            [PASSING, {"household_code": "H8", "members": [1]}],
            "第 2 户（H8）：members 第 1 项应为对象",
        ),
        (
            [PASSING, {"household_code": "H7", "income": [1, 2]}],
            "第 2 户（H7）：字段 income 类型不对",
        ),
    ],
)
def test_malformed_input_names_the_household_and_field(
    tmp_path: Path, data: Any, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run(tmp_path, data)


def test_broken_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"household_code": "H1",}]', encoding="utf-8")
    with pytest.raises(CommandError, match="不是有效的 JSON：第 1 行"):
        call_command(
            "policy", "evaluate", "--standard", "household_exit", "--year", "2019", str(path)
        )


def test_a_household_without_identification_standard_has_no_line_so_income_is_unknown(
    tmp_path: Path,
) -> None:
    facts = {k: v for k, v in PASSING.items() if k != "identification_standard"}
    result = run(tmp_path, [facts], "--trace")
    income = next(c for c in result[0]["criteria"] if c["id"] == "income")
    assert (income["result"], income["missing"]) == ("unknown", ["poverty_line"])
