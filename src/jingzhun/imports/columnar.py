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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final

from jingzhun.access.scoping import can_see_region
from jingzhun.registry.idcard import fast_column
from jingzhun.registry.idcard import mask as mask_id

from . import rules, selectors
from .fields import FIELDS
from .layout import SCAN_ROWS, Layout, _is_number_row, column_letter, detect
from .pipeline import (
    MEMBER_REQUIRED_COLUMNS,
    HouseholdIn,
    HouseholdPlan,
    ImportResult,
    IncomePlan,
    MemberIn,
    MemberPlan,
    _Collector,
    _compare,
    _parse,
)
from .reader import Sheet, UnreadableFile, read_sheets
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
    # Income per household: "year" (None: no income given) and the amounts (None: not given).
    income: dict[str, list[Any]] = field(default_factory=dict)

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
            first, last = self.starts[h], self.starts[h + 1]
            for i in range(first, last):
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
                    rows=[(self.sheet, self.member_rows[i]) for i in range(first, last)],
                    incomes=self.incomes_of(h),
                )
            )
        return plans

    def incomes_of(self, h: int) -> list[IncomePlan]:
        """The new income record of household `h` (at most one: one year per household here)."""
        years = self.income.get("year")
        if not years or years[h] is None:
            return []
        values = {k: col[h] for k, col in self.income.items() if k != "year" and col[h] is not None}
        return [IncomePlan(years[h], "new", values)] if values else []


_date: Final = functools.lru_cache(maxsize=65536)(datetime.date.fromisoformat)


def _empty(v: Any) -> bool:
    return v is None or v == "" or not (v if type(v) is str else str(v)).strip()


def _layout(
    result: ImportResult, data: bytes, extra: dict[str, str]
) -> tuple[Layout, Any, Any, list[Sheet]]:
    """The one member sheet of the file with its head rows and row stream; every sheet."""
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
    return layout, (head, stream), first, sheets


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
            if type(v) is str and v and ("\u3400" <= v[0] <= "\u9fff" or _CJK.search(v)):
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


def _transposer(rows: list[list[Any]]) -> Any:
    """`_column` for a block: rows of one length (every CSV export) are transposed in one pass
    (`zip`, at C speed) instead of one pass per column."""
    if not rows or len(set(map(len, rows))) != 1:
        return lambda j: _column(rows, j)
    columns = list(zip(*rows, strict=True))

    def column(j: int) -> list[Any]:
        return list(columns[j]) if 0 <= j < len(columns) else [None] * len(rows)

    return column


class _Columns:
    """Converts columns through their distinct values; remembers outcomes of repeating kinds."""

    def __init__(self) -> None:
        self.memo: dict[str, dict[Any, Any]] = {}
        self.bad = False  # some cell failed to convert (it is `_BAD` in its column)

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
            except BadValue:
                memo[k] = _BAD
                self.bad = True
                continue
            memo[k] = None if value is None or value == [] or value == "" else value
        return list(map(memo.__getitem__, keys))


def _check_ids(raw: list[Any]) -> tuple[list[str | None], list[str | None], list[str | None]]:
    """Normalised ID numbers, sexes and ISO birth dates; None where the number is refused.

    Clean numbers are checked as a column (`idcard.fast_column`); only the others (damaged by
    Excel, full-width, 15 digits, invalid) go through the per-value check."""
    valid, parity, iso = fast_column(raw)
    ids: list[str | None] = [v if ok else None for v, ok in zip(raw, valid, strict=True)]
    sexes: list[str | None] = [
        ("male" if p else "female") if ok else None for p, ok in zip(parity, valid, strict=True)
    ]
    births: list[str | None] = [b or None for b in iso]
    for i, ok in enumerate(valid):
        if ok:
            continue
        v = raw[i]
        checked = None if _empty(v) else check_id_cell(v)
        if (
            checked is None
            or not checked.valid
            or checked.normalized is None
            or checked.birth_date is None
        ):
            continue
        ids[i] = checked.normalized
        sexes[i] = str(checked.sex)
        births[i] = checked.birth_date.isoformat()
    return ids, sexes, births


def plan(
    result: ImportResult, data: bytes, extra: dict[str, str], actor: Any, year: int | None = None
) -> bool:
    """Fill `result` by the columnar path; False (result untouched) when it does not apply."""
    if not ENABLED:
        return False
    layouts, notices = len(result.layouts), len(result.notices)
    try:
        _plan(result, data, extra, actor, year)
    except (_Refuse, UnreadableFile):  # the per-row path words it
        del result.layouts[layouts:]
        del result.notices[notices:]
        result.listed.clear()
        result.new_block = None
        result.ids_tested = 0
        result.ids_elsewhere.clear()
        return False
    return True


