"""`jingzhun export roster|card|notice|facts … -o FILE [--unmasked --user U --approval ID]`;
`export permit`; `export request|approve|refuse|requests` (a second person approves, PII-4).

Masked by default. `--unmasked` needs `--user` naming an account that holds the permission
(`jingzhun export permit USERNAME`, ADR 0013) and `--approval ID`: that account's request,
approved by another holder of the permission (`export request`, `export approve`, ADR 0045).
Every export, request and decision is audited. Exit 0: written;
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
    do_approve_unmasked_export,
    do_export_card,
    do_export_facts,
    do_export_notice,
    do_export_roster,
    do_refuse_unmasked_export,
    do_request_unmasked_export,
    own_requests,
    requests_to_decide,
)
from jingzhun.exports.models import UNMASKED_KINDS
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
            "--unmasked",
            action="store_true",
            help="不脱敏（需 --user 指定有权限的账号和 --approval 审批单号，留痕）",
        )
        parser.add_argument(
            "--approval", type=int, default=None, help="已批准的未脱敏导出申请的审批单号"
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
        request = sub.add_parser("request", help="申请一次未脱敏导出（须由另一名有权限的人员审批）")
        request.add_argument("kind", choices=list(UNMASKED_KINDS), help="导出内容")
        request.add_argument("--user", required=True, help="申请人账号")
        request.add_argument("--region", default="", help="区划代码（花名册、户数据）")
        request.add_argument("--household", default="", help="户编号（明白卡）")
        request.add_argument("--reason", required=True, help="申请理由（记入审计日志）")
        for verb, label in (("approve", "批准"), ("refuse", "驳回")):
            decide = sub.add_parser(verb, help=f"{label}他人的未脱敏导出申请")
            decide.add_argument("request_id", type=int, help="审批单号")
            decide.add_argument("--user", required=True, help="审批人账号（不能是申请人）")
            decide.add_argument(
                "--note", required=verb == "refuse", default="", help="审批意见（驳回时必填）"
            )
        listing = sub.add_parser("requests", help="列出账号的申请和待其审批的申请")
        listing.add_argument("--user", required=True, help="账号")

    def handle(self, *args: Any, **options: Any) -> None:
        what = options["what"]
        try:
            if what == "permit":
                self._permit(options)
                return
            if what in {"request", "approve", "refuse", "requests"}:
                self._approval(what, self._actor(options["user"]), options)
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

    def _approval(self, what: str, actor: Any, options: dict[str, Any]) -> None:
        if what == "request":
            household = options["household"].strip()
            made = do_request_unmasked_export(
                options["kind"],
                options["reason"],
                actor=actor,
                region_code=options["region"],
                household_id=self._household_id(household) if household else None,
            )
            self.stdout.write(f"已提交申请，审批单号 {made.pk}，待另一名有权限的人员审批。")
        elif what == "approve":
            done = do_approve_unmasked_export(
                options["request_id"], actor=actor, note=options["note"]
            )
            until = timezone.localtime(done.expires_at)
            self.stdout.write(
                f"已批准审批单号 {done.pk}，有效期至 {until:%Y-%m-%d %H:%M}，限用一次。"
            )
        elif what == "refuse":
            do_refuse_unmasked_export(options["request_id"], actor=actor, note=options["note"])
            self.stdout.write(f"已驳回审批单号 {options['request_id']}。")
        else:
            for title, rows in (
                ("我的申请", own_requests(actor)[:50]),
                ("待我审批", requests_to_decide(actor)),
            ):
                self.stdout.write(f"{title}：")
                for row in rows:
                    scope = row.household.household_code if row.household else row.region_id
                    self.stdout.write(
                        f"  {row.pk}\t{row.kind_label}\t{scope}\t{row.requester.username}"
                        f"\t{row.state_label}\t{row.reason}"
                    )

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
        approval = options.get("approval")
        if what == "roster":
            filters = self._household_filters(options)
            fmt = options["format"] or (
                "csv" if options["output"].suffix.lower() == ".csv" else "xlsx"
            )
            return do_export_roster(
                filters,
                out,
                actor=actor,
                unmasked=unmasked,
                approval=approval,
                progress=progress,
                fmt=fmt,
            )
        if what == "facts":
            filters = self._household_filters(options)
            year = options["year"] or timezone.localdate().year
            return do_export_facts(
                filters,
                year,
                out,
                actor=actor,
                unmasked=unmasked,
                approval=approval,
                progress=progress,
            )
        if what == "card":
            fmt = options["format"] or options["output"].suffix.lower().lstrip(".")
            household_id = self._household_id(options["household_code"])
            return do_export_card(
                household_id, fmt, out, actor=actor, unmasked=unmasked, approval=approval
            )
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
