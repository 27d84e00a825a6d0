"""Parsing untrusted files in a child process under memory, CPU and wall-clock limits (ADR XXXX).

A parser fed a hostile file may ask for more memory than the machine has (python-calamine
aborts the whole process when an allocation fails), loop for ever, or recurse until the stack
overflows. Whatever process called it (the web server, a job worker, a command) must survive
that, so the parse runs in a fresh interpreter:

    python -m jingzhun.core.sandbox MODULE:FUNCTION FD MEMORY_BYTES CPU_SECONDS

The child sets RLIMIT_AS and RLIMIT_CPU on itself before it reads a byte, reads the file from
the inherited descriptor FD (an unlinked temporary file) and calls FUNCTION(data, send). Each
`send(obj)` writes one frame to stdout: 8 bytes of length, then `obj` pickled. The parent reads
frames as it needs them (`Channel.receive`), so a long result streams while the parent works on
what came before; the time the parent spends *waiting* for the child is bounded (a slow consumer
is not charged to the child). A child that dies, exceeds a limit or sends garbage becomes
`SandboxFailure`, with the reason; the caller words it for its users.

Frames are unpickled with builtins and the datetime types only: a child subverted by a file
cannot make the parent run code. No Django here (the child must start fast and the module is
used by pure modules' callers).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import io
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

_HEADER: Final = struct.Struct("<Q")
MAX_FRAME: Final = 1 << 31  # a frame claiming more is garbage
_SAFE: Final = {
    ("datetime", "date"): datetime.date,
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
}


@dataclass(frozen=True)
class Limits:
    """What one contained parse may use: address space (bytes), CPU seconds, and seconds the
    caller waits for it in all."""

    memory_bytes: int = 4 << 30
    cpu_seconds: int = 300
    wall_seconds: float = 600.0


class SandboxFailure(Exception):
    """The child did not finish its work: `reason` is "memory", "cpu", "time" or "crash"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _SAFE[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed") from None


def loads(blob: bytes) -> Any:
    """Unpickle a frame (or a blob inside one) allowing builtins and datetime values only."""
    return _Unpickler(io.BytesIO(blob)).load()


class Channel:
    """The parent's end of one running child: `receive()` the frames in order, then `close()`."""

    def __init__(self, target: str, data: bytes, limits: Limits) -> None:
        self.limits = limits
        self.waited = 0.0
        self.finished = False
        # stderr goes to a file: a child writing much there never blocks on a full pipe.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        with tempfile.TemporaryFile() as source:
            source.write(data)
            source.flush()
            source.seek(0)
            fd = source.fileno()
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "jingzhun.core.sandbox",
                    target,
                    str(fd),
                    str(limits.memory_bytes),
                    str(limits.cpu_seconds),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                pass_fds=(fd,),
                close_fds=True,
            )
        assert self.proc.stdout is not None
        self._out = self.proc.stdout.fileno()
        self._poller = select.poll()  # not select(): a busy server's descriptors pass 1024
        self._poller.register(self._out, select.POLLIN | select.POLLHUP)
        self._buffer = bytearray()

    def _fill(self, size: int) -> None:
        """Read until the buffer holds `size` bytes; a closed pipe or the wall clock ends it."""
        while len(self._buffer) < size:
            left = self.limits.wall_seconds - self.waited
            if left <= 0:
                self._kill()
                raise SandboxFailure("time", f"{self.limits.wall_seconds:g} s")
            started = time.monotonic()
            ready = self._poller.poll(left * 1000)
            if ready:
                chunk = os.read(self._out, max(size - len(self._buffer), 1 << 20))
            self.waited += time.monotonic() - started
            if not ready:
                continue
            if not chunk:
                raise self._death()
            self._buffer += chunk

    def receive(self) -> Any:
        """The next frame's object (SandboxFailure when the child cannot give it)."""
        return loads(self.receive_raw())

    def receive_raw(self) -> bytes:
        """The next frame's pickled bytes (for a caller that keeps them and unpickles later)."""
        self._fill(_HEADER.size)
        (size,) = _HEADER.unpack_from(self._buffer)
        if size > MAX_FRAME:
            self._kill()
            raise SandboxFailure("crash", "bad frame")
        self._fill(_HEADER.size + size)
        blob = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
        del self._buffer[: _HEADER.size + size]
        return blob

    def _death(self) -> SandboxFailure:
        try:
            code = self.proc.wait(timeout=max(1.0, self.limits.wall_seconds - self.waited))
        except subprocess.TimeoutExpired:
            self._kill()
            return SandboxFailure("time", "closed its output but did not exit")
        self.finished = True
        stderr = self._stderr()
        if code == -signal.SIGXCPU:
            return SandboxFailure("cpu", f"{self.limits.cpu_seconds} s")
        if "MemoryError" in stderr or "memory allocation" in stderr or code == -signal.SIGABRT:
            return SandboxFailure("memory", stderr[-500:])
        return SandboxFailure("crash", f"exit {code}: {stderr[-500:]}")

    def _stderr(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._errors.seek(0)
            return self._errors.read(1 << 16).decode("utf-8", "replace")
        return ""

    def _kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.finished = True

    def close(self) -> None:
        """Stop the child (if it still runs) and release its pipes."""
        self._kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._errors.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not self.finished:
                self.close()


def call(target: str, data: bytes, limits: Limits) -> Any:
    """Run `target(data, send)` contained and return the one object it sends."""
    channel = Channel(target, data, limits)
    try:
        return channel.receive()
    finally:
        channel.close()


# --- the child ---------------------------------------------------------------------------------


def _limit(kind: int, value: int) -> None:
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))


def _child(argv: list[str]) -> None:
    target, fd, memory, cpu = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    # The soft CPU limit sends SIGXCPU (default action: end the process); the hard one, a second
    # later, SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    _limit(resource.RLIMIT_AS, memory)
    with os.fdopen(fd, "rb") as source:
        data = source.read()
    out = sys.stdout.buffer

    def send(obj: Any) -> None:
        blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(blob)))
        out.write(blob)
        out.flush()

    module, _, name = target.partition(":")
    function: Callable[[bytes, Callable[[Any], None]], None] = getattr(
        importlib.import_module(module), name
    )
    function(data, send)


if __name__ == "__main__":
    _child(sys.argv[1:])
