"""The import template (issue 19 item 6): an empty .xlsx that the importer reads as it is.

Two sheets the importer recognises (the two-sheet layout of `layout.detect`): 户表, one row per
household with its fields, then 年度 and that year's income; 成员表, one row per member, tied to
its household by 户编号. A third sheet, 说明, lists every column (what it holds, whether it is
required, the values it takes) and the rules; the importer skips it (no row of it names two
fields). Everything comes from `registry.dictionary` (through `fields.FIELDS`), so the template follows whatever the importer
knows: the headers are the importer's labels, coded and yes/no columns get a drop-down list of
the labels the importer accepts, required columns a distinct fill and a comment, date and money
columns a number format, and the columns of digits (ID, bank account, phone, codes) the text
format, so that Excel keeps every digit of an ID number instead of showing 2.3E+17.
"""

from __future__ import annotations

import io
from typing import Final

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from jingzhun.registry import dictionary

from .fields import FIELDS, FieldSpec
from .report import safe

HOUSEHOLD_SHEET: Final = "户表"
MEMBER_SHEET: Final = "成员表"
NOTES_SHEET: Final = "说明"
FILENAME: Final = "import-template.xlsx"

_LEADING_HOUSEHOLD: Final = ("household_code", "village", "group_name")
_LEADING_MEMBER: Final = ("household_code", "name", "id_number", "relation", "sex", "birth_date")


def _columns(level: str, leading: tuple[str, ...]) -> tuple[str, ...]:
    """The dictionary's fields shown in the template, the importer's order after `leading`."""
    rest = (
        k
        for k, s in FIELDS.items()
        if s.level == level and k not in leading and dictionary.FIELDS[k].shows_on("template")
    )
    return (*leading, *rest)


HOUSEHOLD_COLUMNS: Final = (*_columns("household", _LEADING_HOUSEHOLD), *_columns("income", ()))
MEMBER_COLUMNS: Final = _columns("member", _LEADING_MEMBER)

YES_NO: Final = ("是", "否")
# Excel's limit for a list typed into the validation itself (the quoted, comma-joined labels).
MAX_LIST_CHARS: Final = 255
TEXT_KINDS: Final = frozenset({"code_text", "village", "id_number", "phone", "account"})

BOLD = Font(bold=True)
REQUIRED_FILL = PatternFill("solid", fgColor="F8CBAD")
OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")
INCOME_FILL = PatternFill("solid", fgColor="E2EFDA")
WRAP = Alignment(wrap_text=True, vertical="top")

_KIND_HINTS: Final = {
    "code_text": "文本",
    "text": "文本",
    "village": "12 位统计用区划代码（村级）",
    "id_number": "18 位居民身份证号码或残疾人证号",
    "phone": "手机号码或固定电话",
    "account": "银行卡号或存折账号（数字）",
    "int": "整数",
    "decimal": "数字",
    "year": "四位年份，如 2024",
    "date": "日期，如 2024-06-30",
    "bool": "是或否",
    "code": "从下拉列表中选择",
    "codes": "从下拉列表中选择；可填多个，用“、”分隔",
}


def _hint(spec: FieldSpec) -> str:
    hint = _KIND_HINTS.get(spec.kind, "")
    if spec.kind == "decimal":
        hint = "金额（元），数字，最多两位小数" if spec.level == "income" else "数字"
    if spec.kind == "text" and spec.max_length:
        hint = f"文本，不超过 {spec.max_length} 个字"
    if spec.kind == "codes" and spec.most:
        hint += f"，最多 {spec.most} 个"
    note = dictionary.FIELDS[spec.key].note
    return f"{hint}。{note}" if note else hint


def choices(spec: FieldSpec) -> tuple[str, ...]:
    """The drop-down list of a column: its code table's labels, 是/否, or none."""
    if spec.kind in ("code", "codes"):
        return tuple(spec.table.values())
    if spec.kind == "bool":
        return YES_NO
    return ()


def _number_format(spec: FieldSpec) -> str | None:
    if spec.kind in TEXT_KINDS:
        return "@"
    if spec.kind == "date":
        return "yyyy-mm-dd"
    if spec.kind == "decimal" and spec.level == "income":
        return "0.00"
    return None


