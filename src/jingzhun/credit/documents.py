"""The overdue list as .xlsx (masked ID number, phone and bank account; formula-escaped)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from jingzhun.imports.report import safe
from jingzhun.projects.money import yuan
from jingzhun.registry.idcard import mask as mask_id
from jingzhun.registry.masking import mask_bank_account, mask_phone

OVERDUE_COLUMNS = [
    "村",
    "户编号",
    "借款人",
    "证件号码",
    "联系电话",
    "银行账号",
    "贷款银行",
    "借据号",
    "贷款金额（元）",
    "到期日期",
    "未还本金（元）",
    "逾期天数",
    "状态",
]


def overdue_rows(loans: Iterable[Any], on: Any) -> list[list[Any]]:
    rows = []
    for loan in loans:
        h = loan.household
        rows.append(
            [
                safe(h.village.name),
                safe(h.household_code),
                safe(loan.borrower.name),
                mask_id(loan.borrower.id_number or ""),
                mask_phone(h.phone or ""),
                mask_bank_account(h.bank_account or ""),
                safe(loan.bank_name),
                safe(loan.contract_no),
                yuan(loan.amount_fen),
                loan.end_date.isoformat(),
                yuan(loan.outstanding_fen),
                (on - loan.end_date).days,
                loan.status_label,
            ]
        )
    return rows


def write_overdue_xlsx(loans: Iterable[Any], on: Any, out: IO[bytes]) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("逾期贷款清单")
    bold = Font(bold=True)
    header = []
    for h in OVERDUE_COLUMNS:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    rows = overdue_rows(loans, on)
    for row in rows:
        ws.append(row)
    wb.save(out)
    return len(rows)
