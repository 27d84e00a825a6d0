"""`jingzhun backup create -o FILE`, `backup verify FILE`, `backup restore FILE` (BAK-1).

The key is a passphrase read from an environment variable (`--passphrase-env VAR`, default
JINGZHUN_BACKUP_PASSPHRASE) or a key file kept outside the database and the backups
(`--key-file PATH`). Exit 0: done and checked; 1: refused or failed (a damaged or altered file, a
wrong key, a non-empty target, a failed check). Steps are reported on stderr.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingzhun.backup.actions import create_backup, restore_backup, verify_backup
from jingzhun.backup.archive import BackupError, Key

DEFAULT_ENV = "JINGZHUN_BACKUP_PASSPHRASE"


class Command(BaseCommand):
    help = "备份（数据库、证明材料等数据文件、哈希清单，加密）、核对备份、恢复到空数据库"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="生成加密备份文件")
        create.add_argument("-o", "--output", type=Path, required=True, help="备份文件路径")
        verify = sub.add_parser(
            "verify", help="恢复到临时数据库，核对文件哈希、各表行数和审计哈希链"
        )
        verify.add_argument("file", type=Path, help="备份文件")
        restore = sub.add_parser("restore", help="恢复到当前配置的空数据库，并核对")
        restore.add_argument("file", type=Path, help="备份文件")
        for p in (create, verify, restore):
            p.add_argument(
                "--passphrase-env",
                default=DEFAULT_ENV,
                help=f"存放备份口令的环境变量名（默认 {DEFAULT_ENV}）",
            )
            p.add_argument("--key-file", type=Path, default=None, help="密钥文件（代替口令）")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            key = self._key(options)
            if action == "create":
                done = create_backup(options["output"], key, say=self._say)
                rows = sum(done["tables"].values())
                self.stdout.write(
                    f"已生成备份 {options['output']}：{len(done['tables'])} 张表 {rows} 行，"
                    f"{len(done['files']) - 1} 个数据文件，{done['bytes']} 字节，"
                    f"SHA-256 {done['sha256']}。"
                )
                return
            run = verify_backup if action == "verify" else restore_backup
            outcome = run(options["file"], key, say=self._say)
        except BackupError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        if outcome.problems:
            head = "恢复后核对未通过" if action == "restore" else "备份核对未通过"
            raise CommandError(f"{head}：" + "；".join(outcome.problems), returncode=1)
        rows = sum(outcome.manifest["tables"].values())
        done_label = "已恢复并核对" if action == "restore" else "备份核对通过"
        self.stdout.write(
            f"{done_label}：{options['file']}（{outcome.manifest['created_at']} 生成），"
            f"{len(outcome.manifest['tables'])} 张表 {rows} 行与清单一致，"
            f"{len(outcome.manifest['files'])} 个文件哈希一致，审计哈希链完整。"
        )

    def _key(self, options: dict[str, Any]) -> Key:
        if options["key_file"] is not None:
            return Key.from_file(options["key_file"])
        name = options["passphrase_env"]
        value = os.environ.get(name, "")
        if not value:
            raise BackupError(f"请在环境变量 {name} 中提供备份口令，或用 --key-file 指定密钥文件。")
        return Key.passphrase(value)

    def _say(self, message: str) -> None:
        self.stderr.write(f"[备份] {message}")
