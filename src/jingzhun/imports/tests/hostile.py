"""Hostile files, built in memory: minimal valid .xlsx packages whose one sheet XML is given,
a ZIP bomb, a deeply nested GeoJSON (issue 20, item 2)."""

from __future__ import annotations

import io
import zipfile

_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def sheet_xml(cells: str, dimension: str | None = None, padding: str = "") -> str:
    """A worksheet part: `cells` inside <sheetData>, an optional <dimension ref>, and `padding`
    (whitespace) after the data."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{declared}<sheetData>{cells}</sheetData>{padding}</worksheet>"
    )


def workbook(sheet: str) -> bytes:
    """A minimal valid .xlsx package (the four parts Excel needs) with one worksheet."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def _number(ref: str) -> str:
    row = "".join(c for c in ref if c.isdigit())
    return f'<row r="{row}"><c r="{ref}" t="n"><v>1</v></c></row>'


def far_cell() -> bytes:
    """The only cell is Excel's last, XFD1048576 (calamine then yields 1,048,576 rows)."""
    return workbook(sheet_xml(_number("XFD1048576")))


def far_cell_after_a1() -> bytes:
    """A1 and XFD1048576: calamine's dense range would be 2^34 cells, 512 GiB (it aborts the
    process: `memory allocation of 549755813888 bytes failed`)."""
    return workbook(sheet_xml(_number("A1") + _number("XFD1048576")))


def declared_dimension() -> bytes:
    """One cell, and a declared range of the whole sheet."""
    return workbook(sheet_xml(_number("A1"), dimension="A1:XFD1048576"))


def zip_bomb(inflated: int = 20_000_000) -> bytes:
    """A valid one-cell workbook whose sheet XML carries `inflated` bytes of whitespace:
    about 1000:1 (deflate's best)."""
    return workbook(sheet_xml(_number("A1"), padding=" " * inflated))


def nested_geojson(depth: int = 100_000) -> bytes:
    """A FeatureCollection whose geometry's coordinates nest `depth` arrays deep."""
    return (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":'
        b'"230231100201"},"geometry":{"type":"Polygon","coordinates":'
        + b"[" * depth
        + b"]" * depth
        + b"}}]}"
    )
