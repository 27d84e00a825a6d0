"""The pairing import (issue 21 item 2): an .xlsx sheet of 户编号, 帮扶责任人账号 and 开始日期,
checked whole, then written all at once or not at all.

Synchronous, not a background job (ADR "assist-pairing"): a pairing sheet holds a county's few
thousand pairings at most, so the file is limited to `MAX_BYTES` (2 MB) and `MAX_ROWS` (5,000
rows), read in the contained child process of `imports.reader.read_sheets` (core/sandbox.py).
Every problem is reported with its row, its column and the reason, in Chinese.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from jingzhun.access.models import HelperPairing, User
from jingzhun.access.scoping import scope_households
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError
from jingzhun.core.models import action
from jingzhun.imports.reader import UnreadableFile, read_sheets
from jingzhun.registry.actions import check_can_write
from jingzhun.registry.models import Household

from .actions import helper_label, helper_load, pair_locked, pairable
from .models import HelperProfile
from .quotas import quota_for

MAX_BYTES: Final = 2 * 1024 * 1024
MAX_ROWS: Final = 5000
MAX_SHOWN: Final = 200  # problems listed in the refusal's message; all are in `problems`
SHEET: Final = "结对表"
NOTES_SHEET: Final = "说明"
FILENAME: Final = "pairing-template.xlsx"

# column key -> (label in the template, accepted header spellings)
COLUMNS: Final = {
    "household_code": ("户编号", ("户编号", "户码", "户编码")),
    "head_name": ("户主姓名", ("户主姓名", "户主")),
    "helper": ("帮扶责任人账号", ("帮扶责任人账号", "帮扶人账号", "帮扶责任人用户名", "账号")),
    "start_date": ("开始日期", ("开始日期", "结对日期", "结对开始日期")),
}
REQUIRED: Final = ("household_code", "helper", "start_date")
HEADER_ROWS: Final = 10  # a header is looked for in the first rows of a sheet


@dataclass(frozen=True)
class Problem:
    row: int  # the Excel row number (0: the file as a whole)
    column: str  # the column's header ("" for the whole row or file)
    reason: str

    def __str__(self) -> str:
        if self.row == 0:
            return self.reason
        where = f"第 {self.row} 行" + (f"“{self.column}”列" if self.column else "")
        return f"{where}：{self.reason}"


class PairingImportRefused(DomainError):
    """The file was refused; nothing was written. `problems` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        shown = "；".join(str(p) for p in problems[:MAX_SHOWN])
        more = f"；另有 {len(problems) - MAX_SHOWN} 处" if len(problems) > MAX_SHOWN else ""
        super().__init__(f"结对导入文件有 {len(problems)} 处问题，未写入任何结对：{shown}{more}。")
        self.problems = problems


@dataclass
class Row:
    number: int
    values: dict[str, Any]


