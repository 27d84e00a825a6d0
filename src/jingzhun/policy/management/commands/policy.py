"""`jingzhun policy list`: the policy files under policies/, validated, with their content hash."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jingzhun.policy.decide import CompiledStandard
from jingzhun.policy.lang import RuleError
from jingzhun.policy.store import PolicyError, PolicyStore


class Command(BaseCommand):
    help = "政策文件：list 列出 policies/ 下全部文件（校验后）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ls = sub.add_parser("list", help="列出政策文件：id、版本、辖区、生效日期、内容哈希、标题")
        ls.add_argument("--dir", default=None, help="政策目录（默认为仓库的 policies/）")
        ev = sub.add_parser("evaluate", help="按标准判定 JSON 文件中的各户（户事实格式的列表）")
        ev.add_argument("file", help="JSON 文件：户事实对象的列表；- 表示标准输入")
        ev.add_argument("--standard", required=True, help="标准 id，如 household_exit")
        ev.add_argument("--year", required=True, type=int, help="评估年度")
        ev.add_argument(
            "--province", default=None, help="省级代码（2 位）；默认取各户所属村代码的前 2 位"
        )
        ev.add_argument("--trace", action="store_true", help="输出每项标准的判定依据")
        ev.add_argument("--dir", default=None, help="政策目录（默认为仓库的 policies/）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options.get("dir"))
        elif options["action"] == "evaluate":
            self._evaluate(options)

    def _evaluate(self, options: dict[str, Any]) -> None:
        households = _read_facts(options["file"])
        try:
            store = PolicyStore.load(Path(options["dir"]) if options.get("dir") else None)
        except PolicyError as exc:
            raise CommandError(exc.message) from exc
        year: int = options["year"]
        compiled: dict[str | None, CompiledStandard] = {}
        out = []
        for index, facts in enumerate(households, start=1):
            label = f"第 {index} 户（{facts.get('household_code') or '无户编号'}）"
            province = options["province"] or (str(facts.get("village_code") or "")[:2] or None)
            try:
                if province not in compiled:
                    standard = store.standard_for_year(
                        options["standard"], year=year, province=province
                    )
                    compiled[province] = CompiledStandard(standard, store)
                decision = compiled[province].decide(facts, year=year, province=province)
            except (PolicyError, RuleError) as exc:
                raise CommandError(f"{label}：{exc}") from exc
            row: dict[str, Any] = {
                "household_code": decision.household_code,
                "passed": decision.passed,
                "failed": decision.failed,
                "unknown": decision.unknown,
                "policy_version": decision.policy_version,
            }
            if options["trace"]:
                row["criteria"] = decision.as_dict()["criteria"]
            out.append(row)
        self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))

    def _list(self, directory: str | None) -> None:
        try:
            store = PolicyStore.load(Path(directory) if directory else None)
        except PolicyError as exc:
            raise CommandError(exc.message) from exc
        for f in store.list_files():
            d = f.doc
            until = d.effective_to.isoformat() if d.effective_to else "…"
            self.stdout.write(
                f"{d.id:<16} {d.version:<16} {d.jurisdiction:<8} "
                f"{d.effective_from.isoformat()}–{until:<10} {f.hash[:12]}  {d.title}"
            )


FACT_TYPES: dict[str, type | tuple[type, ...]] = {
    "household_code": str,
    "village_code": str,
    "members": list,
    "income": (dict, type(None)),
}


def _read_facts(path: str) -> list[dict[str, Any]]:
    """A JSON list of household facts; every malformed household is named with the field."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"无法读取文件 {path}：{exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"文件 {path} 不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}"
        ) from exc
    if not isinstance(data, list):
        raise CommandError("JSON 文件应为户事实对象的列表（[ {...}, ... ]）")
    errors = []
    for index, facts in enumerate(data, start=1):
        if not isinstance(facts, dict):
            errors.append(f"第 {index} 户：应为对象，实为 {type(facts).__name__}")
            continue
        label = f"第 {index} 户（{facts.get('household_code') or '无户编号'}）"
        for key, expected in FACT_TYPES.items():
            if key in facts and not isinstance(facts[key], expected):
                errors.append(f"{label}：字段 {key} 类型不对")
        members = facts.get("members")
        for m_index, member in enumerate(members if isinstance(members, list) else [], start=1):
            if not isinstance(member, dict):
                errors.append(f"{label}：members 第 {m_index} 项应为对象")
    if errors:
        raise CommandError("；".join(errors))
    return data
