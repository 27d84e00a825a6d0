"""`jingzhun demo`: migrate, generate a synthetic county, print the demo accounts, serve the web UI
with one background worker beside it (`jingzhun worker`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jingzhun.core.errors import DomainError
from jingzhun.core.processes import spawn_child
from jingzhun.demo.actions import (
    DEFAULT_CHUNK,
    DemoAccount,
    DemoResult,
    DemoSpec,
    check_demo_password,
    do_generate_demo_county,
    do_reset_demo_data,
    plan_for,
)
from jingzhun.demo.counties import DEFAULT_COUNTY
from jingzhun.demo.selectors import existing_demo_accounts, has_registry_data
from jingzhun.policy.store import PolicyError


class Command(BaseCommand):
    help = "生成演示县（合成数据，按公开数据校准），创建演示账号，并启动网页服务。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--county", default=DEFAULT_COUNTY, help="演示县代码（默认 230231 拜泉县）"
        )
        parser.add_argument(
            "--scale", type=float, default=1.0, help="户数、人数的放大倍数（默认 1）"
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="随机种子：相同种子生成相同数据（默认 1）"
        )
        parser.add_argument(
            "--password", default=None, help="为所有演示账号设置同一个密码（默认随机生成）"
        )
        parser.add_argument("--no-serve", action="store_true", help="只生成数据，不启动网页服务")
        parser.add_argument("--port", type=int, default=8000, help="网页服务端口（默认 8000）")
        parser.add_argument("--reset", action="store_true", help="清空已有数据后重新生成")
        parser.add_argument(
            "--chunk-size", type=int, default=DEFAULT_CHUNK, help="每批生成的户数（默认 20000）"
        )
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")
        parser.add_argument(
            "--no-assess", action="store_true", help="生成后不按贫困户退出标准做批量判定"
        )
        parser.add_argument(
            "--province",
            default=None,
            help="生成一个演示省（2 位省级代码，如 23 黑龙江省）：校准县在前，其余为该省真实县级区划",
        )
        parser.add_argument(
            "--counties", type=int, default=3, help="演示省的县数（默认 3，与 --province 同用）"
        )
        parser.add_argument(
            "--parquet",
            default=None,
            help="与 --province 同用：不写数据库，按省、县分区流式写出 Parquet 到该目录",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["province"]:
            self._province(options)
            return
        if options["parquet"]:
            raise CommandError("--parquet 须与 --province 同用。")
        spec = DemoSpec(
            county=str(options["county"]),
            scale=float(options["scale"]),
            seed=int(options["seed"]),
            password=options["password"],
            chunk_size=int(options["chunk_size"]),
        )
        serve = not options["no_serve"]
        # Check the arguments before touching the database.
        plan = _checked(lambda: plan_for(spec), spec.password)
        call_command("migrate", interactive=False, verbosity=0)
        if has_registry_data() and not options["reset"]:
            self._existing(serve)
            if not serve:
                raise CommandError("数据库中已有数据，如需重新生成请加 --reset")
            self._serve(options["port"])
            return
        try:
            if options["reset"]:
                counts = do_reset_demo_data(actor=None)
                cleared = counts.get("registry_household", 0)
                if cleared:
                    self.stdout.write(f"已清空原有数据：{cleared:,} 户。")
            result = self._generate(spec, plan.persons, progress=not options["no_progress"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self._report(result)
        if not options["no_assess"]:
            self._assess(result.county_code, result.target_year)
        self._measures(result.county_code)
        self._points(result.county_code)
        self._cases(result.county_code)
        self._projects(result.county_code)
        self._selfcheck(result.county_code, result.target_year)
        self._loans(result.county_code)
        self._assets(result.county_code)  # after the projects: a station's source project
        self._battle_map(result.county_code)
        self._scoring(result.county_code)
        if serve:
            self._serve(options["port"])

    def _province(self, options: dict[str, Any]) -> None:
        """`--province PP --counties N`: the province's counties one after the other, then the
        accounts above the county, boundaries and figures (demo.province); or, with
        `--parquet DIR`, the same rows streamed to Parquet without a database."""
        from pathlib import Path

        from jingzhun.analytics.actions import do_generate_demo_shapes, do_refresh_indicators
        from jingzhun.demo.province import (
            ProvinceSpec,
            do_generate_demo_province,
            plans,
            write_parquet,
        )

        spec = ProvinceSpec(
            province=str(options["province"]).strip()[:2],
            counties=int(options["counties"]),
            scale=float(options["scale"]),
            seed=int(options["seed"]),
            password=options["password"],
            chunk_size=int(options["chunk_size"]),
        )
        planned = _checked(lambda: plans(spec), spec.password)
        persons = sum(p.persons for p in planned)
        started = time.monotonic()
        if options["parquet"]:
            out = Path(options["parquet"])
            with self._bar(persons, not options["no_progress"]) as bar:
                written = write_parquet(
                    spec, out, progress=bar.update if bar else None, planned=planned
                )
            self.stdout.write(
                f"已写出 {len(planned)} 个县的 Parquet（{out}）："
                + "，".join(f"{t} {n:,} 行" for t, n in written.items())
                + f"，用时 {time.monotonic() - started:.1f} 秒。"
            )
            return
        call_command("migrate", interactive=False, verbosity=0)
        try:
            if has_registry_data():
                if not options["reset"]:
                    raise CommandError("数据库中已有数据，如需重新生成请加 --reset")
                do_reset_demo_data(actor=None)
            with self._bar(persons, not options["no_progress"]) as bar:
                result = do_generate_demo_province(
                    spec,
                    actor=None,
                    progress=bar.update if bar else None,
                    county_done=lambda c: self.stdout.write(
                        f"  {c.county_name}（{c.county_code}）：{c.households:,} 户 {c.persons:,} 人"
                    ),
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"已生成演示省：{result.province_name}（{result.province_code}），"
            f"{len(result.counties)} 个县，{result.households:,} 户 {result.persons:,} 人，"
            f"用时 {time.monotonic() - started:.1f} 秒。"
        )
        first = result.counties[0]
        for county in result.counties:
            if not options["no_assess"]:
                self._assess(county.county_code, county.target_year)
        self._measures(first.county_code)
        self._cases(first.county_code)
        from django.db import connection

        if not connection.in_atomic_block:
            shapes = sum(
                do_generate_demo_shapes(c.county_code, actor=None) for c in result.counties
            )
            refreshed = do_refresh_indicators([c.county_code for c in result.counties], actor=None)
            self.stdout.write(
                f"已生成 {shapes} 个区划的边界（县及以上为标准区划边界，乡镇、村为示意），"
                f"计算指标值 {refreshed.rows:,} 个（作战图：/dashboard/）。"
            )
        self.stdout.write("")
        self.stdout.write("演示账号（密码只显示这一次，请妥善保存）：")
        self._accounts_table(result.accounts, first.paired_households)
        if options["no_serve"]:
            return
        self._serve(options["port"])

    def _bar(self, total: int, show: bool) -> Any:
        import contextlib

        if not show:
            return contextlib.nullcontext(None)
        from tqdm import tqdm

        return tqdm(total=total, unit="人", unit_scale=True, desc="生成演示数据", file=sys.stderr)

    def _generate(self, spec: DemoSpec, persons: int, *, progress: bool) -> DemoResult:
        started = time.monotonic()
        if progress:
            from tqdm import tqdm

            with tqdm(
                total=persons, unit="人", unit_scale=True, desc="生成演示数据", file=sys.stderr
            ) as bar:
                result = do_generate_demo_county(spec, actor=None, progress=bar.update)
        else:
            result = do_generate_demo_county(spec, actor=None)
        self._elapsed = time.monotonic() - started
        return result

    def _assess(self, county: str, year: int) -> None:
        """Judge the new county against the household exit standard, so that the overview and
        the household cards show each criterion."""
        from django.db import connection

        from jingzhun.assessments.bulk import do_assess_bulk

        if connection.in_atomic_block:  # e.g. called inside a test's transaction
            self.stdout.write("（在事务中运行，跳过批量判定；可稍后运行 jingzhun assess。）")
            return
        try:
            outcome = do_assess_bulk("household_exit", year, actor=None, county=county)
        except (DomainError, PolicyError) as exc:
            self.stderr.write(f"批量判定未完成：{exc}")
            return
        self.stdout.write(
            f"已按贫困户退出标准判定 {year} 年 {outcome.households:,} 户，全部达标 "
            f"{outcome.passed:,} 户（jingzhun assess 可重新判定）。"
        )
        self.stdout.write("")

    def _measures(self, county: str) -> None:
        """Household plans in the demo village (assistance.demo), before the cases: risk
        elimination reads the completed measures."""
        from jingzhun.assistance.demo import seed_demo_measures

        made = seed_demo_measures(county)
        if made:
            self.stdout.write(f"已在演示村登记 {made} 项帮扶措施（户页面“帮扶措施”可见）。")

    def _assets(self, county: str) -> None:
        """Solar stations and an equity stake with income, one paid distribution (assets.demo)."""
        from jingzhun.assets.demo import seed_demo_assets

        paid = seed_demo_assets(county)
        if paid:
            self.stdout.write(
                f"已登记演示村光伏电站等项目资产，收益分配到 {paid} 户（项目资产页面可见）。"
            )

    def _points(self, county: str) -> None:
        """Points shops, points and star ratings in the demo township's villages (points.demo)."""
        from jingzhun.points.demo import seed_demo_points

        made = seed_demo_points(county)
        if made:
            self.stdout.write(f"已在演示乡镇登记 {made} 笔爱心超市积分（菜单“爱心超市”可见）。")

    def _cases(self, county: str) -> None:
        """A dynamic adjustment round with a few cases in various states (workflows.demo)."""
        from jingzhun.workflows.demo import seed_demo_cases

        made = seed_demo_cases(county)
        if made:
            self.stdout.write(f"已在演示村建立 {made} 件演示案件（业务办理页面可见）。")

    def _projects(self, county: str) -> None:
        """Projects at every stage of the bank, fund sources with their money, payments and
        beneficiaries (projects.demo)."""
        from jingzhun.projects.demo import seed_demo_projects

        made = seed_demo_projects(county)
        if made.projects:
            self.stdout.write(
                f"已在演示村登记 {made.projects} 个项目（各阶段）、{made.postings} 笔资金记账、"
                f"{made.benefits} 户次联农带农受益（项目库 /projects/、资金账 /funds/）。"
            )

    def _selfcheck(self, county: str, year: int) -> None:
        """A small sampled exit self-check with a few findings (selfcheck.demo)."""
        from jingzhun.selfcheck.demo import seed_demo_selfcheck

        made = seed_demo_selfcheck(county, year)
        if made:
            self.stdout.write(
                f"已抽取 {year} 年退出自查样本，录入 {made} 户调查（退出自查页面可见）。"
            )

    def _loans(self, county: str) -> None:
        """Microcredit loans with repayments and one or two overdue (credit.demo)."""
        from jingzhun.credit.demo import seed_demo_loans

        made = seed_demo_loans(county)
        if made:
            self.stdout.write(f"已登记 {made} 笔小额信贷及其还款（“小额信贷”页面可见）。")

    def _battle_map(self, county: str) -> None:
        """Demo boundaries for the map and the first computation of the indicators."""
        from django.db import connection

        from jingzhun.analytics.actions import do_generate_demo_shapes, do_refresh_indicators

        if connection.in_atomic_block:
            self.stdout.write(
                "（在事务中运行，跳过指标计算；可稍后运行 jingzhun refresh-indicators。）"
            )
            return
        shapes = do_generate_demo_shapes(county, actor=None)
        try:
            result = do_refresh_indicators([county], actor=None)
        except DomainError as exc:
            self.stderr.write(f"指标计算未完成：{exc.message}")
            return
        self.stdout.write(
            f"已生成 {shapes} 个区划的演示边界，计算指标值 {result.rows:,} 个（作战图：/dashboard/）。"
        )
        self.stdout.write("")

    def _scoring(self, county: str) -> None:
        """A quarter's township assessment, computed and published (scoring.demo)."""
        from jingzhun.scoring.demo import seed_demo_scoring

        try:
            made = seed_demo_scoring(county)
        except DomainError as exc:
            self.stderr.write(f"演示考核未完成：{exc.message}")
            return
        if made is not None:
            self.stdout.write(
                f"已录入 {made.problems} 个演示督查问题，计算并发布 {made.period.label} "
                f"{made.units} 个乡镇的考核结果（考核页面：/scoring/）。"
            )

    def _report(self, result: DemoResult) -> None:
        out = self.stdout
        out.write(
            f"已生成演示县：{result.county_name}（{result.county_code}），{result.townships} 个乡镇、"
            f"{result.villages} 个村，{result.households:,} 户 {result.persons:,} 人"
            f"（含清退户和演示乡镇的一般农户），状态变更 {result.status_changes:,} 条，收入记录 {result.incomes:,} 条，"
            f"用时 {self._elapsed:.1f} 秒。"
        )
        out.write(
            f"统计口径见：jingzhun stats --county {result.county_code[:6]} --year {result.target_year}"
        )
        out.write("")
        out.write("演示账号（密码只显示这一次，请妥善保存）：")
        self._accounts_table(result.accounts, result.paired_households)
        out.write("")
        out.write("数据为合成数据，姓名、身份证号码、电话、银行账号均为虚构。")
        out.write("县级账号首次登录时须按页面提示设置双因素认证（手机认证器应用）。")

    def _accounts_table(self, accounts: list[DemoAccount], paired: int) -> None:
        rows = [("用户名", "密码", "角色", "可见范围")]
        for a in accounts:
            scope = (
                f"{a.scope_name}（{a.scope_code}）"
                if a.scope_code
                else f"{a.scope_name}（{paired} 户）"
            )
            rows.append((a.username, a.password, a.role_label, scope))
        widths = [max(_width(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            cells = [r[i] + " " * (widths[i] - _width(r[i])) for i in range(3)]
            self.stdout.write("  " + "  ".join([*cells, r[3]]))

    def _existing(self, serve: bool) -> None:
        self.stdout.write("数据库中已有数据，如需重新生成请加 --reset")
        accounts = existing_demo_accounts()
        if accounts:
            self.stdout.write(
                "已有账号："
                + "、".join(f"{u.username}（{u.role_label}）" for u in accounts)
                + "。密码无法再次显示：请用 jingzhun changepassword 用户名 修改密码，"
                "或下次加 --reset --password 密码 重新生成。"
            )
        if serve:
            self.stdout.write("继续使用已有数据启动网页服务。")

    def _serve(self, port: int) -> None:
        """The web server and one background worker (`jingzhun worker`), each a child process;
        a worker that dies (e.g. on a hostile upload) is started again; both stop with the
        server, on Ctrl+C or SIGTERM."""
        from django.conf import settings

        self.stdout.write(f"网页服务：http://127.0.0.1:{port}/ （按 Ctrl+C 停止）")
        self.stdout.flush()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}

        def start(*args: str) -> subprocess.Popen[bytes]:
            # this program's own commands, with fixed arguments and the port (an int)
            return spawn_child([sys.executable, "-m", "jingzhun.cli", *args], env)

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop)
        server = start("runserver", f"127.0.0.1:{port}", "--insecure", "--noreload")
        worker = start("worker")
        try:
            while server.poll() is None:
                if worker.poll() is not None:
                    self.stderr.write(f"后台任务进程已退出（{worker.returncode}），重新启动。")
                    worker = start("worker")
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            for child in (server, worker):
                _stop(child)


def _checked(make: Any, password: str | None) -> Any:
    """What `make()` plans, with the password checked: CommandError (Chinese) if refused."""
    try:
        made = make()
        if password is not None:
            check_demo_password(password)
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    return made


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Ask a child process to stop (a worker finishes its running job first), then make it."""
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
