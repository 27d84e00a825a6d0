"""Helpers of the import tests: build .xlsx and .csv files in memory, and rows of a flat form."""

from __future__ import annotations

import csv
import io
from typing import Any

from conftest import make_id
from openpyxl import Workbook

VILLAGE = "230231100201"  # township 230231100000 (the `township` user's), village of `village`
OTHER_TOWNSHIP_VILLAGE = "230231101201"
FLAT_HEADER = [
    "户编号",
    "村级区划代码",
    "姓名",
    "证件号码",
    "性别",
    "与户主关系",
    "主要致贫原因",
    "脱贫状态",
]


def xlsx(sheets: dict[str, list[list[Any]]], merges: dict[str, list[str]] | None = None) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        for cells in (merges or {}).get(name, []):
            ws.merge_cells(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def person(seq: int, birth: str = "19800101", region: str = "230231") -> str:
    """A valid ID number; odd `seq` is male, even female."""
    return make_id(region, birth, seq)


def household_rows(code: str, village: str, first_seq: int, size: int = 2) -> list[list[Any]]:
    """Flat rows of one new household: a male head and `size - 1` daughters."""
    rows = [[code, village, f"户主{code}", person(first_seq), "男", "户主", "因病", "未脱贫"]]
    for i in range(1, size):
        seq = first_seq + 2 * i - 1  # even: female
        rows.append(
            [code, village, f"女儿{code}{i}", person(seq, "20100101"), "女", "之女", "", ""]
        )
    return rows
