"""The posting (公示) of a distribution plan as PDF, written with `exports.pdf` like the project
postings. Households are named by code and head's name only (never an ID number, phone, bank
account or health detail)."""

from __future__ import annotations

import datetime
from typing import IO, Any

from jingzhun.exports import pdf
from jingzhun.regions.models import Region

from .choices import USES
from .models import DistributionPlan
from .money import yuan


def _date(d: datetime.date) -> str:
    return f"{d.year} 年 {d.month} 月 {d.day} 日"


def write_plan_posting(
    plan: DistributionPlan, start: datetime.date, days: int, issuer: str, out: IO[bytes]
) -> int:
    from .selectors import payments_of, received_fen

    asset = plan.asset
    font = pdf.cjk_font()
    styles = pdf.Styles(font)
    title = f"{plan.year} 年度资产收益分配方案公示"
    village = Region.objects.filter(pk=plan.village_code).first()
    end = start + datetime.timedelta(days=days - 1)
    facts = [
        ["方案名称", plan.title],
        ["资产", f"{asset.name}（{asset.kind_label}，{asset.owner_label}）"],
        ["所在村", village.name if village else plan.village_code],
        [f"{plan.year} 年已到账收益（元）", yuan(received_fen(asset, plan.year))],
        ["分配合计（元）", yuan(plan.total_fen)],
    ]
    uses = [["用途", "金额（元）"]]
    uses += [[label, yuan(plan.use_fen(use))] for use, label in USES.items()]
    lead = (
        f"经村民（代表）大会讨论、上级审批，现将{plan.title}予以公示。公示期自 {_date(start)}"
        f"至 {_date(end)}（{days} 天）。如有异议，请在公示期内向{issuer}反映。"
        "资产收益用于公益岗位工资、小型公益事业和奖励补助，差异化分配，不简单发钱。"
    )
    rows: list[list[Any]] = [["序号", "户编号", "户主姓名", "用途", "依据", "金额（元）"]]
    for n, p in enumerate(payments_of(plan), start=1):
        rows.append(
            [
                n,
                p.household.household_code,
                p.household.head_name,
                p.use_label,
                p.basis,
                yuan(p.amount_fen),
            ]
        )
    story: list[Any] = [
        pdf.Paragraph(pdf.text(title), styles.title),
        pdf.Spacer(1, 4 * pdf.mm),
        pdf.Paragraph(pdf.text(lead), styles.body),
        pdf.Spacer(1, 3 * pdf.mm),
        pdf.grid(facts, styles, widths=[45 * pdf.mm, 135 * pdf.mm], header=False),
        pdf.Spacer(1, 3 * pdf.mm),
        pdf.Paragraph(pdf.text("分配用途及金额"), styles.heading),
        pdf.grid(uses, styles, total=pdf.PORTRAIT_WIDTH),
        pdf.Paragraph(pdf.text("到户名单"), styles.heading),
    ]
    if len(rows) > 1:
        story.append(pdf.grid(rows, styles, total=pdf.PORTRAIT_WIDTH))
    else:
        story.append(pdf.Paragraph(pdf.text("（无到户支付）"), styles.body))
    story += [
        pdf.Spacer(1, 8 * pdf.mm),
        pdf.Paragraph(pdf.text(issuer), styles.body),
        pdf.Paragraph(pdf.text(_date(start)), styles.body),
    ]
    return pdf.build(out, story, title=title, watermark=f"资产收益公示 · {plan.pk}", font=font)
