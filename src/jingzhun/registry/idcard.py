"""Chinese resident ID numbers (GB 11643-1999): normalise, validate, explain, mask.

Pure Python on purpose (no Django): the import pipeline, the API, the demo generator and the
benchmarks all call it, and an import-linter contract keeps it that way.

Layout of an 18-character number: 6-digit address code, birth date YYYYMMDD, 3-digit sequence
(odd = male, even = female), and a check character computed by ISO 7064 MOD 11-2.
15-digit numbers (1989 standard) have a 2-digit year (19xx) and no check character.

Real inputs come from spreadsheets. Excel keeps only 15 significant digits of a number, so an
18-digit ID typed into a numeric cell loses digits 16-18 (they become 000), and one shown in
scientific notation ("4.40524E+17") and saved as CSV loses even more. Neither can be repaired:
`check` names the damage so the operator knows to go back to the paper record.
"""

from __future__ import annotations

import datetime
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

__all__ = [
    "IdCheck",
    "check",
    "check_char",
    "convert_15",
    "is_valid",
    "is_valid_fast",
    "mask",
    "normalize",
]

WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final = "10X98765432"  # indexed by (weighted sum mod 11)
MIN_BIRTH_YEAR: Final = 1800  # the standard's own example is born in 1880

# Full-width ASCII block (U+FF01..U+FF5E: "０", "Ｘ", "ｘ", "＇", ...) to ASCII. Deliberately not
# NFKC: that would also turn "①" or "²" into digits, which is not a safe repair.
_FULLWIDTH: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
# Invisible characters that str.split() does not treat as whitespace but that copy-paste from
# web pages and Word brings along.
_INVISIBLE: Final = {cp: None for cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)}
_TRANSLATE: Final = {**_FULLWIDTH, **_INVISIBLE}
# Excel's text marker, plus the curly quotes a Chinese input method types for the apostrophe key.
_APOSTROPHES: Final = ("'", "\u2018", "\u2019")

_SCIENTIFIC_RE: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)E[+-]?\d+")
_PANDAS_FLOAT_RE: Final = re.compile(r"(\d{18})\.0+")

# Excel keeps 15 significant digits, so any number longer than that has lost its tail.
_EXCEL_DIGITS: Final = 15
_HUGE: Final = 10**40

CHINA: Final = ZoneInfo("Asia/Shanghai")


def china_today() -> datetime.date:
    """Today in China (the date the numbers' rules are about), whatever the machine's zone."""
    return datetime.datetime.now(CHINA).date()


