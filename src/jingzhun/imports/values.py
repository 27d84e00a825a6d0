"""Turning one raw cell value into a field value, or a Chinese reason why it cannot be.

Cells arrive as str, int, float, bool, date or datetime (calamine), or str (CSV). Full-width
digits and letters are folded; codes are read from their Chinese labels and synonyms
(`fields.VALUE_INDEX`); numbers must be numeric and non-negative; dates must exist.
"""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from django.utils import timezone

from jingzhun.registry.contact import bank_account_problem, phone_problem
from jingzhun.registry.idcard import IdCheck
from jingzhun.registry.idcard import check as check_id
from jingzhun.registry.models import income_year_problem

from .fields import FALSE_WORDS, LIST_SEPARATORS, TRUE_WORDS, VALUE_INDEX, FieldSpec, fold, norm
from .reader import MAX_CELL_CHARS

FORMULA_START: Final = ("=", "+", "@")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE: Final = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DATE_COMPACT: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EXCEL_EPOCH: Final = datetime.date(1899, 12, 30)
EXCEL_DIGITS: Final = 15


class BadValue(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def display(value: Any) -> str:
    """A cell value as text for reports (floats without a spurious .0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _text(raw: Any) -> str:
    return fold(display(raw)).strip()


# What exports and error reports put before text a spreadsheet would run as a formula.
ESCAPED_START: Final = ("'=", "'+", "'-", "'@")


def _plain_text(raw: Any, spec: FieldSpec) -> str:
    text = " ".join(display(raw).split())
    if text.startswith(ESCAPED_START):
        text = text[1:]  # our own escape (exports, report): the text itself starts after it
    if _CONTROL.search(text):
        raise BadValue("含有不可见的控制字符")
    if text.startswith(FORMULA_START):
        raise BadValue(f"以“{text[0]}”开头，疑似公式，请删除或改为普通文字")
    if spec.max_length and len(text) > spec.max_length:
        raise BadValue(f"内容过长：最多 {spec.max_length} 个字，实为 {len(text)} 个")
    return text


def _number(raw: Any, spec: FieldSpec) -> Decimal:
    if isinstance(raw, bool):
        raise BadValue("应为数字")
    if isinstance(raw, (int, float)):
        try:
            number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        except InvalidOperation as exc:
            raise BadValue("应为数字") from exc
    else:
        text = _text(raw).replace(",", "").replace("，", "")
        if len(text) > 40:
            raise BadValue("应为数字")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise BadValue("应为数字") from exc
    if not number.is_finite():
        raise BadValue("应为数字")
    if number < 0:
        raise BadValue("不能为负数")
    return number


def _as_int(raw: Any, spec: FieldSpec) -> int:
    number = _number(raw, spec)
    if number != number.to_integral_value():
        raise BadValue("应为整数")
    value = int(number)
    low, high = spec.low, spec.high  # the dictionary's range (registry.dictionary)
    if low is not None and high is not None and not low <= value <= high:
        raise BadValue(range_reason(spec.label, spec.unit, low, high))
    if value > 32767:
        raise BadValue("数值过大")
    return value


def range_reason(label: str, unit: str, low: int, high: int) -> str:
    """The Chinese reason for a whole number outside its field's range."""
    if unit == "年":
        return f"年度应为四位年份（{low}–{high}）"
    if low == 0:
        return f"{label.split('(')[0]}不能超过 {high} 个{unit}"
    return f"{label}应为 {low}–{high} {unit}"


_YEAR: Final = re.compile(r"(\d{4})\s*(?:年度?)?")


def income_year(value: int) -> int:
    """An income year as given (a cell, the title, the flag), refused as the registry refuses
    it (`registry.models.income_year_problem`)."""
    problem = income_year_problem(value, timezone.localdate().year)
    if problem:
        raise BadValue(problem)
    return value


def _as_year(raw: Any) -> int:
    """ "2019", 2019, "2019年", "2019年度" → 2019."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if not float(raw).is_integer():
            raise BadValue("年度应为四位年份，如 2019")
        return income_year(int(raw))
    match = _YEAR.fullmatch(_text(raw))
    if not match:
        raise BadValue("年度应为四位年份，如 2019")
    return income_year(int(match[1]))


def _as_decimal(raw: Any, spec: FieldSpec) -> Decimal:
    number = _number(raw, spec)
    places = spec.decimal_places or 2
    value = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    digits = spec.max_digits or 12
    if value.adjusted() >= digits - places:
        raise BadValue("数值过大")
    return value


_TRUE_NORMED: Final = frozenset(norm(w) for w in TRUE_WORDS)
_FALSE_NORMED: Final = frozenset(norm(w) for w in FALSE_WORDS)


def _as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = norm(raw)
    if word in _TRUE_NORMED:
        return True
    if word in _FALSE_NORMED:
        return False
    raise BadValue("应填“是”或“否”")


def _as_date(raw: Any) -> datetime.date:
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # An Excel date serial that reached us as a plain number (a CSV saved from a date column).
        if 1 <= raw < 2958466 and float(raw).is_integer():
            return _EXCEL_EPOCH + datetime.timedelta(days=int(raw))
        raise BadValue("不是有效日期")
    text = _text(raw)
    match = _DATE.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if not match:
        raise BadValue("不是有效日期（应为 年-月-日，如 2019-06-30）")
    try:
        value = datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise BadValue(f"{match[1]} 年 {int(match[2])} 月 {int(match[3])} 日不存在") from exc
    if value.year < 1800:
        raise BadValue("日期早于 1800 年，不是合理的日期")
    return value


def _as_code(raw: Any, spec: FieldSpec) -> str:
    index = VALUE_INDEX[spec.key]
    code = index.get(norm(raw))
    if code is None:
        allowed = "、".join(spec.table.values())
        raise BadValue(f"不是有效的{spec.label}，可填：{allowed}")
    return code


def _as_codes(raw: Any, spec: FieldSpec) -> list[str]:
    index = VALUE_INDEX[spec.key]
    items = [p for p in LIST_SEPARATORS.split(fold(display(raw)).strip()) if p]
    codes: list[str] = []
    for item in items:
        code = index.get(norm(item))
        if code is None:
            raise BadValue(f"“{item}”不是有效的{spec.label}")
        if code not in codes:
            codes.append(code)
    if spec.most is not None and len(codes) > spec.most:
        raise BadValue(f"最多填写 {spec.most} 项")
    return codes


def _digits_from_number(raw: Any, what: str) -> str:
    """A long number typed into a numeric cell: Excel keeps only 15 digits."""
    if isinstance(raw, float):
        if not raw.is_integer() or abs(raw) >= 1e40:
            raise BadValue(f"{what}应为数字串")
        digits = str(int(Decimal(repr(raw))))
    else:
        digits = str(raw)
    if len(digits) > EXCEL_DIGITS:
        raise BadValue(
            f"{what}超过 15 位却以数值保存，Excel 已丢失末尾数字，请把该列设为文本后重新录入"
        )
    return digits


def _as_account(raw: Any, spec: FieldSpec) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        text = _digits_from_number(raw, spec.label)
    else:
        text = "".join(_text(raw).split()).replace("-", "")
        text = text.removeprefix("'")
    if not text.isdigit() or not text.isascii():
        raise BadValue(f"{spec.label}只能包含数字")
    if spec.max_length and len(text) > spec.max_length:
        raise BadValue(f"{spec.label}过长：最多 {spec.max_length} 位")
    problem = bank_account_problem(text)  # 12-19 digits, a card's Luhn digit
    if problem:
        raise BadValue(problem)
    return text


def _as_phone(raw: Any, spec: FieldSpec) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        text = _digits_from_number(raw, spec.label)
    else:
        text = "".join(_text(raw).split()).removeprefix("'")
    if not re.fullmatch(r"\+?[0-9][0-9\-]*", text):
        raise BadValue("联系电话只能包含数字和“-”")
    if spec.max_length and len(text) > spec.max_length:
        raise BadValue(f"联系电话过长：最多 {spec.max_length} 位")
    problem = phone_problem(text)  # a mobile or landline number
    if problem:
        raise BadValue(problem)
    return text


def _as_code_text(raw: Any, spec: FieldSpec) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return _digits_from_number(raw, spec.label)
    return _plain_text(fold(display(raw)).removeprefix("'"), spec).replace(" ", "")


def _as_village(raw: Any) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        text = _digits_from_number(raw, "村级区划代码")
    else:
        text = "".join(_text(raw).split()).removeprefix("'")
    if not (len(text) == 12 and text.isdigit() and text.isascii()):
        raise BadValue("村级区划代码应为 12 位数字")
    return text


def convert(raw: Any, spec: FieldSpec) -> Any:
    """The field value for a non-empty raw cell; raises BadValue with a Chinese reason."""
    if isinstance(raw, str) and len(raw) > MAX_CELL_CHARS:
        raise BadValue(f"单元格内容过长（超过 {MAX_CELL_CHARS} 个字符）")
    if isinstance(raw, (datetime.time, datetime.timedelta)):
        raise BadValue("不应为时间值")
    kind = spec.kind
    if kind == "text":
        return _plain_text(raw, spec)
    if kind == "code_text":
        return _as_code_text(raw, spec)
    if kind == "code":
        return _as_code(raw, spec)
    if kind == "codes":
        return _as_codes(raw, spec)
    if kind == "bool":
        return _as_bool(raw)
    if kind == "int":
        return _as_int(raw, spec)
    if kind == "decimal":
        return _as_decimal(raw, spec)
    if kind == "year":
        return _as_year(raw)
    if kind == "date":
        return _as_date(raw)
    if kind == "village":
        return _as_village(raw)
    if kind == "phone":
        return _as_phone(raw, spec)
    if kind == "account":
        return _as_account(raw, spec)
    if kind == "info":
        return None
    raise BadValue("无法识别的字段")  # pragma: no cover - every kind is handled above


# Kinds whose columns repeat few distinct values (codes, yes/no, small numbers, villages, dates):
# `Converter` remembers each distinct cell's outcome. Free text, phones and accounts are mostly
# distinct, so remembering them would only cost memory.
MEMO_KINDS: Final = frozenset({"code", "codes", "bool", "int", "decimal", "date", "village"})
MEMO_LIMIT: Final = 50_000  # distinct cells remembered per field


class Converter:
    """`convert` with each distinct (type, value) of a field converted once.

    The outcome (value or the BadValue reason) is a pure function of the cell and the field, so
    a remembered outcome is exactly what converting again would give."""

    def __init__(self) -> None:
        self._memo: dict[str, dict[tuple[type, Any], tuple[bool, Any]]] = {}

    def __call__(self, raw: Any, spec: FieldSpec) -> Any:
        if spec.kind not in MEMO_KINDS:
            return convert(raw, spec)
        memo = self._memo.setdefault(spec.key, {})
        try:
            key = (type(raw), raw)
            ok, outcome = memo[key]
        except TypeError:  # unhashable: never from the readers, but stay safe
            return convert(raw, spec)
        except KeyError:
            try:
                outcome = convert(raw, spec)
                ok = True
            except BadValue as exc:
                outcome, ok = exc.reason, False
            if len(memo) < MEMO_LIMIT:
                memo[key] = (ok, outcome)
        if not ok:
            raise BadValue(outcome)
        # Lists (codes) are shared between rows: hand each caller its own.
        return list(outcome) if isinstance(outcome, list) else outcome


def check_id_cell(raw: Any) -> IdCheck:
    """The ID check of a cell; numeric cells keep their type so Excel damage is recognised."""
    if isinstance(raw, str) and len(raw) > 64:
        raw = raw[:64]
    return check_id(raw)
