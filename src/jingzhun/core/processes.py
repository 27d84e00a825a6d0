"""Child processes that do not outlive their parent (no Django imports)."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys


def die_with_parent() -> None:
    """In a child before exec: ask Linux to send SIGTERM when the parent dies (PR_SET_PDEATHSIG),
    so a server or worker is not left running when its parent is killed with SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def spawn_child(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a child process that stops when this process dies."""
    return subprocess.Popen(argv, env=env, preexec_fn=die_with_parent)  # noqa: S603