@dataclass(frozen=True, repr=False)
class IdCheck:
    """Outcome of `check`: the verdict, what could be salvaged, and a reason an operator can act on.

    `normalized` is the cleaned 18-character form whenever one exists (also for a wrong date or
    check character), `birth_date`, `sex` and `region_code` only when `valid`; `error` is a Chinese
    sentence and `error_code` a stable English code, both None exactly when `valid`.
    """

    input: str
    valid: bool
    normalized: str | None
    birth_date: datetime.date | None
    sex: str | None
    region_code: str | None
    error: str | None
    error_code: str | None

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict: dates as YYYY-MM-DD. Contains the full number: PII, never log it."""
        return {
            "input": self.input,
            "valid": self.valid,
            "normalized": self.normalized,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "region_code": self.region_code,
            "error": self.error,
        }

    def __repr__(self) -> str:
        # Masked so that a traceback, a log line or a debugger never shows the full number (PII-3).
        return (
            f"IdCheck(input={mask(self.input)!r}, valid={self.valid!r}, "
            f"normalized={mask(self.normalized) if self.normalized else None!r}, "
            f"error_code={self.error_code!r})"
        )


def normalize(raw: str) -> str:
    """Clean what is safe to clean: whitespace (any, incl. U+3000), full-width digits and letters,
    lower-case x, one leading apostrophe (Excel's text marker). Everything else is kept so that
    `check` can name it."""
    text = raw.translate(_TRANSLATE)
    text = "".join(text.split())
    if text.startswith(_APOSTROPHES):
        text = text[1:]
    return text.replace("x", "X")


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("check_char needs exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def convert_15(id15: str) -> str:
    """Convert a 15-digit (1989) number to 18 characters: century 19 plus a check character."""
    if len(id15) != 15 or not (id15.isascii() and id15.isdigit()):
        raise ValueError("convert_15 needs exactly 15 ASCII digits")
    first17 = f"{id15[:6]}19{id15[6:]}"
    return first17 + check_char(first17)


def is_valid(raw: object) -> bool:
    """True when `check(raw)` accepts the value."""
    return check(raw).valid


def is_valid_fast(s: str, *, today: datetime.date | None = None) -> bool:
    """`check(s).valid` for an already-normalised string, without building an `IdCheck`.

    For bulk import (map it over a column). Same verdict as `check` for every normalised string;
    strings needing cleaning or 15-digit conversion are simply False here.
    """
    if len(s) != 18 or not s.isascii() or not s[:17].isdigit():
        return False
    # sum(d_i * 2**(17-i)) == sum(WEIGHTS[i] * d_i) (mod 11), and 13 == 2 (mod 11), so one C-level
    # int() call gives the weighted sum: 2 * int(first17, 13) == total (mod 11).
    expected = CHECK_CHARS[(2 * int(s[:17], 13)) % 11]
    if s[17] != expected:
        return False
    year, month, day = int(s[6:10]), int(s[10:12]), int(s[12:14])
    if year < MIN_BIRTH_YEAR:
        return False
    try:
        born = datetime.date(year, month, day)
    except ValueError:
        return False
    return born <= (today or china_today())


def fast_column(
    values: list[Any], *, today: datetime.date | None = None
) -> tuple[list[bool], list[int], list[str]]:
    """`is_valid_fast` over a column at once (NumPy over the characters, not a call per value):
    per value whether it is valid, its sex digit's parity (1 = male) and its ISO birth date
    ("" where not valid). Values that are not 18-character ASCII strings are not valid here."""
    import numpy as np

    n = len(values)
    if n == 0:
        return [], [], []
    text = [v if type(v) is str and len(v) == 18 and v.isascii() else "" for v in values]
    raw = np.frombuffer(np.array(text, dtype="S18").tobytes(), dtype=np.uint8).reshape(n, 18)
    digits = raw[:, :17] - np.uint8(48)  # bytes below "0" wrap round above 9
    ok = (digits <= 9).all(axis=1)
    weighted = digits.astype(np.int64) @ np.array(WEIGHTS, dtype=np.int64)
    check = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[weighted % 11]
    ok &= raw[:, 17] == check
    d = digits.astype(np.int64)
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month = d[:, 10] * 10 + d[:, 11]
    day = d[:, 12] * 10 + d[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    last = month_days[np.clip(month, 0, 12)] + ((month == 2) & leap)
    now = today or china_today()
    stamp = year * 10000 + month * 100 + day
    ok &= (year >= MIN_BIRTH_YEAR) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)
    ok &= stamp <= now.year * 10000 + now.month * 100 + now.day
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    iso = np.hstack([raw[:, 6:10], dash, raw[:, 10:12], dash, raw[:, 12:14]])
    births = np.where(ok, np.ascontiguousarray(iso).view("S10")[:, 0], b"").astype("U10")
    return ok.tolist(), (d[:, 16] % 2).tolist(), births.tolist()


def mask(id_number: str) -> str:
    """Show an ID as first 6 + 8 asterisks + last 4 (PII-1); never shows the birth date digits.

    Anything that does not normalise to 18 characters keeps at most its first 2 and last 2
    characters, and only when at least half of it is hidden.
    """
    cleaned = normalize(id_number)
    if len(cleaned) == 18:
        return f"{cleaned[:6]}{'*' * 8}{cleaned[-4:]}"
    if len(id_number) >= 8:
        return f"{id_number[:2]}{'*' * (len(id_number) - 4)}{id_number[-2:]}"
    return "*" * len(id_number)


# --- check ----------------------------------------------------------------------------------


def _failure(text: str, code: str, message: str, normalized: str | None = None) -> IdCheck:
    return IdCheck(
        input=text,
        valid=False,
        normalized=normalized,
        birth_date=None,
        sex=None,
        region_code=None,
        error=message,
        error_code=code,
    )


def _show_chars(chars: str) -> str:
    shown: list[str] = []
    for ch in dict.fromkeys(chars):  # unique, in order of appearance
        shown.append(f"“{ch}”" if ch.isprintable() else f"U+{ord(ch):04X}")
    return "、".join(shown)


def _excel_number(digits: str) -> str:
    """How Excel displays a long number in a General cell: 4.40524188001E+17."""
    return f"{float(digits):.{_EXCEL_DIGITS}G}"


def _as_number(raw: object) -> int | float | Decimal | None:
    """The value of a numeric cell (Python, Decimal or numpy number), None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, numbers.Integral):
        return int(raw)
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, numbers.Real):  # float, numpy.float64 (whose repr is "np.float64(...)")
        return float(raw)
    return None


def _number_to_digits(raw: int | float | Decimal) -> str | None:
    """The integer digits of a numeric cell, or None when it is not a whole number.

    Floats go through their shortest repr (the digits the spreadsheet wrote), not int(raw): an
    18-digit float is not exactly an integer, and int() would invent trailing digits.
    """
    if isinstance(raw, int):
        return str(raw)
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else raw
    except InvalidOperation:
        return None
    if not value.is_finite() or value.adjusted() >= 40 or value != value.to_integral_value():
        return None
    return str(int(value))


