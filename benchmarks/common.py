"""Shared helpers for the benchmarks: machine facts, child runs with their peak RSS, fresh
databases, and appending results to docs/benchmarks.md."""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PG_ADMIN_URL = os.environ.get("JZ_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DOC_HEADER = """# Benchmark results

Figures measured by the scripts in `benchmarks/` (see shared/benchmarks.md for the rules: the
project's path against a comparator in the same run, median of at least 3 runs after a warm-up,
peak RSS of the measured process). Newest results are appended at the end of each section.
"""


def machine() -> dict[str, str]:
    """Date, commit, cores, memory and library versions, for the results header."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    versions = []
    for package in ("django", "numpy", "psycopg", "psycopg-binary"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    import sqlite3

    versions.append(f"SQLite {sqlite3.sqlite_version}")
    pg = postgres_version()
    if pg:
        versions.append(pg)
    return {
        "date": datetime.date.today().isoformat(),  # noqa: DTZ011 -- the machine's log date
        "commit": commit,
        "nproc": str(os.cpu_count() or 0),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "python": sys.version.split()[0],
        "versions": ", ".join(versions),
    }


def postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0].split()[0]}" if row else ""
    except Exception:
        return ""


def fresh_postgres(name: str) -> str:
    """Drop and create database `name`; returns its URL."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class ChildRun:
    result: dict[str, Any]
    peak_rss_mib: float


def run_child(args: list[str], env: dict[str, str] | None = None) -> ChildRun:
    """Run `python <args>` in a child process; its last stdout line is a JSON result. The peak RSS
    is that child's own (os.wait4), not the maximum over all children."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed ({proc.returncode}):\n{output[-3000:]}")
    last = [line for line in output.splitlines() if line.startswith("{")][-1]
    return ChildRun(json.loads(last), usage.ru_maxrss / 1024)


def median(values: list[float]) -> float:
    return statistics.median(values)


def append_section(title: str, body: str) -> None:
    """Append `body` under `## title` in docs/benchmarks.md (the section is created if missing)."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else DOC_HEADER
    heading = f"## {title}"
    if heading not in text:
        text = text.rstrip("\n") + f"\n\n{heading}\n"
    start = text.index(heading)
    nxt = text.find("\n## ", start + len(heading))
    end = len(text) if nxt == -1 else nxt
    section = text[start:end].rstrip("\n") + "\n\n" + body.strip("\n") + "\n"
    text = text[:start] + section + ("\n" + text[end:].lstrip("\n") if nxt != -1 else "")
    DOC.write_text(text)
