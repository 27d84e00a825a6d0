"""What an import can read: every household, member and income field, its Chinese label,
synonyms and kind, as `registry.dictionary` defines them (labels, the synonyms that real
registration forms use: 信息采集表, 花名册, department rosters; code spellings). This module only
matches: header cells and code values are compared after `norm`: full-width ASCII folded,
whitespace and required-field marks removed, lower-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from jingzhun.registry import dictionary

# Full-width ASCII (U+FF01..U+FF5E) to ASCII, and the ideographic space to a space.
_FULLWIDTH: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_MARKS: Final = re.compile(r"[*★※☆]|\((?:必填|选填|必录|可选)\)")
_UNIT: Final = re.compile(r"\([^()]*\)$")


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII (not NFKC: "①" stays what it is)."""
    return text.translate(_FULLWIDTH)


def norm(text: object) -> str:
    """The comparable form of a header cell or code value."""
    folded = fold(str(text)).replace("（", "(").replace("）", ")")
    folded = _MARKS.sub("", "".join(folded.split()))
    return folded.strip(":：").lower()


@dataclass(frozen=True)
class FieldSpec:
    """One importable column. `level` is household, member, income (the household's income for
    the year of the row: `year` column, title row or the year given with the file), or info
    (recognised, not imported). Built from `registry.dictionary`, the one place fields are
    defined."""

    key: str
    level: str
    label: str
    kind: str  # text code codes bool int decimal date year id_number village phone account info
    table: dict[str, str] = field(default_factory=dict)
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    most: int | None = None  # for lists of codes
    required: bool = False
    low: int | None = None  # integer range (dictionary: disability grade 1-4, months 0-12)
    high: int | None = None
    unit: str = ""


TRUE_WORDS: Final = frozenset(
    {"是", "有", "√", "✓", "1", "y", "yes", "true", "t", "达标", "已参加"}
)
FALSE_WORDS: Final = frozenset(
    {"否", "无", "×", "✗", "0", "n", "no", "false", "f", "不达标", "未参加"}
)
LIST_SEPARATORS: Final = re.compile(r"[、,，;；/|\s]+")

# The dictionary's kinds and rules as the importer reads cells.
_KIND: Final = {
    "text": "text",
    "identifier": "code_text",
    "code": "code",
    "codes": "codes",
    "boolean": "bool",
    "integer": "int",
    "year": "year",
    "decimal": "decimal",
    "money": "decimal",
    "date": "date",
}
_RULE_KIND: Final = {
    "id_number": "id_number",
    "phone": "phone",
    "bank_account": "account",
    "region_code": "village",
}


def _spec(f: dictionary.Field) -> FieldSpec:
    if f.derived:
        return FieldSpec(f.key, "info", f.label, "info")
    kind = _RULE_KIND.get(f.rule) or _KIND[f.kind]
    text_like = kind in ("text", "code_text", "code", "id_number", "phone", "account")
    return FieldSpec(
        key=f.key,
        level=f.record,
        label=f.label,
        kind=kind,
        table=dict(f.table or {}),
        max_length=f.max_length if text_like and f.stored else None,
        max_digits=f.max_digits,
        decimal_places=f.decimal_places,
        most=f.most,
        required=f.required,
        low=f.low,
        high=f.high,
        unit=f.unit,
    )


def _build() -> dict[str, FieldSpec]:
    # Stored fields by record, then import-only ones, then recognised (derived) ones.
    read = [f for f in dictionary.fields(on="import") if not f.derived]
    ordered = [
        *(f for r in dictionary.RECORDS for f in read if f.record == r and f.stored),
        *(f for f in read if not f.stored),
        *(f for f in dictionary.fields(on="import") if f.derived),
    ]
    return {f.key: _spec(f) for f in ordered}


FIELDS: Final = _build()
INCOME_KEYS: Final = tuple(k for k, s in FIELDS.items() if s.level == "income" and k != "year")
# Columns read but not stored as such: 户类型 sets the poverty status (imports.pipeline
# `household_type_status`); exports leave them out (脱贫状态 carries the same fact).
IMPORT_ONLY: Final = frozenset(
    f.key for f in dictionary.fields(on="import") if not f.stored and not f.derived
)
HOUSEHOLD_TYPE: Final = dictionary.HOUSEHOLD_TYPE


def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, spec in FIELDS.items():
        for label in (key, spec.label, *dictionary.FIELDS[key].synonyms):
            index.setdefault(norm(label), key)
    return index


HEADER_INDEX: Final = _header_index()


def match_header(text: object, extra: dict[str, str] | None = None) -> str | None:
    """The field key a header cell names, or None. `extra` maps normalised labels (saved mappings)."""
    label = norm(text)
    if not label:
        return None
    if extra and label in extra:
        return extra[label]
    if label in HEADER_INDEX:
        return HEADER_INDEX[label]
    bare = _UNIT.sub("", label)  # "耕地面积(亩)" when only "耕地面积" is known, and the reverse
    if bare and bare in HEADER_INDEX:
        return HEADER_INDEX[bare]
    return None


def _value_index(key: str, spec: FieldSpec) -> dict[str, str]:
    index: dict[str, str] = {}
    for code, label in spec.table.items():
        index[norm(code)] = code
        index[norm(label)] = code
    for word, code in dictionary.FIELDS[key].spellings.items():
        index[norm(word)] = code
    return index


VALUE_INDEX: Final = {
    key: _value_index(key, spec) for key, spec in FIELDS.items() if spec.kind in ("code", "codes")
}


def assignable_fields() -> list[FieldSpec]:
    """Fields a saved column mapping may point at (household, member and income fields)."""
    return [s for s in FIELDS.values() if s.level in ("household", "member", "income")]
