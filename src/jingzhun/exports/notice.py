"""The village posting notice (公示) as PDF.

A notice is posted on a village board (domain.md 3.6, 4): it never shows an ID number, phone,
bank account or health detail, masked or not, and so has no unmasked variant. Its columns are a
fixed list (`COLUMNS`) that names none of those fields; the cause of poverty is left out too,
because 因病/因残 is a health detail in all but name.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

from jingzhun.regions.models import Region
from jingzhun.registry.models import Household

from . import pdf
from .values import field_value

KINDS: Final = {
    "identification": "贫困户识别公示",
    "exit": "贫困户退出公示",
    "monitoring": "防返贫监测对象识别公示",
    "elimination": "监测对象风险消除公示",
    "return": "返贫户认定公示",
    "removal": "错评户清退公示",
}
LEADS: Final = {
    "identification": "经农户申请、入户核查和民主评议，拟将以下农户识别为建档立卡贫困户",
    "exit": "经民主评议和入户核实，以下贫困户已达到脱贫标准，拟退出",
    "monitoring": "经农户申报（或排查、部门预警）、入户核查和民主评议，拟将以下农户纳入防返贫监测对象",
    "elimination": "经入户核查和民主评议，以下监测对象风险已稳定消除，拟标注风险消除",
    "return": "经入户核查、数据比对、民主评议和乡镇审核，以下已脱贫户拟认定为返贫户",
    "removal": "经入户核查、数据比对和民主评议，以下农户不符合建档立卡标准，拟予清退",
}
# Shown fields; a test checks that none is sensitive.
COLUMNS: Final = ("household_code", "head_name", "group_name", "household_size", "attribute")
STATUS_COLUMN: Final = {
    "identification": "poverty_status",
    "exit": "poverty_status",
    "monitoring": "monitoring_category",
    "elimination": "monitoring_category",
    "return": "poverty_status",
    "removal": "poverty_status",
}
HEADERS: Final = {
    "household_code": "户编号",
    "head_name": "户主姓名",
    "group_name": "村民小组",
    "household_size": "家庭人口数",
    "attribute": "贫困户属性",
    "poverty_status": "脱贫状态",
    "monitoring_category": "监测类别",
}
MIN_DAYS: Final = 5


@dataclass(frozen=True)
class NoticeSpec:
    """What the notice says: its kind, the posting period and who posts it."""

    kind: str
    start: datetime.date
    days: int = 7
    issuer: str = ""  # default: the village's committee

    @property
    def end(self) -> datetime.date:
        return self.start + datetime.timedelta(days=self.days - 1)

    @property
    def title(self) -> str:
        return KINDS[self.kind]


def _date(d: datetime.date) -> str:
    return f"{d.year} 年 {d.month} 月 {d.day} 日"


def notice_rows(households: Sequence[Household], kind: str) -> list[list[Any]]:
    status = STATUS_COLUMN[kind]
    rows = []
    for n, h in enumerate(households, start=1):
        values = {
            "household_code": h.household_code,
            "head_name": h.head_name,
            "group_name": h.group_name,
            "household_size": sum(1 for _m in h.members.all()),
            "attribute": field_value("attribute", h.attribute, masked=True),
            status: field_value(status, getattr(h, status), masked=True),
        }
        rows.append([n, *[values[k] for k in (*COLUMNS, status)]])
    return rows


def write_notice_pdf(
    village: Region,
    households: Sequence[Household],
    spec: NoticeSpec,
    out: IO[bytes],
    *,
    watermark: str,
) -> int:
    font = pdf.cjk_font()
    styles = pdf.Styles(font)
    township = village.parent
    place = f"{township.name}{village.name}" if township else village.name
    issuer = spec.issuer or f"{village.name}村民委员会"
    lead = (
        f"{LEADS[spec.kind]}，共 {len(households)} 户，现予公示。公示期自 {_date(spec.start)}"
        f"至 {_date(spec.end)}（{spec.days} 天）。如有异议，请在公示期内以书面或口头形式向"
        "村民委员会或乡镇人民政府反映，反映情况应实事求是。"
    )
    header = ["序号", *[HEADERS[k] for k in (*COLUMNS, STATUS_COLUMN[spec.kind])]]
    story: list[Any] = [
        pdf.Paragraph(pdf.text(f"{place}{spec.title}"), styles.title),
        pdf.Spacer(1, 4 * pdf.mm),
        pdf.Paragraph(pdf.text(lead), styles.body),
        pdf.Spacer(1, 3 * pdf.mm),
        pdf.grid([header, *notice_rows(households, spec.kind)], styles, total=pdf.PORTRAIT_WIDTH),
        pdf.Spacer(1, 8 * pdf.mm),
        pdf.Paragraph(pdf.text(issuer), styles.body),
        pdf.Paragraph(pdf.text(_date(spec.start)), styles.body),
    ]
    return pdf.build(out, story, title=spec.title, watermark=watermark, font=font)
