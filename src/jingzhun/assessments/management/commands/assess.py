"""`jingzhun assess --standard household_exit --year YYYY [--county CODE]`: judge the registry."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from jingzhun.assessments.actions import do_assess_households
from jingzhun.policy.lang import RuleError
from jingzhun.policy.store import PolicyError
from jingzhun.regions import codes
from jingzhun.registry.models import Household


class Command(BaseCommand):
    help = "按标准逐户判定登记库中的户，并保存判定结果（相同政策版本重复运行不会改变已有结果）"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--standard", required=True, help="标准 id，如 household_exit")
        parser.add_argument("--year", required=True, type=int, help="评估年度")
        parser.add_argument("--county", default=None, help="县级区划代码（6 或 12 位）；默认全部")

    def handle(self, *args: Any, **options: Any) -> None:
        households = Household.objects.all()
        if options["county"]:
            try:
                county = codes.normalize(options["county"])
            except codes.CodeError as exc:
                raise CommandError(str(exc)) from exc
            households = households.filter(county_code=county)
        total = households.count()
        if total == 0:
            raise CommandError("没有可判定的户（请检查 --county，或先导入登记数据）")
        with tqdm(total=total, unit="户", desc="标准判定", disable=None) as bar:
            try:
                result = do_assess_households(
                    households,
                    options["standard"],
                    options["year"],
                    actor=None,
                    progress=bar.update,
                )
            except (PolicyError, RuleError) as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"判定 {result.households:,} 户：通过 {result.passed:,} 户；"
            f"新增判定 {result.created:,} 条，已有相同政策版本的判定 {result.unchanged:,} 条未变。"
        )
