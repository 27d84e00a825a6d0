"""Django's `flush` (erase every table), allowed past the audit table's delete guard.

Erasing the whole database is an operator's deliberate act (and how the test runner resets
committed data between tests); the guard exists against edits of single events.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand

from jingzhun.audit.guard import deletion_mode


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        with deletion_mode("flush", using=options.get("database") or "default"):
            super().handle(**options)
