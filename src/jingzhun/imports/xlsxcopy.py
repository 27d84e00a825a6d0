"""The error report of an .xlsx file as a stream copy of the file itself (ADR 0035).

The input's ZIP is copied part by part. Each worksheet's XML is inflated and deflated again as a
stream (ISA-L, several times zlib's speed) and is touched only where the report marks it: rows
without errors pass through as bytes, never as cells. A marked row gets a new style on each bad
cell (the cell's own style plus the red fill: one cloned `cellXfs` entry per style seen), a
comment giving the reasons, and a 错误原因 cell; the header row gets the 错误原因 header. A first
sheet 错误汇总 (the summary, written here as XML) is added to the workbook.

Only what is inert is copied: worksheets without formulas, shared strings, styles, themes,
document properties, printer settings. Anything else (a formula, macros, external links,
drawings, comments, tables, pivot tables, an unusual encoding or a row this reader cannot find)
raises `NotCopyable` and the caller writes the report cell by cell from the values read, as
before: a report never carries live content that the input had.
"""

from __future__ import annotations

import datetime
import html
import io
import posixpath
import re
import struct
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

from isal import isal_zlib
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments.comment_sheet import CommentRecord, CommentSheet
from openpyxl.utils.datetime import to_excel
from openpyxl.xml.functions import tostring

from .layout import column_letter
from .reader import MAX_CELL_CHARS

CHUNK: Final = 1 << 20  # compressed bytes inflated at a time
LEVEL: Final = 1  # ISA-L level 1: about zlib's level 6 in size, four times its speed
ZIP_LIMIT: Final = 0xFFFF_FFFF  # no ZIP64: larger parts are written cell by cell
BAD_RGB: Final = "FFFFC7CE"
ROW_RGB: Final = "FFFFF2CC"
REASON_HEADER: Final = "错误原因"
AUTHOR: Final = "精准·导入校验"

REL: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
WORKSHEET: Final = REL + "/worksheet"
# Relationship types whose parts are inert and copied as they are (by their last path segment).
INERT: Final = {
    "styles",
    "sharedStrings",
    "theme",
    "core-properties",
    "extended-properties",
    "custom-properties",
    "officeDocument",
    "worksheet",
}
CT_SHEET: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_COMMENTS: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML: Final = "application/vnd.openxmlformats-officedocument.vmlDrawing"

_FORMULA: Final = re.compile(rb"<f[\s>/]")
_CELL: Final = re.compile(rb"<c\b([^>]*?)(/>|>(.*?)</c>)", re.S)
_CELL_REF: Final = re.compile(rb'\sr="([A-Z]{1,3})(\d+)"')
_CELL_STYLE: Final = re.compile(rb'\ss="(\d+)"')
_SPANS: Final = re.compile(rb'\sspans="[^"]*"')
_ATTR: Final = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
_DECL: Final = re.compile(rb'^\s*<\?xml[^>]*encoding\s*=\s*["\']([^"\']+)', re.I)


FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")


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


class NotCopyable(Exception):
    """The workbook holds something this copy does not pass through."""


@dataclass
class SheetMarks:
    """What the report marks on one sheet; rows are Excel's (1-based), columns 0-based."""

    cells: dict[int, dict[int, list[str]]] = field(default_factory=dict)
    rows: dict[int, str] = field(default_factory=dict)  # row → text of its 错误原因 cell
    header_row: int = 0  # 0: no header row
    reason_column: int = 0


# A summary cell: (value, bold).
SummaryRow = list[tuple[Any, bool]]


def column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _utf8(xml: bytes) -> bytes:
    """`xml` if it is UTF-8 (the only encoding this copy edits), else NotCopyable."""
    if xml.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotCopyable("UTF-16")
    decl = _DECL.match(xml[:200])
    if decl and decl.group(1).lower().replace(b"-", b"") != b"utf8":
        raise NotCopyable("encoding")
    return xml


def _attrs(tag: str) -> dict[str, str]:
    return {
        k.split(":")[-1] if k != "xmlns" else k: html.unescape(v) for k, v in _ATTR.findall(tag)
    }


