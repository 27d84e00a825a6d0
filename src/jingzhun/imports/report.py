"""The error report: a copy of the input as .xlsx, bad cells filled red with a comment giving the
reason, a 错误原因 column on every sheet, and a first sheet 错误汇总 listing every error.

An .xlsx input is copied as it is, its marks added (`xlsxcopy`, ADR 0035). Any other input, or
an .xlsx the copy does not pass through (formulas, macros, links…), is written cell by cell from
what was read (openpyxl, write-only, so memory stays flat). There, text that a spreadsheet would run as a formula (= + - @, tab, CR at the start) is written with a
leading apostrophe, and characters that .xlsx cannot hold are dropped, so a hostile input never
becomes a live formula in the report.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import logging
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
from .reader import MAX_CELL_CHARS, UnreadableFile, detect_format, read_sheets
from .xlsxcopy import AUTHOR, REASON_HEADER, NotCopyable, SheetMarks, SummaryRow, copy_with_marks

BAD_FILL: Final = PatternFill("solid", fgColor="FFC7CE")
ROW_FILL: Final = PatternFill("solid", fgColor="FFF2CC")
BOLD: Final = Font(bold=True)
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
SUMMARY_SHEET: Final = "错误汇总"
log = logging.getLogger(__name__)


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


def _summary_rows(result: ImportResult) -> list[SummaryRow]:
    """The 错误汇总 sheet as rows of (value, bold), values already `safe`."""
    rows: list[SummaryRow] = [
        [(safe(f"文件：{result.filename}"), False)],
        [(safe(result.summary() if not result.unreadable else "文件无法读取，未导入。"), False)],
        [],
        [(h, True) for h in ("工作表", "行", "列", "列名", "值（已脱敏）", "错误原因")],
    ]
    for error in result.errors:
        values = (
            error.sheet,
            error.row,
            column_letter(error.column) if error.column is not None else "",
            error.header,
            error.masked_value,
            error.reason,
        )
        rows.append([(safe(v), False) for v in values])
    if not result.errors:
        rows.append([("未发现错误。", False)])
    for notice in result.notices:
        rows.append([("提示", False), (safe(notice), False)])
    return rows


def _summary(wb: Workbook, rows: list[SummaryRow]) -> None:
    ws = wb.create_sheet(SUMMARY_SHEET)
    for row in rows:
        ws.append([_styled(ws, v) if bold else _cell(ws, v) for v, bold in row])


def _styled(ws: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    cell = _cell(ws, value)
    cell.font = BOLD
    return cell


def _marks(result: ImportResult) -> dict[str, SheetMarks]:
    """Per sheet: the bad cells with their reasons, the rows' reason texts, the header row and
    the reason column (one past the last column of the header)."""
    marks: dict[str, SheetMarks] = {}
    for layout in result.layouts:
        marks[layout.sheet] = SheetMarks(
            reason_column=max((c.index for c in layout.columns), default=-1) + 1,
            header_row=layout.header_rows[-1] if layout.header_rows else 0,
        )
    by_row: dict[tuple[str, int], list[str]] = defaultdict(list)
    for error in result.errors:
        if error.row is None:
            continue
        by_row[(error.sheet, error.row)].append(
            f"{error.header}：{error.reason}" if error.header else error.reason
        )
        if error.column is not None:
            sheet = marks.setdefault(error.sheet, SheetMarks())
            sheet.cells.setdefault(error.row, {}).setdefault(error.column, []).append(error.reason)
    for (name, row), reasons in by_row.items():
        marks.setdefault(name, SheetMarks()).rows[row] = safe("；".join(reasons))
    return marks


def build_report(data: bytes, result: ImportResult) -> bytes:
    """The .xlsx error report for `data` as checked in `result`. Never raises for bad input.

    An .xlsx is copied as it is with the marks added (`xlsxcopy`, ADR 0035); a CSV or .xls, or
    an .xlsx the copy does not pass through, is written cell by cell from the values read."""
    summary = _summary_rows(result)
    marks = _marks(result)
    if not result.unreadable and detect_format(data) == "xlsx":
        try:
            return copy_with_marks(data, marks, summary, SUMMARY_SHEET)
        except NotCopyable as exc:
            log.info("error report written cell by cell: %s", exc)
        except Exception as exc:  # a malformed part: the cell-by-cell report still describes it
            log.warning("error report copy failed (%s), written cell by cell", type(exc).__name__)
    wb = Workbook(write_only=True)
    _summary(wb, summary)
    if not result.unreadable:
        # An unreadable copy adds nothing: the summary already says why.
        with contextlib.suppress(UnreadableFile):
            _copy_sheets(wb, data, marks)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _copy_sheets(wb: Workbook, data: bytes, marks: dict[str, SheetMarks]) -> None:
    used: set[str] = set()
    for sheet in read_sheets(data):
        mark = marks.get(sheet.name) or SheetMarks()
        ws = wb.create_sheet(_sheet_title(sheet.name, used))
        for number, values in sheet.rows():
            row_reason = mark.rows.get(number)
            cells: list[Any] = [None] * sheet.first_column
            bad = mark.cells.get(number)
            if bad:
                for j, value in enumerate(values):
                    reasons = bad.get(sheet.first_column + j)
                    if reasons:
                        cell = _cell(ws, value, fill=BAD_FILL)
                        cell.comment = Comment("\n".join(reasons)[:2000], AUTHOR)
                        cells.append(cell)
                    else:
                        cells.append(safe(value))
            else:
                cells.extend(safe(v) for v in values)
            if number == mark.header_row or row_reason is not None:
                cells.extend([None] * (max(mark.reason_column, len(cells)) - len(cells)))
                if number == mark.header_row:
                    cells.append(_styled(ws, REASON_HEADER))
                else:
                    cells.append(_cell(ws, row_reason, fill=ROW_FILL))
            ws.append(cells)
