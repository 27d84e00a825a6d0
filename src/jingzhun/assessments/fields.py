"""A list of criterion ids stored as one space-separated text value (ADR 0043).

Assessment.failed and Assessment.unknown hold a few criterion ids each (usually none). As JSON
they cost PostgreSQL a jsonb parse per value on a bulk COPY of ten million rows (2.3 of 19.2
seconds); as text they are copied as they are, and the bulk path writes them with no quoting.
Criterion ids are identifiers (policy schema), so a space never occurs inside one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models

__all__ = ["CriterionIdsField", "to_text"]


def to_text(ids: Any) -> str:
    if ids is None:
        return ""
    if isinstance(ids, str):
        return " ".join(ids.split())
    out = [str(i) for i in ids]
    for i in out:
        if not i or any(ch.isspace() for ch in i):
            raise ValidationError(f"判定项编号无效：{i!r}")
    return " ".join(out)


if TYPE_CHECKING:  # django-stubs: what the attribute accepts and what it reads back
    _TextField = models.TextField[list[str] | str, list[str]]
else:
    _TextField = models.TextField


class CriterionIdsField(_TextField):
    """list[str] in Python, "id1 id2" in the database ("" for none)."""

    description = "判定项编号列表（空格分隔）"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[str]:
        return value.split() if value else []

    def to_python(self, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return value.split()
        return [str(i) for i in value]

    def get_prep_value(self, value: Any) -> str:
        return to_text(value)

    def value_to_string(self, obj: Any) -> str:
        return to_text(self.value_from_object(obj))