def _relationships(xml: bytes) -> list[dict[str, str]]:
    text = _utf8(xml).decode("utf-8")
    return [_attrs(tag) for tag in re.findall(r"<Relationship\b[^>]*>", text)]


def _resolve(base: str, target: str) -> str:
    """The ZIP member a relationship of part `base` points at."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_of(part: str) -> str:
    head, tail = posixpath.split(part)
    return posixpath.join(head, "_rels", tail + ".rels")


def _inline(ref: str, value: Any, style: int | None) -> bytes:
    s = f' s="{style}"' if style is not None else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'.encode()
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'.encode()
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>'.encode() if s else b""
    text = escape(str(value))
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'.encode()


class _Styles:
    """styles.xml with the report's fills and fonts added; bad-cell styles cloned on demand."""

    def __init__(self, xml: bytes) -> None:
        text = _utf8(xml).decode("utf-8")
        fills = self._list(text, "fills", "fill")
        fonts = self._list(text, "fonts", "font")
        self.xfs = self._list(text, "cellXfs", "xf")
        if not fills or not fonts or not self.xfs:
            raise NotCopyable("styles")
        self.text = text
        self.bad_fill, row_fill = len(fills), len(fills) + 1
        bold_font = len(fonts)
        self.new_fills = [
            f'<fill><patternFill patternType="solid"><fgColor rgb="{rgb}"/>'
            '<bgColor indexed="64"/></patternFill></fill>'
            for rgb in (BAD_RGB, ROW_RGB)
        ]
        first = fonts[0]
        if first.endswith("/>"):
            bold = first[:-2] + "><b/></font>"
        else:
            gt = first.index(">")
            bold = first[: gt + 1] + "<b/>" + first[gt + 1 :]
        self.new_fonts = [bold]
        self.new_xfs = [
            f'<xf numFmtId="0" fontId="0" fillId="{row_fill}" borderId="0" xfId="0" applyFill="1"/>',
            f'<xf numFmtId="0" fontId="{bold_font}" fillId="0" borderId="0" xfId="0" applyFont="1"/>',
        ]
        self.reason = len(self.xfs)
        self.bold = len(self.xfs) + 1
        self._bad: dict[int, int] = {}

    @staticmethod
    def _list(text: str, outer: str, inner: str) -> list[str]:
        m = re.search(rf"<{outer}\b[^>]*>(.*?)</{outer}>", text, re.S)
        if m is None:
            return []
        return re.findall(rf"<{inner}\b[^>]*?/>|<{inner}\b[^>]*>.*?</{inner}>", m.group(1), re.S)

    def bad(self, style: int) -> int:
        """The style of a bad cell whose own style is `style`: the same, filled red."""
        if style not in self._bad:
            if not 0 <= style < len(self.xfs):
                raise NotCopyable("style index")
            xf = self.xfs[style]
            gt = xf.index(">")
            head = xf[:gt].rstrip("/")
            head = re.sub(r'\s(fillId|applyFill)="[^"]*"', "", head)
            head += f' fillId="{self.bad_fill}" applyFill="1"'
            self.new_xfs.append(head + xf[gt - (1 if xf[gt - 1] == "/" else 0) :])
            self._bad[style] = len(self.xfs) + len(self.new_xfs) - 1
        return self._bad[style]

    def xml(self) -> bytes:
        text = self.text
        for outer, inner, added in (
            ("fills", "fill", self.new_fills),
            ("fonts", "font", self.new_fonts),
            ("cellXfs", "xf", self.new_xfs),
        ):
            count = len(self._list(text, outer, inner)) + len(added)
            end = text.index(f"</{outer}>")  # there: `_list` found the list
            text = text[:end] + "".join(added) + text[end:]
            text = re.sub(rf'(<{outer}\b[^>]*?\scount=")\d+(")', rf"\g<1>{count}\2", text, count=1)
        return text.encode("utf-8")


