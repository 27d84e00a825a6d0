"""`jingzhun idcard check` prints one JSON object per input, with the documented keys."""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.core.management import call_command

KEYS = {"input", "valid", "normalized", "birth_date", "sex", "region_code", "error"}


def run(*numbers: str) -> tuple[list[dict[str, object]], int]:
    out = io.StringIO()
    code = 0
    try:
        call_command("idcard", "check", *numbers, stdout=out)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return [json.loads(line) for line in out.getvalue().splitlines()], code


def test_standard_examples_are_valid_with_birth_date_sex_and_region() -> None:
    results, code = run("11010519491231002X", "440524188001010014")
    assert code == 0
    assert all(set(r) == KEYS for r in results)
    assert results[0] | {} == {
        "input": "11010519491231002X",
        "valid": True,
        "normalized": "11010519491231002X",
        "birth_date": "1949-12-31",
        "sex": "female",
        "region_code": "110105",
        "error": None,
    }
    assert (results[1]["birth_date"], results[1]["sex"]) == ("1880-01-01", "male")


def test_damaged_inputs_each_get_their_own_chinese_reason_and_exit_1() -> None:
    results, code = run(
        "11010519491231002Ｘ",
        "4.40524E+17",
        "440524188001010000",
        "110105194913310020",
        "1101051949",
    )
    assert code == 1
    assert results[0]["valid"] is True and results[0]["normalized"] == "11010519491231002X"
    reasons = [r["error"] for r in results[1:]]
    assert all(isinstance(r, str) and r for r in reasons)
    assert len(set(reasons)) == 4
    assert "科学计数法" in reasons[0]
    assert "置零" in reasons[1]


def test_reads_lines_from_stdin_when_no_numbers_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("110105491231002\n"))
    results, code = run()
    assert code == 0
    assert results[0]["normalized"] == "11010519491231002X"
