"""Money in integer fen (分): parse what people type in yuan, show fen as yuan. Pure Python."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from jingzhun.core.errors import DomainError

MAX_FEN: Final = 10**15  # ten trillion yuan: far above any county's year, far below int64


def parse_yuan(value: Any, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Yuan as typed ("1,234.5", 12, Decimal) → fen. Refused: not a number, more than two
    decimals, negative (or zero unless allowed), above MAX_FEN."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError("请填写金额（单位：元）。", field=field)
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("，", ""))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(f"金额“{value}”不是有效的数字（单位：元）。", field=field) from exc
    if not amount.is_finite():
        raise DomainError(f"金额“{value}”不是有效的数字（单位：元）。", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError(f"金额“{value}”最多保留两位小数（单位：元）。", field=field)
    fen = int(amount * 100)
    return check_fen(fen, field=field, allow_zero=allow_zero)


def check_fen(fen: Any, *, field: str = "amount", allow_zero: bool = False) -> int:
    """An amount already in fen: an integer, positive (or zero when allowed), below MAX_FEN."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise DomainError("金额必须是整数分。", field=field)
    if fen < 0 or (fen == 0 and not allow_zero):
        raise DomainError("金额必须大于零。" if not allow_zero else "金额不能为负数。", field=field)
    if fen >= MAX_FEN:
        raise DomainError(f"金额不能超过 {MAX_FEN // 100:,} 元。", field=field)
    return fen


def yuan(fen: int | None) -> str:
    """Fen as yuan with two decimals and thousands separators: 123456 → "1,234.56"."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"