class _ZipOut:
    """A ZIP written to memory, its members deflated by ISA-L (no ZIP64: see ZIP_LIMIT)."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.entries: list[tuple[bytes, int, int, int, int, int]] = []
        t = time.localtime()
        self.dostime = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
        self.dosdate = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday

    def write(self, name: str, data: bytes) -> None:
        self.stream(name, iter((data,)))

    def stream(self, name: str, chunks: Iterator[bytes]) -> None:
        raw = name.encode("utf-8")
        flags = 0 if raw.isascii() else 0x800
        offset = self.buffer.tell()
        header = struct.pack(
            "<4s5H3I2H",
            b"PK\x03\x04",
            20,
            flags,
            8,
            self.dostime,
            self.dosdate,
            0,
            0,
            0,
            len(raw),
            0,
        )
        self.buffer.write(header + raw)
        deflate = isal_zlib.compressobj(LEVEL, isal_zlib.DEFLATED, -15)
        crc = size = packed = 0
        for chunk in chunks:
            crc = isal_zlib.crc32(chunk, crc)
            size += len(chunk)
            out = deflate.compress(chunk)
            packed += len(out)
            self.buffer.write(out)
        out = deflate.flush()
        packed += len(out)
        self.buffer.write(out)
        if size > ZIP_LIMIT or self.buffer.tell() > ZIP_LIMIT:
            raise NotCopyable("ZIP64")
        end = self.buffer.tell()
        self.buffer.seek(offset + 14)
        self.buffer.write(struct.pack("<3I", crc, packed, size))
        self.buffer.seek(end)
        self.entries.append((raw, flags, crc, packed, size, offset))

    def finish(self) -> bytes:
        start = self.buffer.tell()
        for raw, flags, crc, packed, size, offset in self.entries:
            self.buffer.write(
                struct.pack(
                    "<4s6H3I5H2I",
                    b"PK\x01\x02",
                    20,
                    20,
                    flags,
                    8,
                    self.dostime,
                    self.dosdate,
                    crc,
                    packed,
                    size,
                    len(raw),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + raw
            )
        size = self.buffer.tell() - start
        if len(self.entries) > 0xFFFF or self.buffer.tell() > ZIP_LIMIT:
            raise NotCopyable("ZIP64")
        n = len(self.entries)
        self.buffer.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, n, n, size, start, 0))
        return self.buffer.getvalue()


def _inflate(data: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member's bytes as a stream of chunks, inflated by ISA-L."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise NotCopyable("compression")
    offset = info.header_offset
    if data[offset : offset + 4] != b"PK\x03\x04":
        raise NotCopyable("local header")
    name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_len + extra_len
    raw = memoryview(data)[start : start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        for i in range(0, len(raw), CHUNK * 8):
            yield bytes(raw[i : i + CHUNK * 8])
        return
    inflate = isal_zlib.decompressobj(-15)
    for i in range(0, len(raw), CHUNK):
        out = inflate.decompress(raw[i : i + CHUNK])
        if out:
            yield out
    rest = inflate.flush()
    if rest:
        yield rest


def _no_formulas(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks as they come; NotCopyable as soon as a cell formula shows."""
    tail = b""
    for chunk in chunks:
        if _FORMULA.search(tail + chunk[:8]) or _FORMULA.search(chunk):
            raise NotCopyable("formula")
        tail = chunk[-8:]
        yield chunk


