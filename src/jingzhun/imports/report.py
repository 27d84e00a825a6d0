"""The error report: a copy of the input as .xlsx, bad cells filled red with a comment giving the
reason, a 错误原因 column on every sheet, and a first sheet 错误汇总 listing every error.

An .xlsx input is copied as it is, its marks added (`xlsxcopy.copy_with_marks`, ADR 0035). Any
other input, or an .xlsx the copy does not pass through (formulas, macros, links…), is written
from what was read (`xlsxcopy.write_values`: sheet XML streamed, inline strings, so memory stays
flat). There, text that a spreadsheet would run as a formula (= + - @, tab, CR at the start) is
written with a leading apostrophe, and characters that .xlsx cannot hold are dropped; no cell of
either report is a formula.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Final

from .layout import column_letter
from .pipeline import ImportResult
from .reader import Sheet, UnreadableFile, detect_format, read_sheets
from .xlsxcopy import (  # noqa: F401 (FORMULA_TRIGGERS, safe: re-exported to the exports)
    FORMULA_TRIGGERS,
    REASON_HEADER,
    NotCopyable,
    SheetMarks,
    SummaryRow,
    ValueSheet,
    copy_with_marks,
    safe,
    write_values,
)

SUMMARY_SHEET: Final = "错误汇总"
log = logging.getLogger(__name__)


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

    An .xlsx is copied as it is with the marks added (`xlsxcopy.copy_with_marks`, ADR 0035); a
    CSV or .xls, or an .xlsx the copy does not pass through, is written from the values read."""
    summary = _summary_rows(result)
    marks = _marks(result)
    if not result.unreadable and detect_format(data) == "xlsx":
        try:
            return copy_with_marks(data, marks, summary, SUMMARY_SHEET)
        except NotCopyable as exc:
            log.info("error report written from the values: %s", exc)
        except Exception as exc:  # a malformed part: the report from the values still describes it
            log.warning(
                "error report copy failed (%s), written from the values", type(exc).__name__
            )
    sheets = []
    if not result.unreadable:
        # An unreadable copy adds nothing: the summary already says why.
        with contextlib.suppress(UnreadableFile):
            sheets = read_sheets(data)
    return write_values(_value_sheets(sheets, marks), summary, SUMMARY_SHEET)


def _value_sheets(sheets: list[Sheet], marks: dict[str, SheetMarks]) -> Iterator[ValueSheet]:
    """The sheets to write from their values; a sheet that breaks while being read ends the
    copy there (the summary says what was read)."""
    used: set[str] = set()
    broken = False

    def rows(sheet: Sheet) -> Iterator[tuple[int, list[Any]]]:
        nonlocal broken
        try:
            yield from sheet.rows()
        except UnreadableFile:
            broken = True

    for sheet in sheets:
        if broken:
            return
        mark = marks.get(sheet.name) or SheetMarks()
        yield ValueSheet(_sheet_title(sheet.name, used), sheet.first_column, rows(sheet), mark)
