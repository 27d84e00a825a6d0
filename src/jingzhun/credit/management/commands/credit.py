"""`jingzhun credit overdue [--county CODE] [--on YYYY-MM-DD]`: loans past maturity with principal
outstanding become `overdue` (daily); `jingzhun credit statements --pending`: import the queued
bank statements in this process (the worker normally does)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingzhun.core.errors import DomainError


class Command(BaseCommand):
    help = "小额信贷：更新逾期状态（overdue）；导入排队中的银行对账单（statements --pending）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["overdue", "statements"])
        parser.add_argument("--county", help="县级区划代码（12 位）；不填则为所有有贷款的县")
        parser.add_argument("--on", help="按哪一天判断逾期（YYYY-MM-DD，默认今天）")
        parser.add_argument("--pending", action="store_true", help="导入排队中的对账单")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "statements":
            from jingzhun.credit.statements import run_pending

            done = run_pending()
            self.stdout.write(f"已处理 {len(done)} 份对账单。")
            return
        from jingzhun.credit.actions import do_mark_overdue
        from jingzhun.credit.models import Loan

        try:
            on = datetime.date.fromisoformat(options["on"]) if options["on"] else None
        except ValueError as exc:
            raise CommandError("日期应为 YYYY-MM-DD。") from exc
        counties = (
            [options["county"]]
            if options["county"]
            else sorted(set(Loan.objects.values_list("county_code", flat=True)))
        )
        try:
            for county in counties:
                n = do_mark_overdue(county, on=on, actor=None)
                self.stdout.write(f"{county}：{n} 笔贷款转为逾期。")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
