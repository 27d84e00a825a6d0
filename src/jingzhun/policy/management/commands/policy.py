"""`jingzhun policy list`: the policy files under policies/, validated, with their content hash."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jingzhun.policy.store import PolicyError, PolicyStore


class Command(BaseCommand):
    help = "政策文件：list 列出 policies/ 下全部文件（校验后）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ls = sub.add_parser("list", help="列出政策文件：id、版本、辖区、生效日期、内容哈希、标题")
        ls.add_argument("--dir", default=None, help="政策目录（默认为仓库的 policies/）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options.get("dir"))

    def _list(self, directory: str | None) -> None:
        try:
            store = PolicyStore.load(Path(directory) if directory else None)
        except PolicyError as exc:
            raise CommandError(exc.message) from exc
        for f in store.list_files():
            d = f.doc
            until = d.effective_to.isoformat() if d.effective_to else "…"
            self.stdout.write(
                f"{d.id:<16} {d.version:<16} {d.jurisdiction:<8} "
                f"{d.effective_from.isoformat()}–{until:<10} {f.hash[:12]}  {d.title}"
            )
