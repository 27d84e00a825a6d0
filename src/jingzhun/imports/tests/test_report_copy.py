"""The error report of an .xlsx as a stream copy of the file (ADR 0035): marks added, the rest
passed through; anything it cannot pass through is written cell by cell instead."""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from jingzhun.imports.pipeline import plan_import
from jingzhun.imports.report import REASON_HEADER, SUMMARY_SHEET, build_report
from jingzhun.imports.xlsxcopy import NotCopyable, SheetMarks, copy_with_marks

from .conftest import FLAT_HEADER, VILLAGE, household_rows

BAD_ID = "230231201001010000"
NOTE_DATE = datetime.datetime(2024, 3, 5)


def _workbook(*, formula: bool = False) -> bytes:
    """A roster with a merged bold title, an unknown 备注 column holding a date, a bad ID number
    on row 4 and a member without a name on row 6."""
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(["某县花名册"])
    ws.merge_cells("A1:I1")
    ws["A1"].font = Font(bold=True)
    ws.append([*FLAT_HEADER, "备注"])
    rows = household_rows("P1", VILLAGE, 101, 3) + household_rows("P2", VILLAGE, 201)
    rows[1][3] = BAD_ID
    rows[3][2] = None
    for row in rows:
        ws.append([*row, NOTE_DATE])
    ws["I3"].number_format = "yyyy-mm-dd"
    if formula:
        ws["I5"] = "=1+1"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _fill(cell: Any) -> str | None:
    return cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fill_type else None


def test_an_xlsx_report_is_the_file_itself_with_marks(world: Any) -> None:
    data = _workbook()
    result = plan_import(data, "p.xlsx", actor=world.user("county"))
    assert not result.ok
    report = build_report(data, result)
    assert zipfile.ZipFile(io.BytesIO(report)).testzip() is None  # every CRC right
    book = load_workbook(io.BytesIO(report))
    assert book.sheetnames == [SUMMARY_SHEET, "花名册"]
    assert book.active.title == SUMMARY_SHEET
    sheet = book["花名册"]
    # passed through as it was: the merged bold title, the date and its format (a cell-by-cell
    # copy has neither the merge nor the format)
    assert "A1:I1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A1"].value == "某县花名册" and sheet["A1"].font.b
    assert sheet["I3"].value == NOTE_DATE and sheet["I3"].number_format == "yyyy-mm-dd"
    source = load_workbook(io.BytesIO(data))["花名册"]
    for row in (3, 5, 7, 8):
        assert [c.value for c in sheet[row]][:9] == [c.value for c in source[row]]
        assert sheet.cell(row, 10).value is None and _fill(sheet[f"D{row}"]) is None
    # the header row gets the reason column, bold
    assert sheet["J2"].value == REASON_HEADER and sheet["J2"].font.b
    # the bad ID cell: its value, red, with the reason as a comment; the row's reason cell
    bad = sheet["D4"]
    assert bad.value == BAD_ID and _fill(bad).endswith("FFC7CE")
    assert bad.comment is not None and "置零" in bad.comment.text
    assert "证件号码" in sheet["J4"].value and _fill(sheet["J4"]).endswith("FFF2CC")
    # the missing name: an empty cell that the file did not have, now red
    assert sheet["C6"].value is None and _fill(sheet["C6"]).endswith("FFC7CE")
    assert "姓名" in sheet["J6"].value
    summary = list(book[SUMMARY_SHEET].iter_rows(values_only=True))
    assert summary[3][:2] == ("工作表", "行") and book[SUMMARY_SHEET]["A4"].font.b
    assert any(r[1] == 4 and r[2] == "D" for r in summary)
    assert any(r[1] == 6 and r[2] == "C" for r in summary)
    assert not any(BAD_ID in str(r) for r in summary)  # masked


def test_a_workbook_with_formulas_is_reported_from_its_values(world: Any) -> None:
    data = _workbook(formula=True)
    result = plan_import(data, "f.xlsx", actor=world.user("county"))
    with pytest.raises(NotCopyable):
        copy_with_marks(data, {}, [], SUMMARY_SHEET)
    report = build_report(data, result)
    assert zipfile.ZipFile(io.BytesIO(report)).testzip() is None
    book = load_workbook(io.BytesIO(report))
    assert book.sheetnames == [SUMMARY_SHEET, "花名册"]
    sheet = book["花名册"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert not sheet.merged_cells.ranges  # written from the values
    assert sheet["A1"].value == "某县花名册" and sheet["D3"].value == rows_of(data)[2][3]
    assert sheet["I3"].value == NOTE_DATE and sheet["I3"].is_date  # a date stays a date
    assert sheet["J2"].value == REASON_HEADER and sheet["J2"].font.b
    bad = sheet["D4"]
    assert bad.value == BAD_ID and _fill(bad).endswith("FFC7CE")
    assert bad.comment is not None and "置零" in bad.comment.text
    assert "证件号码" in sheet["J4"].value and _fill(sheet["J4"]).endswith("FFF2CC")
    assert _fill(sheet["C6"]).endswith("FFC7CE") and sheet["C6"].value is None
    assert sheet["J3"].value is None and _fill(sheet["D3"]) is None


def rows_of(data: bytes) -> list[list[Any]]:
    return [list(r) for r in load_workbook(io.BytesIO(data))["花名册"].iter_rows(values_only=True)]


def test_a_row_that_is_not_in_the_file_is_not_copied(world: Any) -> None:
    data = _workbook()
    with pytest.raises(NotCopyable):
        copy_with_marks(data, {"花名册": SheetMarks(rows={99: "无此行"})}, [], SUMMARY_SHEET)
    with pytest.raises(NotCopyable):
        copy_with_marks(data, {"别的表": SheetMarks(rows={3: "无此表"})}, [], SUMMARY_SHEET)
    with pytest.raises(NotCopyable):  # the summary's name is taken
        copy_with_marks(data, {}, [], "花名册")


def test_libreoffice_reads_the_copy(world: Any, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip(
            "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
        )
    data = _workbook()
    result = plan_import(data, "p.xlsx", actor=world.user("county"))
    source = tmp_path / "report.xlsx"
    source.write_bytes(build_report(data, result))
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            # comma, double quote, UTF-8, first line 1, …, -1: every sheet to its own file
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    target = tmp_path / "report-花名册.csv"
    assert target.exists()
    with target.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "某县花名册"
    assert rows[1][9] == REASON_HEADER
    assert rows[3][3] == BAD_ID and "证件号码" in rows[3][9]
    assert rows[2][8] == "2024-03-05" and rows[2][9] == ""
    assert (tmp_path / f"report-{SUMMARY_SHEET}.csv").exists()
