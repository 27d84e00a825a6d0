"""The feed catalogue (部门数据比对目录) from the policy file `department_feeds`: feeds, their
columns (mapped through registry.dictionary where a column carries a registry field), schedules
and the red-line and warning rules. Policy data, read through the policy store.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from functools import lru_cache

from django.utils import timezone

from jingzhun.imports.fields import VALUE_INDEX, norm
from jingzhun.policy.schema import FeedCatalogueFile, FeedColumn, FeedEntry, FeedRule
from jingzhun.policy.store import LoadedFile, PolicyError, default_store
from jingzhun.registry import dictionary

CATALOGUE_ID = "department_feeds"
SCHEDULE_LABELS = {
    "day": "每日",
    "week": "每周",
    "month": "每月",
    "quarter": "每季度",
    "year": "每年",
    "event": "随时（发生即报）",
}


@dataclass(frozen=True)
class Column:
    """A roster column: key, Chinese label, the header spellings it answers to, how cells are
    read, and its codes (code -> normalised spellings) for a code column."""

    key: str
    label: str
    headers: frozenset[str]
    kind: str
    codes: dict[str, str]  # normalised spelling -> code
    required: bool
    field: str | None  # the registry.dictionary field it carries


@dataclass(frozen=True)
class Feed:
    code: str
    name: str
    department: str
    schedule: str
    columns: tuple[Column, ...]
    entry: FeedEntry


@dataclass(frozen=True)
class Catalogue:
    path: str
    version: str
    hash: str
    feeds: dict[str, Feed]
    rules: tuple[FeedRule, ...]

    @property
    def cited(self) -> str:
        return f"{self.path}（版本 {self.version}，内容哈希 {self.hash[:12]}）"

    def feed(self, code: str) -> Feed:
        found = self.feeds.get(code)
        if found is None:
            known = "、".join(self.feeds)
            raise PolicyError(f"数据源“{code}”不在部门数据比对目录中（可用：{known}）")
        return found


def _column(col: FeedColumn) -> Column:
    headers: set[str] = {norm(col.key)}
    label = col.label or ""
    codes: dict[str, str] = {}
    if col.field is not None:
        spec = dictionary.FIELDS.get(col.field)
        if spec is None:
            raise PolicyError(f"部门数据比对目录：列 {col.key} 的数据字典字段 {col.field} 不存在")
        label = label or spec.label
        headers |= {norm(spec.label), *(norm(s) for s in spec.synonyms)}
        if col.kind == "code" and not col.codes:
            codes = dict(VALUE_INDEX.get(col.field, {}))
    headers |= {norm(label), *(norm(s) for s in col.synonyms)}
    for code, spellings in col.codes.items():
        codes[norm(code)] = code
        for spelling in spellings:
            codes[norm(spelling)] = code
    return Column(
        key=col.key,
        label=label,
        headers=frozenset(h for h in headers if h),
        kind=col.kind,
        codes=codes,
        required=col.required,
        field=col.field,
    )


# The identity columns every roster may carry beside the ID number: the probabilistic linker
# (feeds.linking) compares them for rows whose ID number is missing or damaged. Not policy: what
# a person is known by. A feed's own column of the same key or header wins.
IDENTITY_COLUMNS: tuple[FeedColumn, ...] = (
    FeedColumn(key="birth_date", field="birth_date", kind="date"),
    FeedColumn(key="sex", field="sex", kind="code"),
    FeedColumn(
        key="residence",
        label="住址",
        synonyms=[
            "现住址",
            "家庭住址",
            "户籍地址",
            "居住地址",
            "家庭地址",
            "住所",
            "所在村",
            "村名",
        ],
    ),
)


def _columns(entry: FeedEntry) -> tuple[Column, ...]:
    own = tuple(_column(c) for c in entry.columns)
    keys = {c.key for c in own}
    headers = {h for c in own for h in c.headers}
    extra = []
    for spec in IDENTITY_COLUMNS:
        if spec.key in keys:
            continue
        col = _column(spec)
        free = col.headers - headers
        if free:
            extra.append(replace(col, headers=frozenset(free)))
    return own + tuple(extra)


def _schedule(entry: FeedEntry) -> str:
    text = SCHEDULE_LABELS[entry.schedule.every]
    if entry.schedule.day:
        text += f" {entry.schedule.day} 日"
    if entry.schedule.note:
        text += f"（{entry.schedule.note}）"
    return text


def _build(loaded: LoadedFile) -> Catalogue:
    doc = loaded.doc
    assert isinstance(doc, FeedCatalogueFile)
    feeds = {
        e.code: Feed(
            code=e.code,
            name=e.name,
            department=doc.departments[e.department].name,
            schedule=_schedule(e),
            columns=_columns(e),
            entry=e,
        )
        for e in doc.feeds
    }
    return Catalogue(loaded.path, doc.version, loaded.hash, feeds, tuple(doc.rules))


@lru_cache(maxsize=4)
def _catalogue_of(path: str) -> Catalogue:
    for f in default_store().list_files():
        if f.path == path:
            return _build(f)
    raise PolicyError(f"找不到部门数据比对目录 {path}")


def catalogue(on: datetime.date | None = None) -> Catalogue:
    """The catalogue in effect on `on` (today by default)."""
    day = on or timezone.localdate()
    candidates = [
        f
        for f in default_store().list_files()
        if isinstance(f.doc, FeedCatalogueFile) and f.doc.id == CATALOGUE_ID and f.in_effect(day)
    ]
    if not candidates:
        raise PolicyError(f"找不到 {day.isoformat()} 有效的部门数据比对目录 {CATALOGUE_ID}")
    return _catalogue_of(max(candidates, key=lambda f: f.doc.effective_from).path)
