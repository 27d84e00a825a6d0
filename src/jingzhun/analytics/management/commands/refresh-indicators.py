"""`jingzhun refresh-indicators [--county CODE ...] [--pending]`: recompute the battle map's figures."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingzhun.core.errors import DomainError


class Command(BaseCommand):
    help = "按县重新计算全部指标（DuckDB 批量计算，2014 年至最近年度），或运行排队中的刷新任务。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--county", action="append", help="县级区划代码（可多次给出；默认全部县）"
        )
        parser.add_argument("--pending", action="store_true", help="只运行排队中的刷新任务")
        parser.add_argument("--memory", default=None, help="DuckDB 内存上限，如 3GB")
        parser.add_argument(
            "--engine",
            choices=["duckdb", "spark"],
            default="duckdb",
            help="计算引擎：duckdb（默认）或 spark（Apache Spark）",
        )
        parser.add_argument(
            "--master", default=None, help="Spark 主节点 URL（--engine spark）：默认 local[*]"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from jingzhun.analytics.actions import do_refresh_indicators, run_pending

        if options["pending"]:
            for job in run_pending():
                self.stdout.write(
                    f"任务 {job.pk}：{job.get_status_display()} {job.rows:,} 行 {job.error}"
                )
            return
        from tqdm import tqdm

        with tqdm(total=100, desc="刷新指标", file=sys.stderr, unit="%") as bar:

            def progress(name: str, pct: int) -> None:
                bar.set_postfix_str(name)
                bar.update(max(0, pct - bar.n))

            try:
                result = do_refresh_indicators(
                    options["county"],
                    actor=None,
                    progress=progress,
                    memory_limit=options["memory"],
                    engine=options["engine"],
                    master=options["master"],
                )
            except (DomainError, ValueError) as exc:
                raise CommandError(getattr(exc, "message", str(exc))) from exc
        timings = "，".join(f"{k} {v:.2f} 秒" for k, v in result.seconds.items())
        self.stdout.write(
            f"已计算 {result.households:,} 户，{result.years[0]}—{result.years[-1]} 年，"
            f"写入 {result.rows:,} 个指标值（{result.source}）。耗时：{timings}"
        )