def _plan(
    result: ImportResult, data: bytes, extra: dict[str, str], actor: Any, year: int | None
) -> None:
    layout, source, first, sheets = _layout(result, data, extra)
    keyed = [(c.key, c.index - first) for c in layout.columns if c.key]
    hkeys = [k for k, _j in keyed if FIELDS[k].level == "household" and k != "household_code"]
    mkeys = [k for k, _j in keyed if FIELDS[k].level == "member" and k != "id_number"]
    amounts = [k for k, _j in keyed if FIELDS[k].level == "income" and k != "year"]
    ikeys = [*amounts, *(["year"] if amounts and "year" in layout.keys else [])]
    sheet_year = None
    if amounts:  # the sheet's income year (title, then the year given), as the per-row path
        probe = _Collector(ImportResult(result.filename, result.sha256, result.size), year)
        probe.sheet_year(layout)
        if probe.result.errors:
            raise _Refuse
        sheet_year = probe.sheet_years[layout.sheet]
    index = {k: j for k, j in keyed}
    conv = _Columns()
    numbers: list[int] = []
    codes: list[Any] = []
    ids: list[str | None] = []
    sexes: list[str | None] = []
    births: list[str | None] = []
    hcols: dict[str, list[Any]] = {k: [] for k in hkeys}
    mcols: dict[str, list[Any]] = {k: [] for k in mkeys}
    icols: dict[str, list[Any]] = {k: [] for k in ikeys}
    rows: list[list[Any]] = []

    def flush() -> None:
        if not rows:
            return
        column = _transposer(rows)
        codes.extend(conv("household_code", column(index["household_code"])))
        for k in hkeys:
            hcols[k].extend(conv(k, column(index[k])))
        for k in mkeys:
            mcols[k].extend(conv(k, column(index[k])))
        for k in ikeys:
            icols[k].extend(conv(k, column(index[k])))
        i, s, b = _check_ids(column(index["id_number"]))
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
    if n == 0:
        raise _Refuse  # no member rows: the per-row path words it
    # Rows the per-row path refuses, or may: a cell that does not convert, a missing household
    # code, an ID number refused, given twice, or disagreeing with the sex or birth date given.
    suspect: set[int] = set()
    if conv.bad:
        for col in (codes, *hcols.values(), *mcols.values(), *icols.values()):
            suspect.update(i for i, v in enumerate(col) if v is _BAD)
    if amounts:
        # Each row's income year (its 年度 cell, else the sheet's) where it has an amount: then
        # checked for agreement within the household like a household cell (a household with
        # rows of two years is read row by row); an amount without a year is refused there.
        has_amount = [
            any(v is not None for v in row)
            for row in zip(*(icols[k] for k in amounts), strict=True)
        ]
        stated = icols.get("year") or [None] * n
        years: list[Any] = [
            (y if y is not None else sheet_year) if g else None
            for g, y in zip(has_amount, stated, strict=True)
        ]
        suspect.update(
            i for i, (g, y) in enumerate(zip(has_amount, years, strict=True)) if g and y is None
        )
        icols["year"] = years
        hcols.update(icols)
        hkeys_income = [*amounts, "year"]
    else:
        hkeys_income = []
    if None in codes:
        suspect.update(i for i, c in enumerate(codes) if c is None)
    if None in ids:
        suspect.update(i for i, v in enumerate(ids) if v is None)
    counted = Counter(ids)
    result.ids_tested = len(counted) - (None in counted)  # distinct valid numbers (audited)
    if len(counted) != n:
        twice = {v for v, times in counted.items() if times > 1}
        suspect.update(i for i, v in enumerate(ids) if v in twice)
    del counted
    if "sex" in mcols and mcols["sex"] != sexes:  # equal lists: checked at C speed
        col = mcols["sex"]
        suspect.update(
            i for i, (v, s) in enumerate(zip(col, sexes, strict=True)) if v is not None and v != s
        )
    if "birth_date" in mcols:
        col = mcols["birth_date"]
        iso = {v: v.isoformat() for v in set(col) if v is not None and v is not _BAD}
        if list(map(iso.get, col)) != births:
            suspect.update(
                i
                for i, (v, b) in enumerate(zip(col, births, strict=True))
                if v is not None and (v is _BAD or v.isoformat() != b)
            )
    # Households by first appearance (-1: no household); cells must agree within a household.
    order: dict[str, int] = {}
    hidx = [-1 if c is None or c is _BAD else order.setdefault(c, len(order)) for c in codes]
    household_codes = list(order)
    households = len(household_codes)
    flagged: set[int] = {hidx[i] for i in suspect}
    # Per row, the index of its household's first row (its own index without a household): a
    # column whose every cell equals its household's first cell (a flat file's common case) is
    # checked by one C-level list comparison instead of a set of (household, value) pairs.
    first_rows = [0] * households
    for i in range(n - 1, -1, -1):
        if hidx[i] >= 0:
            first_rows[hidx[i]] = i
    leader = [first_rows[h] if h >= 0 else i for i, h in enumerate(hidx)]
    hvalues: dict[str, list[Any]] = {}
    for k in [*hkeys, *hkeys_income]:
        col = hcols[k]
        codes_kind = FIELDS[k].kind == "codes"
        if not codes_kind and list(map(col.__getitem__, leader)) == col:
            hvalues[k] = list(map(col.__getitem__, first_rows))
            continue
        if codes_kind:
            col = [v if v is None or v is _BAD else tuple(v) for v in col]
        pairs = set(zip(hidx, col, strict=True))
        per = dict(pairs)
        if len(per) != len(pairs):  # some household has two values (or a value and blanks)
            given = [p for p in pairs if p[1] is not None and p[1] is not _BAD and p[0] >= 0]
            per = dict(given)
            if len(per) != len(given):  # a household cell disagrees with its other rows
                flagged.update(h for h, times in Counter(h for h, _v in given).items() if times > 1)
        # (A `_BAD` kept here belongs to a flagged household: never read below.)
        if codes_kind:
            per = {h: v if v is None or v is _BAD else list(v) for h, v in per.items()}
        hvalues[k] = list(map(per.get, range(households)))
    hcols.clear()
    if "household_type" in hvalues:  # 户类型 sets the status; the pipeline words a disagreement
        hkeys.remove("household_type")
        kinds = hvalues.pop("household_type")
        statuses = hvalues.get("poverty_status") or [None] * households
        for h, (kind, status) in enumerate(zip(kinds, statuses, strict=True)):
            if kind is not None and kind is not _BAD and status is not _BAD:
                to, problem = rules.household_type_status(kind, status)
                if problem:
                    flagged.add(h)
                else:
                    statuses[h] = to
        if "poverty_status" not in hvalues:
            hkeys.append("poverty_status")
            hvalues["poverty_status"] = statuses
    # One head per household.
    relation = mcols.get("relation")
    heads: dict[int, int] = {}
    if relation is not None:
        for i, (h, r) in enumerate(zip(hidx, relation, strict=True)):
            if r == rules.HEAD:
                if h in heads:
                    flagged.add(h)
                else:
                    heads[h] = i
    # The registry: which households exist, which people are registered already.
    existing = selectors.households_by_code(household_codes)
    elsewhere = selectors.live_members_by_id(v for v in ids if v is not None)
    villages = hvalues.get("village") or [None] * households
    wanted = {v for v in villages if v is not None}
    known = selectors.existing_villages(wanted)
    refused_villages = {
        v for v in wanted if v not in known or (actor is not None and not can_see_region(actor, v))
    }
    is_new = [code not in existing for code in household_codes]
    # New households: what rules.NEW_HOUSEHOLD_REQUIRED asks for, and a head.
    required = [hvalues.get(k) or [None] * households for k in rules.NEW_HOUSEHOLD_REQUIRED]
    for h in range(households):
        if villages[h] in refused_villages or (
            is_new[h] and (h not in heads or any(col[h] is None for col in required))
        ):
            flagged.add(h)
    # New members: what rules.NEW_MEMBER_REQUIRED asks for, nobody registered elsewhere.
    member_required = [mcols.get(k) for k in rules.NEW_MEMBER_REQUIRED]
    if any(col is None for col in member_required):  # no new member can be written
        flagged.update(h for h in range(households) if is_new[h])
    else:  # the rows at fault found column by column (most files: none)
        faulty: set[int] = set()
        if elsewhere:
            faulty.update(i for i, v in enumerate(ids) if v in elsewhere)
        for member_cells in member_required:
            assert member_cells is not None
            if None in member_cells:
                faulty.update(i for i, v in enumerate(member_cells) if v is None)
        flagged.update(hidx[i] for i in faulty if hidx[i] >= 0 and is_new[hidx[i]])
    # Existing households go through the per-row comparison (field-by-field diff).
    clean_existing = [h for h in range(households) if not is_new[h] and h not in flagged]
    if clean_existing:
        wanted_existing = set(clean_existing)
        collector = _Collector(result)
        for i, h in enumerate(hidx):
            if h not in wanted_existing:
                continue
            code = household_codes[h]
            household = collector.households.get(code)
            if household is None:
                household = HouseholdIn(code, layout.sheet, numbers[i])
                household.values = {k: hvalues[k][h] for k in hkeys if hvalues[k][h] is not None}
                if hkeys_income and hvalues["year"][h] is not None:
                    household.incomes[hvalues["year"][h]] = {
                        k: hvalues[k][h] for k in amounts if hvalues[k][h] is not None
                    }
                collector.households[code] = household
            household.rows.add((layout.sheet, numbers[i]))
            cells = {k: mcols[k][i] for k in mkeys if mcols[k][i] is not None}
            cells["sex"] = sexes[i]
            cells["birth_date"] = _date(str(births[i]))
            household.members.append(MemberIn(layout.sheet, numbers[i], str(ids[i]), cells, {}))
        errors, listed = len(result.errors), len(result.listed)
        _compare(collector, result, actor, None)
        if len(result.errors) > errors:  # the per-row path words these: all of them go there
            del result.errors[errors:]
            del result.listed[listed:]
            flagged.update(clean_existing)
    flagged.discard(-1)
    if suspect or flagged:
        # A workbook's rows are read again from the cells calamine holds: unpacking the file a
        # second time would take as long as the first, and twice the memory at its peak.
        reread: list[Sheet] | None = [a for a in (s.again() for s in sheets) if a is not None]
        if reread is not None and len(reread) != len(sheets):
            reread = None  # a CSV: its bytes are read again
        _refused_part(
            result, data, extra, actor, layout, numbers, hidx, suspect, flagged, reread, year
        )
        del reread
    del sheets, source  # a workbook's unpacked cells: not needed from here
    # New households: columns.
    new_households = [h for h in range(households) if is_new[h] and h not in flagged]
    position = {h: p for p, h in enumerate(new_households)}
    members = [i for i in range(n) if hidx[i] in position]
    # `position` grows with the household's index: sorting by that index orders by position
    # (stable: file order within a household), with a C-level key.
    members.sort(key=hidx.__getitem__)
    member_household = [position[hidx[i]] for i in members]
    starts = [0] * (len(new_households) + 1)
    for p in member_household:
        starts[p + 1] += 1
    for p in range(len(new_households)):
        starts[p + 1] += starts[p]

    # A file of new households only, each one's rows together (an export, most county files):
    # the columns are the block's as they are, not copied (a million-row file: hundreds of MB).
    every_row = members == list(range(n))
    every_household = len(new_households) == households

    def pick(col: list[Any]) -> list[Any]:
        return col if every_row else list(map(col.__getitem__, members))

    names = mcols["name"]
    mvalues: dict[str, list[Any]] = {"id_number": pick(ids)}
    for k in mkeys:
        if k not in ("sex", "birth_date"):
            mvalues[k] = pick(mcols[k])
    mvalues["sex"] = pick(sexes)
    mvalues["birth_date"] = pick(births)  # ISO text; dates only in `plans()`
    result.new_block = NewBlock(
        sheet=layout.sheet,
        codes=household_codes if every_household else [household_codes[h] for h in new_households],
        villages=villages if every_household else [villages[h] for h in new_households],
        head_names=[names[heads[h]] for h in new_households],
        household={
            k: hvalues[k] if every_household else [hvalues[k][h] for h in new_households]
            for k in hkeys
        },
        member_household=member_household,
        member_rows=pick(numbers),
        member=mvalues,
        starts=starts,
        income={
            k: hvalues[k] if every_household else [hvalues[k][h] for h in new_households]
            for k in hkeys_income
        },
    )


