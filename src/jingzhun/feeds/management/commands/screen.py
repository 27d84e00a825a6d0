"""`jingzhun screen --county CODE | --province CODE [--json] [--user U]`: run every loaded feed's
rows through every rule of the catalogue (issue 22 item 6), with a progress bar on stderr.
`--json` prints the alerts raised in this run as a JSON list of {"household_code", "rule",
"source", "kind"}. `--province` screens every county of the province in the region tree, each as
its own county account (or `--user`), one transaction per county."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from jingzhun.core.errors import DomainError
from jingzhun.feeds import actions
from jingzhun.feeds.catalogue import catalogue
from jingzhun.regions import codes
from jingzhun.regions.models import Region

from ._actor import actor_for


def _counties(options: dict[str, Any]) -> list[str]:
    county = (options["county"] or "").strip()
    province = (options["province"] or "").strip()
    if bool(county) == bool(province):
        raise CommandError("请给出 --county（12 位县级代码）或 --province（省级代码）之一。")
    if county:
        return [county]
    if len(province) == 2:
        province = province.ljust(12, "0")
    try:
        level = codes.level_of(province)
    except codes.CodeError as exc:
        raise CommandError(f"“{province}”不是有效的区划代码。") from exc
    if level != "province":
        raise CommandError(f"“{province}”不是省级区划代码。")
    found = list(
        Region.objects.filter(level="county", code__startswith=province[:2])
        .order_by("code")
        .values_list("code", flat=True)
    )
    if not found:
        raise CommandError(f"区划库中没有省 {province} 的县。")
    return found


class Command(BaseCommand):
    help = "部门筛查预警：按红线和预警规则筛查一个县（或一个省的各县）的已导入名册。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", default="", help="12 位县级区划代码")
        parser.add_argument("--province", default="", help="省级区划代码（2 位或 12 位）")
        parser.add_argument("--json", action="store_true", help="以 JSON 列表输出本次新增预警")
        parser.add_argument("--user", default="", help="执行账号（县级业务人员；默认该县唯一的）")

    def handle(self, *args: Any, **options: Any) -> None:
        counties = _counties(options)
        rules = len(catalogue().rules)
        raised: list[Any] = []
        lines: list[str] = []
        with tqdm(
            total=rules * len(counties),
            desc="筛查",
            unit="条规则",
            file=self.stderr._out,
            disable=None,
        ) as bar:
            for county in counties:
                actor = actor_for(options["user"], county=county)

                def progress(rule: str, county: str = county) -> None:
                    bar.set_postfix_str(f"{county} {rule}")
                    bar.update(1)

                try:
                    result = actions.do_screen_county(county, actor=actor, progress=progress)
                except DomainError as exc:
                    raise CommandError(f"县 {county}：{exc.message}") from exc
                raised.extend(result.raised)
                red = sum(r.kind == "red_line" for r in result.raised)
                lines.append(
                    f"县 {county}：新增预警 {len(result.raised)} 条（红线 {red}，"
                    f"预警 {len(result.raised) - red}），发起监测识别案件 {result.cases} 件。"
                )
        if options["json"]:
            self.stdout.write(json.dumps([r.as_json() for r in raised], ensure_ascii=False))
            return
        for line in lines:
            self.stdout.write(line)