def _validation(spec: FieldSpec, column: str) -> DataValidation | None:
    values = choices(spec)
    formula = '"' + ",".join(values) + '"'
    if not values or len(formula) > MAX_LIST_CHARS or any("," in v for v in values):
        return None
    several = spec.kind == "codes"
    validation = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        # A list of codes may hold several labels: Excel warns, the importer decides.
        errorStyle="warning" if several else "stop",
        errorTitle=spec.label,
        error=f"请从下拉列表中选择{spec.label}" + ("；多个用“、”分隔" if several else ""),
    )
    validation.add(f"{column}2:{column}1048576")
    return validation


def _data_sheet(ws: Worksheet, keys: tuple[str, ...]) -> None:
    for index, key in enumerate(keys, start=1):
        spec = FIELDS[key]
        column = get_column_letter(index)
        cell = ws.cell(row=1, column=index, value=safe(spec.label))
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if spec.required:
            cell.fill = REQUIRED_FILL
        elif spec.level == "income":
            cell.fill = INCOME_FILL
        else:
            cell.fill = OPTIONAL_FILL
        required = "必填。" if spec.required else ""
        cell.comment = Comment(f"{required}{_hint(spec)}", "精准", width=240, height=90)
        dimension = ws.column_dimensions[column]
        dimension.width = max(10, min(30, 2 * len(spec.label) + 4))
        number_format = _number_format(spec)
        if number_format:
            dimension.number_format = number_format
        validation = _validation(spec, column)
        if validation is not None:
            ws.add_data_validation(validation)
    ws.freeze_panes = "B2"


RULES: Final = (
    "导入模板填写说明",
    "1. “户表”每户一行；“成员表”每人一行，用“户编号”与户表对应。两个工作表的表头不要修改，"
    "不用的列可以留空或删除；表头上方可以插入标题行。",
    "2. 橙色表头为必填列；蓝色为选填列；绿色为收入列。带下拉列表的列请从列表中选择。",
    "3. 收入年度：户表的收入各列填写该户一个年度的收入。每行的收入属于该行“年度”列所填的年度；"
    "“年度”为空时，属于表头上方标题行写明的年度（如“2024年度”），再次为导入时指定的收入年度"
    "（网页上的“收入年度”，命令行的 --year）。有收入数据却无法确定年度的行不予导入。"
    "同一户在一个文件中只能填写一个年度的收入。",
    "4. 证件号码、银行账号等列已设为文本格式，请直接输入全部数字；日期写成 2024-06-30。",
    "5. 导入时先校验全部数据；有任何错误时不写入任何数据，可下载错误报告逐条修改后再导入。",
)
NOTES_HEADER: Final = ("工作表", "列", "必填", "填写说明", "可选值")


def _notes_sheet(ws: Worksheet) -> None:
    for text in RULES:
        ws.append([safe(text)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(list(NOTES_HEADER))
    for cell in ws[ws.max_row]:
        cell.font = BOLD
        cell.fill = OPTIONAL_FILL
    for sheet, keys in ((HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS), (MEMBER_SHEET, MEMBER_COLUMNS)):
        for key in keys:
            spec = FIELDS[key]
            values = "、".join(choices(spec))
            row = [sheet, spec.label, "是" if spec.required else "", _hint(spec), values]
            ws.append([safe(v) for v in row])
            for cell in ws[ws.max_row]:
                cell.alignment = WRAP
    for column, width in zip("ABCDE", (10, 24, 6, 50, 50), strict=True):
        ws.column_dimensions[column].width = width


def build_template() -> bytes:
    """The empty import template as .xlsx bytes."""
    wb = Workbook()
    wb.properties.creator = "精准"
    households = wb.active
    assert households is not None
    households.title = HOUSEHOLD_SHEET
    _data_sheet(households, HOUSEHOLD_COLUMNS)
    _data_sheet(wb.create_sheet(MEMBER_SHEET), MEMBER_COLUMNS)
    _notes_sheet(wb.create_sheet(NOTES_SHEET))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
