"""The `jingzhun` console script: Django's management commands under one name.

`jingzhun demo`, `jingzhun stats`, `jingzhun idcard check` … are management commands of the
project's apps; `jingzhun migrate`, `jingzhun runserver` and the rest are Django's own.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["jingzhun", *argv])
    args[0] = "jingzhun"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
