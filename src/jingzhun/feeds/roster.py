"""Reading a department roster: the imports package's contained reader (ADR 0051: a child
process under settings.IMPORT_LIMITS, the workbook's container checked first), the header row
found by the feed's columns, cells read by each column's kind, and the ID number normalised
(15 → 18 digits with the check character, full-width digits, spaces, lower-case x) through
registry.idcard. No second reader: `imports.reader.read_sheets` is the only one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from jingzhun.imports.fields import norm
from jingzhun.imports.reader import Sheet, UnreadableFile, read_sheets
from jingzhun.registry import idcard

from .catalogue import Column, Feed

HEADER_ROWS: Final = 10  # the header is among the first rows (title rows above it)


class RosterError(Exception):
    """The roster as a whole cannot be read (no ID column, unreadable file): a Chinese sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IdOutcome:
    """A roster cell's ID number: the 18-character number when valid, else the reason."""

    number: str | None
    problem: str
    converted_15: bool = False


def normalise_id(raw: Any) -> IdOutcome:
    """Normalise a roster's ID cell (pure; never raises)."""
    if type(raw) is str:
        text = raw.strip()
        if len(text) == 18 and idcard.is_valid_fast(text):  # the common case, without a report
            return IdOutcome(text, "")
        if not text:
            return IdOutcome(None, "证件号码为空")
    elif raw is None:
        return IdOutcome(None, "证件号码为空")
    checked = idcard.check(raw)
    if not checked.valid:
        return IdOutcome(None, checked.error or "证件号码无效")
    cleaned = idcard.normalize(str(raw)) if isinstance(raw, str) else str(raw)
    return IdOutcome(checked.normalized, "", converted_15=len(cleaned) == 15)


@dataclass(frozen=True)
class IdHints:
    """What a damaged ID number still tells (for probabilistic linking, feeds.linking): its
    birth date digits (YYYYMMDD; possibly no date when the damage is among them), its sex from the sequence's last digit,
    and its first 6 digits (the county of issue)."""

    birth: str | None
    sex: str | None
    county: str | None

    def as_json(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (("birth", self.birth), ("sex", self.sex), ("county", self.county))
            if v
        }


def id_hints(raw: Any) -> IdHints:
    """Read what is left of a damaged or 15-digit ID number (pure; never raises)."""
    if raw is None:
        return IdHints(None, None, None)
    text = idcard.normalize(str(raw)).upper()
    if len(text) == 15 and text.isdigit():  # 1989 form: 2-digit year, no check character
        text = text[:6] + "19" + text[6:] + "0"
    if len(text) not in (17, 18) or not text[:17].isdigit():
        county = text[:6] if len(text) >= 6 and text[:6].isdigit() else None
        return IdHints(None, None, county)
    # the 8 digits even when they are no date (one of them is the damage): the linker compares
    # them digit by digit
    birth = text[6:14]
    # Excel's 15 significant digits leave "000" at the end: no sex digit left
    sex = None if text.endswith("000") else ("male" if int(text[16]) % 2 else "female")
    return IdHints(birth, sex, text[:6])


@dataclass
class Row:
    number: int  # the spreadsheet's row number
    id_raw: Any
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _money(text: str) -> Decimal:
    cleaned = text.replace(",", "").replace("，", "").replace("元", "").replace("¥", "").strip()
    value = Decimal(cleaned)
    if not value.is_finite():
        raise InvalidOperation
    return value


def _date(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value).strip().replace("/", "-").replace(".", "-")
    for sep in ("年", "月"):
        text = text.replace(sep, "-")
    text = text.rstrip("日")
    parts = text.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return datetime.date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    if len(text) == 8 and text.isdigit():
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    raise ValueError(text)


def read_cell(column: Column, value: Any) -> tuple[Any, str]:
    """(JSON-ready value or None, problem) of one cell for `column`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ""
    try:
        if column.kind == "money":
            if isinstance(value, bool):
                raise InvalidOperation
            number = _money(str(value))
            if number < 0:
                return None, f"“{column.label}”不能为负数"
            return str(number), ""
        if column.kind == "integer":
            number = _money(str(value))
            if number != number.to_integral_value():
                return None, f"“{column.label}”应为整数"
            return int(number), ""
        if column.kind == "date":
            return _date(value), ""
        if column.kind == "code":
            code = column.codes.get(norm(value))
            if code is None:
                return None, f"“{column.label}”的取值“{str(value)[:20]}”不是已知取值"
            return code, ""
    except (InvalidOperation, ValueError, OverflowError):
        what = {"money": "金额", "integer": "整数", "date": "日期"}.get(column.kind, "取值")
        return None, f"“{column.label}”应为{what}，实为“{str(value)[:20]}”"
    return str(value).strip()[:200], ""


def _header(sheet_rows: Iterator[tuple[int, list[Any]]], feed: Feed) -> dict[int, Column]:
    by_header = {h: col for col in feed.columns for h in col.headers}
    for _number, cells in sheet_rows:
        found: dict[int, Column] = {}
        for j, cell in enumerate(cells):
            col = by_header.get(norm(cell)) if cell is not None else None
            if col is not None and col not in found.values():
                found[j] = col
        if any(c.key == "id_number" for c in found.values()):
            missing = [c.label for c in feed.columns if c.required and c not in found.values()]
            if missing:
                raise RosterError(
                    f"名册缺少必需的列：{'、'.join(missing)}（数据源“{feed.name}”）。"
                )
            return found
        if _number >= HEADER_ROWS:
            break
    labels = "、".join(c.label for c in feed.columns)
    raise RosterError(
        f"前 {HEADER_ROWS} 行中没有找到“证件号码”（身份证号）列表头。"
        f"数据源“{feed.name}”可识别的列：{labels}。"
    )


def rows_of(sheet: Sheet, feed: Feed) -> Iterator[Row]:
    """The roster's data rows (empty rows skipped). Raises RosterError, UnreadableFile."""
    stream = sheet.rows()
    columns = _header(stream, feed)
    for number, cells in stream:
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        row = Row(number=number, id_raw=None, name="")
        for j, col in columns.items():
            raw = cells[j] if j < len(cells) else None
            if col.key == "id_number":
                row.id_raw = raw
            elif col.key == "name":
                row.name = "" if raw is None else str(raw).strip()[:50]
            else:
                value, problem = read_cell(col, raw)
                if value is not None:
                    row.values[col.key] = value
                if problem:
                    row.problems.append(problem)
        yield row


def open_roster(data: bytes) -> Sheet:
    """The first sheet of the file, read contained. Raises RosterError."""
    try:
        sheets = read_sheets(data)
    except UnreadableFile as exc:
        raise RosterError(exc.message) from exc
    if not sheets:
        raise RosterError("文件中没有工作表。")
    return sheets[0]
