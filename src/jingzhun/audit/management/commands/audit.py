"""`jingzhun audit verify [--anchor FILE|DIR]` (check the keyed hash chain, and the latest anchor;
non-zero exit and the first broken event id), `jingzhun audit anchor -o FILE` (the chain head,
signed with the audit key, for the audit administrator to keep), `jingzhun audit archive --before
DATE [--out FILE]`, `jingzhun audit purge`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jingzhun.audit.actions import (
    check_chain,
    do_anchor_audit_chain,
    do_archive_audit_events,
    do_purge_audit_events,
    read_anchor,
)
from jingzhun.audit.retention import retention_days
from jingzhun.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "审计日志：verify 校验哈希链、anchor 生成锚点、archive 归档、"
        "purge 清理已归档且超过保存期限的事件"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify", help="校验审计事件哈希链；发现断链时报告第一条被篡改的事件编号"
        )
        verify.add_argument(
            "--anchor", default="", help="锚点文件，或存放锚点文件的目录（取其中最新的一个）"
        )
        anchor = sub.add_parser("anchor", help="把带审计密钥签名的哈希链链头写入锚点文件")
        anchor.add_argument("-o", "--out", required=True, help="锚点文件路径（不得已存在）")
        archive = sub.add_parser("archive", help="把某日期之前尚未归档的事件写入归档文件")
        archive.add_argument("--before", required=True, help="日期 YYYY-MM-DD（不含当天）")
        archive.add_argument("--out", default="", help="归档文件路径（默认 var/audit-archive/）")
        sub.add_parser("purge", help="删除已归档且超过保存期限（至少 180 天）的事件")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self._verify(options["anchor"])
        elif action == "anchor":
            self._anchor(Path(options["out"]))
        elif action == "archive":
            self._archive(options["before"], options["out"])
        else:
            deleted = do_purge_audit_events(actor=None)
            self.stdout.write(
                f"已删除 {deleted} 条已归档且超过保存期限（{retention_days()} 天）的审计事件。"
            )

    def _verify(self, anchor_path: str) -> None:
        try:
            anchor = read_anchor(Path(anchor_path)) if anchor_path else None
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        report = check_chain(anchor)
        if report.broken is not None:
            raise CommandError(
                f"审计哈希链在事件 #{report.broken} 处断开（{report.problem}）："
                "该事件或其前一条已被篡改或删除。"
            )
        message = f"审计哈希链完整（共 {report.events} 条事件"
        if report.legacy:
            message += f"，其中 {report.legacy} 条早于审计密钥启用，未经密钥签名"
        message += "）。"
        if anchor is not None:
            message += f"与锚点一致（事件 #{anchor['last_id']}，{anchor['written_at']}）。"
        self.stdout.write(message)

    def _anchor(self, out: Path) -> None:
        try:
            anchor = do_anchor_audit_chain(out, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"已写入审计锚点 {out}：事件 #{anchor['last_id']}，共 {anchor['events']} 条。"
            "请由审计管理员把该文件保存在服务器以外；校验时用 audit verify --anchor。"
        )

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
