"""The dashboard's files: any table as .xlsx, and the printable county report (PDF, ReportLab).

The report carries the key figures, a trend chart and a bar chart drawn with ReportLab graphics
(no browser), the tables, and a short summary in Chinese generated from the figures in the
manner of a county's poverty-alleviation report. Figures only, no personal data.
"""

from __future__ import annotations

from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from jingzhun.exports import pdf
from jingzhun.imports.report import safe

from .tables import Dashboard

TABLES = ("children", "coverage", "breakdowns", "criteria", "trend")


def table_rows(board: Dashboard, table: str) -> tuple[str, list[list[Any]]]:
    """(title, rows with a header row) of one of the dashboard's tables."""
    region = board.scope.region.name
    if table == "children":
        level = "乡镇" if board.scope.region.level == "county" else "村"
        head = [level, *(f"{d.label}（{d.unit}）" for d in board.child_columns)]
        rows: list[list[Any]] = [head]
        for child, cells, _m in board.children:
            rows.append([child.name, *(c.value for c in cells)])
        rows.append(["合计", *(c.value for _d, c in board.key[:6]), board.key[6][1].value])
        return f"{region}{board.year}年分{level}统计", rows
    if table == "coverage":
        rows = [["指标", "数值", "分子", "分母"]]
        rows += [[d.label, c.value, c.numerator, c.denominator] for d, c in board.coverage]
        return f"{region}{board.year}年两不愁三保障及监测", rows
    if table == "breakdowns":
        rows = [["分组", "类别", "户数"]]
        for d, items in board.breakdowns:
            rows += [[d.label, label, c.value] for _k, label, c in items]
        return f"{region}{board.year}年构成", rows
    if table == "criteria":
        rows = [["退出标准", "达标率(%)", "达标户数", "判定户数"]]
        rows += [[label, c.value, c.numerator, c.denominator] for label, c in board.criteria]
        return f"{region}{board.year}年退出标准达标情况", rows
    if table == "trend":
        years = sorted({y for series in board.trend.values() for y, _v in series})
        rows = [["年度", "贫困发生率(%)", "未脱贫人口", "已脱贫人口", "建档立卡人口"]]
        for y in years:
            rows.append(
                [y, *(dict(board.trend.get(k, [])).get(y) for k in (
                    "poverty_incidence", "remaining_persons", "exited_persons", "registered_persons"
                ))]
            )  # fmt: skip
        return f"{region}历年减贫进度", rows
    raise ValueError(table)


def write_xlsx(board: Dashboard, table: str, out: IO[bytes]) -> int:
    """The table as a workbook (numbers as numbers, text formula-escaped); returns data rows."""
    title, rows = table_rows(board, table)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "指标"
    ws.append([safe(title)])
    ws["A1"].font = Font(bold=True)
    for row in rows:
        ws.append(
            [
                safe(v) if isinstance(v, str) else (round(v, 4) if isinstance(v, float) else v)
                for v in row
            ]
        )
    for cell in ws[2]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 24
    wb.save(out)
    return len(rows) - 1


# --- summary and PDF -------------------------------------------------------------------------


def _fig(board: Dashboard, ind: str) -> Any:
    return next((c for d, c in board.key + board.coverage if d.id == ind), None)


def summary(board: Dashboard) -> list[str]:
    """Paragraphs in the style of a county report, generated from the figures."""
    name, year = board.scope.region.name, board.year
    reg_h, reg_p = _fig(board, "registered_households"), _fig(board, "registered_persons")
    ex_h, ex_p = _fig(board, "exited_households"), _fig(board, "exited_persons")
    rem_h, rem_p = _fig(board, "remaining_households"), _fig(board, "remaining_persons")
    inc = _fig(board, "poverty_incidence")
    out = []
    first = f"截至{year}年底，{name}共有建档立卡贫困户{reg_h.text}户{reg_p.text}人，"
    first += f"累计脱贫{ex_h.text}户{ex_p.text}人，剩余未脱贫{rem_h.text}户{rem_p.text}人"
    first += f"，贫困发生率{inc.text}。" if inc and inc.value is not None else "。"
    series = [
        (y, v) for y, v in board.trend.get("poverty_incidence", []) if v is not None and y <= year
    ]
    if len(series) >= 2:
        (y0, v0), (y1, v1) = series[0], series[-1]
        first += f"贫困发生率由{y0}年的{v0:.2f}%降至{y1}年的{v1:.2f}%，下降{v0 - v1:.2f}个百分点。"
    out.append(first)
    if board.children:
        incidence = [(ch.name, m.value) for ch, _cells, m in board.children if m.value is not None]
        if board.map_indicator.id == "poverty_incidence" and incidence:
            hi = max(incidence, key=lambda kv: kv[1])
            lo = min(incidence, key=lambda kv: kv[1])
            out.append(
                f"分区域看，贫困发生率最高的是{hi[0]}（{hi[1]:.2f}%），最低的是{lo[0]}（{lo[1]:.2f}%）。"
            )
        clear = [ch.name for ch, cells, _m in board.children if cells[4].value == 0]
        if clear:
            out.append(
                f"已有{len(clear)}个{'乡镇' if board.scope.region.level == 'county' else '村'}实现建档立卡户全部脱贫。"
            )
    if board.coverage:
        parts = [
            f"{d.label}{c.text}" for d, c in board.coverage if d.is_rate and c.value is not None
        ]
        if parts:
            out.append("“两不愁三保障”方面，" + "，".join(parts) + "。")
    weak = [(label, c.value) for label, c in board.criteria[1:] if c.value is not None]
    if weak:
        label, value = min(weak, key=lambda kv: kv[1])
        out.append(
            f"按退出标准判定，达标率最低的是“{label}”（{value:.2f}%），是下一步帮扶和巩固的重点。"
        )
    if rem_h and rem_h.value:
        out.append(
            f"下一步，要聚焦剩余{rem_h.text}户未脱贫户，逐户落实帮扶措施，确保按期脱贫、稳定脱贫。"
        )
    else:
        out.append("下一步，要持续做好防返贫动态监测和帮扶，巩固拓展脱贫攻坚成果。")
    return out


