"""Reading a file of postings (CSV, UTF-8 or GB18030) into `ledger.PostingRows`.

Columns (header row, Chinese): 幂等键, 类型 (资金到账/资金下达/资金支付 or receipt/allocation/
disbursement), 资金来源编号, 项目编号, 金额（元）, 日期 (YYYY-MM-DD), 凭证号, 收款人, 摘要. A cell
that cannot be read is named (row, column, reason) and nothing is posted.
"""

from __future__ import annotations

import csv
import datetime
import io
from typing import Final

from jingzhun.core.errors import DomainError

from .choices import POSTING_KINDS
from .ledger import PostingRows, Problems
from .money import parse_yuan

COLUMNS: Final = (
    "幂等键",
    "类型",
    "资金来源编号",
    "项目编号",
    "金额（元）",
    "日期",
    "凭证号",
    "收款人",
    "摘要",
)
MAX_BYTES: Final = 128 * 1024 * 1024  # about 1.5 million rows; read by the worker (ADR 0075)
KINDS: Final = {**{k: k for k in POSTING_KINDS}, **{v: k for k, v in POSTING_KINDS.items()}}


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("文件编码无法识别，请另存为 UTF-8 编码的 CSV。", field="file")


def read_postings_csv(data: bytes) -> PostingRows:
    if len(data) > MAX_BYTES:
        raise DomainError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB。", field="file")
    if b"\x00" in data[:4096]:
        raise DomainError("文件不是 CSV 文本文件。", field="file")
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DomainError(f"表头缺少列：{'、'.join(missing)}。", field="file")
    at = {c: header.index(c) for c in COLUMNS}
    rows = PostingRows()
    problems = Problems(rows.first_row)
    for i, raw in enumerate(reader):
        if not any(cell.strip() for cell in raw):
            problems.add(i, "整行", "空行。")
            continue
        cell = {c: (raw[at[c]].strip() if at[c] < len(raw) else "") for c in COLUMNS}
        kind = KINDS.get(cell["类型"], "")
        if not kind or kind == "reversal":
            problems.add(i, "类型", f"“{cell['类型']}”应为资金到账、资金下达或资金支付。")
        try:
            amount = parse_yuan(cell["金额（元）"])
        except DomainError as exc:
            problems.add(i, "金额（元）", exc.message)
            amount = 0
        try:
            day = datetime.date.fromisoformat(cell["日期"])
        except ValueError:
            problems.add(i, "日期", f"“{cell['日期']}”应为 YYYY-MM-DD。")
            day = datetime.date(2014, 1, 1)
        ids = []
        for column in ("资金来源编号", "项目编号"):
            value = cell[column]
            if value and (not value.isdigit() or len(value) > 18):
                problems.add(i, column, f"“{value}”应为编号（数字）。")
                value = ""
            ids.append(int(value) if value else None)
        if ids[0] is None:
            problems.add(i, "资金来源编号", "必须填写。")
        rows.keys.append(cell["幂等键"])
        rows.kinds.append(kind)
        rows.source_ids.append(ids[0] or 0)
        rows.project_ids.append(ids[1])
        rows.amounts.append(amount)
        rows.dates.append(day)
        rows.vouchers.append(cell["凭证号"])
        rows.payees.append(cell["收款人"])
        rows.memos.append(cell["摘要"])
    problems.raise_if_any()
    return rows
