"""The roster (花名册) as .xlsx or CSV: one row per member carrying its household's columns.

A title row carries the watermark (who exported it, when, masked or not); the header row below it
uses the importer's labels, so an unmasked roster imports back unchanged (issue 4, item 6).
Written with openpyxl's write-only workbook from a chunked queryset iterator, so memory stays flat
however many households the filter selects. The CSV roster (UTF-8 with a BOM, so Excel and WPS
open it as Chinese) has the same title row, the same columns and the same formula escaping; it is
what a department system or a script reads most easily, and what the import benchmark loads.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import Max, Prefetch, QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from jingzhun.imports.fields import FIELDS
from jingzhun.regions.models import Region
from jingzhun.registry import dictionary
from jingzhun.registry.models import Household, IncomeRecord, Member

from .values import age_on, field_value, safe

CHUNK = 1000
SHEET_TITLE = "花名册"
BOLD = Font(bold=True)

# Household columns, in the order of the national forms: who and where first, then the rest of
# the household's fields the dictionary shows on the roster (registry.dictionary).
LEADING_HOUSEHOLD = ["household_code", "township_name", "village_name", "village", "group_name"]
HOUSEHOLD_INFO = ["head_name", "household_size"]
HOUSEHOLD_KEYS = [
    k
    for k in dictionary.keys("household", on="roster", stored=True)
    if k not in LEADING_HOUSEHOLD and k not in HOUSEHOLD_INFO
]
# The household's income of the roster's year (issue 19): 年度 then the amounts; empty cells for
# a household without a record that year (the importer then records none).
INCOME_COLUMNS = list(dictionary.keys("income", on="roster"))
INCOME_KEYS = [k for k in INCOME_COLUMNS if k != "year"]
LEADING_MEMBER = ["name", "id_number", "sex", "birth_date", "age", "relation"]
MEMBER_KEYS = [k for k in dictionary.keys("member", on="roster") if k not in LEADING_MEMBER]


def columns(*, masked: bool) -> list[str]:
    """Field keys of the roster's columns; the masked roster has no birth date (see values.py)."""
    keys = [
        "row_number",
        *LEADING_HOUSEHOLD,
        *HOUSEHOLD_INFO,
        *HOUSEHOLD_KEYS,
        *INCOME_COLUMNS,
        *LEADING_MEMBER,
        *MEMBER_KEYS,
    ]
    return [k for k in keys if not (masked and k == "birth_date")]


@dataclass
class RosterCounts:
    households: int = 0
    rows: int = 0


class _Regions:
    """Township names by code, looked up once each."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def name(self, code: str) -> str:
        if code not in self.names:
            region = Region.objects.filter(code=code).only("name").first()
            self.names[code] = region.name if region else ""
        return self.names[code]


def _household_values(h: Household, regions: _Regions, size: int, masked: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "household_code": h.household_code,
        "township_name": regions.name(h.township_code),
        "village_name": h.village.name,
        "village": h.village_id,
        "group_name": h.group_name or None,
        "head_name": h.head_name or None,
        "household_size": size,
    }
    for key in HOUSEHOLD_KEYS:
        values[key] = field_value(key, getattr(h, key), masked=masked)
    return values


def income_year(households: QuerySet[Household]) -> int | None:
    """The roster's income year: the latest year any of the households has income for."""
    found = IncomeRecord.objects.filter(household__in=households.values("pk")).aggregate(
        year=Max("year")
    )
    return found["year"]


def _income_values(h: Household) -> dict[str, Any]:
    incomes = list(h.incomes.all())  # prefetched: the roster's year only
    if not incomes:
        return {}
    values: dict[str, Any] = {"year": incomes[0].year}
    for key in INCOME_KEYS:
        values[key] = field_value(key, getattr(incomes[0], key), masked=False)
    return values


def _member_values(m: Member, today: datetime.date, masked: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"age": age_on(m.birth_date, today)}
    for key in ("name", "id_number", "sex", "birth_date", "relation", *MEMBER_KEYS):
        values[key] = field_value(key, getattr(m, key), masked=masked)
    return values


def _header_cell(ws: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=safe(text))
    cell.font = BOLD
    return cell


def household_rows(
    households: QuerySet[Household], *, masked: bool, today: datetime.date
) -> Iterable[tuple[Household, list[dict[str, Any]]]]:
    """(household, one value dict per member), households streamed in chunks with their members
    and their income of the roster's year (`income_year`)."""
    regions = _Regions()
    year = income_year(households)
    qs = (
        households.select_related("village")
        .prefetch_related(
            Prefetch("members", queryset=Member.objects.order_by("id")),
            Prefetch("incomes", queryset=IncomeRecord.objects.filter(year=year or 0)),
        )
        .order_by("household_code", "pk")
    )
    for h in qs.iterator(chunk_size=CHUNK):
        members = list(h.members.all())
        base = _household_values(h, regions, len(members), masked)
        base.update(_income_values(h))
        yield h, [{**base, **_member_values(m, today, masked)} for m in members]


def write_roster(
    households: QuerySet[Household],
    out: IO[bytes],
    *,
    masked: bool,
    watermark: str,
    today: datetime.date,
    progress: Callable[[int], None] | None = None,
) -> RosterCounts:
    """Write the roster of `households` (already scoped and filtered) to `out` as .xlsx."""
    keys = columns(masked=masked)
    wb = Workbook(write_only=True)
    wb.properties.creator = "精准"
    ws = wb.create_sheet(SHEET_TITLE)
    ws.append([_header_cell(ws, f"贫困户花名册（{watermark}）")])
    ws.append([_header_cell(ws, FIELDS[k].label) for k in keys])
    counts = RosterCounts()
    for _household, rows in household_rows(households, masked=masked, today=today):
        counts.households += 1
        for row in rows:
            counts.rows += 1
            row["row_number"] = counts.rows
            ws.append([safe(row.get(k)) for k in keys])
        if progress:
            progress(1)
    wb.save(out)
    return counts


def _csv_text(value: Any) -> str:
    value = safe(value)
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def write_roster_csv(
    households: QuerySet[Household],
    out: IO[bytes],
    *,
    masked: bool,
    watermark: str,
    today: datetime.date,
    progress: Callable[[int], None] | None = None,
) -> RosterCounts:
    """The roster as CSV: the .xlsx roster's title row, header and cells, text escaped alike."""
    keys = columns(masked=masked)
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    writer = csv.writer(text)
    writer.writerow([_csv_text(f"贫困户花名册（{watermark}）")])
    writer.writerow([_csv_text(FIELDS[k].label) for k in keys])
    counts = RosterCounts()
    for _household, rows in household_rows(households, masked=masked, today=today):
        counts.households += 1
        lines = []
        for row in rows:
            counts.rows += 1
            row["row_number"] = counts.rows
            lines.append([_csv_text(row.get(k)) for k in keys])
        writer.writerows(lines)
        if progress:
            progress(1)
    text.flush()
    text.detach()  # leave `out` open for the caller
    return counts
