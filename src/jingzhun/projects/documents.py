"""Postings (公告公示) and reports as files: the project plan and result postings (PDF), the
fund posting of a project (资金公告, PDF and .xlsx) and the reconciliation report (.xlsx).

PDFs are written with `exports.pdf` (ReportLab, the CJK font the notices and 明白卡 use). Public
postings name households by code and head's name only: never an ID number, phone, bank account
or health detail (as `exports.notice`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from jingzhun.exports import pdf
from jingzhun.regions.models import Region

from .choices import POSTING_TYPES
from .models import Posting, Project
from .money import yuan


@dataclass(frozen=True)
class PostingSpec:
    kind: str  # plan | result
    start: datetime.date
    days: int
    issuer: str

    @property
    def end(self) -> datetime.date:
        return self.start + datetime.timedelta(days=self.days - 1)


def _date(d: datetime.date | None) -> str:
    return f"{d.year} 年 {d.month} 月 {d.day} 日" if d else "—"


def place_of(project: Project) -> str:
    names = []
    for code in (project.county_code, project.township_code, project.village_code):
        if code:
            region = Region.objects.filter(pk=code).first()
            names.append(region.name if region else code)
    return "".join(names)


def write_project_posting(project: Project, spec: PostingSpec, out: IO[bytes]) -> int:
    """The plan posting (name, place, task, fund sources and amounts, period, implementer and
    responsible person, targets, benefit mechanism) or the result posting (the same with what
    was allocated and paid, and the households that benefit)."""
    from .selectors import benefit_summary, benefits_of, project_funds

    font = pdf.cjk_font()
    styles = pdf.Styles(font)
    title = f"{project.year} 年度{POSTING_TYPES[spec.kind]}"
    funds = project_funds(project)
    facts = [
        ["项目名称", project.name],
        ["项目类型", project.kind_label],
        ["实施地点", place_of(project)],
        ["建设任务", project.task],
        ["投资预算（元）", yuan(project.budget_fen)],
        ["实施期限", f"{_date(project.start_date)} 至 {_date(project.end_date)}"],
        ["实施单位", project.implementer],
        ["责任人", project.responsible],
        ["绩效目标", project.targets],
        ["联农带农机制", project.benefit_mechanism],
    ]
    header = ["资金来源", "文号", "计划（元）"]
    if spec.kind == "result":
        header += ["已下达（元）", "已支付（元）"]
    money = [header]
    for line in funds.lines:
        row = [line.source.name, line.source.document, yuan(line.planned_fen)]
        if spec.kind == "result":
            row += [yuan(line.allocated_fen), yuan(line.disbursed_fen)]
        money.append(row)
    total = ["合计", "", yuan(funds.planned_fen)]
    if spec.kind == "result":
        total += [yuan(funds.allocated_fen), yuan(funds.disbursed_fen)]
    money.append(total)
    lead = (
        f"根据项目库管理有关规定，现将{project.name}有关情况予以公示。公示期自 {_date(spec.start)}"
        f"至 {_date(spec.end)}（{spec.days} 天）。如有异议，请在公示期内向{spec.issuer}反映。"
    )
    story: list[Any] = [
        pdf.Paragraph(pdf.text(title), styles.title),
        pdf.Spacer(1, 4 * pdf.mm),
        pdf.Paragraph(pdf.text(lead), styles.body),
        pdf.Spacer(1, 3 * pdf.mm),
        pdf.grid(facts, styles, widths=[35 * pdf.mm, 145 * pdf.mm], header=False),
        pdf.Spacer(1, 3 * pdf.mm),
        pdf.Paragraph(pdf.text("资金来源及金额"), styles.heading),
        pdf.grid(money, styles, total=pdf.PORTRAIT_WIDTH),
    ]
    if spec.kind == "result":
        summary = benefit_summary(project)
        story += [
            pdf.Paragraph(pdf.text("联农带农受益农户"), styles.heading),
            pdf.Paragraph(
                pdf.text(
                    f"受益农户 {summary['households']} 户，受益金额合计 {yuan(summary['amount_fen'])} 元。"
                ),
                styles.body,
            ),
        ]
        rows: list[list[Any]] = [["序号", "户编号", "户主姓名", "年度", "带动方式", "金额（元）"]]
        for n, link in enumerate(benefits_of(project), start=1):
            rows.append(
                [
                    n,
                    link.household.household_code,
                    link.household.head_name,
                    link.year,
                    link.kind_label,
                    yuan(link.amount_fen),
                ]
            )
        if len(rows) > 1:
            story.append(pdf.grid(rows, styles, total=pdf.PORTRAIT_WIDTH))
    story += [
        pdf.Spacer(1, 8 * pdf.mm),
        pdf.Paragraph(pdf.text(spec.issuer), styles.body),
        pdf.Paragraph(pdf.text(_date(spec.start)), styles.body),
    ]
    return pdf.build(out, story, title=title, watermark=f"项目公告 · {project.pk}", font=font)


FUND_COLUMNS = ["序号", "日期", "类型", "资金来源", "凭证号", "收款人", "金额（元）", "摘要"]


def fund_rows(project: Project) -> list[list[Any]]:
    postings = (
        Posting.objects.filter(project=project)
        .select_related("debit__source", "credit__source")
        .order_by("on_date", "pk")
    )
    rows = []
    for n, p in enumerate(postings, start=1):
        source = p.credit.source if p.credit.source_id else p.debit.source
        rows.append(
            [
                n,
                p.on_date.isoformat(),
                p.kind_label,
                source.name if source else "",
                p.voucher,
                p.payee,
                yuan(p.amount_fen),
                p.memo,
            ]
        )
    return rows


def write_fund_posting_pdf(project: Project, out: IO[bytes], *, watermark: str) -> int:
    """The project's fund posting (资金公告): sources, allocations and payments, with payees."""
    from .selectors import project_funds

    font = pdf.cjk_font()
    styles = pdf.Styles(font)
    funds = project_funds(project)
    title = f"{project.name}资金使用情况公告"
    lead = (
        f"项目“{project.name}”（{place_of(project)}，{project.year} 年度）计划投资 "
        f"{yuan(funds.planned_fen)} 元，已下达 {yuan(funds.allocated_fen)} 元，已支付 "
        f"{yuan(funds.disbursed_fen)} 元，结余 {yuan(funds.balance_fen)} 元。明细如下（冲正记账一并列出）。"
    )
    story: list[Any] = [
        pdf.Paragraph(pdf.text(title), styles.title),
        pdf.Spacer(1, 4 * pdf.mm),
        pdf.Paragraph(pdf.text(lead), styles.body),
        pdf.Spacer(1, 3 * pdf.mm),
        pdf.grid([FUND_COLUMNS, *fund_rows(project)], styles, total=pdf.LANDSCAPE_WIDTH),
    ]
    return pdf.build(out, story, title=title, watermark=watermark, font=font, wide=True)


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    ws = wb.create_sheet(title)
    bold = Font(bold=True)
    cells = []
    for h in header:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    for row in rows:
        ws.append(row)


