"""`jingzhun assess --standard household_exit --year YYYY [--county CODE]`: judge the registry.

`--standard village_exit` / `county_exit` (with `--county`) judge the county's villages or the
county itself (assessments.actions.do_assess_regions; run village_exit first)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from jingzhun.assessments.actions import do_assess_households, do_assess_regions
from jingzhun.assessments.bulk import ENGINES, do_assess_bulk
from jingzhun.assessments.exits import COUNTY_EXIT, REGION_STANDARDS
from jingzhun.core.errors import DomainError
from jingzhun.policy.lang import RuleError
from jingzhun.policy.store import PolicyError
from jingzhun.regions import codes
from jingzhun.registry.models import Household

PHASES = {
    "read": "读取登记数据",
    "snapshot": "保存输入快照",
    "evaluate": "判定",
    "store": "写入结果",
}


class Command(BaseCommand):
    help = "按标准判定登记库中的户，并保存判定结果（相同政策版本重复运行不会改变已有结果）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--standard", help="标准 id，如 household_exit")
        parser.add_argument("--year", type=int, help="评估年度")
        parser.add_argument(
            "--pending", action="store_true", help="运行排队的重新判定任务（收入变更后）"
        )
        parser.add_argument("--county", default=None, help="县级区划代码（6 或 12 位）；默认全部")
        parser.add_argument(
            "--method",
            choices=["bulk", "per-household"],
            default="bulk",
            help="bulk：DuckDB 批量判定（默认）；per-household：逐户判定并在每条记录中保存依据",
        )
        parser.add_argument(
            "--parquet", type=Path, default=None, help="从 Parquet 快照目录读取输入（批量方式）"
        )
        parser.add_argument(
            "--engine",
            choices=ENGINES,
            default="duckdb",
            help="批量判定的计算引擎：duckdb（默认，本进程内）或 spark（Apache Spark）",
        )
        parser.add_argument(
            "--master",
            default=None,
            help="Spark 主节点 URL（--engine spark）：默认 local[*]；spark://主机:7077、yarn、k8s://…",
        )
        parser.add_argument(
            "--no-snapshot", action="store_true", help="不保存输入快照（卡片上将无法显示依据）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pending"]:
            from jingzhun.assessments.jobs import run_pending

            for job in run_pending():
                self.stdout.write(
                    f"重新判定任务 {job.pk}（{job.year} 年）：{job.get_status_display()} {job.error}"
                )
            return
        if not options["standard"] or not options["year"]:
            raise CommandError("请指定 --standard 和 --year，或使用 --pending")
        county = None
        if options["county"]:
            try:
                county = codes.normalize(options["county"])
            except codes.CodeError as exc:
                raise CommandError(str(exc)) from exc
            if codes.level_of(county) != "county":
                raise CommandError(f"{options['county']} 不是县级区划代码")
        try:
            if options["standard"] in REGION_STANDARDS:
                self._regions(options, county)
            elif options["method"] == "bulk":
                self._bulk(options, county)
            else:
                self._per_household(options, county)
        except (PolicyError, RuleError) as exc:
            raise CommandError(str(exc)) from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _regions(self, options: dict[str, Any], county: str | None) -> None:
        if county is None:
            raise CommandError("村、县退出判定须指定 --county（县级区划代码）")
        result = do_assess_regions(options["standard"], options["year"], county, actor=None)
        what = "县" if options["standard"] == COUNTY_EXIT else "村"
        self.stdout.write(
            f"判定 {result.regions:,} 个{what}：达到退出标准 {result.passed:,} 个，"
            f"有未知项 {result.unknown:,} 个；新增判定 {result.created:,} 条，"
            f"已有相同政策版本和输入的判定 {result.unchanged:,} 条未变。（批次 {result.run_id}）"
        )

    def _bulk(self, options: dict[str, Any], county: str | None) -> None:
        with tqdm(total=len(PHASES), unit="步", desc="批量判定", disable=None) as bar:
            started: list[str] = []

            def step(name: str) -> None:
                if started:
                    bar.update(1)  # the previous phase is done
                started.append(name)
                bar.set_description(PHASES[name])

            result = do_assess_bulk(
                options["standard"],
                options["year"],
                actor=None,
                county=county,
                parquet=options["parquet"],
                snapshot=not options["no_snapshot"],
                progress=step,
                engine=options["engine"],
                master=options["master"],
            )
            bar.update(bar.total - bar.n)
        # result.seconds also holds sub-phases of storing (store_rows, store_counts): not shown
        timing = "，".join(
            f"{PHASES[k]} {v:.1f} 秒" for k, v in result.seconds.items() if k in PHASES
        )
        self.stdout.write(
            f"判定 {result.households:,} 户：通过 {result.passed:,} 户；"
            f"新增判定 {result.created:,} 条，已有相同政策版本的判定 {result.unchanged:,} 条未变。"
            f"（{timing}；批次 {result.run_id}）"
        )

    def _per_household(self, options: dict[str, Any], county: str | None) -> None:
        households = Household.objects.all()
        if county:
            households = households.filter(county_code=county)
        total = households.count()
        if total == 0:
            raise CommandError("没有可判定的户（请检查 --county，或先导入登记数据）")
        with tqdm(total=total, unit="户", desc="逐户判定", disable=None) as bar:
            result = do_assess_households(
                households,
                options["standard"],
                options["year"],
                actor=None,
                progress=bar.update,
            )
        self.stdout.write(
            f"判定 {result.households:,} 户：通过 {result.passed:,} 户；"
            f"新增判定 {result.created:,} 条，已有相同政策版本的判定 {result.unchanged:,} 条未变。"
            f"（批次 {result.run_id}）"
        )
