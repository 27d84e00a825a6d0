"""Functions the sandbox tests run in a child process (`core.sandbox`)."""

from __future__ import annotations

import time
from typing import Any


def echo(data: bytes, send: Any) -> None:
    send(("got", data))


def allocate(data: bytes, send: Any) -> None:
    send("started")
    hoard = [bytearray(1 << 20) for _ in range(int(data))]  # MB
    send(len(hoard))


def spin(data: bytes, send: Any) -> None:
    while True:
        pass


def sleep(data: bytes, send: Any) -> None:
    time.sleep(float(data))
    send("woke")


def smuggle(data: bytes, send: Any) -> None:
    import os

    send(os.system)  # a global the parent must refuse to unpickle
