"""Pure functions over 12-digit statistical division codes (统计用区划代码). No Django."""

from __future__ import annotations

import re

LEVELS = ("province", "prefecture", "county", "township", "village")
LEVEL_LABELS = {
    "province": "省级",
    "prefecture": "地级",
    "county": "县级",
    "township": "乡级",
    "village": "村级",
}
# Significant digits of each level: province 2, prefecture 4, county 6, township 9, village 12.
_WIDTH = {"province": 2, "prefecture": 4, "county": 6, "township": 9, "village": 12}
WESTERN_PROVINCES = frozenset(
    {"15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
)
_CODE = re.compile(r"^\d{12}$")


class CodeError(ValueError):
    """A malformed division code; the message is a Chinese sentence."""


def normalize(raw: str) -> str:
    """Accept 6-, 9- or 12-digit codes (Excel often drops the zero padding) and pad to 12."""
    code = str(raw).strip().replace(" ", "")
    if code.endswith(".0"):
        code = code[:-2]
    if re.fullmatch(r"\d{6}|\d{9}", code):
        code = code.ljust(12, "0")
    if not _CODE.match(code):
        raise CodeError(f"区划代码“{raw}”应为 12 位数字")
    return code


def level_of(code: str) -> str:
    """The level a 12-digit code denotes, from its zero padding; refuses gaps like 23000001…"""
    if not _CODE.match(code):
        raise CodeError(f"区划代码“{code}”应为 12 位数字")
    if code[:2] == "00":
        raise CodeError(f"区划代码“{code}”的省级代码不能为 00")
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "prefecture"
    if code[6:] == "0" * 6:
        return "county"
    if code[9:] == "000":
        if code[4:6] == "00":
            raise CodeError(f"区划代码“{code}”缺少县级代码")
        return "township"
    if code[6:9] == "000":
        raise CodeError(f"区划代码“{code}”是村级代码，但乡级代码为 000")
    if code[4:6] == "00":
        raise CodeError(f"区划代码“{code}”缺少县级代码")
    return "village"


def parent_of(code: str) -> str | None:
    """The code of the level above, or None for a province."""
    level = level_of(code)
    index = LEVELS.index(level)
    if index == 0:
        return None
    width = _WIDTH[LEVELS[index - 1]]
    return code[:width].ljust(12, "0")


def prefix(code: str) -> str:
    """The significant digits: every descendant's code starts with them."""
    return code[: _WIDTH[level_of(code)]]


def is_western(code: str) -> bool:
    return code[:2] in WESTERN_PROVINCES


def county_of(code: str) -> str:
    return code[:6] + "000000"


def township_of(code: str) -> str:
    return code[:9] + "000"