def _line_chart(board: Dashboard, font: str) -> Drawing | None:
    series = [
        (y, v)
        for y, v in board.trend.get("poverty_incidence", [])
        if v is not None and y <= board.year
    ]
    if len(series) < 2:
        return None
    drawing = Drawing(170 * mm, 60 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 10 * mm, 145 * mm, 42 * mm
    chart.data = [[v for _y, v in series]]
    chart.categoryAxis.categoryNames = [str(y) for y, _v in series]
    chart.categoryAxis.labels.fontName = font
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    chart.lines[0].strokeColor = colors.HexColor("#c23531")
    chart.lines[0].strokeWidth = 1.5
    drawing.add(chart)
    drawing.add(String(15 * mm, 55 * mm, "贫困发生率（%）", fontName=font, fontSize=9))
    return drawing


def _bar_chart(board: Dashboard, font: str) -> Drawing | None:
    rows = [(ch.name, m.value or 0.0) for ch, _c, m in board.children][:30]
    if not rows:
        return None
    height = max(40, 6 * len(rows) + 15) * mm
    drawing = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 35 * mm, 5 * mm, 125 * mm, height - 15 * mm
    chart.data = [[v for _n, v in rows]]
    chart.categoryAxis.categoryNames = [n for n, _v in rows]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#4e79a7")
    drawing.add(chart)
    drawing.add(
        String(
            15 * mm,
            height - 6 * mm,
            f"{board.map_indicator.label}（{board.map_indicator.unit}）",
            fontName=font,
            fontSize=9,
        )
    )
    return drawing


def write_report(board: Dashboard, out: IO[bytes], *, who: str) -> int:
    """The printable report of the dashboard's region and year; returns the page count."""
    font = pdf.cjk_font()
    st = pdf.Styles(font)
    name = board.scope.region.name
    story: list[Any] = [
        Paragraph(pdf.text(f"{name}{board.year}年脱贫攻坚主要指标报告"), st.title),
        Spacer(1, 4 * mm),
        Paragraph(
            pdf.text(
                f"数据截至{board.year}年12月31日；生成时间 {timezone.localtime():%Y-%m-%d %H:%M}。"
            ),
            st.small,
        ),
        Paragraph("一、总体情况", st.heading),
    ]
    story += [Paragraph(pdf.text(p), st.body) for p in summary(board)]
    story.append(Paragraph("二、主要指标", st.heading))
    story.append(
        pdf.grid(
            [["指标", "数值"], *([d.label, c.text] for d, c in board.key)],
            st,
            total=pdf.PORTRAIT_WIDTH,
        )
    )
    line = _line_chart(board, font)
    if line is not None:
        story += [Paragraph("三、历年贫困发生率", st.heading), line]
    if board.children:
        story.append(Paragraph("四、分区域情况", st.heading))
        bars = _bar_chart(board, font)
        if bars is not None:
            story.append(bars)
        _title, rows = table_rows(board, "children")
        story.append(pdf.grid([[_short(v) for v in r] for r in rows], st, total=pdf.PORTRAIT_WIDTH))
    if board.coverage:
        story.append(Paragraph("五、两不愁三保障及监测", st.heading))
        story.append(
            pdf.grid(
                [["指标", "数值"], *([d.label, c.text] for d, c in board.coverage)],
                st,
                total=pdf.PORTRAIT_WIDTH,
            )
        )
    if board.criteria:
        story.append(Paragraph("六、退出标准达标情况", st.heading))
        story.append(
            pdf.grid(
                [["标准", "达标率"], *([label, c.text] for label, c in board.criteria)],
                st,
                total=pdf.PORTRAIT_WIDTH,
            )
        )
    return pdf.build(
        out,
        story,
        title=f"{name}{board.year}年报告",
        watermark=f"精准 · {who} · 仅供内部工作使用",
        font=font,
    )


def _short(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value