def _refused_part(
    result: ImportResult,
    data: bytes,
    extra: dict[str, str],
    actor: Any,
    layout: Layout,
    numbers: list[int],
    hidx: list[int],
    suspect: set[int],
    flagged: set[int],
    sheets: list[Sheet] | None = None,
    year: int | None = None,
) -> None:
    """Errors and plans of the households with a refused (or possibly refused) row, by the
    per-row path over only their rows (and rows without a household): a row's errors depend
    only on its household's rows, on the first row of its ID number (a row with a repeated
    number is suspect, so its household is here too) and on the registry, so these are exactly
    the errors, in the same order, that reading the whole file row by row gives. `sheets`:
    the workbook's sheets read again from the cells in memory (`Sheet.again`); None: `data` is
    read again (a CSV file, whose reader holds nothing)."""
    keep = {numbers[i] for i, h in enumerate(hidx) if h in flagged or (h < 0 and i in suspect)}
    scratch = ImportResult(filename=result.filename, sha256=result.sha256, size=result.size)
    collector = _parse(data, scratch, extra, keep={layout.sheet: keep}, sheets=sheets, year=year)
    if collector is None or scratch.notices != result.notices:
        raise _Refuse  # pragma: no cover - the same file read again
    _compare(collector, scratch, actor, None)
    result.errors.extend(scratch.errors)
    result.listed.extend(scratch.listed)
    result.ids_elsewhere.extend(scratch.ids_elsewhere)
