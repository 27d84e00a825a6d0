"""`jingzhun idcard check NUMBER...`: one JSON object per input (arguments, or lines of stdin)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jingzhun.registry.idcard import check


class Command(BaseCommand):
    help = "身份证号码校验：check NUMBER... 逐个输出 JSON；不带号码时从标准输入逐行读取。"
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check_parser = sub.add_parser("check", help="校验号码（全部有效时退出码为 0，否则为 1）")
        check_parser.add_argument("numbers", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        numbers: list[str] = options["numbers"] or [line.rstrip("\r\n") for line in sys.stdin]
        all_valid = True
        for number in numbers:
            result = check(number)
            all_valid = all_valid and result.valid
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        if not all_valid:
            sys.exit(1)
