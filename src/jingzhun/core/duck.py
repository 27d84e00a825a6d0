"""DuckDB for bulk work: a connection that can read the project's own database.

The SQLite and PostgreSQL scanners come from PyPI wheels (duckdb-extension-sqlite/-postgres,
locked in uv.lock); nothing is downloaded at run time. DuckDB loads an extension file only under
its canonical name (`sqlite_scanner`, `postgres_scanner`), so the wheel's file is copied once into
the data directory under that name and loaded from there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import connections

__all__ = ["attach_database", "connect", "load_scanner"]

_SCANNERS = {
    "sqlite": ("duckdb_extension_sqlite", "sqlite.duckdb_extension", "sqlite_scanner"),
    "postgresql": ("duckdb_extension_postgres", "postgres.duckdb_extension", "postgres_scanner"),
}


def connect(*, memory_limit: str | None = None, threads: int | None = None) -> Any:
    """An in-memory DuckDB connection with the scanners allowed and spill files under var/."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    temp = Path(settings.VAR_DIR) / "duckdb_tmp"
    temp.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{temp.as_posix()}'")
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def load_scanner(con: Any, vendor: str) -> None:
    package, filename, canonical = _SCANNERS[vendor]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"缺少 DuckDB 扩展包 {package}（uv sync 安装）")
    version = duckdb.__version__
    source = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{version}"
    source /= filename
    target_dir = Path(settings.VAR_DIR) / "duckdb_extensions" / f"v{version}"
    target = target_dir / f"{canonical}.duckdb_extension"
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    con.execute(f"LOAD '{target.as_posix()}'")


def attach_database(con: Any, alias: str = "reg", using: str = "default") -> str:
    """Attach Django's database read-only as `alias`; returns the vendor (sqlite / postgresql).

    Only committed data is visible: DuckDB reads over its own connection.
    """
    conn = connections[using]
    vendor = conn.vendor
    params = conn.settings_dict
    if vendor == "sqlite":
        name = str(params["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("内存中的 SQLite 数据库无法由 DuckDB 读取")
        load_scanner(con, "sqlite")
        con.execute(f"ATTACH '{_quote(name)}' AS {alias} (TYPE sqlite, READ_ONLY)")
    elif vendor == "postgresql":
        parts = {
            "dbname": params["NAME"],
            "host": params.get("HOST") or "",
            "port": str(params.get("PORT") or ""),
            "user": params.get("USER") or "",
            "password": params.get("PASSWORD") or "",
        }
        dsn = " ".join(f"{k}={_dsn_value(v)}" for k, v in parts.items() if v)
        load_scanner(con, "postgresql")
        con.execute(f"ATTACH '{_quote(dsn)}' AS {alias} (TYPE postgres, READ_ONLY)")
    else:  # pragma: no cover - settings allow only these two
        raise RuntimeError(f"不支持的数据库 {vendor}")
    return vendor


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _dsn_value(value: str) -> str:
    value = str(value)
    if not value or any(c in value for c in " '\\"):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return value
