"""The household card (明白卡) as .xlsx and PDF.

One neutral description of the card (`Card`: titled sections of label/value pairs or tables) is
built from the registry and written by both renderers, so the two formats never disagree. It
holds the household, its members, income by year (net and per-capita derived), helper pairings
when there are any, and the latest assessment per criterion when there is one. Masked (the
default): ID numbers, phone and bank account are masked, health and disability are hidden, and
members show their age instead of the birth date, exactly as the web card does.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from jingzhun.access.models import HelperPairing
from jingzhun.assessments.selectors import assessment_view
from jingzhun.registry import dictionary
from jingzhun.registry.models import Household

from . import pdf
from .values import age_on, field_value, label, safe

BOLD = Font(bold=True)
RESULTS = {"passed": "达标", "failed": "未达标", "unknown": "未知"}

# The fields come from the dictionary (registry.dictionary: `appears` has "card"): the household's
# basic and monitoring fields (the code, the village and the head are the card's first lines),
# its living conditions, its members (who first), and its income items.
_FIRST_LINES = ("household_code", "village", "head_name", "household_size")
BASIC = [
    k
    for section in ("basic", "monitoring")
    for k in dictionary.keys("household", on="card", section=section)
    if k not in _FIRST_LINES
]
CONDITIONS = list(dictionary.keys("household", on="card", section="conditions"))
_LEADING_MEMBER = ["name", "sex", "relation", "id_number", "birth_date", "age"]
MEMBER_COLUMNS = _LEADING_MEMBER + [
    k for k in dictionary.keys("member", on="card") if k not in _LEADING_MEMBER
]
# The card is read by people, not the importer: short headers keep the member table on the page.
SHORT = {
    "basic_medical_insured": "基本医保",
    "critical_illness_insured": "大病保险",
    "pension_insured": "养老保险",
    "work_months": "务工月数",
    "age": "年龄",
}
INCOME_LINES = [
    (f.key, f"其中：{f.label}" if f.part_of else f.label)
    for f in dictionary.fields("income", on="card")
    if f.key != "year"
]


@dataclass
class Section:
    title: str
    pairs: list[tuple[str, Any]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


@dataclass
class Card:
    title: str
    subtitle: str
    sections: list[Section]
    members: int


def _money(value: Decimal | None) -> Any:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def build_card(household: Household, *, masked: bool, today: datetime.date) -> Card:
    """The card of one household (the caller obtained it through a scoped selector)."""
    village = household.village
    township = village.parent
    county = township.parent if township else None
    place = " / ".join(r.name for r in (county, township, village) if r is not None)
    members = list(household.members.order_by("id"))
    basic = Section("基本信息")
    basic.pairs = [
        ("户编号", household.household_code),
        ("所属村", place),
        ("户主姓名", household.head_name),
        ("家庭人口数", len(members)),
    ]
    basic.pairs += [(label(k), field_value(k, getattr(household, k), masked=masked)) for k in BASIC]
    columns = [k for k in MEMBER_COLUMNS if not (masked and k == "birth_date")]
    member_section = Section("家庭成员", header=[SHORT.get(k) or label(k) for k in columns])
    for m in members:
        row = []
        for key in columns:
            if key == "age":
                row.append(age_on(m.birth_date, today))
            else:
                row.append(field_value(key, getattr(m, key), masked=masked))
        member_section.rows.append(row)
    if masked:
        member_section.note = "证件号码已脱敏，健康状况、残疾等级已隐藏，出生日期以年龄代替。"
    sections = [basic, member_section, _income(household, len(members))]
    pairings = _pairings(household)
    if pairings is not None:
        sections.append(pairings)
    sections += _measures(household)
    sections.append(_policies(members))
    assessment = _assessment(household)
    if assessment is not None:
        sections.append(assessment)
    conditions = Section("生产生活条件")
    conditions.pairs = [
        (label(k), field_value(k, getattr(household, k), masked=masked)) for k in CONDITIONS
    ]
    sections.append(conditions)
    return Card(
        title="贫困户明白卡",
        subtitle=f"{place}　户编号 {household.household_code}　户主 {household.head_name}",
        sections=sections,
        members=len(members),
    )


def _income(household: Household, persons: int) -> Section:
    incomes = list(household.incomes.order_by("year"))
    section = Section("家庭收入（元）", header=["项目", *[f"{i.year} 年" for i in incomes]])
    if not incomes:
        section.note = "尚无收入记录。"
        section.header = []
        return section
    for key, title in INCOME_LINES:
        section.rows.append([title, *[_money(getattr(i, key)) for i in incomes]])
    net = [i.net_income for i in incomes]
    section.rows.append(["家庭纯收入", *[_money(n) for n in net]])
    section.rows.append(
        [
            "人均纯收入",
            *[_money((n / persons).quantize(Decimal("0.01"))) if persons else None for n in net],
        ]
    )
    section.note = "家庭纯收入 = 工资性 + 生产经营性 + 财产性 + 转移性收入 − 生产经营性支出；人均纯收入 = 家庭纯收入 ÷ 家庭人口数。"
    return section


def _pairings(household: Household) -> Section | None:
    pairings = list(
        HelperPairing.objects.filter(household=household)
        .select_related("helper")
        .order_by("start_date", "id")
    )
    if not pairings:
        return None
    section = Section("结对帮扶", header=["帮扶责任人", "开始日期", "结束日期"])
    for p in pairings:
        name = p.helper.display_name or p.helper.username
        section.rows.append([name, p.start_date, p.end_date or "至今"])
    return section


def _measures(household: Household) -> list[Section]:
    """The household's plan (一户一策, assistance): measures other than refused or cancelled ones,
    and the coverage computed from them (never typed)."""
    from jingzhun.assistance.catalogue import catalogue
    from jingzhun.assistance.measure_selectors import coverage, household_risk_types
    from jingzhun.assistance.models import Measure

    every = list(Measure.objects.filter(household=household).order_by("-year", "start_date", "id"))
    shown = [m for m in every if m.status not in ("refused", "cancelled")]
    cat = catalogue()
    section = Section(
        "帮扶措施",
        header=[
            "年度",
            "措施类型",
            "责任部门",
            "措施内容",
            "金额（元）",
            "开始日期",
            "结束日期",
            "状态",
        ],
    )
    for m in shown:
        section.rows.append(
            [
                m.year,
                cat.kind_label(m.kind),
                cat.department_label(m.department),
                m.description,
                _money(m.amount),
                m.start_date,
                m.end_date or "",
                m.status_label,
            ]
        )
    if not shown:
        section.header = []
        section.note = "尚无帮扶措施。"
    results = coverage(household, every, risk_types=household_risk_types(household), cat=cat)
    if not results:
        return [section]
    covered = Section("措施覆盖（按措施计算）", header=["要求", "是否满足", "说明"])
    for r in results:
        covered.rows.append([r.rule.title, "满足" if r.met else "未满足", r.detail])
    return [section, covered]


# The policies a household enjoys (享受政策), from the members' fields of the dictionary.
POLICY_FLAGS = (
    "dibao",
    "tekun",
    "basic_medical_insured",
    "critical_illness_insured",
    "pension_insured",
)


def _policies(members: list[Any]) -> Section:
    section = Section("享受政策", header=["政策", "人数", "成员"])
    for key in POLICY_FLAGS:
        names = [m.name for m in members if getattr(m, key, False)]
        if names:
            section.rows.append([label(key), len(names), "、".join(names)])
    if not section.rows:
        section.header = []
        section.note = "未登记享受的政策。"
    return section


def _assessment(household: Household) -> Section | None:
    view = assessment_view(household)
    if view is None:
        return None
    verdict = "全部达标" if view.passed else "尚未全部达标"
    section = Section(
        f"贫困户退出标准判定（{view.year} 年，{verdict}）",
        header=["标准", "结果", "依据"],
        note=view.note,
    )
    for c in view.criteria:
        section.rows.append(
            [
                c.get("label", c.get("id")),
                RESULTS.get(c["result"], c["result"]),
                c.get("explanation"),
            ]
        )
    return section


# --- renderers ---------------------------------------------------------------------------------


def _shown(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def write_card_xlsx(card: Card, out: IO[bytes], *, watermark: str) -> None:
    wb = Workbook(write_only=True)
    wb.properties.creator = "精准"
    ws = wb.create_sheet("明白卡")

    def bold(value: Any) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=safe(value))
        cell.font = BOLD
        return cell

    ws.append([bold(card.title)])
    ws.append([safe(card.subtitle)])
    ws.append([safe(watermark)])
    for section in card.sections:
        ws.append([])
        ws.append([bold(section.title)])
        for name, value in section.pairs:
            ws.append([safe(name), safe(_shown(value))])
        if section.header:
            ws.append([bold(h) for h in section.header])
        for row in section.rows:
            ws.append([safe(_shown(v)) for v in row])
        if section.note:
            ws.append([safe(section.note)])
    wb.save(out)


def write_card_pdf(card: Card, out: IO[bytes], *, watermark: str) -> int:
    font = pdf.cjk_font()
    styles = pdf.Styles(font)
    story: list[Any] = [
        pdf.Paragraph(pdf.text(card.title), styles.title),
        pdf.Paragraph(pdf.text(card.subtitle), styles.body),
        pdf.Spacer(1, 3 * pdf.mm),
    ]
    for section in card.sections:
        story.append(pdf.Paragraph(pdf.text(section.title), styles.heading))
        if section.pairs:
            # Two label/value pairs a line.
            cells = [c for name, value in section.pairs for c in (name, _shown(value))]
            rows = [cells[i : i + 4] for i in range(0, len(cells), 4)]
            rows[-1] += [""] * (4 - len(rows[-1]))
            story.append(
                pdf.grid(rows, styles, widths=[45 * pdf.mm, 88 * pdf.mm] * 2, header=False)
            )
        if section.header:
            table = [section.header, *[[_shown(v) for v in r] for r in section.rows]]
            story.append(pdf.grid(table, styles, total=pdf.LANDSCAPE_WIDTH))
        if section.note:
            story.append(pdf.Paragraph(pdf.text(section.note), styles.small))
    return pdf.build(out, story, title=card.title, watermark=watermark, font=font, wide=True)
