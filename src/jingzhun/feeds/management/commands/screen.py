"""`jingzhun screen --county CODE [--json] [--user U]`: run every loaded feed's rows through
every rule of the catalogue (issue 22 item 6). `--json` prints the alerts raised in this run as
a JSON list of {"household_code", "rule", "source", "kind"}."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from jingzhun.core.errors import DomainError
from jingzhun.feeds import actions
from jingzhun.feeds.catalogue import catalogue

from ._actor import actor_for


class Command(BaseCommand):
    help = "部门筛查预警：按红线和预警规则筛查一个县的已导入名册。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", required=True, help="12 位县级区划代码")
        parser.add_argument("--json", action="store_true", help="以 JSON 列表输出本次新增预警")
        parser.add_argument("--user", default="", help="执行账号（县级业务人员；默认该县唯一的）")

    def handle(self, *args: Any, **options: Any) -> None:
        county = options["county"].strip()
        actor = actor_for(options["user"], county=county)
        rules = len(catalogue().rules)
        try:
            with tqdm(
                total=rules, desc="筛查", unit="条规则", file=self.stderr._out, disable=None
            ) as bar:

                def progress(rule: str) -> None:
                    bar.set_postfix_str(rule)
                    bar.update(1)

                result = actions.do_screen_county(county, actor=actor, progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps([r.as_json() for r in result.raised], ensure_ascii=False))
            return
        red = sum(r.kind == "red_line" for r in result.raised)
        self.stdout.write(
            f"县 {county}：新增预警 {len(result.raised)} 条（红线 {red}，"
            f"预警 {len(result.raised) - red}），发起监测识别案件 {result.cases} 件。"
        )
