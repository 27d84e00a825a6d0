"""`jingzhun regions load FILE.csv`: load a division table, all rows or none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingzhun.regions.actions import RegionLoadError, do_load_regions, validate_rows
from jingzhun.regions.reader import read_rows


class Command(BaseCommand):
    help = "行政区划：load 导入区划表（CSV，列：统计用区划代码/code、名称/name，可选 贫困村、深度贫困、农村人口、年度）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="导入区划表")
        load.add_argument("file", type=Path)
        load.add_argument("--dry-run", action="store_true", help="只校验，不写入")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        try:
            rows, errors = read_rows(path)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not errors and options["dry_run"]:
            rows, errors = validate_rows(rows)
        if errors:
            self._report(errors)
        if options["dry_run"]:
            self.stdout.write(f"校验通过：{len(rows)} 行，未写入。")
            return
        try:
            result = do_load_regions(rows, actor=None, source=path.name)
        except RegionLoadError as exc:
            self._report(exc.errors)
        self.stdout.write(
            f"导入完成：新增 {result.created} 个区划，更新 {result.updated} 个，农村人口 {result.populations} 条。"
        )

    def _report(self, errors: list[Any]) -> None:
        for error in errors:
            self.stderr.write(str(error))
        raise CommandError(f"区划表有 {len(errors)} 处错误，未导入任何数据。")
