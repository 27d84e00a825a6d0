"""Reading a county's command structure and responsibility lists from its file: YAML (the
format of policies/, see docs/user/duty.md and the demo county's sample
`duty/samples/structure.yaml`) or .xlsx with two sheets 指挥体系 and 责任清单 (header row of
the labels below), read in the contained child process of imports.reader.read_sheets.
Pure reading: the write is duty.actions.do_import_structure (all or nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from jingzhun.core.errors import DomainError
from jingzhun.imports.reader import UnreadableFile, read_sheets

from .choices import LEVELS, UNIT_KINDS

MAX_BYTES: Final = 1024 * 1024
MAX_ROWS: Final = 5000
SAMPLE: Final = Path(__file__).parent / "samples" / "structure.yaml"
UNIT_SHEET, LIST_SHEET = "指挥体系", "责任清单"
UNIT_COLUMNS: Final = {
    "类型": "kind",
    "名称": "name",
    "负责区域代码": "region",
    "负责人": "leader_name",
    "职务": "leader_title",
    "成员单位或成员": "members",
    "职责": "duties",
}
LIST_COLUMNS: Final = {
    "层级": "level",
    "责任单位": "department",
    "责任事项": "item",
    "依据": "basis",
    "序号": "position",
}
# Chinese labels accepted in place of the codes in a county's sheet.
_KIND_BY_LABEL = {label: code for code, label in UNIT_KINDS.items()}
_LEVEL_BY_LABEL = {label: code for code, label in LEVELS.items()}


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: ("" if v is None else str(v).strip()) for k, v in values.items()}
    if "kind" in out:
        out["kind"] = _KIND_BY_LABEL.get(out["kind"], out["kind"])
    if "level" in out:
        out["level"] = _LEVEL_BY_LABEL.get(out["level"], out["level"])
    if out.get("region", "").endswith(".0"):  # a code typed as a number in Excel
        out["region"] = out["region"][:-2]
    return out


def read_yaml(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DomainError(f"文件不是有效的 UTF-8 YAML：{str(exc)[:200]}", field="file") from exc
    if not isinstance(doc, dict):
        raise DomainError("YAML 文件应包含 command 和 responsibilities 两部分。", field="file")
    units, items = doc.get("command") or [], doc.get("responsibilities") or []
    if not isinstance(units, list) or not isinstance(items, list):
        raise DomainError("command 和 responsibilities 应为列表。", field="file")
    flat: list[dict[str, Any]] = []
    for group in items:  # {level, department, basis?, items: [..]} or one row
        if not isinstance(group, dict):
            raise DomainError("责任清单的每一项应为键值表。", field="file")
        for n, item in enumerate(group.get("items") or [group.get("item")], start=1):
            flat.append(_clean({**{k: v for k, v in group.items() if k != "items"},
                                "item": item, "position": group.get("position", n)}))  # fmt: skip
    if not all(isinstance(u, dict) for u in units):
        raise DomainError("指挥体系的每一项应为键值表。", field="file")
    return [_clean(u) for u in units], flat


def _sheet_rows(sheet: Any, columns: dict[str, str]) -> list[dict[str, Any]]:
    header: dict[int, str] | None = None
    rows: list[dict[str, Any]] = []
    for _number, cells in sheet.rows():
        if header is None:
            found = {
                i: columns[str(c).strip()] for i, c in enumerate(cells) if str(c).strip() in columns
            }
            if len(found) >= 3:
                header = found
            continue
        values = {key: cells[i] if i < len(cells) else "" for i, key in header.items()}
        if not any(str(v or "").strip() for v in values.values()):
            continue
        rows.append(_clean(values))
        if len(rows) > MAX_ROWS:
            raise DomainError(f"“{sheet.name}”超过 {MAX_ROWS} 行。", field="file")
    if header is None:
        raise DomainError(f"“{sheet.name}”没有表头（应有：{'、'.join(columns)}）。", field="file")
    return rows


def read_xlsx(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        sheets = {s.name: s for s in read_sheets(data)}
    except UnreadableFile as exc:
        raise DomainError(f"文件无法读取：{exc.message}", field="file") from exc
    if UNIT_SHEET not in sheets and LIST_SHEET not in sheets:
        raise DomainError(f"工作簿应有“{UNIT_SHEET}”和“{LIST_SHEET}”两个工作表。", field="file")
    units = _sheet_rows(sheets[UNIT_SHEET], UNIT_COLUMNS) if UNIT_SHEET in sheets else []
    items = _sheet_rows(sheets[LIST_SHEET], LIST_COLUMNS) if LIST_SHEET in sheets else []
    return units, items


def read_structure(name: str, data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(command units, responsibility items) of a county's file, by its name's suffix."""
    if len(data) > MAX_BYTES:
        raise DomainError(f"文件超过 {MAX_BYTES // 1024} KB。", field="file")
    lowered = name.lower()
    if lowered.endswith((".yaml", ".yml")):
        return read_yaml(data)
    if lowered.endswith(".xlsx"):
        return read_xlsx(data)
    raise DomainError("请上传 .yaml 或 .xlsx 文件。", field="file")


def sample_for(county: Any, township: Any, village: Any) -> bytes:
    """The demo county's sample file with its codes and names put in (placeholders {county},
    {county_name}, {township}, {township_name}, {village}, {village_name})."""
    out = SAMPLE.read_text(encoding="utf-8")
    for key, region in (("county", county), ("township", township), ("village", village)):
        out = out.replace(f"{{{key}_name}}", region.name).replace(f"{{{key}}}", region.code)
    return out.encode("utf-8")
