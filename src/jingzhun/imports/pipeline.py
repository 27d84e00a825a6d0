"""Parse, validate and diff a file against the registry, writing nothing.

`plan_import(data, ...)` never raises for bad input: an unreadable file, a missing column, a bad
cell or a conflict with the registry all become `CellError`s (Chinese reasons, with sheet, row,
column and value), and every household of the file gets a verdict: new, changed (field by
field), unchanged or refused. `actions.do_commit_import` runs the same plan inside its
transaction and writes it only when nothing was refused.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jingzhun.access.scoping import can_see_region
from jingzhun.registry import choices as c
from jingzhun.registry.idcard import mask as mask_id
from jingzhun.registry.masking import MASKED_FIELDS, mask_value

from . import rules, selectors
from .fields import FIELDS, INCOME_KEYS, norm
from .layout import Layout, Row, column_letter, data_rows
from .reader import Sheet, UnreadableFile, read_sheets
from .rules import HOUSEHOLD_CODE_UNUSABLE, ID_NUMBER_UNUSABLE, household_type_status
from .values import BadValue, Converter, check_id_cell, convert, display, income_year

Progress = Callable[[int], None]

HOUSEHOLD_REQUIRED_COLUMNS = ("household_code",)
MEMBER_REQUIRED_COLUMNS = ("household_code", "id_number", "name")


@dataclass
class CellError:
    """One refused cell (or row, or sheet when `column` is None). `value` is as written in the file."""

    sheet: str
    row: int | None
    column: int | None
    header: str
    value: str
    reason: str
    field: str = ""

    @property
    def masked_value(self) -> str:
        if self.field in ("id_number", "head_id_number"):
            return mask_id(self.value) if self.value else ""
        return str(mask_value(self.field, self.value) if self.field else self.value)[:100]

    def __str__(self) -> str:
        where = [f"工作表“{self.sheet}”"] if self.sheet else []
        if self.row:
            where.append(f"第 {self.row} 行")
        if self.column is not None:
            where.append(f"{column_letter(self.column)} 列“{self.header}”")
        elif self.header:
            where.append(f"“{self.header}”")
        value = f"，值“{self.masked_value}”" if self.value else ""
        return f"{'，'.join(where)}{value}：{self.reason}"


@dataclass
class MemberIn:
    sheet: str
    row: int
    id_number: str
    values: dict[str, Any]
    cells: dict[str, tuple[int, Any]]  # field → (column, raw value)
    bad: set[str] = field(default_factory=set)  # fields whose cell was refused already


@dataclass
class HouseholdIn:
    code: str
    sheet: str
    row: int
    values: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, tuple[str, int, int, Any]] = field(default_factory=dict)
    members: list[MemberIn] = field(default_factory=list)
    rows: set[tuple[str, int]] = field(default_factory=set)
    has_household_row: bool = False
    # Income amounts given, by year, and the cell that gave each (sheet, row, column, raw).
    incomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    income_cells: dict[int, dict[str, tuple[str, int, int, Any]]] = field(default_factory=dict)


@dataclass
class MemberPlan:
    kind: str  # new, changed, unchanged
    row: tuple[str, int]
    values: dict[str, Any]  # new: all fields; changed: the changed fields' new values
    member_id: int | None = None
    version: int | None = None
    before: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    id_masked: str = ""


@dataclass
class IncomePlan:
    """One year's income of a household in the file. An empty cell leaves its item as it is
    (unrecorded on a new record: the model's default), so only the amounts given are compared."""

    year: int
    kind: str  # new, changed, unchanged
    values: dict[str, Any]  # new: the amounts given; changed: the changed amounts' new values
    before: dict[str, Any] = field(default_factory=dict)
    income_id: int | None = None
    version: int | None = None


@dataclass
class HouseholdPlan:
    code: str
    kind: str  # new, changed, unchanged, refused
    village: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # new: all; changed: changed fields
    before: dict[str, Any] = field(default_factory=dict)
    household_id: int | None = None
    version: int | None = None
    members: list[MemberPlan] = field(default_factory=list)
    head_name: str | None = None
    # The file rows (sheet, row number) the household was read from, in order (ADR 0033).
    rows: list[tuple[str, int]] = field(default_factory=list)
    incomes: list[IncomePlan] = field(default_factory=list)

    def change_entry(self) -> dict[str, Any]:
        """What the change log (`ImportChange.diff`) keeps for this household. A changed one:
        its masked field diff. A new one: where it came from, the rows of the file whose SHA-256
        the batch and its audit event hold, and how many members it has (ADR 0033): its values
        are the rows written, and a copy of them would be most of the import's writing."""
        if self.kind == "new":
            entry: dict[str, Any] = {
                "members": len(self.members),
                "rows": [list(r) for r in self.rows],
            }
            if self.incomes:  # the years of income read from those rows
                entry["incomes"] = [i.year for i in self.incomes]
            return entry
        return self.masked_diff()

    def masked_diff(self) -> dict[str, Any]:
        """{field: [old, new]} plus members, for pages and the audit log; sensitive values masked."""
        diff: dict[str, Any] = {}
        for key, new in self.values.items():
            diff[key] = [_masked(key, self.before.get(key)), _masked(key, new)]
        members = []
        for m in self.members:
            if m.kind == "unchanged":
                continue
            members.append(
                {
                    "kind": m.kind,
                    "id_number": m.id_masked,
                    "name": m.name,
                    "fields": {
                        k: [_masked(k, m.before.get(k)), _masked(k, v)]
                        for k, v in m.values.items()
                        if k != "id_number"
                    },
                }
            )
        if members:
            diff["members"] = members
        incomes = [
            {
                "year": i.year,
                "kind": i.kind,
                "fields": {
                    k: [_masked(k, i.before.get(k)), _masked(k, v)] for k, v in i.values.items()
                },
            }
            for i in self.incomes
            if i.kind != "unchanged"
        ]
        if incomes:
            diff["incomes"] = incomes
        return diff

    def field_rows(self) -> list[tuple[str, Any, Any]]:
        rows = [
            (FIELDS[k].label if k in FIELDS else k, _shown(k, self.before.get(k)), _shown(k, v))
            for k, v in self.values.items()
        ]
        for i in self.incomes:
            if i.kind != "unchanged":
                rows.extend(
                    (f"{i.year}年度{FIELDS[k].label}", _shown(k, i.before.get(k)), _shown(k, v))
                    for k, v in i.values.items()
                )
        return rows


_AS_TEXT = (Decimal, datetime.date)


def _masked(key: str, value: Any) -> Any:
    if isinstance(value, _AS_TEXT):
        value = str(value)
    # Only these fields change when masked (registry.masking); skip the call for the rest.
    return mask_value(key, value) if key in MASKED_FIELDS else value


def _shown(key: str, value: Any) -> str:
    """A value as a person reads it: code labels, 是/否, masked when sensitive."""
    if value is None or value == "":
        return ""
    spec = FIELDS.get(key)
    if key in ("id_number", "phone", "bank_account", "health_status", "disability_grade"):
        return str(_masked(key, value))
    if spec and spec.kind == "code":
        return spec.table.get(str(value), str(value))
    if spec and spec.kind == "codes":
        return "、".join(spec.table.get(v, v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return display(value)


@dataclass
class ImportResult:
    filename: str
    sha256: str
    size: int
    layouts: list[Layout] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # Plans built one by one: every household on the per-row path; on the columnar path only
    # the households that exist already (new ones are `new_block`). `plans` gives them all.
    listed: list[HouseholdPlan] = field(default_factory=list)
    unreadable: bool = False
    already_imported: bool = False
    # New households of the columnar path (ADR 0015) as columns; `plans` then holds only the
    # households that exist already. None on the per-row path.
    new_block: Any = None
    # Wall-clock seconds per stage (read, compare; write when committed): progress pages and the
    # benchmark show them, nothing depends on them.
    seconds: dict[str, float] = field(default_factory=dict)
    # How many distinct valid ID numbers the file holds (each is compared with the registry),
    # and (masked) those found registered in another household: a check is a question to the
    # registry, so it is audited (`id_audit`).
    ids_tested: int = 0
    ids_elsewhere: list[str] = field(default_factory=list)
    # A stored view of a plan (`stored.view_of`) lists only some households: its counts and
    # refused households are those of the whole plan, kept here.
    stored_counts: dict[str, int] | None = None
    stored_refused: int | None = None

    def id_audit(self) -> dict[str, Any]:
        """What the audit event of a check or commit keeps of the ID numbers it tested: how many,
        and the masked ones registered in another household (never a full number)."""
        return {"id_numbers_tested": self.ids_tested, "id_numbers_elsewhere": self.ids_elsewhere}

    @property
    def plans(self) -> list[HouseholdPlan]:
        """Every household's plan (the columnar path's new households built on each call: for
        tests and small files; pages use `plans_of` with a limit)."""
        if self.new_block is None:
            return self.listed
        return self.listed + self.new_block.plans()

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unreadable

    def counts(self) -> dict[str, int]:
        if self.stored_counts is not None:
            return dict(self.stored_counts)
        counts = {
            "households_new": 0,
            "households_changed": 0,
            "households_unchanged": 0,
            "members_new": 0,
            "members_changed": 0,
            "members_unchanged": 0,
        }
        for plan in self.listed:
            if plan.kind == "refused":
                continue
            counts[f"households_{plan.kind}"] += 1
            for m in plan.members:
                counts[f"members_{m.kind}"] += 1
        if self.new_block is not None:
            counts["households_new"] += len(self.new_block)
            counts["members_new"] += self.new_block.members
        counts["rows_refused"] = len({(e.sheet, e.row) for e in self.errors if e.row})
        if self.errors and not counts["rows_refused"]:
            counts["rows_refused"] = 0
        return counts

    def plans_of(self, kind: str, limit: int | None = None) -> list[HouseholdPlan]:
        """The plans of one kind (new, changed, unchanged, refused), at most `limit`."""
        found = [p for p in self.listed if p.kind == kind][:limit]
        if kind == "new" and self.new_block is not None:
            more = None if limit is None else max(0, limit - len(found))
            found += self.new_block.plans(0, more)
        return found

    def summary(self) -> str:
        n = self.counts()
        refused_households = (
            self.stored_refused
            if self.stored_refused is not None
            else sum(1 for p in self.listed if p.kind == "refused")
        )
        return (
            f"新增 {n['households_new']} 户 {n['members_new']} 人；"
            f"变更 {n['households_changed']} 户 {n['members_changed']} 人；"
            f"未变 {n['households_unchanged']} 户 {n['members_unchanged']} 人；"
            f"拒绝 {n['rows_refused']} 行（{refused_households} 户），错误 {len(self.errors)} 处"
        )


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- parsing ---------------------------------------------------------------------------------


class _Collector:
    """Builds households and members from the rows of every sheet, recording cell errors."""

    def __init__(self, result: ImportResult, year: int | None = None) -> None:
        self.result = result
        self.households: dict[str, HouseholdIn] = {}
        self.seen_ids: dict[str, tuple[str, int]] = {}
        self.household_rows: dict[str, tuple[str, int]] = {}
        self.convert = Converter()
        self.year = year  # the year given with the file (--year, the upload form)
        # Per sheet with income columns: the income year of a row without a 年度 cell (None:
        # none; the sheet is refused when it has no 年度 column either).
        self.sheet_years: dict[str, int | None] = {}

    def error(
        self,
        layout: Layout,
        row: int | None,
        key: str,
        value: Any,
        reason: str,
    ) -> None:
        column = layout.keys.get(key)
        header = column.header if column else (FIELDS[key].label if key in FIELDS else key)
        self.result.errors.append(
            CellError(
                layout.sheet,
                row,
                column.index if column else None,
                header,
                display(value),
                reason,
                key,
            )
        )

    def _convert(
        self, layout: Layout, row: Row, keys: list[str], bad: set[str] | None = None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key in keys:
            raw = row.values.get(key)
            if raw is None:
                continue
            try:
                value = self.convert(raw, FIELDS[key])
            except BadValue as exc:
                self.error(layout, row.number, key, raw, exc.reason)
                if bad is not None:
                    bad.add(key)
                continue
            if value is not None and value != [] and value != "":
                values[key] = value
        return values

    def _household(self, layout: Layout, row: Row) -> HouseholdIn | None:
        raw = row.values.get("household_code")
        if raw is None:
            self.error(layout, row.number, "household_code", "", "户编号不能为空")
            return None
        try:
            code = convert(raw, FIELDS["household_code"])
        except BadValue as exc:
            self.error(layout, row.number, "household_code", raw, exc.reason)
            return None
        if not code:
            self.error(layout, row.number, "household_code", raw, "户编号不能为空")
            return None
        household = self.households.get(code)
        if household is None:
            household = HouseholdIn(code, layout.sheet, row.number)
            self.households[code] = household
        household.rows.add((layout.sheet, row.number))
        return household

    def _merge_household_values(self, layout: Layout, row: Row, household: HouseholdIn) -> None:
        known = household.cells
        # A flat sheet repeats the household's cells on every member row: a cell equal (same
        # type, same value) to the one that gave the household's value converts to that value.
        keys = [
            k
            for k, raw in row.values.items()
            if FIELDS[k].level == "household"
            and k != "household_code"
            and not (k in known and type(known[k][3]) is type(raw) and known[k][3] == raw)
        ]
        if not keys:
            return
        for key, value in self._convert(layout, row, keys).items():
            column = layout.keys[key].index
            if key in household.values and household.values[key] != value:
                sheet, first_row, _col, _raw = household.cells[key]
                self.error(
                    layout,
                    row.number,
                    key,
                    row.values[key],
                    f"同一户的{FIELDS[key].label}与工作表“{sheet}”第 {first_row} 行不一致",
                )
                continue
            household.values.setdefault(key, value)
            household.cells.setdefault(key, (layout.sheet, row.number, column, row.values[key]))

    def sheet_year(self, layout: Layout) -> None:
        """The income year of the sheet's rows without a 年度 cell: a year in the title rows,
        else the year given with the file. A sheet with income columns and no year anywhere
        (no 年度 column, title or given year) is refused as a whole."""
        amounts = [k for k in INCOME_KEYS if k in layout.keys]
        if not amounts:
            return
        year: int | None = None
        titles = sorted({y for y, _n in layout.title_years})
        if len(titles) == 1:
            year, number = titles[0], layout.title_years[0][1]
            try:
                income_year(year)
            except BadValue as exc:
                self.result.errors.append(
                    CellError(layout.sheet, number, None, "标题", str(year), exc.reason, "year")
                )
                year = None
        elif len(titles) > 1 and "year" not in layout.keys:
            self.result.errors.append(
                CellError(
                    layout.sheet,
                    layout.title_years[0][1],
                    None,
                    "标题",
                    "",
                    f"标题中有多个年度（{'、'.join(map(str, titles))}），无法确定收入所属年度："
                    "请增加“年度”列",
                    "year",
                )
            )
        elif self.year is not None:
            year = self.year
        elif "year" not in layout.keys:
            labels = "、".join(layout.keys[k].header for k in amounts)
            self.result.errors.append(
                CellError(
                    layout.sheet,
                    layout.header_rows[-1],
                    None,
                    "表头",
                    "",
                    f"有收入列（{labels}），但未指明收入所属年度：请增加“年度”列，"
                    "或在标题中写明年度（如“2019年度”），或导入时指定年度",
                    "year",
                )
            )
        self.sheet_years[layout.sheet] = year

    def _merge_income(self, layout: Layout, row: Row, household: HouseholdIn) -> None:
        """The row's income cells, for the year of its 年度 cell, else of its sheet."""
        keys = [k for k in row.values if FIELDS[k].level == "income" and k != "year"]
        if not keys:
            return
        year = self.sheet_years.get(layout.sheet)
        raw_year = row.values.get("year")
        if raw_year is not None:
            try:
                year = self.convert(raw_year, FIELDS["year"])
            except BadValue as exc:
                self.error(layout, row.number, "year", raw_year, exc.reason)
                return
        if year is None:
            if "year" in layout.keys:  # (without the column the sheet is refused as a whole)
                self.error(layout, row.number, "year", "", "该行有收入数据，年度不能为空")
            return
        values = household.incomes.setdefault(year, {})
        cells = household.income_cells.setdefault(year, {})
        for key, value in self._convert(layout, row, keys).items():
            if key in values and values[key] != value:
                sheet, first_row, _col, _raw = cells[key]
                self.error(
                    layout,
                    row.number,
                    key,
                    row.values[key],
                    f"同一户{year}年度的{FIELDS[key].label}与工作表“{sheet}”第 {first_row} 行不一致",
                )
                continue
            values.setdefault(key, value)
            cells.setdefault(
                key, (layout.sheet, row.number, layout.keys[key].index, row.values[key])
            )

    def household_row(self, layout: Layout, row: Row) -> None:
        household = self._household(layout, row)
        if household is None:
            return
        if household.code in self.household_rows:
            sheet, first = self.household_rows[household.code]
            self.error(
                layout,
                row.number,
                "household_code",
                row.values["household_code"],
                f"户编号与工作表“{sheet}”第 {first} 行重复",
            )
            return
        self.household_rows[household.code] = (layout.sheet, row.number)
        household.has_household_row = True
        self._merge_household_values(layout, row, household)
        self._merge_income(layout, row, household)

    def member_row(self, layout: Layout, row: Row) -> None:
        household = self._household(layout, row)
        raw_id = row.values.get("id_number")
        member_keys = [
            k for k in row.values if FIELDS[k].level == "member" and k not in ("id_number",)
        ]
        bad: set[str] = set()
        values = self._convert(layout, row, member_keys, bad)
        if household is not None:
            self._merge_household_values(layout, row, household)
            self._merge_income(layout, row, household)
        if raw_id is None:
            self.error(layout, row.number, "id_number", "", "证件号码不能为空")
            return
        checked = check_id_cell(raw_id)
        if not checked.valid or checked.normalized is None:
            self.error(layout, row.number, "id_number", raw_id, f"证件号码无效：{checked.error}")
            return
        id_number = checked.normalized
        if "sex" in values and values["sex"] != checked.sex:
            self.error(
                layout,
                row.number,
                "sex",
                row.values["sex"],
                f"性别与证件号码不一致（证件号码为{c.SEX[checked.sex or 'male']}性）",
            )
        if "birth_date" in values and values["birth_date"] != checked.birth_date:
            self.error(
                layout,
                row.number,
                "birth_date",
                row.values["birth_date"],
                f"出生日期与证件号码中的 {checked.birth_date} 不一致",
            )
        values["sex"] = checked.sex
        values["birth_date"] = checked.birth_date
        if id_number in self.seen_ids:
            sheet, first = self.seen_ids[id_number]
            self.error(
                layout,
                row.number,
                "id_number",
                raw_id,
                f"同一人在文件中出现两次（另见工作表“{sheet}”第 {first} 行）：一人只能属于一户",
            )
            return
        self.seen_ids[id_number] = (layout.sheet, row.number)
        if household is None:
            return
        # The member's own cells (household cells are kept once, on the household).
        columns = layout.keys
        cells = {
            k: (columns[k].index, raw)
            for k, raw in row.values.items()
            if k in columns and FIELDS[k].level != "household"
        }
        household.members.append(MemberIn(layout.sheet, row.number, id_number, values, cells, bad))


def _parse(
    data: bytes,
    result: ImportResult,
    extra: dict[str, str],
    keep: dict[str, set[int]] | None = None,
    sheets: list[Sheet] | None = None,
    year: int | None = None,
) -> _Collector | None:
    """Rows of every sheet into households; `keep` (sheet → row numbers): only those rows;
    `sheets`: the file's sheets already read (`reader.Sheet.again`), instead of reading `data`;
    `year`: the income year given with the file (below a 年度 column and a title's year)."""
    collector = _Collector(result, year)
    try:
        if sheets is None:
            sheets = read_sheets(data)
        found = False
        for sheet in sheets:
            layout, rows = data_rows(sheet, extra, None if keep is None else keep.get(sheet.name))
            result.layouts.append(layout)
            if layout.kind == "ignored":
                result.notices.append(f"工作表“{sheet.name}”未找到户表或成员表的表头，已跳过。")
                continue
            found = True
            for first, second in layout.duplicates:
                result.errors.append(
                    CellError(
                        layout.sheet,
                        layout.header_rows[-1],
                        second.index,
                        second.header,
                        "",
                        f"与 {column_letter(first.index)} 列“{first.header}”对应同一字段，请删除其中一列",
                    )
                )
            required = (
                MEMBER_REQUIRED_COLUMNS if layout.kind == "member" else HOUSEHOLD_REQUIRED_COLUMNS
            )
            missing = [FIELDS[k].label for k in required if k not in layout.keys]
            if missing:
                result.errors.append(
                    CellError(
                        layout.sheet,
                        layout.header_rows[-1],
                        None,
                        "表头",
                        "",
                        f"缺少必需的列：{'、'.join(missing)}",
                    )
                )
                continue
            for column in layout.unknown:
                result.notices.append(
                    f"工作表“{layout.sheet}” {column_letter(column.index)} 列“{column.header}”"
                    "无法识别，已忽略（可在导入页面保存列对应方案）。"
                )
            collector.sheet_year(layout)
            handle = collector.member_row if layout.kind == "member" else collector.household_row
            for row in rows:
                handle(layout, row)
        if not found:
            result.errors.append(
                CellError(
                    "",
                    None,
                    None,
                    "",
                    "",
                    "未找到可识别的表头：需要“户编号”列，成员表还需要“证件号码”“姓名”列。",
                )
            )
    except UnreadableFile as exc:
        result.unreadable = True
        result.errors.append(CellError("", None, None, "", "", exc.message))
        return None
    return collector


# --- comparing with the registry ---------------------------------------------------------------


def _row_error(
    result: ImportResult,
    where: tuple[str, int],
    column: int | None,
    key: str,
    value: Any,
    reason: str,
) -> None:
    header = FIELDS[key].label if key in FIELDS else key
    for layout in result.layouts:
        if layout.sheet == where[0] and key in layout.keys:
            header = layout.keys[key].header
            column = layout.keys[key].index if column is None else column
    result.errors.append(CellError(where[0], where[1], column, header, display(value), reason, key))


def _member_error(result: ImportResult, m: MemberIn, key: str, reason: str) -> None:
    column, raw = m.cells.get(key, (None, ""))
    _row_error(result, (m.sheet, m.row), column, key, raw, reason)


def _household_error(result: ImportResult, h: HouseholdIn, key: str, reason: str) -> None:
    if key in h.cells:
        sheet, row, column, raw = h.cells[key]
        _row_error(result, (sheet, row), column, key, raw, reason)
    else:
        _row_error(
            result, (h.sheet, h.row), None, key, h.code if key == "household_code" else "", reason
        )


_diff = rules.changes


def _apply_household_type(result: ImportResult, h: HouseholdIn) -> None:
    kind = h.values.pop("household_type", None)
    if kind is None:
        return
    status, problem = household_type_status(kind, h.values.get("poverty_status"))
    if problem:
        _household_error(result, h, "household_type", problem)
    elif status is not None:
        h.values["poverty_status"] = status


def _compare(
    collector: _Collector, result: ImportResult, actor: Any, progress: Progress | None
) -> None:
    households = collector.households
    villages = selectors.existing_villages(
        h.values["village"] for h in households.values() if "village" in h.values
    )
    existing = selectors.households_by_code(households)
    existing_members = selectors.members_by_household_code(
        code for code in households if code in existing
    )
    elsewhere = selectors.live_members_by_id(
        m.id_number for h in households.values() for m in h.members
    )
    with_income = [code for code, h in households.items() if code in existing and h.incomes]
    existing_incomes = selectors.incomes_by_household_code(with_income) if with_income else {}
    errors_before = len(result.errors)
    for code, h in households.items():
        current = existing.get(code)
        plan = HouseholdPlan(code=code, kind="unchanged", rows=sorted(h.rows))
        _apply_household_type(result, h)
        village = h.values.get("village")
        if village is not None:
            refusal = rules.village_refusal(
                village, village in villages, actor is None or can_see_region(actor, village)
            )
            if refusal:
                _household_error(result, h, "village", refusal)
        if (
            current is not None
            and actor is not None
            and not can_see_region(actor, current.village_id)
        ):
            _household_error(result, h, "household_code", HOUSEHOLD_CODE_UNUSABLE)
            result.listed.append(HouseholdPlan(code=code, kind="refused"))
            continue
        db_members = (
            {m.id_number: m for m in existing_members.get(current.pk, [])} if current else {}
        )
        heads_in_file = [m for m in h.members if m.values.get("relation") == "head"]
        if len(heads_in_file) > 1:
            for m in heads_in_file[1:]:
                _member_error(
                    result,
                    m,
                    "relation",
                    rules.one_head(heads_in_file[0].row),
                )
        if current is None:
            for key, reason in rules.NEW_HOUSEHOLD_REQUIRED.items():
                if key not in h.values:
                    _household_error(result, h, key, reason)
            if not h.members:
                _household_error(result, h, "household_code", rules.NEW_HOUSEHOLD_NO_MEMBERS)
            elif not heads_in_file and not any("relation" in m.bad for m in h.members):
                _household_error(result, h, "household_code", rules.NEW_HOUSEHOLD_NO_HEAD)
            plan.kind = "new"
            plan.village = str(village or "")
            plan.values = {k: v for k, v in h.values.items() if k != "village"}
            plan.head_name = heads_in_file[0].values.get("name") if heads_in_file else None
        else:
            plan.household_id = current.pk
            plan.version = current.version
            plan.village = current.village_id
            before = {k: getattr(current, k if k != "village" else "village_id") for k in h.values}
            changed = _diff(before, h.values)
            plan.values = changed
            plan.before = {k: before[k] for k in changed}
        db_head = next((m for m in db_members.values() if m.relation == "head"), None)
        for m in h.members:
            other = elsewhere.get(m.id_number)
            if other is not None and (current is None or other.household_id != current.pk):
                result.ids_elsewhere.append(mask_id(m.id_number))
                if actor is None or can_see_region(actor, other.household.village_id):
                    reason = (
                        f"此人已登记在系统中的另一户（户编号 {other.household.household_code}）："
                        "一人只能属于一户，迁户请走户籍变更"
                    )
                else:  # whether, where and as whom the person is registered is not the user's
                    reason = ID_NUMBER_UNUSABLE
                _member_error(result, m, "id_number", reason)
                continue
            mine = db_members.get(m.id_number)
            if mine is None:
                for key, reason in rules.NEW_MEMBER_REQUIRED.items():
                    if key not in m.values and key not in m.bad:
                        _member_error(result, m, key, reason)
                if current is not None and m.values.get("relation") == "head" and db_head:
                    _member_error(
                        result,
                        m,
                        "relation",
                        f"该户已有户主“{db_head.name}”，更换户主请使用户主变更操作",
                    )
                plan.members.append(
                    MemberPlan(
                        "new",
                        (m.sheet, m.row),
                        {"id_number": m.id_number, **m.values},
                        name=str(m.values.get("name", "")),
                        id_masked=mask_id(m.id_number),
                    )
                )
                continue
            current_values = {k: getattr(mine, k) for k in m.values}
            changed_member = _diff(current_values, m.values)
            if "relation" in changed_member and "head" in (
                mine.relation,
                changed_member["relation"],
            ):
                _member_error(result, m, "relation", "更换户主请使用户主变更操作")
            plan.members.append(
                MemberPlan(
                    "changed" if changed_member else "unchanged",
                    (m.sheet, m.row),
                    changed_member,
                    member_id=mine.pk,
                    version=mine.version,
                    before={k: current_values[k] for k in changed_member},
                    name=mine.name,
                    id_masked=mask_id(m.id_number),
                )
            )
            if mine.relation == "head" and "name" in changed_member:
                plan.head_name = changed_member["name"]
        for year, given in sorted(h.incomes.items()):
            if not given:
                continue
            record = existing_incomes.get((current.pk, year)) if current is not None else None
            if record is None:
                plan.incomes.append(IncomePlan(year, "new", dict(given)))
                continue
            before_income = {k: getattr(record, k) for k in given}
            changed_income = _diff(before_income, given)
            plan.incomes.append(
                IncomePlan(
                    year,
                    "changed" if changed_income else "unchanged",
                    changed_income,
                    {k: before_income[k] for k in changed_income},
                    income_id=record.pk,
                    version=record.version,
                )
            )
        if current is not None and (
            plan.values
            or any(m.kind != "unchanged" for m in plan.members)
            or any(i.kind != "unchanged" for i in plan.incomes)
        ):
            plan.kind = "changed"
        result.listed.append(plan)
        if progress:
            progress(1)
    if len(result.errors) > errors_before or result.errors:
        _mark_refused(collector, result)


def _mark_refused(collector: _Collector, result: ImportResult) -> None:
    bad_rows = {(e.sheet, e.row) for e in result.errors if e.row}
    for plan in result.listed:
        h = collector.households[plan.code]
        if plan.kind != "refused" and h.rows & bad_rows:
            plan.kind = "refused"


def plan_import(
    data: bytes,
    filename: str,
    *,
    actor: Any,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    year: int | None = None,
) -> ImportResult:
    """Read, validate and compare a file with the registry. Writes nothing; never raises for bad input.

    `year`: the income year given with the file (`--year`, the upload form), for rows with
    income cells but no 年度 cell in a sheet whose title names no year."""
    result = ImportResult(filename=filename, sha256=sha256_of(data), size=len(data))
    if year is not None:
        try:
            income_year(year)
        except BadValue as exc:
            result.errors.append(
                CellError("", None, None, "指定年度", str(year), exc.reason, "year")
            )
            return result
    extra = {norm(k): v for k, v in (mapping or {}).items()}
    if mapping is None:
        extra = selectors.header_overrides(actor)
    started = time.perf_counter()
    from . import columnar

    if columnar.plan(result, data, extra, actor, year):
        result.seconds["read"] = time.perf_counter() - started
        if progress:
            progress(len(result.listed) + len(result.new_block or ()))
        return result
    collector = _parse(data, result, extra, year=year)
    result.seconds["read"] = time.perf_counter() - started
    if collector is None:
        return result
    started = time.perf_counter()
    result.ids_tested = len(collector.seen_ids)
    _compare(collector, result, actor, progress)
    result.seconds["compare"] = time.perf_counter() - started
    return result


__all__ = [
    "CellError",
    "HouseholdPlan",
    "ImportResult",
    "IncomePlan",
    "MemberPlan",
    "plan_import",
    "sha256_of",
]
