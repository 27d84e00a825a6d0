"""Load, validate and query the policy files under `policies/`.

Pure Python: no Django here. A file's identity is its content hash: sha256 of the canonical JSON
of the YAML-loaded document (keys sorted, UTF-8, no insignificant whitespace), so reformatting or
reordering keys keeps the hash and changing any value changes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from jingzhun.policy.lang import parse
from jingzhun.policy.schema import (
    SCHEMA_ID,
    Criterion,
    FeedCatalogueFile,
    LayerRulesFile,
    MeasureCatalogueFile,
    Parameter,
    PointsRulesFile,
    PolicyFile,
    Source,
    StandardFile,
    TableFile,
    TableRow,
    Variable,
)

_ADAPTER: TypeAdapter[
    TableFile
    | StandardFile
    | MeasureCatalogueFile
    | FeedCatalogueFile
    | LayerRulesFile
    | PointsRulesFile
] = TypeAdapter(PolicyFile)

NATIONAL = "national"

KeyArg = int | str | None


class PolicyError(Exception):
    """An invalid policy file or a failed lookup; `message` is a complete Chinese sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def default_root() -> Path:
    """`$JINGZHUN_POLICY_DIR`, else `policies/` at the repository root."""
    env = os.environ.get("JINGZHUN_POLICY_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "policies"


# ------------------------------------------------------------------------------------- loading


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps: dates stay text and pydantic validates them, so
    a bad date is reported with its path instead of crashing the YAML parser."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


_ERROR_ZH: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的键（格式中没有这一项）",
    "date_from_datetime_parsing": "日期无效，应为 YYYY-MM-DD",
    "date_parsing": "日期无效，应为 YYYY-MM-DD",
    "date_type": "日期无效，应为 YYYY-MM-DD",
    "string_type": "应为文本",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "格式不符",
    "too_short": "不能为空",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "int_parsing": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "dict_type": "应为映射（键: 值）",
    "list_type": "应为列表",
    "model_type": "应为映射（键: 值）",
    "union_tag_invalid": "kind 必须是 table 或 standard",
    "union_tag_not_found": "缺少 kind（table 或 standard）",
}


def _path_text(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("table", "standard") and out == "":
            continue  # the discriminator branch, not a key in the file
        elif part.startswith(("function-", "lax-", "strict-")) or part in (
            "bool",
            "int",
            "decimal",
            "str",
            "list[str]",
        ):
            continue  # a union branch, not a key in the file
        else:
            out += f".{part}" if out else str(part)
    return out or "（文件顶层）"


_PATTERN_HINTS: dict[str, str] = {
    "jurisdiction": "应为 national 或两位省级代码（如 62）",
    "extends": "应为 “<标准 id>/national”",
}


def _reason(err: Any) -> str:
    kind = err["type"]
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", "")).replace(" or ", ", ")
        return f"取值 {err.get('input')!r} 不在允许的范围内（{expected}）"
    if kind == "string_pattern_mismatch":
        last = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
        return _PATTERN_HINTS.get(
            last, "格式不符：应为小写英文字母开头，只含小写字母、数字和下划线"
        )
    return _ERROR_ZH.get(kind, str(err["msg"]))


def _explain(file: str, exc: ValidationError) -> str:
    seen: list[str] = []
    for err in exc.errors():
        loc = err["loc"]
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ("kind",)
        line = f"{_path_text(loc)}：{_reason(err)}"
        if line not in seen:
            seen.append(line)
    return f"策略文件 {file} 无效：" + "；".join(seen)


def _check_expressions(file: str, doc: StandardFile) -> None:
    exprs: list[tuple[str, str]] = [
        (f"variables.{n}.expr", v.expr) for n, v in doc.variables.items()
    ]
    exprs += [(f"criteria[{i}].holds", c.holds) for i, c in enumerate(doc.criteria)]
    exprs += [(f"formulas.{n}.expr", f.expr) for n, f in doc.formulas.items() if f.expr]
    for where, text in exprs:
        try:
            parse(text)
        except Exception as exc:  # the parser's own error type; reported with file and path
            detail = getattr(exc, "message", None) or str(exc)
            raise PolicyError(f"策略文件 {file} 无效：{where}：表达式无法解析（{detail}）") from exc


@dataclass(frozen=True)
class LoadedFile:
    path: str  # relative to the policies root, with forward slashes
    hash: str
    doc: (
        TableFile
        | StandardFile
        | MeasureCatalogueFile
        | FeedCatalogueFile
        | LayerRulesFile
        | PointsRulesFile
    )

    @property
    def key(self) -> str:
        return f"{self.doc.id}/{self.doc.jurisdiction}@{self.doc.version}"

    def in_effect(self, on: date) -> bool:
        d = self.doc
        return d.effective_from <= on and (d.effective_to is None or on <= d.effective_to)


def load_file(path: Path, *, name: str | None = None) -> LoadedFile:
    """Load and validate one file; raise PolicyError naming the file, the path and the reason."""
    shown = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"策略文件 {shown} 无法读取（{exc}）") from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PolicyError(f"策略文件 {shown} 不是有效的 YAML（{exc}）") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"策略文件 {shown} 无效：（文件顶层）：应为映射（键: 值）")
    if data.get("schema") != SCHEMA_ID:
        raise PolicyError(
            f"策略文件 {shown} 无效：schema：应为 {SCHEMA_ID}，实际为 {data.get('schema')!r}"
        )
    try:
        doc = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise PolicyError(_explain(shown, exc)) from exc
    if isinstance(doc, StandardFile):
        _check_expressions(shown, doc)
    return LoadedFile(path=shown, hash=content_hash(data), doc=doc)