class _SheetCopy:
    """One worksheet's XML, copied with its marked rows rewritten."""

    def __init__(self, chunks: Iterator[bytes], marks: SheetMarks, styles: _Styles) -> None:
        self.chunks = _no_formulas(chunks)
        self.marks = marks
        self.styles = styles
        self.comments: list[tuple[str, str]] = []
        self.buf = b""
        self.pos = 0
        self.legacy_id = ""  # set by the caller when the sheet gets comments

    def _more(self) -> None:
        try:
            chunk = next(self.chunks)
        except StopIteration:
            raise NotCopyable("truncated sheet") from None
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0

    def head(self) -> bytes:
        """Everything before the rows, without the dimension and the selected-tab flag."""
        while b"<sheetData" not in self.buf:
            self._more()
        _utf8(self.buf)
        at = self.buf.index(b"<sheetData")
        head = self.buf[:at]
        if b"<worksheet" not in head:
            raise NotCopyable("prefixed worksheet")
        head = re.sub(rb"<dimension\b[^>]*/>", b"", head)
        head = re.sub(rb'\stabSelected="(1|true)"', b"", head)
        self.pos = at
        return head

    def rows(self) -> Iterator[bytes]:
        """The rows from <sheetData> on, marked rows rewritten; ends before </sheetData>."""
        m = self.marks
        targets = sorted(set(m.rows) | set(m.cells) | ({m.header_row} if m.header_row else set()))
        if self.buf.startswith(b"<sheetData/>", self.pos):
            if targets:
                raise NotCopyable("empty sheet")
            return
        for number in targets:
            pattern = re.compile(rb'<row\b[^>]*?\sr="' + str(number).encode() + rb'"')
            while True:
                found = pattern.search(self.buf, self.pos)
                if found is not None:
                    break
                if (
                    self.buf.find(b"</sheetData>", self.pos) >= 0
                    or self.buf.find(b"<sheetData/>", self.pos) >= 0
                ):
                    raise NotCopyable(f"row {number} not found")
                keep = self.buf.rfind(b"<row", self.pos)
                if keep < 0:
                    keep = max(self.pos, len(self.buf) - 16)
                if keep > self.pos:
                    yield self.buf[self.pos : keep]
                    self.pos = keep
                self._more()
            start = found.start()
            if start > self.pos:
                yield self.buf[self.pos : start]
            self.pos = start
            while (gt := self.buf.find(b">", start)) < 0:
                self._more()
                start = self.pos
            if self.buf[gt - 1 : gt] == b"/":
                end = gt + 1
            else:
                while (close := self.buf.find(b"</row>", gt)) < 0:
                    self._more()
                    start = self.pos
                    gt = self.buf.find(b">", start)
                end = close + 6
            yield self._row(self.buf[start:end], number)
            self.pos = end
        while True:
            end = self.buf.find(b"</sheetData>", self.pos)
            if end >= 0:
                yield self.buf[self.pos : end]
                self.pos = end
                return
            if self.buf.find(b"<sheetData/>", self.pos) >= 0:
                raise NotCopyable("empty sheet")
            keep = max(self.pos, len(self.buf) - 16)
            yield self.buf[self.pos : keep]
            self.pos = keep
            self._more()

    def tail(self) -> Iterator[bytes]:
        """</sheetData> to the end, with the comments' drawing where the schema wants it."""
        rest = [self.buf[self.pos :]]
        rest.extend(self.chunks)
        text = b"".join(rest)
        if self.legacy_id:
            tag = f'<legacyDrawing xmlns:r="{REL}" r:id="{self.legacy_id}"/>'.encode()
            after = re.search(
                rb"<(legacyDrawingHF|picture|oleObjects|controls|webPublishItems|tableParts|extLst)\b"
                rb"|</worksheet>",
                text,
            )
            if after is None or b"<legacyDrawing " in text or b"<legacyDrawing>" in text:
                raise NotCopyable("worksheet end")
            text = text[: after.start()] + tag + text[after.start() :]
        yield text

    def _row(self, xml: bytes, number: int) -> bytes:
        gt = xml.index(b">")
        closed = xml[gt - 1 : gt] == b"/"
        tag = _SPANS.sub(b"", xml[: gt - 1] if closed else xml[:gt])
        body = b"" if closed else xml[gt + 1 : -6]
        bad = self.marks.cells.get(number, {})
        pending = sorted(bad)
        out: list[bytes] = [tag, b">"]
        pos = 0
        last = -1
        for cell in _CELL.finditer(body):
            ref = _CELL_REF.search(cell.group(1))
            if ref is None or int(ref.group(2)) != number:
                raise NotCopyable("cell without reference")
            col = column_index(ref.group(1))
            out.append(body[pos : cell.start()])
            while pending and pending[0] < col:
                out.append(self._bad_cell(pending.pop(0), number, None, b"/>"))
            if pending and pending[0] == col:
                pending.pop(0)
                out.append(self._bad_cell(col, number, cell.group(1), cell.group(2)))
            else:
                out.append(cell.group(0))
            pos = cell.end()
            last = max(last, col)
        out.append(body[pos:])
        for col in pending:
            out.append(self._bad_cell(col, number, None, b"/>"))
            last = max(last, col)
        where = column_letter(max(self.marks.reason_column, last + 1)) + str(number)
        if number == self.marks.header_row:
            out.append(_inline(where, REASON_HEADER, self.styles.bold))
        elif number in self.marks.rows:
            out.append(_inline(where, _clean(self.marks.rows[number]), self.styles.reason))
        out.append(b"</row>")
        return b"".join(out)

    def _bad_cell(self, col: int, number: int, attrs: bytes | None, rest: bytes) -> bytes:
        ref = column_letter(col) + str(number)
        self.comments.append((ref, "\n".join(self.marks.cells[number][col])[:2000]))
        if attrs is None:
            return f'<c r="{ref}" s="{self.styles.bad(0)}"/>'.encode()
        style = _CELL_STYLE.search(attrs)
        new = self.styles.bad(int(style.group(1)) if style else 0)
        attrs = _CELL_STYLE.sub(b"", attrs) + f' s="{new}"'.encode()
        return b"<c" + attrs + rest


