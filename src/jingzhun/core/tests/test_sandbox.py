"""core.sandbox: a child process under memory, CPU and wall-clock limits (issue 20, item 2)."""

from __future__ import annotations

import pickle

import pytest

from jingzhun.core import sandbox

TARGETS = "jingzhun.core.tests.sandbox_targets"
SMALL = sandbox.Limits(memory_bytes=512 << 20, cpu_seconds=2, wall_seconds=20)


def test_a_result_comes_back() -> None:
    assert sandbox.call(f"{TARGETS}:echo", b"\x00data", SMALL) == ("got", b"\x00data")


def test_memory_beyond_the_limit_ends_the_child_not_the_caller() -> None:
    channel = sandbox.Channel(f"{TARGETS}:allocate", b"2048", SMALL)
    assert channel.receive() == "started"
    with pytest.raises(sandbox.SandboxFailure) as failure:
        channel.receive()
    assert failure.value.reason == "memory"
    channel.close()


def test_cpu_beyond_the_limit_ends_the_child() -> None:
    limits = sandbox.Limits(memory_bytes=512 << 20, cpu_seconds=1, wall_seconds=60)
    with pytest.raises(sandbox.SandboxFailure) as failure:
        sandbox.call(f"{TARGETS}:spin", b"", limits)
    assert failure.value.reason == "cpu"


def test_waiting_beyond_the_wall_clock_kills_the_child() -> None:
    limits = sandbox.Limits(memory_bytes=512 << 20, cpu_seconds=10, wall_seconds=0.5)
    channel = sandbox.Channel(f"{TARGETS}:sleep", b"30", limits)
    with pytest.raises(sandbox.SandboxFailure) as failure:
        channel.receive()
    assert failure.value.reason == "time"
    assert channel.proc.poll() is not None  # killed, not left running


def test_a_frame_naming_code_is_refused() -> None:
    with pytest.raises(pickle.UnpicklingError):
        sandbox.call(f"{TARGETS}:smuggle", b"", SMALL)
