"""Lint, types, layering and migrations run as tests, so the README's one command checks them all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The checks do not touch a database: .ci/run runs them once, in its SQLite pass (`-m checks` alone).
pytestmark = pytest.mark.checks


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jingzhun.settings.test"}
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False
    )


def tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is not installed in the environment (uv sync installs it)")
    return path


def test_ruff_lint_is_clean() -> None:
    result = run(tool("ruff"), "check", "src", "tests", "benchmarks", "conftest.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_layering_contracts_hold() -> None:
    result = run(tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_migrations_match_the_models() -> None:
    result = run(sys.executable, "-m", "django", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_check() -> None:
    result = run(tool("mypy"))
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
