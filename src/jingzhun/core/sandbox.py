"""Parsing untrusted files in a child process under memory, CPU and wall-clock limits (ADR 0051).

A parser fed a hostile file may ask for more memory than the machine has (python-calamine
aborts the whole process when an allocation fails), loop for ever, or recurse until the stack
overflows. Whatever process called it (the web server, a job worker, a command) must survive
that, so the parse runs in a fresh interpreter:

    python -m jingzhun.core.sandbox MODULE:FUNCTION IN_FD SPOOL_FD MEMORY CPU_SECONDS OUTPUT

The child sets RLIMIT_AS, RLIMIT_CPU and RLIMIT_FSIZE on itself before it reads a byte, reads
the file from the inherited descriptor IN_FD (an unlinked temporary file) and calls
FUNCTION(data, send). Each `send(obj, tag, memo=True)` appends one frame to the spool (another unlinked
temporary file): 12 bytes of length and tag, then `obj` pickled; then a byte on stdout says so.
The child never waits for the parent, and ends (freeing its memory) when it is done. The parent
reads frames as it needs them (`Channel.next_frame`, `load`), so a long result streams while
the parent works on what came before; the time the parent spends *waiting* for the child is
bounded (a slow consumer is not charged to the child). A child that dies, exceeds a limit or
sends garbage becomes `SandboxFailure`, with the reason; the caller words it for its users.

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

_HEADER: Final = struct.Struct("<QI")  # frame size, tag
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

    @classmethod
    def of(cls, limits: dict[str, Any]) -> Limits:
        """From settings.IMPORT_LIMITS (memory_mb, cpu_seconds, wall_seconds)."""
        return cls(limits["memory_mb"] << 20, limits["cpu_seconds"], limits["wall_seconds"])


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
    """The parent's end of one running child: `receive()` the frames in order, then `close()`.

    The child writes its frames to a spool file (it never waits for the parent to read) and a
    byte on its stdout after each; the parent reads a frame from the spool once it is whole, and
    can read a kept frame again (`load`) for as long as the channel lives."""

    def __init__(self, target: str, data: bytes, limits: Limits) -> None:
        self.limits = limits
        self.waited = 0.0
        self.finished = False
        self.offset = 0  # where the next frame starts in the spool
        self._exited = False
        # stderr goes to a file: a child writing much there never blocks on a full pipe.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the channel
        # what the child may write: the rows of a file are rarely more than twice its cells'
        # memory or four times its size
        output = max(2 * limits.memory_bytes, 4 * len(data))
        with tempfile.TemporaryFile() as source:
            source.write(data)
            source.flush()
            source.seek(0)
            fds = (source.fileno(), self._spool.fileno())
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "jingzhun.core.sandbox",
                    target,
                    *map(str, fds),
                    str(limits.memory_bytes),
                    str(limits.cpu_seconds),
                    str(output),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                pass_fds=fds,
                close_fds=True,
            )
        assert self.proc.stdout is not None
        self._signal = self.proc.stdout.fileno()
        self._poller = select.poll()  # not select(): a busy server's descriptors pass 1024
        self._poller.register(self._signal, select.POLLIN | select.POLLHUP)

    def _read(self, offset: int, size: int) -> bytes | None:
        blob = os.pread(self._spool.fileno(), size, offset)
        return blob if len(blob) == size else None

    def _wait(self) -> None:
        """Wait for the child's next frame or its end; the wall clock bounds all waiting."""
        if self._exited:
            raise self._death()
        left = self.limits.wall_seconds - self.waited
        if left <= 0:
            self._kill()
            raise SandboxFailure("time", f"{self.limits.wall_seconds:g} s")
        started = time.monotonic()
        if self._poller.poll(left * 1000) and not os.read(self._signal, 1 << 16):
            self._exited = True  # every frame it wrote is in the spool: look once more
        self.waited += time.monotonic() - started

    def next_frame(self) -> tuple[int, int, int]:
        """(tag, offset, size) of the next frame, without unpickling it (`load` does)."""
        while True:
            head = self._read(self.offset, _HEADER.size)
            if head is not None:
                size, tag = _HEADER.unpack(head)
                if size > MAX_FRAME:
                    self._kill()
                    raise SandboxFailure("crash", "bad frame")
                start = self.offset + _HEADER.size
                if size == 0 or self._read(start + size - 1, 1) is not None:
                    self.offset = start + size
                    return tag, start, size
            self._wait()

    def load(self, offset: int, size: int) -> Any:
        """The object of a frame received before (restricted unpickling)."""
        blob = self._read(offset, size)
        if blob is None:
            raise SandboxFailure("crash", "frame gone")
        return loads(blob)

    def receive(self) -> Any:
        """The next frame's object (SandboxFailure when the child cannot give it)."""
        _tag, offset, size = self.next_frame()
        return self.load(offset, size)

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
        if (
            "MemoryError" in stderr
            or "memory allocation" in stderr
            or code in (-signal.SIGABRT, -signal.SIGXFSZ)
        ):
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
        """Stop the child (if it still runs); the frames received stay readable (`load`)."""
        self._kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._errors.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not self.finished:
                self.close()
            self._spool.close()


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
    target, source, spool = argv[0], int(argv[1]), int(argv[2])
    memory, cpu, output = int(argv[3]), int(argv[4]), int(argv[5])
    # The soft CPU limit sends SIGXCPU (default action: end the process); the hard one, a second
    # later, SIGKILL. Writing beyond RLIMIT_FSIZE sends SIGXFSZ (the same).
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_FSIZE, output)
    with os.fdopen(source, "rb") as f:
        data = f.read()
    frames = os.fdopen(spool, "wb", buffering=0)
    signal_out = sys.stdout.buffer

    def send(obj: Any, tag: int = 0, *, memo: bool = True) -> None:
        # memo=False ("fast" mode, no memo): for frames of distinct plain values with no
        # cycles (a CSV's text cells), where remembering each of a million cells costs more
        # than pickling them (four fifths of the child's pickling time on a 30,000-person CSV).
        # Keep it for anything holding dates: their class would be written, and looked up by
        # the parent's restricted unpickler, once per cell instead of once per frame.
        if memo:
            blob: Any = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            buffer = io.BytesIO()
            pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.fast = True
            pickler.dump(obj)
            blob = buffer.getbuffer()
        for part in (_HEADER.pack(len(blob), tag), blob):
            view = memoryview(part)
            while view:
                view = view[frames.write(view) :]
        signal_out.write(b".")
        signal_out.flush()

    module, _, name = target.partition(":")
    function: Callable[..., None] = getattr(importlib.import_module(module), name)
    function(data, send)


if __name__ == "__main__":
    _child(sys.argv[1:])
