"""`jingzhun keys status|rotate|reencrypt|rotate-index`: the field-encryption keys (PII-2,
registry.keys)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from jingzhun.core import fieldcrypt
from jingzhun.core.errors import DomainError
from jingzhun.registry import keys


class Command(BaseCommand):
    help = (
        "字段加密密钥：status 各版本密钥加密的数据量、rotate 启用新密钥并重新加密全部数据、"
        "reencrypt 用当前密钥重新加密旧数据、rotate-index 更换盲索引密钥并重算索引"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("status", "各字段按密钥版本统计的密文数量"),
            ("rotate", "生成新版本字段密钥并用它重新加密全部敏感字段"),
            ("reencrypt", "用当前密钥重新加密仍由旧密钥加密的值"),
            ("rotate-index", "生成新的盲索引密钥并重算全部盲索引"),
        ):
            sub.add_parser(name, help=text)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        bars: dict[str, tqdm] = {}

        def progress(table: str, done: int, total: int) -> None:
            bar = bars.get(table)
            if bar is None:
                bar = bars[table] = tqdm(total=total, desc=table, unit="行", file=sys.stderr)
            bar.update(done - bar.n)

        try:
            if action == "status":
                ring = fieldcrypt.keyring()
                self.stdout.write(
                    f"当前字段密钥：第 {ring.current.version} 版（{ring.current.algorithm}）；"
                    f"已配置版本：{', '.join(str(v) for v in sorted(ring.keys))}"
                )
                for column, per_version in keys.key_versions().items():
                    listed = "，".join(f"第 {v} 版 {n} 个" for v, n in sorted(per_version.items()))
                    self.stdout.write(f"{column}：{listed or '无数据'}")
            elif action == "rotate":
                version, counts = keys.do_rotate_field_key(progress)
                self.stdout.write(
                    f"已启用第 {version} 版字段密钥，重新加密：{keys.summary(counts)}。"
                    "旧版本密钥已不再被数据使用，可在确认不再需要旧备份后从密钥文件删除。"
                )
            elif action == "reencrypt":
                version, counts = keys.do_reencrypt_fields(progress)
                self.stdout.write(f"已用第 {version} 版密钥重新加密：{keys.summary(counts)}。")
            else:
                rows = keys.do_rotate_index_key(progress)
                self.stdout.write(f"已更换盲索引密钥，重算 {rows} 行的索引。")
        except (DomainError, fieldcrypt.FieldKeyError, fieldcrypt.FieldDecryptError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for bar in bars.values():
                bar.close()
