"""The columnar fast path of `plan_import` (ADR 0015).

A clean file of the common layout (one member sheet, flat or not, with or without title rows,
CSV or Excel) is read as columns: each column is converted through its distinct values, ID
numbers are checked with `idcard.is_valid_fast`, household cells are checked for agreement per
household by set operations, duplicates within the file by a set, and the registry is asked once
per key set (the temporary key table of `selectors`). New households stay columns (`NewBlock`);
`HouseholdPlan` objects are built only for households that already exist (through the existing
`_compare`), and for new ones only a chunk at a time when writing the change log or a page.

Whenever anything is refused, or the file is not of a layout handled here, `plan` returns False
and `plan_import` runs the per-row pipeline from the start: every error message, and the order
of the errors, comes from one place, so the two paths cannot disagree about a bad file.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final

from jingzhun.access.scoping import can_see_region
from jingzhun.registry.idcard import is_valid_fast
from jingzhun.registry.idcard import mask as mask_id

from . import selectors
from .fields import FIELDS
from .layout import SCAN_ROWS, Layout, _is_number_row, column_letter, detect
from .pipeline import (
    MEMBER_REQUIRED_COLUMNS,
    HouseholdIn,
    HouseholdPlan,
    ImportResult,
    MemberIn,
    MemberPlan,
    _Collector,
    _compare,
)
from .reader import UnreadableFile, read_sheets
from .values import MEMO_KINDS, BadValue, check_id_cell, convert

BLOCK_ROWS: Final = 50_000
ENABLED = True  # tests switch it off to compare with the per-row path
_CJK: Final = re.compile(r"[\u3400-\u9fff]")


class _Refuse(Exception):
    """Something in the file is refused (or not handled here): the per-row path takes over."""


_BAD: Final = object()  # a cell that failed to convert


@dataclass
class NewBlock:
    """New households of a clean file as columns, households in order of first appearance and
    members grouped by household in file order (the order the per-row path writes them)."""

    sheet: str
    codes: list[str]
    villages: list[str]
    head_names: list[str | None]
    household: dict[str, list[Any]]  # field → value per household (None: not given)
    member_household: list[int]  # per member: index into `codes`
    member_rows: list[int]
    member: dict[str, list[Any]]  # field → value per member (None: not given); id_number first
    starts: list[int] = field(default_factory=list)  # first member of each household

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def members(self) -> int:
        return len(self.member_rows)

    def plans(self, start: int = 0, stop: int | None = None) -> list[HouseholdPlan]:
        """`HouseholdPlan`s of households start..stop, as the per-row path builds them."""
        stop = len(self.codes) if stop is None else min(stop, len(self.codes))
        hkeys = [(k, col) for k, col in self.household.items() if k != "village"]
        mkeys = list(self.member.items())
        names = self.member.get("name")
        ids = self.member["id_number"]
        plans = []
        for h in range(start, stop):
            members = []
            for i in range(self.starts[h], self.starts[h + 1]):
                values = {k: col[i] for k, col in mkeys if col[i] is not None}
                values["birth_date"] = _date(values["birth_date"])
                members.append(
                    MemberPlan(
                        "new",
                        (self.sheet, self.member_rows[i]),
                        values,
                        name=str(names[i] if names is not None and names[i] is not None else ""),
                        id_masked=mask_id(ids[i]),
                    )
                )
            plans.append(
                HouseholdPlan(
                    code=self.codes[h],
                    kind="new",
                    village=self.villages[h],
                    values={k: col[h] for k, col in hkeys if col[h] is not None},
                    members=members,
                    head_name=self.head_names[h],
                )
            )
        return plans


_date: Final = functools.lru_cache(maxsize=65536)(datetime.date.fromisoformat)


def _empty(v: Any) -> bool:
    return v is None or v == "" or not (v if type(v) is str else str(v)).strip()


def _layout(result: ImportResult, data: bytes, extra: dict[str, str]) -> tuple[Layout, Any, Any]:
    """The one member sheet of the file with its head rows and row stream."""
    try:
        sheets = read_sheets(data)
    except UnreadableFile as exc:
        raise _Refuse from exc
    chosen = None
    notices = []
    for sheet in sheets:
        stream = sheet.rows()
        head: list[tuple[int, list[Any]]] = []
        for item in stream:
            head.append(item)
            if len(head) >= SCAN_ROWS:
                break
        layout = detect(sheet.name, head, sheet.first_column, extra)
        if layout.kind == "ignored":
            notices.append(f"工作表“{sheet.name}”未找到户表或成员表的表头，已跳过。")
            result.layouts.append(layout)
            continue
        if chosen is not None or layout.kind != "member" or layout.duplicates:
            raise _Refuse
        if any(k not in layout.keys for k in MEMBER_REQUIRED_COLUMNS):
            raise _Refuse
        result.layouts.append(layout)
        for column in layout.unknown:
            notices.append(
                f"工作表“{layout.sheet}” {column_letter(column.index)} 列“{column.header}”"
                "无法识别，已忽略（可在导入页面保存列对应方案）。"
            )
        chosen = (layout, head, stream, sheet.first_column)
    if chosen is None:
        raise _Refuse
    result.notices.extend(notices)
    layout, head, stream, first = chosen
    return layout, (head, stream), first


def _data_rows(
    layout: Layout, source: tuple[list[Any], Iterator[Any]], first: int
) -> Iterator[tuple[int, list[Any]]]:
    """The data rows below the header, skipping the ones `layout.data_rows` skips."""
    head, stream = source
    mapped = [c.index - first for c in layout.columns if c.key]
    name_j = layout.keys["name"].index - first

    def kept(values: list[Any]) -> bool:
        if len(values) > name_j:
            v = values[name_j]
            if type(v) is str and _CJK.search(v):
                return True  # a name: the row has a cell and is not a row of numbers
        picked = [values[j] for j in mapped if 0 <= j < len(values) and not _empty(values[j])]
        return bool(picked) and not _is_number_row(picked)

    for number, values in head:
        if number >= layout.data_start and kept(values):
            yield number, values
    for number, values in stream:
        if kept(values):
            yield number, values


def _column(rows: list[list[Any]], j: int) -> list[Any]:
    if j < 0:
        return [None] * len(rows)
    try:
        return list(map(itemgetter(j), rows))
    except IndexError:
        return [r[j] if j < len(r) else None for r in rows]


class _Columns:
    """Converts columns through their distinct values; remembers outcomes of repeating kinds."""

    def __init__(self) -> None:
        self.memo: dict[str, dict[Any, Any]] = {}

    def __call__(self, key: str, raw: list[Any]) -> list[Any]:
        spec = FIELDS[key]
        memo = self.memo.setdefault(key, {}) if spec.kind in MEMO_KINDS else {}
        typed = any(t is not str and t is not type(None) for t in set(map(type, raw)))
        keys = [(type(v), v) for v in raw] if typed else raw
        for k in set(keys) - memo.keys():
            v = k[1] if typed else k
            if _empty(v):
                memo[k] = None
                continue
            try:
                value = convert(v, spec)
            except BadValue as exc:
                raise _Refuse from exc
            memo[k] = None if value is None or value == [] or value == "" else value
        out = list(map(memo.__getitem__, keys))
        return out


def _check_ids(raw: list[Any]) -> tuple[list[str], list[str], list[str]]:
    """Normalised ID numbers, sexes and ISO birth dates; refuses on any invalid number."""
    ids: list[str] = []
    sexes: list[str] = []
    births: list[str] = []
    for v in raw:
        if type(v) is str and is_valid_fast(v):
            ids.append(v)
            sexes.append("male" if int(v[16]) % 2 == 1 else "female")
            births.append(f"{v[6:10]}-{v[10:12]}-{v[12:14]}")
            continue
        if _empty(v):
            raise _Refuse
        checked = check_id_cell(v)
        if not checked.valid or checked.normalized is None or checked.birth_date is None:
            raise _Refuse
        ids.append(checked.normalized)
        sexes.append(str(checked.sex))
        births.append(checked.birth_date.isoformat())
    return ids, sexes, births


def plan(result: ImportResult, data: bytes, extra: dict[str, str], actor: Any) -> bool:
    """Fill `result` by the columnar path; False (result untouched) when it does not apply."""
    if not ENABLED:
        return False
    layouts, notices = len(result.layouts), len(result.notices)
    try:
        _plan(result, data, extra, actor)
    except _Refuse:
        del result.layouts[layouts:]
        del result.notices[notices:]
        result.listed.clear()
        result.new_block = None
        return False
    return True


def _plan(result: ImportResult, data: bytes, extra: dict[str, str], actor: Any) -> None:
    layout, source, first = _layout(result, data, extra)
    keyed = [(c.key, c.index - first) for c in layout.columns if c.key]
    hkeys = [k for k, _j in keyed if FIELDS[k].level == "household" and k != "household_code"]
    mkeys = [k for k, _j in keyed if FIELDS[k].level == "member" and k != "id_number"]
    index = {k: j for k, j in keyed}
    conv = _Columns()
    numbers: list[int] = []
    codes: list[str] = []
    ids: list[str] = []
    sexes: list[str] = []
    births: list[str] = []
    hcols: dict[str, list[Any]] = {k: [] for k in hkeys}
    mcols: dict[str, list[Any]] = {k: [] for k in mkeys}
    rows: list[list[Any]] = []

    def flush() -> None:
        if not rows:
            return
        block_codes = conv("household_code", _column(rows, index["household_code"]))
        if any(c is None for c in block_codes):
            raise _Refuse
        codes.extend(block_codes)
        for k in hkeys:
            hcols[k].extend(conv(k, _column(rows, index[k])))
        for k in mkeys:
            mcols[k].extend(conv(k, _column(rows, index[k])))
        i, s, b = _check_ids(_column(rows, index["id_number"]))
        ids.extend(i)
        sexes.extend(s)
        births.extend(b)
        rows.clear()

    for number, values in _data_rows(layout, source, first):
        numbers.append(number)
        rows.append(values)
        if len(rows) >= BLOCK_ROWS:
            flush()
    flush()
    n = len(numbers)
    if n == 0 or len(set(ids)) != n:
        raise _Refuse  # no member rows, or a person twice
    # Sex and birth date given in the file must agree with the ID number.
    if "sex" in mcols and any(
        v is not None and v != s for v, s in zip(mcols["sex"], sexes, strict=False)
    ):
        raise _Refuse
    if "birth_date" in mcols:
        for v, b in zip(mcols["birth_date"], births, strict=False):
            if v is not None and v.isoformat() != b:
                raise _Refuse
    # Households by first appearance; each household column must agree within a household.
    order: dict[str, int] = {}
    hidx = [order.setdefault(c, len(order)) for c in codes]
    household_codes = list(order)
    hvalues: dict[str, list[Any]] = {}
    for k in hkeys:
        col = hcols[k]
        if FIELDS[k].kind == "codes":
            col = [None if v is None else tuple(v) for v in col]
        given = [p for p in set(zip(hidx, col, strict=False)) if p[1] is not None]
        per = dict(given)
        if len(per) != len(given):
            raise _Refuse  # a household cell disagrees with the household's other rows
        if FIELDS[k].kind == "codes":
            per = {h: list(v) for h, v in per.items()}
        hvalues[k] = list(map(per.get, range(len(household_codes))))
    hcols.clear()
    # One head per household.
    relation = mcols.get("relation")
    heads: dict[int, int] = {}
    if relation is not None:
        for i, (h, r) in enumerate(zip(hidx, relation, strict=False)):
            if r == "head":
                if h in heads:
                    raise _Refuse
                heads[h] = i
    # The registry: which households exist, which people are registered already.
    existing = selectors.households_by_code(household_codes)
    elsewhere = selectors.live_members_by_id(ids)
    villages = hvalues.get("village")
    wanted = {v for v in villages or () if v is not None}
    known = selectors.existing_villages(wanted)
    for v in wanted:
        if v not in known or (actor is not None and not can_see_region(actor, v)):
            raise _Refuse
    is_new = [code not in existing for code in household_codes]
    # Existing households go through the per-row comparison (field-by-field diff).
    if existing:
        collector = _Collector(result)
        for i, h in enumerate(hidx):
            if is_new[h]:
                continue
            code = household_codes[h]
            household = collector.households.get(code)
            if household is None:
                household = HouseholdIn(code, layout.sheet, numbers[i])
                household.values = {k: hvalues[k][h] for k in hkeys if hvalues[k][h] is not None}
                collector.households[code] = household
            household.rows.add((layout.sheet, numbers[i]))
            values = {k: mcols[k][i] for k in mkeys if mcols[k][i] is not None}
            values["sex"] = sexes[i]
            values["birth_date"] = datetime.date.fromisoformat(births[i])
            household.members.append(MemberIn(layout.sheet, numbers[i], ids[i], values, {}))
        errors = len(result.errors)
        _compare(collector, result, actor, None)
        if len(result.errors) > errors:
            raise _Refuse
    # New households: village, a head, and every member with a name and a relation, nobody
    # registered elsewhere.
    new_households = [h for h in range(len(household_codes)) if is_new[h]]
    for h in new_households:
        if villages is None or villages[h] is None or h not in heads:
            raise _Refuse
    members = [i for i in range(n) if is_new[hidx[i]]]
    if any(ids[i] in elsewhere for i in members):
        raise _Refuse
    for k in ("relation", "name"):
        col = mcols.get(k)
        if col is None or any(col[i] is None for i in members):
            raise _Refuse
    position = {h: p for p, h in enumerate(new_households)}
    members.sort(key=lambda i: position[hidx[i]])  # stable: file order within a household
    member_household = [position[hidx[i]] for i in members]
    starts = [0] * (len(new_households) + 1)
    for p in member_household:
        starts[p + 1] += 1
    for p in range(len(new_households)):
        starts[p + 1] += starts[p]
    pick = (
        itemgetter(*members) if len(members) > 1 else (lambda col: tuple(col[i] for i in members))
    )
    mvalues: dict[str, list[Any]] = {"id_number": list(pick(ids))}
    for k in mkeys:
        if k in ("sex", "birth_date"):
            continue
        mvalues[k] = list(pick(mcols[k]))
    mvalues["sex"] = list(pick(sexes))
    mvalues["birth_date"] = list(pick(births))  # ISO text; dates only in `plans()`
    names = mcols["name"]
    result.new_block = NewBlock(
        sheet=layout.sheet,
        codes=[household_codes[h] for h in new_households],
        villages=[villages[h] for h in new_households] if villages else [],
        head_names=[names[heads[h]] for h in new_households],
        household={k: [hvalues[k][h] for h in new_households] for k in hkeys},
        member_household=member_household,
        member_rows=list(pick(numbers)),
        member=mvalues,
        starts=starts,
    )
