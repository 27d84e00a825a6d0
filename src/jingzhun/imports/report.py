"""The error report: a copy of the input as .xlsx, bad cells filled red with a comment giving the
reason, a 错误原因 column on every sheet, and a first sheet 错误汇总 listing every error.

The copy is written cell by cell from what was read (openpyxl, write-only, so memory stays flat).
Text that a spreadsheet would run as a formula (= + - @, tab, CR at the start) is written with a
leading apostrophe, and characters that .xlsx cannot hold are dropped, so a hostile input never
becomes a live formula in the report.
"""

from __future__ import annotations

import contextlib
import datetime
import io
from collections import defaultdict
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .layout import column_letter
from .pipeline import ImportResult
from .reader import MAX_CELL_CHARS, UnreadableFile, read_sheets

BAD_FILL: Final = PatternFill("solid", fgColor="FFC7CE")
ROW_FILL: Final = PatternFill("solid", fgColor="FFF2CC")
BOLD: Final = Font(bold=True)
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
REASON_HEADER: Final = "错误原因"
SUMMARY_SHEET: Final = "错误汇总"
AUTHOR: Final = "精准·导入校验"


def safe(value: Any) -> Any:
    """A cell value that .xlsx can hold and that no spreadsheet will evaluate."""
    if value is None or isinstance(value, (bool, int, datetime.date, datetime.time)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, datetime.timedelta):
        return str(value)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))[:MAX_CELL_CHARS]
    if text.startswith(FORMULA_TRIGGERS):
        text = "'" + text[: MAX_CELL_CHARS - 1]
    return text


def _cell(ws: WriteOnlyWorksheet, value: Any, *, fill: PatternFill | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=safe(value))
    if fill is not None:
        cell.fill = fill
    return cell


def _sheet_title(name: str, used: set[str]) -> str:
    title = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "Sheet"
    base, n = title, 2
    while title in used or title == SUMMARY_SHEET:
        suffix = f"({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title)
    return title


def _summary(wb: Workbook, result: ImportResult) -> None:
    ws = wb.create_sheet(SUMMARY_SHEET)
    ws.append([_cell(ws, f"文件：{result.filename}")])
    ws.append([_cell(ws, result.summary() if not result.unreadable else "文件无法读取，未导入。")])
    ws.append([])
    header = ["工作表", "行", "列", "列名", "值（已脱敏）", "错误原因"]
    ws.append([_styled(ws, h) for h in header])
    for error in result.errors:
        ws.append(
            [
                _cell(ws, error.sheet),
                _cell(ws, error.row),
                _cell(ws, column_letter(error.column) if error.column is not None else ""),
                _cell(ws, error.header),
                _cell(ws, error.masked_value),
                _cell(ws, error.reason),
            ]
        )
    if not result.errors:
        ws.append([_cell(ws, "未发现错误。")])
    for notice in result.notices:
        ws.append([_cell(ws, "提示"), _cell(ws, notice)])


def _styled(ws: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    cell = _cell(ws, value)
    cell.font = BOLD
    return cell


def build_report(data: bytes, result: ImportResult) -> bytes:
    """The .xlsx error report for `data` as checked in `result`. Never raises for bad input."""
    wb = Workbook(write_only=True)
    _summary(wb, result)
    if not result.unreadable:
        # An unreadable copy adds nothing: the summary already says why.
        with contextlib.suppress(UnreadableFile):
            _copy_sheets(wb, data, result)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _copy_sheets(wb: Workbook, data: bytes, result: ImportResult) -> None:
    by_cell: dict[tuple[str, int, int], list[str]] = defaultdict(list)
    by_row: dict[tuple[str, int], list[str]] = defaultdict(list)
    for error in result.errors:
        if error.row is None:
            continue
        by_row[(error.sheet, error.row)].append(
            f"{error.header}：{error.reason}" if error.header else error.reason
        )
        if error.column is not None:
            by_cell[(error.sheet, error.row, error.column)].append(error.reason)
    layouts = {layout.sheet: layout for layout in result.layouts}
    used: set[str] = set()
    for sheet in read_sheets(data):
        layout = layouts.get(sheet.name)
        ws = wb.create_sheet(_sheet_title(sheet.name, used))
        reason_column = max((c.index for c in layout.columns), default=-1) + 1 if layout else 0
        header_row = layout.header_rows[-1] if layout and layout.header_rows else 0
        for number, values in sheet.rows():
            row_reasons = by_row.get((sheet.name, number))
            cells: list[Any] = [None] * sheet.first_column
            if row_reasons:
                for j, value in enumerate(values):
                    reasons = by_cell.get((sheet.name, number, sheet.first_column + j))
                    if reasons:
                        cell = _cell(ws, value, fill=BAD_FILL)
                        cell.comment = Comment("\n".join(reasons)[:2000], AUTHOR)
                        cells.append(cell)
                    else:
                        cells.append(safe(value))
            else:
                cells.extend(safe(v) for v in values)
            if number == header_row or row_reasons:
                cells.extend([None] * (max(reason_column, len(cells)) - len(cells)))
                if number == header_row:
                    cells.append(_styled(ws, REASON_HEADER))
                else:
                    cells.append(_cell(ws, "；".join(row_reasons or []), fill=ROW_FILL))
            ws.append(cells)
