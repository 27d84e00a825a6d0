"""Every row is validated before anything is written; each error names sheet, row, column, value, reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jingzhun.audit.models import AuditEvent
from jingzhun.imports import columnar
from jingzhun.imports.actions import do_start_import
from jingzhun.imports.pipeline import ID_NUMBER_UNUSABLE, plan_import
from jingzhun.registry.idcard import mask as mask_id
from jingzhun.registry.models import Member

from .conftest import FLAT_HEADER, OTHER_TOWNSHIP_VILLAGE, VILLAGE, household_rows, person, xlsx


def _errors(rows: list[list[Any]], actor: Any, header: list[str] = FLAT_HEADER) -> list[Any]:
    result = plan_import(xlsx({"花名册": [header, *rows]}), "f.xlsx", actor=actor)
    return result.errors


def _only(errors: list[Any], field: str) -> Any:
    found = [e for e in errors if e.field == field]
    assert len(found) == 1, [str(e) for e in errors]
    return found[0]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (2.30231198001e17, "科学计数法"),  # a numeric cell that kept 12 digits
        (230231198001010000, "置零"),  # typed as a number: digits 16-18 became 000
        ("2.30231E+17", "科学计数法"),  # text that went through a CSV
        ("23023119800101001", "长度"),
        ("230231198013010011", "不是有效日期"),
    ],
)
def test_damaged_id_numbers_are_refused_with_the_reason(world: Any, cell: Any, reason: str) -> None:
    rows = household_rows("E1", VILLAGE, 101)
    rows[0][3] = cell
    error = _only(_errors(rows, world.user("county")), "id_number")
    assert (error.sheet, error.row, error.column, error.header) == ("花名册", 2, 3, "证件号码")
    assert reason in error.reason


def test_full_width_and_spaced_id_numbers_are_cleaned_not_refused(world: Any) -> None:
    rows = household_rows("E2", VILLAGE, 101)
    number = person(101)
    rows[0][3] = (
        " "
        + number[:6]
        + " "
        + number[6:].translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    )
    assert _errors(rows, world.user("county")) == []


def test_sex_and_birth_date_must_agree_with_the_id_number(world: Any) -> None:
    header = [*FLAT_HEADER, "出生日期"]
    rows = [[*r, ""] for r in household_rows("E3", VILLAGE, 101)]
    rows[0][4] = "女"  # the head's ID number is a man's
    rows[1][8] = "2011-01-01"  # the daughter's says 2010-01-01
    errors = _errors(rows, world.user("county"), header)
    assert "性别与证件号码不一致" in _only(errors, "sex").reason
    assert _only(errors, "birth_date").row == 3


def test_village_codes_must_exist_and_be_in_the_importers_scope(world: Any) -> None:
    rows = household_rows("E4", "230231100299", 101) + household_rows(
        "E5", OTHER_TOWNSHIP_VILLAGE, 201
    )
    errors = _errors(rows, world.user("township"))
    reasons = sorted(e.reason for e in errors if e.field == "village")
    assert len(reasons) == 2
    assert "不存在" in reasons[0] or "不存在" in reasons[1]
    assert any("不在您的管理范围内" in r for r in reasons)


def test_one_head_per_household(world: Any) -> None:
    two_heads = household_rows("E6", VILLAGE, 101)
    two_heads[1][5] = "户主"
    two_heads[1][2] = "第二户主"
    no_head = household_rows("E7", VILLAGE, 201)[1:]
    errors = _errors(two_heads + no_head, world.user("county"))
    assert "只能有一名户主" in _only([e for e in errors if e.row == 3], "relation").reason
    assert any("缺少户主" in e.reason for e in errors)


def test_a_person_belongs_to_one_live_household_in_the_file_and_in_the_registry(
    world: Any,
) -> None:
    registered = Member.objects.filter(relation="head").order_by("id").first()
    assert registered is not None
    rows = household_rows("E8", VILLAGE, 101) + household_rows("E9", VILLAGE, 201)
    rows[3][3] = rows[0][3]  # E9's daughter has E8's head's ID number
    rows[1][3], rows[1][4] = registered.id_number, "男"  # E8's daughter is registered elsewhere
    rows[1][5] = "之子"
    errors = _errors(rows, world.user("county"))
    in_file = [e for e in errors if "文件中出现两次" in e.reason]
    in_registry = [e for e in errors if "已登记在系统中的另一户" in e.reason]
    assert [e.row for e in in_file] == [5]
    assert [e.row for e in in_registry] == [3]
    assert registered.household.household_code in in_registry[0].reason
    # the value is masked when the error is printed
    assert registered.id_number not in str(in_registry[0])


@pytest.mark.parametrize("fast", [True, False], ids=["columnar", "per-row"])
def test_a_person_registered_out_of_scope_gets_a_generic_answer_and_the_check_is_audited(
    world: Any, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    # Given a village cadre's file whose second person is registered in another township
    monkeypatch.setattr(columnar, "ENABLED", fast)
    foreign = Member.objects.get(
        household=world.households[OTHER_TOWNSHIP_VILLAGE], relation="head"
    )
    rows = household_rows("E8", VILLAGE, 101)
    rows[1][3], rows[1][4], rows[1][5] = foreign.id_number, "男", "之子"
    # When the file is checked (the web's dry run)
    result = plan_import(
        xlsx({"花名册": [FLAT_HEADER, *rows]}), "f.xlsx", actor=world.user("village")
    )
    # Then the row is refused with a message that says nothing of where or whom
    [error] = [e for e in result.errors if e.field == "id_number"]
    assert error.row == 3 and error.reason == ID_NUMBER_UNUSABLE
    household = foreign.household
    for told in (household.household_code, household.village_id, foreign.name, "另一户", "已登记"):
        assert told not in str(error)
    # and the check's audit event counts the numbers tested and names the conflict, masked
    do_start_import(result, actor=world.user("village"))
    event = AuditEvent.objects.get(event="imports.batch.upload")
    assert event.diff["id_numbers_tested"] == 2
    assert event.diff["id_numbers_elsewhere"] == [mask_id(foreign.id_number)]
    assert foreign.id_number not in str(event.diff) and rows[0][3] not in str(event.diff)


def test_the_registry_check_is_one_query_whatever_the_file_size(world: Any) -> None:
    rows = [r for i in range(60) for r in household_rows(f"Q{i}", VILLAGE, 101 + 4 * i)]
    with CaptureQueriesContext(connection) as queries:
        errors = _errors(rows, world.user("county"))
    assert errors == []
    member_selects = [
        q["sql"] for q in queries.captured_queries if 'FROM "registry_member"' in q["sql"]
    ]
    # Members by ID number, and (per-row path) members of the households in the file; the
    # columnar path (ADR 0015) asks the second only when some household exists already.
    assert 1 <= len(member_selects) <= 2
    assert all("import_keys_" in sql for sql in member_selects)


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("耕地面积", "-1", "不能为负数"),
        ("耕地面积", "三亩", "应为数字"),
        ("识别年度", "16", "四位年份"),
        ("风险消除时间", "2021-02-30", "不存在"),
        ("风险消除时间", "去年", "不是有效日期"),
        ("与户主关系", "邻居", "不是有效的与户主关系"),
        ("残疾等级", "5", "1–4"),
        ("联系电话", 13900001111222233.0, "Excel 已丢失末尾数字"),
        ("姓名", "@SUM(A1:A9)", "疑似公式"),
        ("姓名", "x" * 60, "内容过长"),
    ],
)
def test_bad_values_are_refused_cell_by_cell(
    world: Any, header: str, value: Any, reason: str
) -> None:
    rows = household_rows("E10", VILLAGE, 101)
    if header in FLAT_HEADER:
        columns = FLAT_HEADER
        rows[0][FLAT_HEADER.index(header)] = value
    else:
        columns = [*FLAT_HEADER, header]
        rows = [[*rows[0], value], [*rows[1], ""]]
    errors = _errors(rows, world.user("county"), columns)
    assert len(errors) == 1, [str(e) for e in errors]
    assert reason in errors[0].reason
    assert errors[0].row == 2 and errors[0].header == header