def _numeric_damage(text: str, digits: str) -> IdCheck | None:
    """Reject numbers too long for a spreadsheet to have kept (only for values read as numbers)."""
    if len(digits) <= _EXCEL_DIGITS or not digits.isdigit():
        return None
    trailing_zeros = len(digits) - len(digits.rstrip("0"))
    if len(digits) == 18 and trailing_zeros >= 6:
        # Digits 13-18 all zero means birth day "00": more than Excel's 15 digits were lost, so the
        # value went through scientific notation.
        return _failure(
            text,
            "excel_scientific",
            f"疑似被 Excel 转为科学计数法（{_excel_number(digits)}），原号码已无法恢复，"
            "请把该列设为文本后重新录入",
        )
    if len(digits) == 18 and digits.endswith("000"):
        return _failure(
            text,
            "excel_zeroed",
            "末尾数字疑似被 Excel 置零（以数值形式读入，第 16–18 位为 000，"
            "超过 15 位的数字已丢失），请核对原始号码，并把该列设为文本后重新录入",
            normalized=digits,
        )
    return None


def check(raw: object, *, today: datetime.date | None = None) -> IdCheck:
    """Validate one value as read from a form, an API or a spreadsheet cell (str, int, float, None).

    Never raises; every rejection carries a Chinese reason and a stable `error_code`:
    empty, bad_chars, wrong_length, excel_scientific, excel_zeroed, bad_date, future_date,
    bad_checksum.
    """
    today = today or china_today()

    if raw is None:
        return _failure("", "empty", "号码为空")

    number = _as_number(raw)
    if number is not None:
        if isinstance(number, int) and abs(number) >= _HUGE:
            # str() of a huge int is slow or refused (int_max_str_digits): not worth printing.
            return _failure("", "wrong_length", "长度应为 18 位（或 15 位旧号码），实为 40 位以上")
        text = repr(number) if isinstance(number, float) else str(number)
        digits = _number_to_digits(number)
        if digits is None:
            cleaned = text
        else:
            damaged = _numeric_damage(text, digits)
            if damaged is not None:
                return damaged
            cleaned = digits
    else:
        text = raw if isinstance(raw, str) else str(raw)
        cleaned = normalize(text)
        if _SCIENTIFIC_RE.fullmatch(cleaned.upper()):
            return _failure(
                text,
                "excel_scientific",
                f"疑似被 Excel 转为科学计数法（{cleaned.upper()}），原号码已无法恢复，"
                "请把该列设为文本后重新录入",
            )
        pandas_float = _PANDAS_FLOAT_RE.fullmatch(cleaned)
        if pandas_float:  # "440524188001010014.0": a text column that went through a float format
            cleaned = pandas_float.group(1)

    return _check_cleaned(text, cleaned, today)


def _check_cleaned(text: str, cleaned: str, today: datetime.date) -> IdCheck:
    if not cleaned:
        return _failure(text, "empty", "号码为空")

    illegal = "".join(ch for ch in cleaned if not ("0" <= ch <= "9" or ch == "X"))
    if illegal:
        return _failure(
            text, "bad_chars", f"含有非法字符 {_show_chars(illegal)}（只允许数字和末位的 X）"
        )

    if len(cleaned) not in (15, 18):
        return _failure(
            text, "wrong_length", f"长度应为 18 位（或 15 位旧号码），实为 {len(cleaned)} 位"
        )

    if "X" in cleaned[:-1] or (len(cleaned) == 15 and "X" in cleaned):
        where = "15 位旧号码不能含有 X" if len(cleaned) == 15 else "X 只能出现在第 18 位（校验位）"
        return _failure(text, "bad_chars", f"含有非法字符 “X”：{where}")

    old_format = len(cleaned) == 15
    number = convert_15(cleaned) if old_format else cleaned
    note = "（按 15 位旧号码补全为 19xx 年）" if old_format else ""

    date_text = number[6:14]
    year, month, day = int(date_text[:4]), int(date_text[4:6]), int(date_text[6:])
    try:
        born = datetime.date(year, month, day)
    except ValueError:
        return _failure(
            text, "bad_date", f"出生日期 {date_text} 不是有效日期{note}", normalized=number
        )
    if year < MIN_BIRTH_YEAR:
        return _failure(
            text,
            "bad_date",
            f"出生日期 {born.isoformat()} 早于 {MIN_BIRTH_YEAR} 年，不是合理的出生日期",
            normalized=number,
        )
    if born > today:
        return _failure(
            text,
            "future_date",
            f"出生日期 {born.isoformat()} 晚于今天（{today.isoformat()}）{note}",
            normalized=number,
        )

    expected = check_char(number[:17])
    if number[17] != expected:
        if number.endswith("000"):
            return _failure(
                text,
                "excel_zeroed",
                "末尾数字疑似被 Excel 置零（末 3 位为 000，校验位不符），请核对原始号码",
                normalized=number,
            )
        return _failure(
            text,
            "bad_checksum",
            f"身份证号码校验位错误：应为 {expected}，实为 {number[17]}",
            normalized=number,
        )

    return IdCheck(
        input=text,
        valid=True,
        normalized=number,
        birth_date=born,
        sex="male" if int(number[16]) % 2 == 1 else "female",
        region_code=number[:6],
        error=None,
        error_code=None,
    )
