"""Finding the header of a sheet and what each column means.

Forms start with title rows (县名、表名、填报单位), and their headers are often two rows deep with
merged group cells ("家庭成员信息" over "姓名 | 证件号码"). The header is the row, or pair of
rows, among the first `SCAN_ROWS` whose cells name the most known fields; a pair wins only when
reading both rows together names strictly more fields than either row alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from .fields import FIELDS, match_header, norm
from .reader import Sheet

SCAN_ROWS: Final = 15
MIN_MATCHES: Final = 2
# A sheet naming any of these is a member sheet (a household sheet names the head as 户主姓名).
MEMBER_MARKERS: Final = frozenset({"id_number", "name", "relation", "sex", "birth_date"})
# A year in a title row: "（2019年度）", "2019年度", "(2019年)", "2019年建档立卡…"; not a date
# ("2019年12月31日") and not the export watermark's "2026-12-06".
TITLE_YEAR: Final = re.compile(r"(?<!\d)(20\d{2})\s*年(?:度)?(?!\s*\d)")


def column_letter(index: int) -> str:
    """0-based column index to Excel's letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class Column:
    index: int  # 0-based, absolute (column A is 0)
    header: str  # as shown in the file ("家庭成员/姓名" for a two-row header)
    key: str | None


@dataclass
class Layout:
    """A sheet's header rows and columns. `kind`: household, member (maybe flat) or ignored."""

    sheet: str
    header_rows: tuple[int, ...]
    columns: list[Column]
    kind: str
    duplicates: list[tuple[Column, Column]] = field(default_factory=list)
    # Years named in the rows above the header: (year, row number), in order (the income year
    # when the sheet has no 年度 column).
    title_years: list[tuple[int, int]] = field(default_factory=list)

    @cached_property
    def keys(self) -> dict[str, Column]:
        """Columns by field key (computed once: the columns do not change after detection)."""
        return {c.key: c for c in self.columns if c.key}

    @property
    def unknown(self) -> list[Column]:
        return [c for c in self.columns if c.key is None and c.header]

    @property
    def data_start(self) -> int:
        return (self.header_rows[-1] + 1) if self.header_rows else 1


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _candidates(top: list[str], sub: list[str]) -> list[list[tuple[str, str]]]:
    """Per column: (label to match, label to show), best first, for a two-row header."""
    filled: list[str] = []
    last = ""
    for j, text in enumerate(top):
        # A merged group cell is only in its first column: carry it right while the row below
        # has labels under it.
        if text:
            last = text
        elif not (j < len(sub) and sub[j]):
            last = ""
        filled.append(text or last)
    width = max(len(top), len(sub))
    result: list[list[tuple[str, str]]] = []
    for j in range(width):
        t = filled[j] if j < len(filled) else ""
        s = sub[j] if j < len(sub) else ""
        options: list[tuple[str, str]] = []
        if t and s:
            options.append((t + s, f"{t}/{s}"))
            options.append((s, f"{t}/{s}"))
            if j < len(top) and top[j]:
                options.append((t, t))
        elif s:
            options.append((s, s))
        elif t:
            options.append((t, t))
        result.append(options)
    return result


def _assign(
    candidates: list[list[tuple[str, str]]], offset: int, extra: dict[str, str] | None
) -> tuple[list[Column], list[tuple[Column, Column]]]:
    columns: list[Column] = []
    taken: dict[str, Column] = {}
    duplicates: list[tuple[Column, Column]] = []
    for j, options in enumerate(candidates):
        if not options:
            continue
        key = None
        shown = options[0][1]
        for label, display in options:
            key = match_header(label, extra)
            if key:
                shown = display
                break
        column = Column(offset + j, shown, key)
        if key in taken:
            duplicates.append((taken[key], column))
            column.key = None
        elif key:
            taken[key] = column
        columns.append(column)
    return columns, duplicates


def _score(columns: list[Column]) -> int:
    return len({c.key for c in columns if c.key})


def detect(
    sheet_name: str, head: list[tuple[int, list[Any]]], offset: int, extra: dict[str, str] | None
) -> Layout:
    """The layout of a sheet from its first rows [(row number, values)]."""
    texts = [(n, [_text(v) for v in values]) for n, values in head]
    singles = [_assign(_candidates([], row), offset, extra) for _n, row in texts]
    scores = [_score(columns) for columns, _dups in singles]
    best: tuple[int, tuple[int, ...], list[Column], list[tuple[Column, Column]]] | None = None
    for i, (number, _row) in enumerate(texts):
        if best is None or scores[i] > best[0]:
            best = (scores[i], (number,), *singles[i])
    for i in range(len(texts) - 1):
        columns, dups = _assign(_candidates(texts[i][1], texts[i + 1][1]), offset, extra)
        score = _score(columns)
        # A pair wins only when both rows together name more fields than either alone.
        if score > max(scores[i], scores[i + 1]) and best is not None and score > best[0]:
            best = (score, (texts[i][0], texts[i + 1][0]), columns, dups)
    if best is None or best[0] < MIN_MATCHES:
        return Layout(sheet_name, (), [], "ignored")
    _, rows, columns, dups = best
    keys = {c.key for c in columns if c.key}
    if keys & MEMBER_MARKERS:
        kind = "member"
    elif "household_code" in keys:
        kind = "household"
    else:
        kind = "ignored"
    titles = [
        (int(m[1]), number)
        for number, row in texts
        if number < rows[0]
        for text in row
        for m in TITLE_YEAR.finditer(text)
    ]
    return Layout(sheet_name, rows, columns, kind, dups, titles)


def _is_number_row(values: list[Any]) -> bool:
    """The "1 2 3 4 …" row that forms put under their header."""
    numbers = []
    for v in values:
        text = _text(v)
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            return False
        if not number.is_integer():
            return False
        numbers.append(int(number))
    return len(numbers) >= 3 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


@dataclass
class Row:
    """One data row: its Excel row number and the raw values of the mapped columns by key."""

    sheet: str
    number: int
    values: dict[str, Any]


def data_rows(
    sheet: Sheet, extra: dict[str, str] | None, keep: set[int] | None = None
) -> tuple[Layout, Iterator[Row]]:
    """Detect the layout from the first rows, then stream the data rows below the header
    (only the row numbers in `keep` when given)."""
    stream = sheet.rows()
    head: list[tuple[int, list[Any]]] = []
    for item in stream:
        head.append(item)
        if len(head) >= SCAN_ROWS:
            break
    layout = detect(sheet.name, head, sheet.first_column, extra)

    def rows() -> Iterator[Row]:
        if layout.kind == "ignored":
            return
        mapped = [(c.key, c.index - sheet.first_column) for c in layout.columns if c.key]

        def make(number: int, values: list[Any]) -> Row | None:
            width = len(values)
            picked = {
                key: v
                for key, j in mapped
                if 0 <= j < width
                and (v := values[j]) is not None
                and v != ""
                and (v if type(v) is str else str(v)).strip()
            }
            if not picked or _is_number_row(list(picked.values())):
                return None
            return Row(sheet.name, number, picked)

        for number, values in head:
            if number >= layout.data_start and (keep is None or number in keep):
                row = make(number, values)
                if row:
                    yield row
        for number, values in stream:
            if keep is not None and number not in keep:
                continue
            row = make(number, values)
            if row:
                yield row

    return layout, rows()


def header_label(key: str) -> str:
    spec = FIELDS.get(key)
    return spec.label if spec else key


__all__ = ["Column", "Layout", "Row", "column_letter", "data_rows", "detect", "norm"]
