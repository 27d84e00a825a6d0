"""The measure catalogue (帮扶措施类型目录) from the policy file `measure_kinds`.

Kinds, their responsible departments, industry links and the risk types they address, and the
coverage rules, are policy data (policies/tables/measure_kinds.yaml), read through the policy
store; nothing here is a code table of its own.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache

from jingzhun.policy.schema import CoverageRule, MeasureCatalogueFile, MeasureKindEntry
from jingzhun.policy.store import LoadedFile, PolicyError, default_store

CATALOGUE_ID = "measure_kinds"


@dataclass(frozen=True)
class Catalogue:
    path: str
    version: str
    hash: str
    kinds: dict[str, MeasureKindEntry]
    departments: dict[str, str]  # code -> Chinese name
    rules: tuple[CoverageRule, ...]

    def kind_label(self, code: str) -> str:
        entry = self.kinds.get(code)
        return entry.name if entry else code

    def department_label(self, code: str) -> str:
        return self.departments.get(code, code)

    @property
    def industry_kinds(self) -> frozenset[str]:
        return frozenset(c for c, e in self.kinds.items() if e.industry_link)

    def kinds_of_department(self, department: str) -> frozenset[str]:
        return frozenset(c for c, e in self.kinds.items() if e.department == department)

    @property
    def cited(self) -> str:
        return f"措施目录 {CATALOGUE_ID}，文件 {self.path}，版本 {self.version}，内容哈希 {self.hash[:12]}"


@lru_cache(maxsize=1)
def _files() -> tuple[LoadedFile, ...]:
    """The catalogue's files, loaded once per process (policy files change with a deployment)."""
    store = default_store()
    return tuple(
        f
        for f in store.list_files()
        if isinstance(f.doc, MeasureCatalogueFile) and f.doc.id == CATALOGUE_ID
    )


@lru_cache(maxsize=16)
def _catalogue_of(path: str) -> Catalogue:
    loaded = next(f for f in _files() if f.path == path)
    doc = loaded.doc
    assert isinstance(doc, MeasureCatalogueFile)
    return Catalogue(
        path=loaded.path,
        version=doc.version,
        hash=loaded.hash,
        kinds={k.code: k for k in doc.kinds},
        departments={code: d.name for code, d in doc.departments.items()},
        rules=tuple(doc.rules),
    )


def catalogue(on: datetime.date | None = None) -> Catalogue:
    """The catalogue in effect on a day (the newest when None); PolicyError when none is."""
    candidates = [f for f in _files() if on is None or f.in_effect(on)]
    if not candidates:
        raise PolicyError(
            f"找不到措施目录 {CATALOGUE_ID}" + (f"（{on.isoformat()} 无有效版本）" if on else "")
        )
    return _catalogue_of(max(candidates, key=lambda f: f.doc.effective_from).path)
