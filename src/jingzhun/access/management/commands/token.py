"""`jingzhun token issue USERNAME [--name N]`, `jingzhun token revoke PREFIX`, `jingzhun token list`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jingzhun.access.actions import do_issue_api_token, do_revoke_api_token, token_prefix
from jingzhun.access.models import ApiToken, User
from jingzhun.core.errors import DomainError


class Command(BaseCommand):
    help = "接口访问令牌：issue 签发（只显示一次）、revoke 吊销、list 列出"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="为用户签发访问令牌，令牌只显示这一次")
        issue.add_argument("username")
        issue.add_argument("--name", default="", help="令牌名称（用途说明）")
        revoke = sub.add_parser("revoke", help="按前缀吊销访问令牌")
        revoke.add_argument("prefix")
        revoke.add_argument("--reason", default="", help="吊销原因")
        listing = sub.add_parser("list", help="列出访问令牌（只显示前缀）")
        listing.add_argument("username", nargs="?", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "issue":
                self._issue(options["username"], options["name"])
            elif options["action"] == "revoke":
                token = do_revoke_api_token(options["prefix"], actor=None, reason=options["reason"])
                self.stdout.write(f"已吊销访问令牌 {token.prefix}（用户 {token.user.username}）。")
            else:
                self._list(options["username"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _issue(self, username: str, name: str) -> None:
        user = User.objects.filter(username__iexact=username.strip()).first()
        if user is None:
            raise CommandError(f"用户“{username}”不存在。")
        raw = do_issue_api_token(user, name, actor=None)
        self.stdout.write(raw)
        self.stderr.write(
            f"已为用户 {user.username} 签发访问令牌（前缀 {token_prefix(raw)}，"
            f"{settings.JINGZHUN_API_TOKEN_DAYS} 天后到期）。"
            "令牌只显示这一次，请妥善保存；使用方式：Authorization: Bearer <令牌>"
        )

    def _list(self, username: str) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("created_at", "id")
        if username:
            tokens = tokens.filter(user__username__iexact=username.strip())
        for token in tokens:
            if token.revoked_at:
                state = f"已吊销 {timezone.localtime(token.revoked_at):%Y-%m-%d %H:%M}"
            elif token.expires_at <= timezone.now():
                state = f"已过期 {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}"
            else:
                state = f"有效至 {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}"
            created = timezone.localtime(token.created_at)
            self.stdout.write(
                f"{token.prefix}\t{token.user.username}\t{token.name}\t{created:%Y-%m-%d %H:%M}\t{state}"
            )
