"""How a registry value is written into an exported form.

Codes become their Chinese labels, lists of codes are joined with "、", booleans are 是/否, and
the column labels are the importer's own (`imports.fields.FIELDS`), so an unmasked roster reads
back through the importer unchanged. Masked output hides the sensitive fields with
`registry.masking`; the birth date is then left out altogether, because with the masked ID's first
6 and last 4 characters it would give back the whole number (the age is shown instead).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from jingzhun.imports.fields import FIELDS, FieldSpec
from jingzhun.imports.report import FORMULA_TRIGGERS, safe
from jingzhun.registry.masking import SENSITIVE_FIELDS, age_on, mask_value

__all__ = ["FORMULA_TRIGGERS", "age_on", "field_value", "label", "safe", "spec"]

MASKED_ONLY_HIDDEN: Final = frozenset({"birth_date"})


def spec(key: str) -> FieldSpec:
    return FIELDS[key]


def label(key: str) -> str:
    """The column header the importer reads for this field."""
    return FIELDS[key].label


def field_value(key: str, value: Any, *, masked: bool) -> Any:
    """The cell value of one field: labels for codes, 是/否, masked when sensitive and masked."""
    if value is None or value == "" or value == []:
        return None
    if masked and key in SENSITIVE_FIELDS:
        return mask_value(key, value)
    s = FIELDS[key]
    if s.kind == "code":
        return s.table.get(str(value), str(value))
    if s.kind == "codes":
        return "、".join(s.table.get(v, v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        # A number in the sheet, not text; Decimal(12, 2) fits a float's 15 digits exactly.
        return int(value) if value == value.to_integral_value() else float(value)
    return value
