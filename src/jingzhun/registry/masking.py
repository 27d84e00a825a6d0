"""Masking of sensitive values for pages, API, exports, logs and audit diffs (security PII-1)."""

from __future__ import annotations

import datetime
from typing import Any

from .idcard import mask as mask_id_number

SENSITIVE_FIELDS = frozenset(
    {"id_number", "phone", "bank_account", "health_status", "disability_grade"}
)
# The fields whose masked form differs from the value: the sensitive ones, and the birth date
# (its year only: the 8 digits a masked ID number hides are exactly the birth date).
MASKED_FIELDS = SENSITIVE_FIELDS | {"birth_date"}


def mask_phone(value: str) -> str:
    value = value or ""
    if len(value) >= 7:
        return f"{value[:3]}****{value[-4:]}"
    return "*" * len(value)


def mask_bank_account(value: str) -> str:
    value = value or ""
    return f"****{value[-4:]}" if len(value) > 4 else "*" * len(value)


def mask_value(field: str, value: Any) -> Any:
    """The masked form of a field's value; non-sensitive fields pass through, but a birth date
    keeps only its year (see `age_on`)."""
    if value in (None, ""):
        return value
    if field == "id_number":
        return mask_id_number(str(value))
    if field == "phone":
        return mask_phone(str(value))
    if field == "bank_account":
        return mask_bank_account(str(value))
    if field in ("health_status", "disability_grade"):
        return "***"
    if field == "birth_date":
        # Beside a masked ID number (audit diffs, import reports) the date would rebuild it.
        return str(value)[:4]
    return value


def age_on(birth: datetime.date, on: datetime.date) -> int:
    """Age in whole years (周岁) on a date: what masked output shows instead of the birth date.

    The 8 digits a masked ID number hides are exactly the birth date (YYYYMMDD), so the full date
    never goes where a masked ID number goes; the age or the birth year may.
    """
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
