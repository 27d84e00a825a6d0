"""`jingzhun inspections escalate [--on YYYY-MM-DD]`: escalate every overdue problem one level
(挂牌督办); run daily (cron or a timer) by the server's operator."""

from __future__ import annotations

import datetime
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jingzhun.core.errors import DomainError
from jingzhun.inspection.actions import do_escalate_overdue


class Command(BaseCommand):
    help = "督查整改：escalate 将逾期未整改的问题升级一级挂牌督办"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        escalate = sub.add_parser("escalate", help="升级逾期问题")
        escalate.add_argument("--on", default=None, help="按哪一天判断逾期（默认今天）")

    def handle(self, *args: Any, **options: Any) -> None:
        on = None
        if options.get("on"):
            try:
                on = datetime.date.fromisoformat(options["on"])
            except ValueError as exc:
                raise CommandError(f"日期 {options['on']} 无效，应为 YYYY-MM-DD") from exc
        try:
            result = do_escalate_overdue(on=on, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"升级挂牌督办 {len(result.escalated)} 个问题；已在最高层级 {len(result.at_top)} 个；"
            f"未能升级 {len(result.refused)} 个。"
        )
        for problem_id, reason in result.refused.items():
            self.stderr.write(f"问题 {problem_id}：{reason}")
