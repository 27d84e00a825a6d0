"""The database file and everything under var/ are private to the application's account (issue 20
item 5): files 0600, directories 0700, whatever the umask of the shell that started it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_new_embedded_database_and_var_are_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jingzhun.settings.embedded",
        "JINGZHUN_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'jingzhun.sqlite3'}",
    }
    env.pop("JINGZHUN_AUDIT_KEY", None)
    env.pop("JINGZHUN_AUDIT_KEY_FILE", None)
    for name in ("FIELD_KEY", "FIELD_KEY_FILE", "INDEX_KEY", "INDEX_KEY_FILE"):
        env.pop(f"JINGZHUN_{name}", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.umask(0o022); from jingzhun.cli import main; main()",
            "migrate",
            "-v",
            "0",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    made = [var, *var.rglob("*")]
    assert (var / "jingzhun.sqlite3").exists() and (var / "secret_key").exists()
    assert (var / "field_keys").exists() and (var / "index_key").exists()  # PII-2 keys
    loose = {
        str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in made
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    }
    assert loose == {}
