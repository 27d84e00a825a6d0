"""`jingzhun import FILE [--dry-run] [--report PATH] [--user USERNAME] [--year YEAR]`; `jingzhun import --pending`
runs the web pages' queued import jobs (checks and commits, ADR 0029); `jingzhun import template -o
FILE` writes the empty import template (imports.template).

The word `template` as FILE always means the template: a file of that name is imported as
`./template` (the argument is compared as typed, before it becomes a path).

Exit 0: committed, already imported, or a clean dry run; 1: rows refused, nothing written;
2: the file cannot be read (or does not exist).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from jingzhun.access.models import User
from jingzhun.core.errors import DomainError
from jingzhun.imports.actions import do_commit_import, do_record_dry_run
from jingzhun.imports.pipeline import ImportResult, plan_import
from jingzhun.imports.report import build_report
from jingzhun.imports.template import build_template

MAX_LISTED_ERRORS = 50
TEMPLATE = "template"


class Command(BaseCommand):
    help = "导入贫困户信息采集表（.xlsx/.xls/.csv）：先全部校验，无错误才写入，同一文件重复导入不会重复写入"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", help="要导入的文件；写 template 则生成导入模板（见 -o）"
        )
        parser.add_argument(
            "-o", "--output", type=Path, help="与 template 一起使用：导入模板（.xlsx）的保存路径"
        )
        parser.add_argument(
            "--pending", action="store_true", help="运行网页上排队的导入任务（校验、确认导入）"
        )
        parser.add_argument("--dry-run", action="store_true", help="只校验并比对，不写入")
        parser.add_argument("--report", type=Path, help="把错误报告（.xlsx）写到这个路径")
        parser.add_argument("--user", help="以该账号的身份和管理范围导入（默认：系统）")
        parser.add_argument(
            "--year",
            type=int,
            help="收入所属年度：文件没有“年度”列、标题中也没有写明年度时使用",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pending"]:
            from jingzhun.imports.jobs import run_pending

            for job in run_pending():
                self.stdout.write(
                    f"导入任务 {job.pk}（{job.get_kind_display()}）：{job.get_status_display()} {job.error}"
                )
            return
        output: Path | None = options["output"]
        if options["file"] == TEMPLATE:
            if output is None:
                raise CommandError(
                    "请用 -o 指定导入模板的保存路径；要导入名为 template 的文件，请写 ./template",
                    returncode=2,
                )
            output.write_bytes(build_template())
            self.stdout.write(f"导入模板已写入：{output}")
            return
        if output is not None:
            raise CommandError(
                "-o 只用于生成导入模板：jingzhun import template -o 文件", returncode=2
            )
        if options["file"] is None:
            raise CommandError("请指定要导入的文件，或使用 --pending", returncode=2)
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}", returncode=2)
        actor = None
        if options["user"]:
            actor = User.objects.filter(username__iexact=options["user"].strip()).first()
            if actor is None:
                raise CommandError(f"找不到账号：{options['user']}", returncode=2)
        data = path.read_bytes()
        with tqdm(desc="校验", unit="户", file=self.stderr._out, disable=None) as bar:
            result = plan_import(
                data, path.name, actor=actor, progress=bar.update, year=options["year"]
            )
        if options["dry_run"] and not result.unreadable and not result.already_imported:
            do_record_dry_run(result, actor=actor)
        if not result.ok or options["dry_run"]:
            self._finish(result, data, options, committed=False)
            return
        # The commit takes this plan: it locks the households the plan touches and plans the
        # file again only when one of them moved since (the file is planned once).
        bars: dict[str, tqdm[Any]] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(
                    desc=stage, total=total or None, unit="户", file=self.stderr._out, disable=None
                )
            bar.update(done - bar.n)

        try:
            outcome = do_commit_import(
                data,
                path.name,
                actor=actor,
                progress=progress,
                year=options["year"],
                planned=result,
            )
        except DomainError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        finally:
            for bar in bars.values():
                bar.close()
        self._finish(outcome.result, data, options, committed=outcome.committed)

    def _finish(
        self, result: ImportResult, data: bytes, options: dict[str, Any], *, committed: bool
    ) -> None:
        for notice in result.notices:
            self.stderr.write(f"提示：{notice}")
        for error in result.errors[:MAX_LISTED_ERRORS]:
            self.stderr.write(str(error))
        if len(result.errors) > MAX_LISTED_ERRORS:
            self.stderr.write(
                f"……另有 {len(result.errors) - MAX_LISTED_ERRORS} 处错误，见错误报告。"
            )
        report: Path | None = options.get("report")
        if report is not None:
            report.write_bytes(build_report(data, result))
            self.stderr.write(f"错误报告已写入：{report}")
        if result.already_imported:
            self.stdout.write(
                "该文件此前已导入（文件内容相同），本次未做任何修改：新增 0，变更 0。"
            )
            return
        if result.unreadable:
            raise CommandError(f"无法读取文件：{result.errors[0].reason}", returncode=2)
        self.stdout.write(result.summary())
        if not result.ok:
            raise CommandError(f"有 {len(result.errors)} 处错误，未导入任何数据。", returncode=1)
        if options["dry_run"]:
            self.stdout.write("试导入（校验）通过，未写入。")
        elif committed:
            self.stdout.write("导入完成。")
