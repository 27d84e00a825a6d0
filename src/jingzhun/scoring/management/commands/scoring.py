"""`jingzhun scoring compute --county CODE --scheme ID --period 2026Q3 [--correction TEXT]`:
queue and run a period's assessment in this process; `jingzhun scoring --pending` runs the
queued computations by hand (the worker normally does); `jingzhun scoring figures` lists the
registered figure sources (names to use in policies/scoring/)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jingzhun.core import figure_sources as fs
from jingzhun.core.errors import DomainError
from jingzhun.scoring.actions import do_request_scoring, run_job, run_pending


class Command(BaseCommand):
    help = "考核：compute 计算一个考核周期；--pending 运行排队的计算；figures 列出可用数据"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--pending", action="store_true", help="运行排队中的考核计算")
        sub = parser.add_subparsers(dest="what")
        compute = sub.add_parser("compute", help="计算一个考核周期（系统身份）")
        compute.add_argument("--county", required=True, help="县的 12 位区划代码")
        compute.add_argument("--scheme", required=True, help="考核方案 id")
        compute.add_argument("--period", required=True, help="2026Q3、2026 或 2026-10")
        compute.add_argument("--correction", default="", help="已发布后重新计算时的更正说明")
        sub.add_parser("figures", help="列出已登记的数据来源")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pending"]:
            ran = run_pending()
            self.stdout.write(f"已运行 {len(ran)} 个考核计算。")
            return
        if options.get("what") == "figures":
            for name, source in fs.registered().items():
                kinds = "、".join(fs.UNIT_KINDS[k] for k in sorted(source.unit_kinds))
                self.stdout.write(f"{name}\t{source.label}（{kinds}）")
            return
        if options.get("what") != "compute":
            raise CommandError("请指定 compute、figures 或 --pending。")
        try:
            job = do_request_scoring(
                county_code=options["county"],
                scheme_id=options["scheme"],
                period=options["period"],
                correction=options["correction"],
                actor=None,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        done = run_job(job.pk) or job
        done.refresh_from_db()  # another worker may have taken it: read what it did
        if done.status != "done":
            raise CommandError(f"考核计算未完成：{done.error or done.status}")
        self.stdout.write(f"已计算 {done.period.label}：{done.units} 个考核对象（未发布）。")
