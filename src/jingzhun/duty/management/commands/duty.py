"""`jingzhun duty escalate [--on YYYY-MM-DD]`: tasks overdue or missing their progress report
one level up, then tickets not replied to by their deadline (run daily by the operator's timer
beside `jingzhun worker`; idempotent). `jingzhun duty import COUNTY FILE`: replace a county's
command structure and responsibility lists with its YAML or .xlsx file."""

from __future__ import annotations

import datetime
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jingzhun.core.errors import DomainError
from jingzhun.duty.actions import do_escalate_tasks, do_import_structure
from jingzhun.duty.structure import read_structure
from jingzhun.tickets.actions import do_escalate_tickets


class Command(BaseCommand):
    help = "责任与调度：escalate 升级逾期任务和工单；import 导入指挥体系和责任清单"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        escalate = sub.add_parser("escalate", help="升级逾期或未报送进展的任务、逾期工单")
        escalate.add_argument("--on", default=None, help="按哪一天判断逾期（默认今天）")
        imp = sub.add_parser("import", help="导入县的指挥体系和责任清单（.yaml 或 .xlsx）")
        imp.add_argument("county", help="县的 12 位区划代码")
        imp.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["what"] == "import":
                path = Path(options["file"])
                units, items = read_structure(path.name, path.read_bytes())
                done = do_import_structure(
                    options["county"], units, items, source=path.name, actor=None
                )
                self.stdout.write(
                    f"导入指挥体系 {done.units} 条、责任事项 {done.responsibilities} 条；"
                    f"替换旧记录 {done.removed} 条。"
                )
                return
            on = None
            if options.get("on"):
                try:
                    on = datetime.date.fromisoformat(options["on"])
                except ValueError as exc:
                    raise CommandError(f"日期 {options['on']} 无效，应为 YYYY-MM-DD") from exc
            tasks = do_escalate_tasks(on=on, actor=None)
            tickets = do_escalate_tickets(on=on, actor=None)
        except (DomainError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        self.stdout.write(
            f"升级督办任务 {len(tasks.escalated)} 个、工单 {len(tickets.escalated)} 个；"
            f"已在最高层级：任务 {len(tasks.at_top)} 个、工单 {len(tickets.at_top)} 个。"
        )
        for what, refused in (("任务", tasks.refused), ("工单", tickets.refused)):
            for pk, reason in refused.items():
                self.stderr.write(f"{what} {pk}：{reason}")
