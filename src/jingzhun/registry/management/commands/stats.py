"""`jingzhun stats --county CODE --year YYYY [--json]`: the registry's own year-end counts."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.selectors import registry_stats

LABELS = {
    "registered_households": "建档立卡户数",
    "registered_persons": "建档立卡人数",
    "exited_households": "已脱贫户数",
    "exited_persons": "已脱贫人数",
    "remaining_households": "未脱贫户数",
    "remaining_persons": "未脱贫人数",
    "rural_population": "农村户籍人口",
    "poverty_incidence": "贫困发生率(%)",
    "poor_villages": "贫困村数",
    "villages": "行政村数",
    "townships": "乡镇数",
    "ordinary_households": "一般农户户数",
    "ordinary_persons": "一般农户人数",
    "monitored_households": "监测对象户数(当前)",
}


class Command(BaseCommand):
    help = (
        "按年末口径统计一个县的建档立卡、脱贫、未脱贫户数人数和贫困发生率，另列一般农户和监测对象。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--county", required=True, help="县级区划代码（6 位或 12 位），如 230231"
        )
        parser.add_argument(
            "--year", required=True, type=int, help="年度，统计该年 12 月 31 日的状态"
        )
        parser.add_argument("--json", action="store_true", help="输出 JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = str(options["county"])
        try:
            code = codes.normalize(raw)
            level = codes.level_of(code)
        except codes.CodeError as exc:
            raise CommandError(str(exc)) from exc
        region = Region.objects.filter(code=code).first()
        if level != "county" or region is None:
            known = Region.objects.filter(level="county").order_by("code")
            listing = (
                "、".join(f"{r.code[:6]} {r.name}" for r in known)
                or "（系统中还没有县级区划，可先运行 jingzhun demo）"
            )
            raise CommandError(f"未找到县级区划“{raw}”。系统中的县：{listing}")
        year = int(options["year"])
        if not 1949 <= year <= 2100:
            raise CommandError(f"年度“{year}”不在合理范围内。")
        stats = registry_stats(code, year).as_dict()
        if options["json"]:
            self.stdout.write(json.dumps({key: stats[key] for key in LABELS}, ensure_ascii=False))
            return
        self.stdout.write(f"{region.name}（{code}）{year} 年末")
        width = max(_width(label) for label in LABELS.values())
        for key, label in LABELS.items():
            value = stats[key]
            if value is None:
                shown = "—"
            elif key == "poverty_incidence":
                shown = f"{value:.2f}"
            else:
                shown = f"{value:,}"
            self.stdout.write(f"  {label}{' ' * (width - _width(label))}  {shown}")


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
