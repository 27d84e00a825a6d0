"""Reading a division table (CSV, UTF-8 or GBK) into RegionRow objects, with per-row errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .actions import RegionRow, RowError

HEADERS = {
    "code": ("code", "统计用区划代码", "区划代码", "代码"),
    "name": ("name", "名称", "区划名称"),
    "is_poor_village": ("is_poor_village", "贫困村", "是否贫困村"),
    "is_deep_poverty": ("is_deep_poverty", "深度贫困", "深度贫困村", "是否深度贫困村"),
    "rural_population": ("rural_population", "农村户籍人口", "农村人口"),
    "year": ("year", "年度", "年份"),
}
LABELS = {
    "code": "区划代码",
    "name": "名称",
    "is_poor_village": "贫困村",
    "is_deep_poverty": "深度贫困",
    "rural_population": "农村人口",
    "year": "年度",
}
TRUE = {"1", "true", "yes", "y", "是", "√", "t"}
FALSE = {"", "0", "false", "no", "n", "否", "f"}


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GBK (GB18030), as WPS and Excel save CSV."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 文件。")


def read_rows(path: Path) -> tuple[list[RegionRow], list[RowError]]:
    text = decode(path.read_bytes())
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return [], [RowError(1, "表头", "", "文件为空")]
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        label = raw.strip().lstrip("\ufeff")
        for key, names in HEADERS.items():
            if label in names or label.lower() in names:
                columns[key] = index
    missing = [LABELS[k] for k in ("code", "name") if k not in columns]
    if missing:
        return [], [RowError(1, "表头", ",".join(header), f"缺少必需的列：{'、'.join(missing)}")]
    rows: list[RegionRow] = []
    errors: list[RowError] = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue

        def cell(key: str, record: list[str] = record) -> str:
            index = columns.get(key)
            return record[index].strip() if index is not None and index < len(record) else ""

        row = RegionRow(number, cell("code"), cell("name"))
        for key in ("is_poor_village", "is_deep_poverty"):
            value = cell(key).lower()
            if value in TRUE:
                setattr(row, key, True)
            elif value not in FALSE:
                errors.append(RowError(number, LABELS[key], value, "应填 是/否 或 1/0"))
        for key in ("rural_population", "year"):
            value = cell(key).replace(",", "")
            if value:
                try:
                    setattr(row, key, int(float(value)) if float(value).is_integer() else None)
                    if getattr(row, key) is None:
                        raise ValueError
                except ValueError:
                    errors.append(RowError(number, LABELS[key], value, "应为整数"))
        rows.append(row)
    return rows, errors