def write_fund_posting_xlsx(project: Project, out: IO[bytes]) -> None:
    wb = Workbook(write_only=True)
    _sheet(wb, "资金公告", FUND_COLUMNS, fund_rows(project))
    wb.save(out)


def write_reconciliation_xlsx(report: Any, out: IO[bytes]) -> None:
    """The reconciliation report: sources, projects and accounts whose balance disagrees."""
    wb = Workbook(write_only=True)
    _sheet(
        wb,
        "资金来源",
        [
            "资金来源",
            "年度",
            "类别",
            "到账（元）",
            "已下达（元）",
            "已支付（元）",
            "未分配（元）",
            "已下达未支付（元）",
        ],
        [
            [
                r.source.name,
                r.source.year,
                r.source.kind_label,
                yuan(r.received_fen),
                yuan(r.allocated_fen),
                yuan(r.disbursed_fen),
                yuan(r.unallocated_fen),
                yuan(r.unpaid_fen),
            ]
            for r in report.sources
        ],
    )
    _sheet(
        wb,
        "项目",
        [
            "项目编号",
            "项目名称",
            "状态",
            "预算（元）",
            "计划（元）",
            "已下达（元）",
            "已支付（元）",
            "结余（元）",
        ],
        [
            [
                x["project"].pk,
                x["project"].name,
                x["project"].state_label,
                yuan(x["project"].budget_fen),
                yuan(x["funds"].planned_fen),
                yuan(x["funds"].allocated_fen),
                yuan(x["funds"].disbursed_fen),
                yuan(x["funds"].balance_fen),
            ]
            for x in report.projects
        ],
    )
    _sheet(
        wb,
        "核对",
        ["账户编号", "账户类别", "账面余额（元）", "按记账重算（元）"],
        [
            [
                m["account"].pk,
                m["account"].kind_label,
                yuan(m["stored_fen"]),
                yuan(m["computed_fen"]),
            ]
            for m in report.mismatches
        ]
        + [
            ["合计", "全县账户余额之和（应为 0）", yuan(report.total_balance_fen), ""],
            ["结论", "账实相符" if report.ok else "账实不符", "", ""],
        ],
    )
    wb.save(out)
