"""Reading .xlsx, .xls and .csv files into sheets of raw cell values, streamed row by row.

The format is decided by the file's content, not its name (VAL-2): a ZIP container is .xlsx,
an OLE2 container is .xls (both through python-calamine), anything else must decode as text
(UTF-8 with or without BOM, UTF-16 with BOM, or GBK/GB18030) and is read as CSV. Whatever goes
wrong becomes `UnreadableFile` with a Chinese sentence; nothing else escapes.

Contained (ADR 0051): `read_sheets` first checks a workbook's ZIP container and its sheets'
ranges (`check_workbook`), then runs the reading itself (`open_sheets`) in a child process under
settings.IMPORT_LIMITS (`core.sandbox`): the child sends each sheet's rows in pickled chunks as
the caller asks for them (`_Book`), and a child that dies or exceeds a limit is `UnreadableFile`.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import python_calamine as calamine

from jingzhun.core import sandbox

MAX_BYTES: Final = 200 * 1024 * 1024  # .xlsx / .xls: calamine holds the unpacked sheet
# CSV is read as a stream (about 470 bytes a person for the 66-column roster): a county's
# million people fit; the web form has its own, lower limit.
MAX_CSV_BYTES: Final = 1024 * 1024 * 1024
MAX_ROWS: Final = 2_000_000
MAX_COLUMNS: Final = 500
MAX_CELL_CHARS: Final = 32_767  # Excel's own limit for one cell
# False: `read_sheets` reads in this process (tests that patch the reader's internals only).
CONTAINED = True
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
    """The sheets of a file, in order, read in a child process under settings.IMPORT_LIMITS
    (the rows arrive as they are read). Raises UnreadableFile."""
    _sizes(data)
    limits = _limits()
    kind = detect_format(data)
    if kind == "xlsx":
        check_workbook(data, limits)
    if not CONTAINED:
        return open_sheets(data)
    channel = sandbox.Channel("jingzhun.imports.reader:serve", data, sandbox.Limits.of(limits))
    # A workbook's sheets can be read `again` from the chunks; a CSV is read again from its bytes.
    return _Book(channel, limits, keep=kind != "csv").sheets()


def open_sheets(data: bytes) -> list[Sheet]:
    """The sheets of a file read in this process (the child's side of `read_sheets`)."""
    _sizes(data)
    kind = detect_format(data)
    if kind == "csv":
        return [_csv_sheet(data)]
    return _workbook_sheets(data, kind)


def _sizes(data: bytes) -> None:
    if not data:
        raise UnreadableFile("文件为空。")
    kind = detect_format(data)
    limit = MAX_CSV_BYTES if kind == "csv" else MAX_BYTES
    if len(data) > limit:
        raise UnreadableFile(f"文件超过 {limit // 1024 // 1024} MB，请拆分后导入。")


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


# an object, or an array of arrays, objects, strings, numbers (a roster's first cell is text)
_JSON: Final = re.compile(r"\ufeff?\s*(?:\{|\[\s*[\[{\"0-9\]-])")


def _csv_sheet(data: bytes) -> Sheet:
    encoding = encoding_of(data)
    sample = codecs.getincrementaldecoder(encoding)().decode(data[: 1 << 16])[:8192]
    if _JSON.match(sample):
        raise UnreadableFile(
            "文件是 JSON（如 GeoJSON 边界文件），不是表格：请导入 .xlsx、.xls 或 .csv 文件。"
        )
    delimiter = ","
    if sample.count("\t") > sample.count(","):
        delimiter = "\t"
    elif sample.count(";") > sample.count(",") and "," not in sample:
        delimiter = ";"
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    return Sheet("CSV", reader, 0)


# --- containment (ADR 0051) ---------------------------------------------------------------------

CHUNK_ROWS: Final = 2000  # rows per frame from the child
_MB: Final = 1 << 20


def _limits() -> dict[str, int]:
    from django.conf import settings

    return dict(settings.IMPORT_LIMITS)


_REF: Final = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
_DIMENSION: Final = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([^\"]*)\"")
# `r="A1"` of a cell
_CELL_REF: Final = re.compile(rb"\sr=\"([A-Z]{1,3})([0-9]{1,7})\"")
_SHEET_TAG: Final = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_REL_TAG: Final = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")


def _attribute(tag: bytes, name: bytes) -> str:
    found = re.search(rb"\s(?:\w+:)?" + name + rb"=\"([^\"]*)\"", tag)
    return found.group(1).decode("utf-8", "replace") if found else ""


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def _head(book: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes:
    with book.open(info) as part:
        return part.read(size)


def _worksheet_names(book: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """{part name: sheet name} of the workbook's worksheets (read from workbook.xml and its
    relationships, a bounded read of each); a worksheet part not named there keeps its path."""
    found: dict[str, str] = {}
    if {"xl/workbook.xml", "xl/_rels/workbook.xml.rels"} <= names:
        rels = _head(book, book.getinfo("xl/_rels/workbook.xml.rels"), _MB)
        targets = {}
        for tag in _REL_TAG.findall(rels):
            target = _attribute(tag, b"Target").lstrip("/")
            targets[_attribute(tag, b"Id")] = target if target.startswith("xl/") else "xl/" + target
        for tag in _SHEET_TAG.findall(_head(book, book.getinfo("xl/workbook.xml"), _MB)):
            part = targets.get(_attribute(tag, b"id"), "")
            if part in names:
                found[part] = _attribute(tag, b"name")
    for name in names:
        if name.startswith("xl/worksheets/") and name.endswith(".xml") and name not in found:
            found[name] = name
    return found


def check_workbook(data: bytes, limits: dict[str, int]) -> None:
    """Refuse an .xlsx whose container or ranges exceed `limits` before any reader unpacks it:
    part count, inflated size, compression ratio (per part of 1 MB or more and in all), each
    sheet's declared `<dimension>`, and the cells found in the first `scan_mb` MB of each sheet's
    XML. What lies beyond the scan is left to the child's limits."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        infos = book.infolist()
    except Exception:  # a broken container: the reader words it
        return
    if len(infos) > limits["zip_entries"]:
        raise UnreadableFile(
            f"文件包含 {len(infos)} 个部件，超过上限 {limits['zip_entries']}，"
            "不是正常的 Excel 文件，已拒绝读取。"
        )
    total = sum(i.file_size for i in infos)
    if total > limits["uncompressed_mb"] * _MB:
        raise UnreadableFile(
            f"文件解压后共 {total // _MB} MB，超过上限 {limits['uncompressed_mb']} MB，"
            "请拆分后导入。"
        )
    ratio = limits["compression_ratio"]
    for info in infos:
        if info.file_size >= _MB and info.file_size > ratio * max(info.compress_size, 1):
            raise UnreadableFile(
                f"文件中的部件“{info.filename}”压缩比异常"
                f"（{info.file_size // max(info.compress_size, 1)}:1，上限 {ratio}:1），"
                "疑似压缩炸弹，已拒绝读取。"
            )
    if total >= _MB and total > ratio * len(data):
        raise UnreadableFile(
            f"文件压缩比异常（{total // len(data)}:1，上限 {ratio}:1），疑似压缩炸弹，已拒绝读取。"
        )
    try:
        for part, name in _worksheet_names(book, {i.filename for i in infos}).items():
            _check_sheet(book, book.getinfo(part), name, limits)
    except UnreadableFile:
        raise
    except Exception:  # a damaged or encrypted part: the reader words it
        return


def _too_large(name: str, where: str, rows: int, columns: int, limits: dict[str, int]) -> None:
    if (
        rows > limits["sheet_rows"]
        or columns > limits["sheet_columns"]
        or rows * columns > limits["sheet_cells"]
    ):
        raise UnreadableFile(
            f"工作表“{name}”{where}，相当于 {rows} 行 × {columns} 列，超过上限"
            f"（{limits['sheet_rows']} 行、{limits['sheet_columns']} 列、"
            f"共 {limits['sheet_cells']} 个单元格）：请删除多余的行、列后另存，再导入。"
        )


def _check_sheet(
    book: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: dict[str, int]
) -> None:
    budget = limits["scan_mb"] * _MB
    bottom = right = 0
    far = ""
    tail = b""
    numbers: dict[bytes, int] = {}  # column letters seen: their numbers
    with book.open(info) as part:
        first = True
        while budget > 0:
            chunk = part.read(min(_MB, budget))
            if not chunk:
                break
            budget -= len(chunk)
            text = tail + chunk
            if first:
                first = False
                declared = _DIMENSION.search(text)
                if declared:
                    _check_dimension(name, declared.group(1).decode("ascii", "replace"), limits)
            for letters, digits in _CELL_REF.findall(text):
                column = numbers.get(letters) or numbers.setdefault(
                    letters, _column_number(letters.decode())
                )
                row = int(digits)
                if row > bottom or column > right:
                    far = (letters + digits).decode()
                bottom, right = max(bottom, row), max(right, column)
            # a reference cut by the chunk's end is found whole in the next one
            tail = text[-32:]
    if far:
        # counted from A1: a roster starts there, and a cell far out is the hostile part
        _too_large(name, f"在单元格 {far} 处有内容", bottom, right, limits)


def _check_dimension(name: str, ref: str, limits: dict[str, int]) -> None:
    corners = [_REF.match(p.strip().upper()) for p in ref.split(":")]
    if not corners or len(corners) > 2 or not all(corners):
        return
    rows = [int(m.group(2)) for m in corners if m]
    columns = [_column_number(m.group(1)) for m in corners if m]
    _too_large(name, f"声明的范围为 {ref}", max(rows), max(columns), limits)


def serve(data: bytes, send: Callable[..., None]) -> None:
    """The child's side of `read_sheets`: ("sheets", [(name, first column, merged)]), then each
    sheet's rows in chunks (tagged with the sheet's index + 1), ("end", index) after its last,
    or ("error", index, message) where it broke (index None: the file as a whole)."""
    try:
        sheets = open_sheets(data)
    except UnreadableFile as exc:
        send(("error", None, exc.message))
        return
    send(("sheets", [(s.name, s.first_column, s.merged) for s in sheets]))
    # A CSV's cells are distinct strings: pickled without the memo (core.sandbox)
    memo = detect_format(data) != "csv"
    for index, sheet in enumerate(sheets):
        chunk: list[list[Any]] = []
        try:
            for _number, row in sheet.rows():
                chunk.append(row)
                if len(chunk) >= CHUNK_ROWS:
                    send(chunk, index + 1, memo=memo)
                    chunk = []
        except UnreadableFile as exc:
            if chunk:
                send(chunk, index + 1, memo=memo)
            send(("error", index, exc.message))
            continue
        if chunk:
            send(chunk, index + 1, memo=memo)
        send(("end", index))


def _failure_message(failure: sandbox.SandboxFailure, limits: dict[str, int]) -> str:
    if failure.reason == "memory":
        return (
            f"读取文件所需内存超过上限（{limits['memory_mb']} MB），已停止读取：文件可能已损坏，"
            "或含有超大的范围、压缩炸弹。请检查后另存，再导入。"
        )
    if failure.reason in ("cpu", "time"):
        seconds = limits["cpu_seconds"] if failure.reason == "cpu" else limits["wall_seconds"]
        return (
            f"读取文件超过时间上限（{seconds} 秒），已停止读取：文件可能已损坏或过于复杂。"
            "请检查后另存，或拆分后导入。"
        )
    return "读取文件时读取程序异常退出，文件可能已损坏，无法读取。"


class _Book:
    """The parent's end of a contained read: the sheets, whose rows come from the child's
    frames as they are asked for. Chunks stay in the child's spool file, read (again) by
    offset: those of a sheet not being read wait there until it is."""

    def __init__(self, channel: sandbox.Channel, limits: dict[str, int], *, keep: bool) -> None:
        self.channel = channel
        self.limits = limits
        self.keep = keep
        self.chunks: list[list[tuple[int, int]]] = []  # per sheet: (offset, size) in the spool
        self.ends: list[str | None] = []  # None: still coming; "": complete; else why it broke

    def _guard(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except sandbox.SandboxFailure as exc:
            message = _failure_message(exc, self.limits)
        except Exception as exc:  # a frame that does not unpickle: the child is not ours to trust
            message = f"读取文件时读取程序返回了无法识别的数据，无法读取（{type(exc).__name__}）。"
        self.channel.close()
        self.ends = [message if end is None else end for end in self.ends]
        raise UnreadableFile(message)

    def sheets(self) -> list[Sheet]:
        frame = self._guard(self.channel.receive)
        if frame[0] == "error":
            self.channel.close()
            raise UnreadableFile(frame[2])
        metas = frame[1]
        self.chunks = [[] for _ in metas]
        self.ends = [None for _ in metas]
        if not metas:
            self.channel.close()
        return [
            _StreamedSheet(name, self, first, merged, index=i)
            for i, (name, first, merged) in enumerate(metas)
        ]

    def _pump(self) -> None:
        tag, offset, size = self._guard(self.channel.next_frame)
        if tag:
            self.chunks[tag - 1].append((offset, size))
        else:
            frame = self._guard(functools.partial(self.channel.load, offset, size))
            self.ends[frame[1]] = frame[2] if frame[0] == "error" else ""
        if all(end is not None for end in self.ends):
            self.channel.close()  # the child has finished; its spool stays readable

    def rows(self, index: int) -> Iterator[tuple[int, list[Any]]]:
        chunks = self.chunks[index]
        position = number = 0
        while True:
            if position < len(chunks):
                offset, size = chunks[position]
                position += 1
                for row in self._guard(functools.partial(self.channel.load, offset, size)):
                    number += 1
                    yield number, row
                continue
            end = self.ends[index]
            if end == "":
                return
            if end is not None:
                raise UnreadableFile(end)
            self._pump()


@dataclass
class _StreamedSheet(Sheet):
    """A sheet read by the child: `rows()` as the child sent them (merged ranges already
    carried down); `again()` from the chunks kept (workbooks only)."""

    index: int = 0

    def again(self) -> Sheet | None:
        if not self.source.keep:
            return None
        return _StreamedSheet(
            self.name, self.source, self.first_column, self.merged, index=self.index
        )

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return self.source.rows(self.index)
