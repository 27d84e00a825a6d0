"""Reading .xlsx, .xls and .csv files into sheets of raw cell values, streamed row by row.

The format is decided by the file's content, not its name (VAL-2): a ZIP container is .xlsx,
an OLE2 container is .xls (both through python-calamine), anything else must decode as text
(UTF-8 with or without BOM, UTF-16 with BOM, or GBK/GB18030) and is read as CSV. Whatever goes
wrong becomes `UnreadableFile` with a Chinese sentence; nothing else escapes.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import python_calamine as calamine

MAX_BYTES: Final = 200 * 1024 * 1024  # .xlsx / .xls: calamine holds the unpacked sheet
# CSV is read as a stream (about 470 bytes a person for the 66-column roster): a county's
# million people fit; the web form has its own, lower limit.
MAX_CSV_BYTES: Final = 1024 * 1024 * 1024
MAX_ROWS: Final = 2_000_000
MAX_COLUMNS: Final = 500
MAX_CELL_CHARS: Final = 32_767  # Excel's own limit for one cell
ZIP_MAGIC: Final = b"PK\x03\x04"
OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

csv.field_size_limit(MAX_CELL_CHARS * 4)


class UnreadableFile(Exception):
    """The file cannot be read at all; `message` says why in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Sheet:
    """One sheet: `rows()` yields (Excel row number, cell values from column `first_column`)."""

    name: str
    source: Any
    first_column: int = 0  # 0-based index of the first column the rows start at
    # Merged ranges ((first row, first column), (last row, last column)), 0-based and absolute.
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    # A workbook sheet's row iterator made anew from the cells calamine holds (None for CSV):
    # reading the sheet again without unpacking the file again (`again`).
    reopen: Callable[[], Any] | None = None

    def again(self) -> Sheet | None:
        """The same sheet from its first row, from the cells already in memory; None when it
        cannot be (a CSV sheet: read the file again instead)."""
        if self.reopen is None:
            return None
        return Sheet(self.name, self.reopen(), self.first_column, self.merged, self.reopen)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """Rows with every cell of a merged range carrying the value of its top-left cell."""
        if not any(area[1][0] > area[0][0] for area in self.merged):
            return self._plain_rows()
        return self._merged_rows()

    def _plain_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """`rows` of a sheet without ranges spanning rows (every CSV): nothing to carry down."""
        try:
            for index, row in enumerate(self.source):
                if index >= MAX_ROWS:
                    raise UnreadableFile(f"工作表“{self.name}”超过 {MAX_ROWS} 行，请拆分后导入。")
                if type(row) is not list or len(row) > MAX_COLUMNS:
                    row = list(row[:MAX_COLUMNS])
                yield index + 1, row
        except UnreadableFile:
            raise
        except csv.Error as exc:
            raise UnreadableFile(f"CSV 文件格式错误：{exc}") from exc
        except Exception as exc:  # calamine raises its own errors while streaming a broken sheet
            raise UnreadableFile(
                f"工作表“{self.name}”内容已损坏，无法读取（{type(exc).__name__}）。"
            ) from exc

    def _merged_rows(self) -> Iterator[tuple[int, list[Any]]]:
        by_start: dict[int, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
        for area in self.merged:
            if area[1][0] > area[0][0]:  # only ranges spanning rows need carrying down
                by_start.setdefault(area[0][0], []).append(area)
        active: list[tuple[int, int, int, Any]] = []  # (last row, first col, last col, value)
        try:
            for index, source_row in enumerate(self.source):
                if index >= MAX_ROWS:
                    raise UnreadableFile(f"工作表“{self.name}”超过 {MAX_ROWS} 行，请拆分后导入。")
                row = list(source_row[:MAX_COLUMNS])
                active = [a for a in active if a[0] >= index]
                for _last_row, first_col, last_col, value in active:
                    for col in range(first_col, last_col + 1):
                        j = col - self.first_column
                        if 0 <= j < len(row):
                            row[j] = value
                for (_r0, c0), (r1, _c1) in by_start.pop(index, []):
                    j = c0 - self.first_column
                    if 0 <= j < len(row):
                        active.append((r1, c0, c0, row[j]))
                yield index + 1, row
        except UnreadableFile:
            raise
        except csv.Error as exc:
            raise UnreadableFile(f"CSV 文件格式错误：{exc}") from exc
        except Exception as exc:  # calamine raises its own errors while streaming a broken sheet
            raise UnreadableFile(
                f"工作表“{self.name}”内容已损坏，无法读取（{type(exc).__name__}）。"
            ) from exc


def detect_format(data: bytes) -> str:
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        return "xls"
    return "csv"


def read_sheets(data: bytes) -> list[Sheet]:
    """The sheets of a file, in order. Raises UnreadableFile."""
    if not data:
        raise UnreadableFile("文件为空。")
    kind = detect_format(data)
    limit = MAX_CSV_BYTES if kind == "csv" else MAX_BYTES
    if len(data) > limit:
        raise UnreadableFile(f"文件超过 {limit // 1024 // 1024} MB，请拆分后导入。")
    if kind == "csv":
        return [_csv_sheet(data)]
    return _workbook_sheets(data, kind)


def _workbook_sheets(data: bytes, kind: str) -> list[Sheet]:
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets: list[Sheet] = []
        for meta in book.sheets_metadata:
            if str(meta.typ) not in ("SheetTypeEnum.WorkSheet", "WorkSheet"):
                continue
            sheet = book.get_sheet_by_name(meta.name)
            start = sheet.start
            merged = [
                ((int(a[0]), int(a[1])), (int(b[0]), int(b[1])))
                for a, b in (sheet.merged_cell_ranges or [])
            ]
            sheets.append(
                Sheet(
                    meta.name,
                    sheet.iter_rows(),
                    start[1] if start else 0,
                    merged,
                    reopen=sheet.iter_rows,
                )
            )
    except calamine.PasswordError as exc:
        raise UnreadableFile("文件设有打开密码，请取消密码后再导入。") from exc
    except Exception as exc:
        label = "xlsx" if kind == "xlsx" else "xls"
        raise UnreadableFile(
            f"文件已损坏或不是有效的 Excel（.{label}）文件，无法读取（{type(exc).__name__}）。"
        ) from exc
    if not sheets:
        raise UnreadableFile("文件中没有工作表。")
    return sheets


_UNKNOWN_ENCODING: Final = (
    "无法识别文件编码，或文件不是表格：请另存为 .xlsx，或 UTF-8 / GBK 编码的 CSV 文件。"
)
_CHUNK: Final = 1 << 20


def _candidates(data: bytes) -> tuple[str, ...]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16",)
    return ("utf-8-sig", "gb18030")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, then GBK (GB18030), as Excel and WPS save."""
    for encoding in _candidates(data):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise UnreadableFile(_UNKNOWN_ENCODING)


def encoding_of(data: bytes) -> str:
    """The encoding `decode` picks, found by decoding chunk by chunk (never the whole text at
    once: a county's CSV is hundreds of MB, its text several times that)."""
    view = memoryview(data)
    for encoding in _candidates(data):
        decoder = codecs.getincrementaldecoder(encoding)()
        nul = False
        try:
            for start in range(0, len(data), _CHUNK):
                if "\x00" in decoder.decode(view[start : start + _CHUNK]):
                    nul = True
                    break
            if not nul and "\x00" in decoder.decode(b"", final=True):
                nul = True
        except UnicodeDecodeError:
            continue
        if nul:
            break
        return encoding
    raise UnreadableFile(_UNKNOWN_ENCODING)


def _csv_sheet(data: bytes) -> Sheet:
    encoding = encoding_of(data)
    sample = codecs.getincrementaldecoder(encoding)().decode(data[: 1 << 16])[:8192]
    delimiter = ","
    if sample.count("\t") > sample.count(","):
        delimiter = "\t"
    elif sample.count(";") > sample.count(",") and "," not in sample:
        delimiter = ";"
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    return Sheet("CSV", reader, 0)
