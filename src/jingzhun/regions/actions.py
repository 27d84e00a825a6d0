"""Loading and changing administrative divisions. All-or-nothing, audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, Forbidden

from . import codes
from .models import Region, RegionPopulation


@dataclass
class RegionRow:
    """One row of a division table, as read from a file (row_number counts the header as 1)."""

    row_number: int
    code: str
    name: str
    is_poor_village: bool = False
    is_deep_poverty: bool = False
    rural_population: int | None = None
    year: int | None = None


@dataclass
class RowError:
    row_number: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row_number} 行，{self.field}“{self.value}”：{self.reason}"


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    populations: int = 0
    errors: list[RowError] = field(default_factory=list)


class RegionLoadError(DomainError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"区划表有 {len(errors)} 处错误，未导入任何数据。")
        self.errors = errors


def validate_rows(rows: Iterable[RegionRow]) -> tuple[list[RegionRow], list[RowError]]:
    """Check every row: code form, level, parent present (in the file or the database), flags sensible."""
    rows = list(rows)
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            row.code = codes.normalize(row.code)
            level = codes.level_of(row.code)
        except codes.CodeError as exc:
            errors.append(RowError(row.row_number, "区划代码", str(row.code), str(exc)))
            continue
        if row.code in seen and not (row.year is not None):
            errors.append(
                RowError(row.row_number, "区划代码", row.code, f"与第 {seen[row.code]} 行重复")
            )
        seen.setdefault(row.code, row.row_number)
        if not row.name.strip():
            errors.append(RowError(row.row_number, "名称", row.name, "名称不能为空"))
        if (row.is_poor_village or row.is_deep_poverty) and level != "village":
            errors.append(
                RowError(
                    row.row_number, "贫困村", row.code, "只有村级区划可以标记为贫困村或深度贫困村"
                )
            )
        if row.rural_population is not None:
            if row.rural_population < 0:
                errors.append(
                    RowError(row.row_number, "农村人口", str(row.rural_population), "不能为负数")
                )
            if row.year is None:
                errors.append(RowError(row.row_number, "年度", "", "填写了农村人口时必须填写年度"))
        if row.year is not None and not 1949 <= row.year <= 2100:
            errors.append(RowError(row.row_number, "年度", str(row.year), "年度不在合理范围内"))
    known = set(seen)
    existing_parents = set(
        Region.objects.filter(
            code__in={p for code in known if (p := _safe_parent(code))}
        ).values_list("code", flat=True)
    )
    for row in rows:
        parent = _safe_parent(row.code)
        if parent and parent not in known and parent not in existing_parents:
            errors.append(
                RowError(
                    row.row_number,
                    "区划代码",
                    row.code,
                    f"上级区划 {parent} 既不在文件中，也不在系统中",
                )
            )
    return rows, errors


def _safe_parent(code: str) -> str | None:
    try:
        return codes.parent_of(code)
    except codes.CodeError:
        return None


@transaction.atomic
def do_load_regions(rows: Iterable[RegionRow], *, actor: Any, source: str = "") -> LoadResult:
    """Load a division table: every row is validated first, then all are written, or none."""
    if actor is not None and getattr(actor, "role", None) not in {"county", "sysadmin"}:
        raise Forbidden("只有县级业务人员或系统管理员可以导入区划。")
    rows, errors = validate_rows(rows)
    if errors:
        raise RegionLoadError(errors)
    result = LoadResult()
    # Parents before children: sort by level depth, then code.
    ordered = sorted(rows, key=lambda r: (codes.LEVELS.index(codes.level_of(r.code)), r.code))
    existing = set(
        Region.objects.filter(code__in=[r.code for r in ordered]).values_list("code", flat=True)
    )
    done: set[str] = set()
    now = timezone.now()
    for row in ordered:
        if row.code not in done:
            values = {
                "name": row.name.strip(),
                "level": codes.level_of(row.code),
                "parent_id": codes.parent_of(row.code),
                "is_western": codes.is_western(row.code),
                "is_poor_village": row.is_poor_village,
                "is_deep_poverty": row.is_deep_poverty,
                "updated_at": now,
            }
            Region.objects.update_or_create(code=row.code, defaults=values)
            if row.code in existing:
                result.updated += 1
            else:
                result.created += 1
            done.add(row.code)
        if row.rural_population is not None and row.year is not None:
            RegionPopulation.objects.update_or_create(
                region_id=row.code,
                year=row.year,
                defaults={"rural_population": row.rural_population},
            )
            result.populations += 1
    record(
        "regions.load",
        actor=actor,
        object_type="region",
        object_id=source[:64],
        diff={
            "created": result.created,
            "updated": result.updated,
            "populations": result.populations,
        },
    )
    return result
