"""`jingzhun export roster|card|notice|facts … -o FILE [--unmasked --user U]`; `export permit`.

Masked by default. `--unmasked` needs `--user` naming an account that holds the permission
(`jingzhun export permit USERNAME`, ADR 0013). Every export is audited. Exit 0: written;
1: refused (no permission, bad arguments); 2: nothing to export (unknown household, village or
account). The file is written beside its destination and moved into place only after the export's
audit event is recorded, so a refused or failed export leaves no file.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from jingzhun.access.actions import do_set_unmasked_export
from jingzhun.access.models import User
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.exports.actions import (
    ExportSummary,
    do_export_card,
    do_export_facts,
    do_export_notice,
    do_export_roster,
)
from jingzhun.exports.notice import KINDS, NoticeSpec
from jingzhun.registry import choices as c
from jingzhun.registry.selectors import HouseholdFilters

STATUS_GROUPS = {
    "registered": c.REGISTERED_STATUSES,
    "exited": c.EXITED_STATUSES,
    "remaining": c.REMAINING_STATUSES,
}


def _filters(parser: CommandParser) -> None:
    parser.add_argument("--township", default="", help="乡镇区划代码（12 位）")
    parser.add_argument("--village", default="", help="村级区划代码（12 位）")
    parser.add_argument(
        "--status",
        default="",
        help="脱贫状态代码（如 not_exited），或 registered/exited/remaining（全部/已脱贫/未脱贫及返贫）",
    )
    parser.add_argument("--attribute", default="", help="贫困户属性代码（general/dibao/tekun）")
    parser.add_argument("--cause", default="", help="主要致贫原因代码（如 illness）")
    parser.add_argument("--search", default="", help="按户主或成员姓名、户编号查询（同列表页）")


def _common(parser: CommandParser, *, unmasked: bool = True) -> None:
    parser.add_argument("-o", "--output", type=Path, required=True, help="输出文件路径")
    parser.add_argument("--user", default="", help="以该账号的身份和管理范围导出（默认：系统）")
    if unmasked:
        parser.add_argument(
            "--unmasked", action="store_true", help="不脱敏（需 --user 指定有权限的账号，留痕）"
        )


class Command(BaseCommand):
    help = "导出花名册（.xlsx/.csv）、明白卡（PDF/.xlsx）、村级公示（PDF）或户数据（JSON）；默认脱敏，每次导出都留痕"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        roster = sub.add_parser("roster", help="花名册（.xlsx 或 .csv，每名成员一行，可重新导入）")
        roster.add_argument("--format", choices=["xlsx", "csv"], default="", help="默认按文件后缀")
        _filters(roster)
        _common(roster)
        card = sub.add_parser("card", help="明白卡（PDF 或 .xlsx）")
        card.add_argument("household_code", help="户编号")
        card.add_argument("--format", choices=["pdf", "xlsx"], default="", help="默认按文件后缀")
        _common(card)
        notice = sub.add_parser(
            "notice", help="村级公示（PDF，不含证件号码、电话、银行账号、健康信息）"
        )
        notice.add_argument("village", help="村级区划代码（12 位）")
        notice.add_argument("household_codes", nargs="+", help="要公示的户编号")
        notice.add_argument(
            "--kind", choices=list(KINDS), default="identification", help="公示类型"
        )
        notice.add_argument("--start", default="", help="公示开始日期 YYYY-MM-DD（默认今天）")
        notice.add_argument("--days", type=int, default=7, help="公示天数（至少 5 天，默认 7）")
        notice.add_argument("--issuer", default="", help="落款单位（默认：某某村民委员会）")
        _common(notice, unmasked=False)
        facts = sub.add_parser("facts", help="户数据（JSON，domain.md 2.5 格式）")
        _filters(facts)
        facts.add_argument("--year", type=int, default=0, help="年度（默认今年）")
        _common(facts)
        permit = sub.add_parser(
            "permit", help="授予（或用 --withdraw 收回）账号导出未脱敏数据的权限"
        )
        permit.add_argument("username")
        permit.add_argument("--withdraw", action="store_true", help="收回权限")
        permit.add_argument("--reason", default="", help="原因（记入审计日志）")

    def handle(self, *args: Any, **options: Any) -> None:
        what = options["what"]
        try:
            if what == "permit":
                self._permit(options)
                return
            actor = self._actor(options["user"])
            summary = self._export(what, actor, options)
        except Forbidden as exc:
            raise CommandError(exc.message, returncode=1) from exc
        except OutOfScope as exc:
            raise CommandError(exc.message, returncode=2) from exc
        except DomainError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        state = "已脱敏" if summary.masked else "未脱敏（已留痕）"
        self.stdout.write(
            f"已导出到 {options['output']}：{summary.households} 户，{summary.rows} 行，{state}。"
        )

    def _actor(self, username: str) -> Any:
        if not username:
            return None
        user = User.objects.filter(username__iexact=username.strip()).first()
        if user is None:
            raise CommandError(f"找不到账号：{username}", returncode=2)
        return user

    def _permit(self, options: dict[str, Any]) -> None:
        user = self._actor(options["username"])
        allowed = not options["withdraw"]
        do_set_unmasked_export(user, allowed, actor=None, reason=options["reason"])
        state = "已授予" if allowed else "已收回"
        self.stdout.write(f"{state}账号 {user.username} 导出未脱敏数据的权限。")

    def _household_filters(self, options: dict[str, Any]) -> HouseholdFilters:
        status = options["status"]
        if status and status not in STATUS_GROUPS and status not in c.POVERTY_STATUS:
            raise DomainError(f"未知的脱贫状态：{status}")
        return HouseholdFilters(
            q=options["search"].strip(),
            township=options["township"].strip(),
            village=options["village"].strip(),
            status="" if status in STATUS_GROUPS else status,
            statuses=STATUS_GROUPS.get(status, ()),
            attribute=options["attribute"],
            cause=options["cause"],
        )

    def _export(self, what: str, actor: Any, options: dict[str, Any]) -> ExportSummary:
        output: Path = options["output"]
        if not output.parent.is_dir():
            raise CommandError(f"输出目录不存在：{output.parent}", returncode=1)
        handle, temp = tempfile.mkstemp(prefix=".export-", dir=output.parent)
        try:
            with os.fdopen(handle, "wb") as out, self._bar() as bar:
                summary = self._write(what, actor, options, out, bar.update)
            os.chmod(temp, 0o600)
            os.replace(temp, output)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return summary

    def _bar(self) -> tqdm[Any]:
        return tqdm(desc="导出", unit="户", file=self.stderr._out, disable=None)

    def _write(
        self,
        what: str,
        actor: Any,
        options: dict[str, Any],
        out: Any,
        progress: Callable[[int], None],
    ) -> ExportSummary:
        unmasked = bool(options.get("unmasked"))
        if what == "roster":
            filters = self._household_filters(options)
            fmt = options["format"] or (
                "csv" if options["output"].suffix.lower() == ".csv" else "xlsx"
            )
            return do_export_roster(
                filters, out, actor=actor, unmasked=unmasked, progress=progress, fmt=fmt
            )
        if what == "facts":
            filters = self._household_filters(options)
            year = options["year"] or timezone.localdate().year
            return do_export_facts(
                filters, year, out, actor=actor, unmasked=unmasked, progress=progress
            )
        if what == "card":
            fmt = options["format"] or options["output"].suffix.lower().lstrip(".")
            household_id = self._household_id(options["household_code"])
            return do_export_card(household_id, fmt, out, actor=actor, unmasked=unmasked)
        start = (
            datetime.date.fromisoformat(options["start"])
            if options["start"]
            else timezone.localdate()
        )
        spec = NoticeSpec(options["kind"], start, options["days"], options["issuer"])
        ids = [self._household_id(code) for code in options["household_codes"]]
        return do_export_notice(options["village"], ids, spec, out, actor=actor)

    def _household_id(self, code: str) -> int:
        from jingzhun.registry.models import Household

        pk = (
            Household.objects.filter(household_code=code.strip())
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            raise OutOfScope(f"未找到户编号为“{code}”的户。")
        return int(pk)
