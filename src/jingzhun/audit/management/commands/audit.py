"""`jingzhun audit verify` (check the hash chain; non-zero exit and the first broken event id),
`jingzhun audit archive --before DATE [--out FILE]`, `jingzhun audit purge`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jingzhun.audit.actions import do_archive_audit_events, do_purge_audit_events, verify_chain
from jingzhun.audit.models import AuditEvent
from jingzhun.audit.retention import retention_days


class Command(BaseCommand):
    help = "审计日志：verify 校验哈希链、archive 归档、purge 清理已归档且超过保存期限的事件"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="校验审计事件哈希链；发现断链时报告第一条被篡改的事件编号")
        archive = sub.add_parser("archive", help="把某日期之前尚未归档的事件写入归档文件")
        archive.add_argument("--before", required=True, help="日期 YYYY-MM-DD（不含当天）")
        archive.add_argument("--out", default="", help="归档文件路径（默认 var/audit-archive/）")
        sub.add_parser("purge", help="删除已归档且超过保存期限（至少 180 天）的事件")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self._verify()
        elif action == "archive":
            self._archive(options["before"], options["out"])
        else:
            deleted = do_purge_audit_events(actor=None)
            self.stdout.write(
                f"已删除 {deleted} 条已归档且超过保存期限（{retention_days()} 天）的审计事件。"
            )

    def _verify(self) -> None:
        broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"审计哈希链在事件 #{broken} 处断开：该事件或其前一条已被篡改或删除。"
            )
        self.stdout.write(f"审计哈希链完整（共 {AuditEvent.objects.count()} 条事件）。")

    def _archive(self, before: str, out: str) -> None:
        try:
            day = datetime.date.fromisoformat(before)
        except ValueError as exc:
            raise CommandError(f"日期格式应为 YYYY-MM-DD：{before}") from exc
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
        path = Path(out) if out else Path(settings.VAR_DIR) / "audit-archive" / f"audit-{day}.jsonl"
        if path.exists():
            raise CommandError(f"归档文件已存在：{path}")
        archive = do_archive_audit_events(moment, path, actor=None)
        if archive is None:
            self.stdout.write("没有需要归档的审计事件。")
            return
        self.stdout.write(
            f"已归档事件 #{archive.first_id}–#{archive.last_id}（{archive.event_count} 条）到 {path}，"
            f"SHA-256 {archive.sha256}。"
        )