_ILLEGAL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text)[:32_767]


def _summary_xml(rows: list[SummaryRow], bold: int) -> bytes:
    out = [
        f'<worksheet xmlns="{MAIN}"><sheetViews><sheetView tabSelected="1" workbookViewId="0"/>'
        "</sheetViews><sheetData>".encode()
    ]
    for i, row in enumerate(rows, start=1):
        cells = b"".join(
            _inline(f"{column_letter(j)}{i}", value, bold if strong else None)
            for j, (value, strong) in enumerate(row)
        )
        out.append(f'<row r="{i}">'.encode() + cells + b"</row>")
    out.append(b"</sheetData></worksheet>")
    return b"".join(out)


def _unused_id(rels: list[dict[str, str]], stem: str) -> str:
    taken = {r.get("Id") for r in rels}
    n = 1
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"


def _unused_name(names: set[str], pattern: str) -> str:
    n = 1
    while pattern.format(n) in names:
        n += 1
    return pattern.format(n)


def copy_with_marks(
    data: bytes, marks: dict[str, SheetMarks], summary: list[SummaryRow], summary_title: str
) -> bytes:
    """The report: `data` (an .xlsx) copied with `marks`, the summary sheet first."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        infos = {info.filename: info for info in book.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise NotCopyable("zip") from exc

    def small(name: str) -> bytes:
        info = infos.get(name)
        if info is None or info.file_size > 64 << 20:
            raise NotCopyable(f"part {name}")
        return b"".join(_inflate(data, info))

    root_rels = _relationships(small("_rels/.rels"))
    copied: list[str] = []
    workbook = ""
    for rel in root_rels:
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        if kind not in INERT or rel.get("TargetMode") == "External":
            raise NotCopyable(f"package part {kind}")
        part = _resolve("", rel.get("Target", ""))
        if kind == "officeDocument":
            workbook = part
        else:
            copied.append(part)
    if not workbook:
        raise NotCopyable("no workbook")
    book_rels_name = _rels_of(workbook)
    book_rels = _relationships(small(book_rels_name))
    by_id: dict[str, str] = {}
    styles_part = ""
    for rel in book_rels:
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        if kind not in INERT or rel.get("TargetMode") == "External":
            raise NotCopyable(f"workbook part {kind}")
        part = _resolve(workbook, rel.get("Target", ""))
        by_id[rel.get("Id", "")] = part
        if kind == "styles":
            styles_part = part
        elif kind != "worksheet":
            copied.append(part)
    if not styles_part:
        raise NotCopyable("no styles")
    styles = _Styles(small(styles_part))
    book_xml = _utf8(small(workbook)).decode("utf-8")
    sheets = [_attrs(tag) for tag in re.findall(r"<sheet\b[^>]*>", book_xml)]
    if not sheets or "<sheets>" not in book_xml:
        raise NotCopyable("no sheets")
    if any(s.get("name") == summary_title for s in sheets) or set(marks) - {
        s.get("name") for s in sheets
    }:
        raise NotCopyable("sheet names")

    listed = {by_id.get(s.get("id", "")) for s in sheets}
    if any(
        r.get("Type", "").endswith("/worksheet") and by_id[r.get("Id", "")] not in listed
        for r in book_rels
    ):
        raise NotCopyable("a worksheet outside <sheets>")
    out = _ZipOut()
    names = set(infos)
    overrides: list[tuple[str, str]] = []
    summary_part = _unused_name(names, "xl/worksheets/jz_summary{}.xml")
    summary_id = _unused_id(book_rels, "rIdJz")
    for sheet in sheets:
        sheet_part = by_id.get(sheet.get("id", ""))
        if sheet_part is None or sheet_part not in infos:
            raise NotCopyable("sheet part")
        if infos[sheet_part].file_size > ZIP_LIMIT - (64 << 20):
            raise NotCopyable("ZIP64")
        copy = _SheetCopy(
            _inflate(data, infos[sheet_part]), marks.get(sheet["name"], SheetMarks()), styles
        )
        sheet_rels: list[dict[str, str]] = []
        if _rels_of(sheet_part) in infos:
            sheet_rels = _relationships(small(_rels_of(sheet_part)))
            for rel in sheet_rels:
                if not rel.get("Type", "").endswith("/printerSettings"):
                    raise NotCopyable("worksheet relationship")
                copied.append(_resolve(sheet_part, rel.get("Target", "")))
        # The marked rows are few: the sheet streams through; the rewritten rows, the head and
        # the tail are all that is held.
        extra: list[tuple[str, bytes]] = []
        out.stream(sheet_part, _sheet_stream(copy, sheet_rels, sheet_part, names, overrides, extra))
        for name, xml in extra:
            out.write(name, xml)
    summary_xml = _summary_xml(summary, styles.bold)
    out.write(summary_part, summary_xml)
    overrides.append((summary_part, CT_SHEET))
    tag = (
        f'<sheet xmlns:r="{REL}" name={quoteattr(summary_title)}'
        f' sheetId="{max(int(s.get("sheetId", "0") or 0) for s in sheets) + 1}"'
        f' r:id="{summary_id}"/>'
    )
    book_xml = book_xml.replace("<sheets>", "<sheets>" + tag, 1)
    book_xml = re.sub(
        r'localSheetId="(\d+)"', lambda m: f'localSheetId="{int(m.group(1)) + 1}"', book_xml
    )
    book_xml = re.sub(r'\s(activeTab|firstSheet)="\d+"', "", book_xml)
    out.write(workbook, book_xml.encode("utf-8"))
    rels_xml = _utf8(small(book_rels_name)).decode("utf-8")
    target = posixpath.relpath(summary_part, posixpath.dirname(workbook))
    rels_xml = rels_xml.replace(
        "</Relationships>",
        f'<Relationship Id="{summary_id}" Type="{WORKSHEET}" Target="{target}"/></Relationships>',
        1,
    )
    out.write(book_rels_name, rels_xml.encode("utf-8"))
    out.write(styles_part, styles.xml())
    out.write("_rels/.rels", small("_rels/.rels"))
    for part in dict.fromkeys(copied):
        if part not in infos:
            raise NotCopyable(f"missing part {part}")
        out.stream(part, _inflate(data, infos[part]))
    types = _utf8(small("[Content_Types].xml")).decode("utf-8")
    if "</Types>" not in types:
        raise NotCopyable("content types")
    added = "".join(f'<Override PartName="/{p}" ContentType="{t}"/>' for p, t in overrides)
    if any(t == CT_COMMENTS for _, t in overrides) and not re.search(
        r'Extension="vml"', types, re.I
    ):
        added += f'<Default Extension="vml" ContentType="{CT_VML}"/>'
    types = types.replace("</Types>", added + "</Types>", 1)
    out.write("[Content_Types].xml", types.encode("utf-8"))
    return out.finish()


def _sheet_stream(
    copy: _SheetCopy,
    rels: list[dict[str, str]],
    part: str,
    names: set[str],
    overrides: list[tuple[str, str]],
    extra: list[tuple[str, bytes]],
) -> Iterator[bytes]:
    """The sheet's XML; its comments and relationships are added to `extra` on the way."""
    yield copy.head()
    yield from copy.rows()
    if copy.comments:
        copy.legacy_id = _add_comments(copy.comments, rels, part, names, overrides, extra)
    elif rels:
        extra.append((_rels_of(part), _rels_xml([(r["Id"], r["Type"], r["Target"]) for r in rels])))
    yield from copy.tail()


