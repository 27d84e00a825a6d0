"""PDF building blocks (ReportLab, ADR 0013): a CJK font that works offline, styles, tables.

The font is the first TrueType collection found among `FONT_PATHS` (Debian's fonts-wqy-microhei,
which .ci/run installs; `JINGZHUN_PDF_FONT` names another), embedded as a subset; on a machine
without one, ReportLab's built-in CID font STSong-Light (Adobe-GB1; the viewer supplies the
glyphs), so a fresh machine still writes a valid PDF with real Chinese text in it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Final

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_PATHS: Final = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
FALLBACK_FONT: Final = "STSong-Light"
_registered: dict[tuple[str, ...], str] = {}


def cjk_font(paths: Sequence[str] | None = None) -> str:
    """Register and return the name of a font that can write Chinese."""
    if paths is None:
        override = os.environ.get("JINGZHUN_PDF_FONT", "")
        paths = (override, *FONT_PATHS) if override else FONT_PATHS
    key = tuple(paths)
    if key in _registered:
        return _registered[key]
    name = FALLBACK_FONT
    for path in paths:
        if not Path(path).is_file():
            continue
        try:
            font = TTFont(f"JZ-{Path(path).stem}", path, subfontIndex=0)
        except (TTFError, OSError):
            continue
        pdfmetrics.registerFont(font)
        name = font.fontName
        break
    else:
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    _registered[key] = name
    return name


class Styles:
    def __init__(self, font: str) -> None:
        self.font = font
        self.title = ParagraphStyle(
            "title", fontName=font, fontSize=16, leading=22, alignment=TA_CENTER
        )
        self.heading = ParagraphStyle(
            "heading", fontName=font, fontSize=12, leading=18, spaceBefore=6
        )
        self.body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15)
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11)
        self.small = ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10)


def text(value: Any) -> str:
    """A value as PDF paragraph text (escaped for ReportLab's mini-markup)."""
    if value is None or value == "":
        return "—"
    shown = str(value)
    return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


PORTRAIT_WIDTH: Final = 180 * mm
LANDSCAPE_WIDTH: Final = 267 * mm


def _ems(value: Any) -> float:
    """How wide a text is in ems: Chinese characters are a full em, digits and letters about half."""
    return sum(1.0 if ord(ch) >= 0x2E80 else 0.62 for ch in text(value))


def auto_widths(rows: Sequence[Sequence[Any]], total: float) -> list[float]:
    """Column widths in proportion to their widest cell (3 to 18 ems), filling `total`."""
    columns = max(len(r) for r in rows)
    longest = [3.0] * columns
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            # Header words may wrap; values (names, ID numbers) should not.
            weight = _ems(value) * (0.5 if i == 0 else 1.0)
            longest[j] = min(18.0, max(longest[j], weight))
    padded = [w + 1.5 for w in longest]  # cell padding
    scale = total / sum(padded)
    return [w * scale for w in padded]


def grid(
    rows: Sequence[Sequence[Any]],
    styles: Styles,
    *,
    widths: Sequence[float] | None = None,
    total: float | None = None,
    header: bool = True,
) -> Table:
    """A bordered table of paragraphs (so long Chinese text wraps inside its cell)."""
    data = [[Paragraph(text(v), styles.cell) for v in row] for row in rows]
    if widths is None and total is not None and rows:
        widths = auto_widths(rows, total)
    table = Table(data, colWidths=list(widths) if widths else None, repeatRows=1 if header else 0)
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONTNAME", (0, 0), (-1, -1), styles.font),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")))
    table.setStyle(TableStyle(commands))
    return table


def build(
    out: IO[bytes],
    story: list[Flowable],
    *,
    title: str,
    watermark: str,
    font: str,
    wide: bool = False,
) -> int:
    """Write the story as an A4 PDF with the watermark and page number in every footer; pages."""
    pagesize = landscape(A4) if wide else A4
    doc = SimpleDocTemplate(
        out,
        pagesize=pagesize,
        title=title,
        author="精准",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
    )

    def footer(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(15 * mm, 10 * mm, watermark)
        canvas.drawRightString(pagesize[0] - 15 * mm, 10 * mm, f"第 {document.page} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return int(doc.page)


__all__ = [
    "LANDSCAPE_WIDTH",
    "PORTRAIT_WIDTH",
    "Paragraph",
    "Spacer",
    "Styles",
    "build",
    "cjk_font",
    "grid",
    "mm",
    "text",
]
