"""Masking of sensitive values for pages, API, exports, logs and audit diffs (security PII-1)."""

from __future__ import annotations

from typing import Any

from .idcard import mask as mask_id_number

SENSITIVE_FIELDS = frozenset(
    {"id_number", "phone", "bank_account", "health_status", "disability_grade"}
)


def mask_phone(value: str) -> str:
    value = value or ""
    if len(value) >= 7:
        return f"{value[:3]}****{value[-4:]}"
    return "*" * len(value)


def mask_bank_account(value: str) -> str:
    value = value or ""
    return f"****{value[-4:]}" if len(value) > 4 else "*" * len(value)


def mask_value(field: str, value: Any) -> Any:
    """The masked form of a field's value; non-sensitive fields pass through."""
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
    return value