# ------------------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class TableValue:
    table: str
    value: Decimal | None
    formula: str | None
    configurable: bool
    source: Source
    row: TableRow
    file_hash: str


@dataclass(frozen=True)
class ResolvedStandard:
    """A standard as it applies on a date in a province: the national file, overridden or
    extended by the provincial one. `hash` identifies the combination (the files' hashes)."""

    id: str
    on: date
    province: str | None
    files: tuple[LoadedFile, ...]
    sources: dict[str, Source]
    inputs: dict[str, str]
    parameters: dict[str, Parameter]
    variables: dict[str, Variable]
    criteria: tuple[Criterion, ...]
    hash: str = field(default="")

    @property
    def criterion_ids(self) -> list[str]:
        return [c.id for c in self.criteria]


SEPARATE_FOLDERS = frozenset({"indicators", "scoring"})  # scoring: scoring.scheme


class PolicyStore:
    def __init__(self, files: list[LoadedFile]) -> None:
        self.files = sorted(
            files, key=lambda f: (f.doc.id, f.doc.jurisdiction, f.doc.effective_from)
        )
        seen: dict[tuple[str, str, str], str] = {}
        for f in self.files:
            ident = (f.doc.id, f.doc.jurisdiction, f.doc.version)
            if ident in seen:
                raise PolicyError(
                    f"策略文件 {f.path} 与 {seen[ident]} 的 id、辖区和版本相同（{f.key}）"
                )
            seen[ident] = f.path
        for f in self.files:
            if isinstance(f.doc, StandardFile) and f.doc.extends is not None:
                base_id = f.doc.extends.split("/")[0]
                if not any(
                    isinstance(g.doc, StandardFile)
                    and g.doc.id == base_id
                    and g.doc.jurisdiction == NATIONAL
                    for g in self.files
                ):
                    raise PolicyError(f"策略文件 {f.path} 无效：extends：找不到 {f.doc.extends}")

    @classmethod
    def load(cls, root: Path | None = None) -> PolicyStore:
        root = root or default_root()
        if not root.is_dir():
            raise PolicyError(f"策略目录 {root} 不存在")
        paths = sorted(
            p
            for p in root.rglob("*")
            if p.suffix in (".yaml", ".yml")
            # indicator definitions have their own schema (analytics.indicators)
            and p.relative_to(root).parts[0] not in SEPARATE_FOLDERS
        )
        return cls([load_file(p, name=p.relative_to(root).as_posix()) for p in paths])

    # -- listing

    def list_files(self) -> list[LoadedFile]:
        return list(self.files)

    def tables(self) -> list[LoadedFile]:
        return [f for f in self.files if isinstance(f.doc, TableFile)]

    def standards(self) -> list[LoadedFile]:
        return [f for f in self.files if isinstance(f.doc, StandardFile)]

    def catalogue(self, catalogue_id: str, on: date | None = None) -> LoadedFile:
        """The measure catalogue `catalogue_id` in effect on `on` (the newest when None)."""
        candidates = [
            f
            for f in self.files
            if isinstance(f.doc, MeasureCatalogueFile)
            and f.doc.id == catalogue_id
            and (on is None or f.in_effect(on))
        ]
        if not candidates:
            raise PolicyError(f"找不到措施目录 {catalogue_id}")
        return max(candidates, key=lambda f: f.doc.effective_from)

    # -- tables

    def table_file(self, table: str, on: date | None) -> LoadedFile:
        """The file of `table` in effect on `on` (the newest one when `on` is None)."""
        return self._table_file(table, on)

    def _table_file(self, table: str, on: date | None) -> LoadedFile:
        candidates = [
            f for f in self.tables() if f.doc.id == table and (on is None or f.in_effect(on))
        ]
        if not candidates:
            raise PolicyError(f"找不到查找表 {table}")
        return max(candidates, key=lambda f: f.doc.effective_from)

    def lookup(self, table: str, *, on: date | None = None, **keys: KeyArg) -> TableValue | None:
        """The most specific row matching `keys`: a row matches when each key it names equals
        the given one (a key the row leaves out matches anything, so `province` falls back from a
        2-digit code to rows without a province); a key not given takes the table's default.
        None when no row matches."""
        f = self._table_file(table, on)
        doc = f.doc
        assert isinstance(doc, TableFile)
        unknown = sorted(set(keys) - set(doc.keys))
        if unknown:
            raise PolicyError(f"查找表 {table} 没有这些键：{', '.join(unknown)}")
        given = {k: str(v) for k, v in (doc.defaults | keys).items() if v is not None}
        best: TableRow | None = None
        best_score = -1
        tie = False
        for row in doc.rows:
            if any(k not in given or given[k] != str(v) for k, v in row.key.items()):
                continue
            score = len(row.key)
            if score > best_score:
                best, best_score, tie = row, score, False
            elif score == best_score:
                tie = True
        if best is None:
            return None
        if tie:
            raise PolicyError(f"查找表 {table} 中有多行同样匹配 {given}，请补全键")
        return TableValue(
            table=table,
            value=best.value,
            formula=best.formula,
            configurable=best.configurable,
            source=doc.sources[best.source],
            row=best,
            file_hash=f.hash,
        )

    def poverty_line(
        self,
        year: int,
        *,
        identification_standard: str = "national",
        province: str | None = None,
        price_basis: str = "current",
    ) -> TableValue | None:
        """The line of `year` for a household's identification standard (and province)."""
        return self.lookup(
            "poverty_line",
            on=date(year, 12, 31),
            year=year,
            identification_standard=identification_standard,
            province=province,
            price_basis=price_basis,
        )

    # -- standards

    def _pick(self, std: str, jurisdiction: str, on: date) -> LoadedFile | None:
        candidates = [
            f
            for f in self.standards()
            if f.doc.id == std and f.doc.jurisdiction == jurisdiction and f.in_effect(on)
        ]
        return max(candidates, key=lambda f: f.doc.effective_from, default=None)

    def standard(self, std: str, *, on: date, province: str | None = None) -> ResolvedStandard:
        """The version of `std` in effect on `on` for `province` (2-digit code, or None)."""
        national = self._pick(std, NATIONAL, on)
        local = self._pick(std, province, on) if province else None
        if national is None and local is None:
            raise PolicyError(f"{on.isoformat()} 没有有效的 {std} 标准")
        files: list[LoadedFile] = []
        if local is not None and isinstance(local.doc, StandardFile) and local.doc.extends is None:
            files = [local]  # a self-contained provincial standard replaces the national one
        else:
            files = [f for f in (national, local) if f is not None]
        sources: dict[str, Source] = {}
        inputs: dict[str, str] = {}
        parameters: dict[str, Parameter] = {}
        variables: dict[str, Variable] = {}
        criteria: dict[str, Criterion] = {}
        for f in files:
            doc = f.doc
            assert isinstance(doc, StandardFile)
            sources |= doc.sources
            inputs |= doc.inputs
            parameters |= doc.parameters
            variables |= doc.variables
            for c in doc.criteria:
                criteria[c.id] = c  # same id overrides in place, a new id is appended
        combined = hashlib.sha256("+".join(f.hash for f in files).encode()).hexdigest()
        return ResolvedStandard(
            id=std,
            on=on,
            province=province,
            files=tuple(files),
            sources=sources,
            inputs=inputs,
            parameters=parameters,
            variables=variables,
            criteria=tuple(criteria.values()),
            hash=combined,
        )

    def standard_for_year(
        self, std: str, *, year: int, province: str | None = None
    ) -> ResolvedStandard:
        """The version in effect at the end of the assessment year."""
        return self.standard(std, on=date(year, 12, 31), province=province)


@cache
def default_store() -> PolicyStore:
    return PolicyStore.load()