def _add_comments(
    comments: list[tuple[str, str]],
    rels: list[dict[str, str]],
    part: str,
    names: set[str],
    overrides: list[tuple[str, str]],
    extra: list[tuple[str, bytes]],
) -> str:
    """The comments part, its drawing and the sheet's relationships (kept ones first), added to
    `extra`; returns the drawing's relationship id for the sheet's <legacyDrawing>."""
    comments_part = _unused_name(names, "xl/comments/jz_comments{}.xml")
    vml_part = _unused_name(names, "xl/drawings/jz_comments{}.vml")
    names.update((comments_part, vml_part))
    legacy_id = _unused_id(rels, "rIdJzVml")
    comments_id = _unused_id(rels, "rIdJzComments")
    records = []
    for ref, text in comments:
        record = CommentRecord(ref=ref, author=AUTHOR)
        record.text.t = text
        records.append(record)
    sheet = CommentSheet.from_comments(records)
    extra.append((comments_part, tostring(sheet.to_tree())))
    extra.append((vml_part, sheet.write_shapes(None)))
    overrides.append((comments_part, CT_COMMENTS))
    here = posixpath.dirname(part)
    links = [
        (r["Id"], r["Type"], posixpath.relpath(_resolve(part, r["Target"]), here)) for r in rels
    ]
    links.append((comments_id, REL + "/comments", posixpath.relpath(comments_part, here)))
    links.append((legacy_id, REL + "/vmlDrawing", posixpath.relpath(vml_part, here)))
    extra.append((_rels_of(part), _rels_xml(links)))
    return legacy_id


