"""The import template (issue 19 item 6): the importer reads its headers as they are, every
drop-down value is one the importer accepts, a filled-in template imports without an error, and
`jingzhun import template -o FILE` writes it."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import card_number
from django.core.management import CommandError, call_command
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.fields import FIELDS
from jingzhun.imports.layout import data_rows
from jingzhun.imports.reader import read_sheets
from jingzhun.imports.template import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_SHEET,
    NOTES_SHEET,
    build_template,
    choices,
)
from jingzhun.imports.values import BadValue, convert
from jingzhun.registry.models import Household, IncomeRecord, Member

from .conftest import VILLAGE, person


def _lists(ws: Worksheet) -> dict[str, list[str]]:
    """The drop-down lists of a sheet by header label."""
    headers = {cell.column_letter: cell.value for cell in ws[1]}
    found: dict[str, list[str]] = {}
    for validation in ws.data_validations.dataValidation:
        assert validation.type == "list"
        column = str(validation.sqref).split(":")[0].rstrip("0123456789")
        found[headers[column]] = validation.formula1.strip('"').split(",")
    return found


def test_the_importer_reads_the_headers_as_the_fields_they_name() -> None:
    layouts = {sheet.name: data_rows(sheet, None)[0] for sheet in read_sheets(build_template())}
    assert list(layouts) == [HOUSEHOLD_SHEET, MEMBER_SHEET, NOTES_SHEET]
    households, members = layouts[HOUSEHOLD_SHEET], layouts[MEMBER_SHEET]
    assert households.kind == "household" and members.kind == "member"
    assert [c.key for c in households.columns] == list(HOUSEHOLD_COLUMNS)
    assert [c.key for c in members.columns] == list(MEMBER_COLUMNS)
    assert [c.header for c in households.columns] == [FIELDS[k].label for k in HOUSEHOLD_COLUMNS]
    assert not households.unknown and not members.unknown
    assert not households.duplicates and not members.duplicates
    assert layouts[NOTES_SHEET].kind == "ignored"  # the notes are never read as data
    # Every field the importer stores is in the template, each once (户编号 on both sheets).
    stored = {k for k, s in FIELDS.items() if s.level in ("household", "member", "income")}
    assert set(HOUSEHOLD_COLUMNS) | set(MEMBER_COLUMNS) == stored
    assert len(HOUSEHOLD_COLUMNS) + len(MEMBER_COLUMNS) == len(stored) + 1


def test_every_coded_column_has_a_list_the_importer_accepts_in_full() -> None:
    wb = load_workbook(io.BytesIO(build_template()))
    checked = 0
    for name, keys in ((HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS), (MEMBER_SHEET, MEMBER_COLUMNS)):
        lists = _lists(wb[name])
        for key in keys:
            spec = FIELDS[key]
            if spec.kind not in ("code", "codes", "bool"):
                assert spec.label not in lists
                continue
            values = lists[spec.label]
            assert values == list(choices(spec))
            read = []
            for value in values:
                try:
                    read.append(convert(value, spec))
                except BadValue as exc:  # pragma: no cover (the message names the value)
                    pytest.fail(f"{spec.label}: “{value}” is refused: {exc.reason}")
            if spec.kind == "bool":
                assert read == [True, False]
            else:
                codes = [r[0] if isinstance(r, list) else r for r in read]
                assert sorted(codes) == sorted(spec.table), spec.label  # each label, its own code
            checked += 1
    assert checked >= 40


def test_formats_required_marks_and_notes() -> None:
    wb = load_workbook(io.BytesIO(build_template()))
    members, households = wb[MEMBER_SHEET], wb[HOUSEHOLD_SHEET]
    id_column = members.cell(1, MEMBER_COLUMNS.index("id_number") + 1).column_letter
    assert members.column_dimensions[id_column].number_format == "@"
    birth = members.cell(1, MEMBER_COLUMNS.index("birth_date") + 1).column_letter
    assert members.column_dimensions[birth].number_format == "yyyy-mm-dd"
    wage = households.cell(1, HOUSEHOLD_COLUMNS.index("wage_income") + 1).column_letter
    assert households.column_dimensions[wage].number_format == "0.00"
    fills = {
        key: households.cell(1, i + 1).fill.fgColor.rgb for i, key in enumerate(HOUSEHOLD_COLUMNS)
    }
    assert fills["household_code"] == fills["village"] != fills["group_name"]
    assert "必填" in households.cell(1, 1).comment.text
    notes = [[c.value for c in row] for row in wb[NOTES_SHEET].iter_rows()]
    text = "\n".join(str(v) for row in notes for v in row if v)
    assert "--year" in text and "收入年度" in text and "标题行" in text
    listed = {(row[0], row[1]): row for row in notes if row[0] in (HOUSEHOLD_SHEET, MEMBER_SHEET)}
    for sheet, keys in ((HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS), (MEMBER_SHEET, MEMBER_COLUMNS)):
        for key in keys:
            row = listed[(sheet, FIELDS[key].label)]
            assert (row[2] == "是") == FIELDS[key].required
            assert (row[4] or "") == "、".join(choices(FIELDS[key]))


def _fill(ws: Worksheet, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    for number, values in enumerate(rows, start=2):
        for key, value in values.items():
            ws.cell(number, keys.index(key) + 1, value)


def test_a_filled_in_template_imports_without_an_error(world: Any) -> None:
    wb = load_workbook(io.BytesIO(build_template()))
    head1, wife1, head2 = person(501), person(502, "19820305"), person(503, "19550707")
    _fill(
        wb[HOUSEHOLD_SHEET],
        HOUSEHOLD_COLUMNS,
        [
            {
                "household_code": "TPL001",
                "village": VILLAGE,
                "group_name": "一组",
                "household_type": "建档立卡户",
                "poverty_status": "未脱贫",
                "main_cause": "因病",
                "other_causes": "因残、缺技术",
                "house_safety_grade": "B级",
                "sanitary_toilet": "是",
                "cultivated_land_mu": 3.5,
                "bank_account": card_number("622202000000001234"),
                "phone": "13800138000",
                "year": 2024,
                "wage_income": 12000,
                "transfer_income": 1500.5,
            },
            {
                "household_code": "TPL002",
                "village": VILLAGE,
                "household_type": "一般农户",
                "relocated": "否",
                "risk_eliminated_on": datetime.date(2024, 6, 30),
            },
        ],
    )
    _fill(
        wb[MEMBER_SHEET],
        MEMBER_COLUMNS,
        [
            {"household_code": "TPL001", "name": "王一", "id_number": head1, "relation": "户主"},
            {
                "household_code": "TPL001",
                "name": "李二",
                "id_number": wife1,
                "relation": "配偶",
                "sex": "女",
                "birth_date": datetime.date(1982, 3, 5),
                "health_status": "长期慢性病",
                "basic_medical_insured": "是",
            },
            {
                "household_code": "TPL002",
                "name": "赵三",
                "id_number": head2,
                "relation": "户主",
                "ethnicity": "满族",
            },
        ],
    )
    out = io.BytesIO()
    wb.save(out)
    outcome = do_commit_import(out.getvalue(), "模板.xlsx", actor=world.user("township"))
    assert outcome.result.errors == []
    assert outcome.committed
    first = Household.objects.get(household_code="TPL001")
    assert first.other_causes == ["disability", "lack_skills"]
    assert first.house_safety_grade == "B" and first.sanitary_toilet is True
    assert Household.objects.get(household_code="TPL002").poverty_status == "not_registered"
    assert Member.objects.filter(household__household_code__startswith="TPL").count() == 3
    assert Member.objects.get(name="李二").health_status == "chronic"
    income = IncomeRecord.objects.get(household=first, year=2024)
    assert income.wage_income == Decimal("12000") and income.transfer_income == Decimal("1500.5")


def test_the_command_writes_the_template(tmp_path: Path) -> None:
    target = tmp_path / "模板.xlsx"
    call_command("import", "template", "-o", str(target))
    assert read_sheets(target.read_bytes())[0].name == HOUSEHOLD_SHEET
    with pytest.raises(CommandError, match="-o"):
        call_command("import", "template")
    with pytest.raises(CommandError, match="-o 只用于"):
        call_command("import", str(target), "-o", str(tmp_path / "x.xlsx"))
