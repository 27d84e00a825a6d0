"""Phone numbers and bank card numbers (pure Python, no Django): the rules the registry's actions
and the importer both apply. Each check returns a Chinese reason, or "" when the value is valid.

Phone (联系电话), after removing spaces:
- a mobile number: 11 digits `1[3-9]xxxxxxxxx`, optionally written `+86`/`0086` first or with
  hyphens between groups (138-1234-5678);
- a landline: the area code `0` + 2 or 3 digits (010, 0451), optionally in parentheses, an optional
  hyphen, then 7 or 8 digits not starting with 0 or 1, then optionally an extension of 1 to 6
  digits after `-`, `转` or `#` (0451-8765432-123).

Bank account (银行账号): 12 to 19 digits. A bank card number of 16 to 19 digits starting with 62
(UnionPay), 4 or 5 (cards issued with Visa or Mastercard) ends with a Luhn check digit (ISO/IEC
7812), which must hold; passbook and other account numbers, which carry no check digit, are only
checked for their length.
"""

from __future__ import annotations

import re

MOBILE = re.compile(r"(?:\+86|0086)?-?1[3-9]\d(?:-?\d{4}){2}")
LANDLINE = re.compile(r"(?:0\d{2,3}|\(0\d{2,3}\))-?[2-9]\d{6,7}(?:(?:-|转|#)\d{1,6})?")
CARD_PREFIXES = ("62", "4", "5")


def phone_problem(text: str) -> str:
    """Why `text` is not a Chinese mobile or landline number ("" when it is)."""
    compact = "".join(text.split())
    if not compact or MOBILE.fullmatch(compact) or LANDLINE.fullmatch(compact):
        return ""
    digits = re.sub(r"\D", "", compact)
    if digits.startswith("1") and len(digits) != 11:
        return "手机号码应为 11 位数字"
    return "应为手机号码（1 开头 11 位）或固定电话（区号-号码，如 0451-8765432）"


def luhn_check_digit(body: str) -> str:
    """The Luhn check digit that completes the digits `body`."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: every second digit from the right of the completed number
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def bank_account_problem(text: str) -> str:
    """Why `text` is not a bank account or card number ("" when it is)."""
    if not text:
        return ""
    if not (text.isascii() and text.isdigit()):
        return "银行账号只能包含数字"
    if not 12 <= len(text) <= 19:
        return f"银行账号应为 12–19 位数字（现为 {len(text)} 位）"
    card = len(text) >= 16 and text.startswith(CARD_PREFIXES)
    if card and luhn_check_digit(text[:-1]) != text[-1]:
        return "银行卡号校验位不正确（请核对是否抄错）"
    return ""