def _rels_xml(links: list[tuple[str, str, str]]) -> bytes:
    items = "".join(
        f"<Relationship Id={quoteattr(i)} Type={quoteattr(t)} Target={quoteattr(target)}/>"
        for i, t, target in links
    )
    return f'<Relationships xmlns="{PKG_REL}">{items}</Relationships>'.encode()


# ------------------------------------------------------------ values written as a new workbook
# For a CSV or .xls, or an .xlsx that cannot be copied: the same report from the values read,
# its sheet XML written directly (inline strings) instead of cell objects.
_STYLES: Final = (
    f'<styleSheet xmlns="{MAIN}">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd h:mm:ss"/>'
    '<numFmt numFmtId="166" formatCode="h:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="4"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    f'<fill><patternFill patternType="solid"><fgColor rgb="{BAD_RGB}"/><bgColor indexed="64"/>'
    "</patternFill></fill>"
    f'<fill><patternFill patternType="solid"><fgColor rgb="{ROW_RGB}"/><bgColor indexed="64"/>'
    "</patternFill></fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="10">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="3" borderId="0" xfId="0" applyFill="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/>'
    + "".join(
        f'<xf numFmtId="{fmt}" fontId="0" fillId="{fill}" borderId="0" xfId="0"'
        f' applyNumberFormat="1" applyFill="{int(bool(fill))}"/>'
        for fill in (0, 2)
        for fmt in (164, 165, 166)
    )
    + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
_BOLD, _REASON, _BAD = 1, 2, 3
_DATE_STYLE: Final = {datetime.date: 4, datetime.datetime: 5, datetime.time: 6}  # +3: bad


@dataclass
class ValueSheet:
    """A sheet to write from values: rows of (Excel row number, values from `first_column`)."""

    title: str
    first_column: int
    rows: Iterator[tuple[int, list[Any]]]
    marks: SheetMarks


def _value_cell(ref: str, value: Any, bad: bool) -> str:
    kind = type(value)
    if kind is str:
        return f'<c r="{ref}"{_BAD_ATTR if bad else ""} t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'
    if kind is int or kind is float:
        return f'<c r="{ref}"{_BAD_ATTR if bad else ""}><v>{value!r}</v></c>'
    if kind is bool:
        return f'<c r="{ref}"{_BAD_ATTR if bad else ""} t="b"><v>{int(value)}</v></c>'
    if kind in _DATE_STYLE:
        style = _DATE_STYLE[kind] + (3 if bad else 0)
        return f'<c r="{ref}" s="{style}"><v>{to_excel(value)!r}</v></c>'
    if value is None:
        return f'<c r="{ref}"{_BAD_ATTR}/>' if bad else ""
    return _value_cell(ref, str(value), bad)


_BAD_ATTR: Final = f' s="{_BAD}"'


def _value_rows(sheet: ValueSheet, comments: list[tuple[str, str]]) -> Iterator[bytes]:
    marks = sheet.marks
    letters: list[str] = []
    yield f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    for number, values in sheet.rows:
        width = sheet.first_column + len(values) + 1
        while len(letters) < max(width, marks.reason_column + 1):
            letters.append(column_letter(len(letters)))
        n = str(number)
        first = sheet.first_column
        bad = marks.cells.get(number)
        if bad is None:
            cells = [
                _value_cell(letters[first + j] + n, safe(v), False)
                for j, v in enumerate(values)
                if v is not None and v != ""
            ]
        else:
            cells = []
            for j, v in enumerate(values):
                reasons = bad.get(first + j)
                if v == "":
                    v = None
                if reasons:
                    comments.append((letters[first + j] + n, "\n".join(reasons)[:2000]))
                elif v is None:
                    continue
                cells.append(_value_cell(letters[first + j] + n, safe(v), bool(reasons)))
        reason = marks.rows.get(number)
        if number == marks.header_row or reason is not None:
            at = max(marks.reason_column, first + len(values))
            if number == marks.header_row:
                cells.append(_inline(column_letter(at) + n, REASON_HEADER, _BOLD).decode())
            else:
                cells.append(_inline(column_letter(at) + n, reason, _REASON).decode())
        yield f'<row r="{n}">{"".join(cells)}</row>'.encode()
    yield b"</sheetData>"


def write_values(
    sheets: Iterator[ValueSheet], summary: list[SummaryRow], summary_title: str
) -> bytes:
    """The report as a new workbook: the summary, then each sheet from its values."""
    out = _ZipOut()
    entries: list[tuple[str, str]] = []  # (title, part)
    overrides: list[tuple[str, str]] = []
    out.write("xl/worksheets/sheet1.xml", _summary_xml(summary, _BOLD))
    entries.append((summary_title, "xl/worksheets/sheet1.xml"))
    names: set[str] = set()
    for sheet in sheets:
        part = f"xl/worksheets/sheet{len(entries) + 1}.xml"
        comments: list[tuple[str, str]] = []
        extra: list[tuple[str, bytes]] = []
        out.stream(part, _value_stream(sheet, part, comments, names, overrides, extra))
        for name, xml in extra:
            out.write(name, xml)
        entries.append((sheet.title, part))
    overrides.extend((part, CT_SHEET) for _, part in entries)
    sheets_xml = "".join(
        f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>'
        for i, (title, _) in enumerate(entries, start=1)
    )
    out.write(
        "xl/workbook.xml",
        f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{sheets_xml}</sheets></workbook>'.encode(),
    )
    links = [(f"rId{i}", WORKSHEET, part[3:]) for i, (_, part) in enumerate(entries, start=1)]
    links.append((f"rId{len(entries) + 1}", REL + "/styles", "styles.xml"))
    out.write("xl/_rels/workbook.xml.rels", _rels_xml(links))
    out.write("xl/styles.xml", _STYLES.encode())
    out.write("_rels/.rels", _rels_xml([("rId1", REL + "/officeDocument", "xl/workbook.xml")]))
    types = "".join(f'<Override PartName="/{p}" ContentType="{t}"/>' for p, t in overrides)
    out.write(
        "[Content_Types].xml",
        (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Default Extension="vml" ContentType="{CT_VML}"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
            f'officedocument.spreadsheetml.styles+xml"/>{types}</Types>'
        ).encode(),
    )
    return out.finish()


def _value_stream(
    sheet: ValueSheet,
    part: str,
    comments: list[tuple[str, str]],
    names: set[str],
    overrides: list[tuple[str, str]],
    extra: list[tuple[str, bytes]],
) -> Iterator[bytes]:
    yield from _value_rows(sheet, comments)
    if comments:
        legacy = _add_comments(comments, [], part, names, overrides, extra)
        yield f'<legacyDrawing xmlns:r="{REL}" r:id="{legacy}"/>'.encode()
    yield b"</worksheet>"