@dataclass
class Imported:
    created: list[HelperPairing] = field(default_factory=list)
    sha256: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _header(cells: list[Any]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        text = re.sub(r"\s+", "", _text(cell)).rstrip("*")
        for key, (_label, spellings) in COLUMNS.items():
            if text in spellings and key not in found:
                found[key] = index
    return found if all(k in found for k in REQUIRED) else None


def read_rows(data: bytes) -> list[Row]:
    """The data rows of the first sheet with the columns' headers; refused when none has them."""
    if len(data) > MAX_BYTES:
        raise PairingImportRefused(
            [
                Problem(
                    0, "", f"文件超过 {MAX_BYTES // 1024 // 1024} MB（结对表的上限），请拆分后导入"
                )
            ]
        )
    try:
        sheets = read_sheets(data)
    except UnreadableFile as exc:
        raise PairingImportRefused(
            [Problem(0, "", f"文件无法读取：{exc.message.rstrip('。')}")]
        ) from exc
    for sheet in sheets:
        header: dict[str, int] | None = None
        rows: list[Row] = []
        for number, cells in sheet.rows():
            if header is None:
                if number > HEADER_ROWS:
                    break
                header = _header(cells)
                continue
            values = {k: cells[i] if i < len(cells) else None for k, i in header.items()}
            if all(_text(v) == "" for v in values.values()):
                continue
            rows.append(Row(number, values))
            if len(rows) > MAX_ROWS:
                raise PairingImportRefused(
                    [Problem(0, "", f"文件超过 {MAX_ROWS} 行（结对表的上限），请拆分后导入")]
                )
        if header is not None:
            if not rows:
                raise PairingImportRefused([Problem(0, "", f"工作表“{sheet.name}”没有结对数据")])
            return rows
    labels = "、".join(COLUMNS[k][0] for k in REQUIRED)
    raise PairingImportRefused(
        [
            Problem(
                0,
                "",
                f"找不到表头：前 {HEADER_ROWS} 行中应有“{labels}”这几列（请使用结对导入模板）",
            )
        ]
    )


def _date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if not match:
        return None
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


@action
@transaction.atomic
def do_import_pairings(data: bytes, filename: str, *, actor: Any) -> Imported:
    """Check every row of a pairing sheet, then pair them all; any problem refuses the file."""
    check_can_write(actor)
    rows = read_rows(data)
    label = {k: v[0] for k, v in COLUMNS.items()}
    problems: list[Problem] = []
    codes = {_text(r.values.get("household_code")) for r in rows}
    names = {_text(r.values.get("helper")).lower() for r in rows}
    found = Household.objects.select_for_update().filter(household_code__in=codes)
    if actor is not None:
        found = scope_households(actor, found)
    households = {h.household_code: h for h in found}
    helpers: dict[str, User] = {
        u.username.lower(): u
        for u in User.objects.select_for_update()
        .annotate(lname=Lower("username"))
        .filter(lname__in=[n for n in names if n])
    }
    profiles = {p.user_id: p for p in HelperProfile.objects.filter(user__in=list(helpers.values()))}
    today = timezone.localdate()
    planned: list[tuple[Row, Household, User, datetime.date]] = []
    seen: dict[tuple[int, int], int] = {}
    added: dict[int, int] = {}
    for row in rows:
        code = _text(row.values.get("household_code"))
        username = _text(row.values.get("helper"))
        start_raw = row.values.get("start_date")
        bad = len(problems)
        household = households.get(code) if code else None
        if not code:
            problems.append(Problem(row.number, label["household_code"], "户编号不能为空"))
        elif household is None:
            problems.append(
                Problem(
                    row.number,
                    label["household_code"],
                    f"未找到户编号 {code}，或该户不在您的范围内",
                )
            )
        elif not pairable(household):
            problems.append(
                Problem(
                    row.number,
                    label["household_code"],
                    f"该户脱贫状态为“{household.get_poverty_status_display()}”且不是监测对象，不在结对帮扶范围内",
                )
            )
        head = _text(row.values.get("head_name"))
        if household is not None and head and head != household.head_name:
            problems.append(
                Problem(
                    row.number,
                    label["head_name"],
                    f"户主姓名“{head}”与户编号 {code} 登记的户主不一致",
                )
            )
        helper: User | None = helpers.get(username.lower()) if username else None
        if not username:
            problems.append(Problem(row.number, label["helper"], "帮扶责任人账号不能为空"))
        elif helper is None or helper.role != "helper":
            problems.append(
                Problem(row.number, label["helper"], f"账号 {username} 不存在或角色不是帮扶责任人")
            )
            helper = None
        elif not helper.is_active:
            problems.append(
                Problem(
                    row.number, label["helper"], f"帮扶责任人 {helper_label(helper)} 的账号已停用"
                )
            )
            helper = None
        elif helper.pk not in profiles:
            problems.append(
                Problem(
                    row.number,
                    label["helper"],
                    f"帮扶责任人 {helper_label(helper)} 尚未登记工作单位和职级类别",
                )
            )
            helper = None
        start = _date(start_raw)
        if _text(start_raw) == "" and start is None:
            problems.append(Problem(row.number, label["start_date"], "开始日期不能为空"))
        elif start is None:
            problems.append(
                Problem(
                    row.number,
                    label["start_date"],
                    f"“{_text(start_raw)}”不是有效日期，应为 YYYY-MM-DD",
                )
            )
        elif start > today:
            problems.append(Problem(row.number, label["start_date"], "开始日期不能晚于今天"))
        if len(problems) > bad or household is None or helper is None or start is None:
            continue
        pair = (helper.pk, household.pk)
        if pair in seen:
            problems.append(
                Problem(row.number, "", f"与第 {seen[pair]} 行重复（同一帮扶责任人与同一户）")
            )
            continue
        seen[pair] = row.number
        if HelperPairing.objects.filter(
            helper=helper, household=household, end_date__isnull=True
        ).exists():
            problems.append(
                Problem(row.number, "", f"帮扶责任人 {helper_label(helper)} 已与户 {code} 结对")
            )
            continue
        quota = quota_for(household.county_code, profiles[helper.pk].kind, start)
        added[helper.pk] = added.get(helper.pk, 0) + 1
        if quota is not None:
            load = helper_load(helper, start)
            if load + added[helper.pk] > quota.limit:
                problems.append(
                    Problem(
                        row.number,
                        label["helper"],
                        f"帮扶责任人 {helper_label(helper)} 已结对 {load} 户，本文件至此再结对 "
                        f"{added[helper.pk]} 户，超过上限 {quota.limit} 户。规则：{quota.rule}",
                    )
                )
                continue
        planned.append((row, household, helper, start))
    if problems:
        raise PairingImportRefused(problems)
    sha = hashlib.sha256(data).hexdigest()
    result = Imported(sha256=sha)
    for _row, household, helper, start in planned:
        result.created.append(
            pair_locked(household, helper, start, actor=actor, via=f"import:{sha[:12]}")
        )
    record(
        "assistance.pairing.import",
        actor=actor,
        object_type="file",
        object_id=sha[:64],
        diff={"filename": [None, filename[:200]], "pairings": [None, len(result.created)]},
    )
    return result


def template() -> bytes:
    """The empty pairing sheet: the headers the importer reads, and a 说明 sheet it skips."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    required = PatternFill("solid", fgColor="FDE9D9")
    for index, key in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=COLUMNS[key][0])
        cell.font = Font(bold=True)
        if key in REQUIRED:
            cell.fill = required
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = 18
        for row in range(2, 502):
            target = sheet.cell(row=row, column=index)
            target.number_format = "yyyy-mm-dd" if key == "start_date" else "@"
    notes = book.create_sheet(NOTES_SHEET)
    lines = [
        ("列", "说明"),
        ("户编号", "必填。建档立卡户或监测对象的户编号，须在您的管辖范围内。"),
        ("户主姓名", "选填。填写时须与该户登记的户主姓名一致，用于核对。"),
        ("帮扶责任人账号", "必填。帮扶责任人的登录账号；须先登记其工作单位和职级类别。"),
        ("开始日期", "必填。结对开始日期，格式 YYYY-MM-DD，不能晚于今天。"),
        (
            "规则",
            f"整份文件先全部检查：任何一行有问题，全部不写入，并列出行号、列名和原因。"
            f"结对户数不能超过策略表 helper_quotas 规定的上限。文件不超过 "
            f"{MAX_BYTES // 1024 // 1024} MB、{MAX_ROWS} 行。",
        ),
    ]
    for r, (a, b) in enumerate(lines, start=1):
        notes.cell(row=r, column=1, value=a).font = Font(bold=r == 1)
        notes.cell(row=r, column=2, value=b)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
