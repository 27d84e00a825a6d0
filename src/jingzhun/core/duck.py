"""DuckDB for bulk work: a connection that can read the project's own database.

The SQLite and PostgreSQL scanners come from PyPI wheels (duckdb-extension-sqlite/-postgres,
locked in uv.lock); nothing is downloaded at run time. DuckDB loads an extension file only under
its canonical name (`sqlite_scanner`, `postgres_scanner`), so the wheel's file is copied once into
the data directory under that name and loaded from there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import connections

__all__ = [
    "attach_database",
    "connect",
    "load_scanner",
    "scanner_path",
    "sqlite_export",
    "sqlite_write",
]

_SCANNERS = {
    "sqlite": ("duckdb_extension_sqlite", "sqlite.duckdb_extension", "sqlite_scanner"),
    "postgresql": ("duckdb_extension_postgres", "postgres.duckdb_extension", "postgres_scanner"),
}


def connect(
    *, memory_limit: str | None = None, threads: int | None = None, database: Path | None = None
) -> Any:
    """A DuckDB connection with the scanners allowed and spill files under var/: in memory, or
    on a new work file `database` (its tables stored compressed, ADR 0044; the caller removes
    the file), which must not exist yet."""
    if database is not None and database.exists():
        raise RuntimeError(f"DuckDB 工作文件已存在：{database}")
    con = duckdb.connect(
        str(database) if database is not None else ":memory:",
        config={"autoinstall_known_extensions": False},
    )
    temp = Path(settings.VAR_DIR) / "duckdb_tmp"
    temp.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{temp.as_posix()}'")
    con.execute("SET preserve_insertion_order = false")
    if database is not None:
        # A work file, removed after use: never worth a checkpoint (nor one on closing).
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("SET checkpoint_threshold = '1TB'")
    limit = memory_limit or getattr(settings, "DUCKDB_MEMORY_LIMIT", "")
    if limit:
        con.execute(f"SET memory_limit = '{limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def load_scanner(con: Any, vendor: str) -> None:
    con.execute(f"LOAD '{scanner_path(vendor).as_posix()}'")


def scanner_path(vendor: str) -> Path:
    """The scanner extension file, copied under its canonical name into the data directory."""
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
    return target


def sqlite_export(
    database: str,
    statements: list[str],
    exports: list[tuple[str, Path]],
    *,
    parquet_options: str = "",
) -> None:
    """Run DuckDB `statements` with the SQLite file attached read-only as `reg` in a child
    process (see duck_child.py for why), then write each (table, Parquet path) out (with
    `parquet_options`, default duck_child.PARQUET_OPTIONS)."""
    _sqlite_child(database, statements, exports, writable=False, parquet_options=parquet_options)


def sqlite_write(database: Path, statements: list[str]) -> None:
    """Run DuckDB `statements` with the SQLite file `database` (created if missing) attached
    writable as `reg`, in a child process: for a staging file that Django's connection then
    ATTACHes, never for Django's own database file."""
    _sqlite_child(str(database), statements, [], writable=True)


def _sqlite_child(
    database: str,
    statements: list[str],
    exports: list[tuple[str, Path]],
    *,
    writable: bool,
    parquet_options: str = "",
) -> None:
    job = {
        "parquet_options": parquet_options,
        "database": _quote(database),
        "writable": writable,
        "extension": _quote(scanner_path("sqlite").as_posix()),
        "temp_directory": _quote((Path(settings.VAR_DIR) / "duckdb_tmp").as_posix()),
        "memory_limit": getattr(settings, "DUCKDB_MEMORY_LIMIT", ""),
        "statements": statements,
        "exports": [(t, _quote(p.as_posix())) for t, p in exports],
    }
    (Path(settings.VAR_DIR) / "duckdb_tmp").mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "jingzhun.core.duck_child"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        action = "写入" if writable else "读取"
        raise RuntimeError(f"{action} SQLite 数据库失败：{proc.stderr.strip()[-2000:]}")


def attach_database(con: Any, alias: str = "reg", using: str = "default") -> str:
    """Attach Django's PostgreSQL database read-only as `alias`; returns the vendor.

    Only committed data is visible: DuckDB reads over its own connection.
    """
    conn = connections[using]
    vendor = conn.vendor
    params = conn.settings_dict
    if vendor == "sqlite":
        # Never in this process (two SQLite libraries on one file lose each other's locks):
        # callers use sqlite_export with sqlite_path() instead.
        raise RuntimeError("SQLite 数据库须通过 sqlite_export 在子进程中读取")
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


def sqlite_path(using: str = "default") -> str | None:
    """The file of Django's SQLite database, or None for PostgreSQL."""
    conn = connections[using]
    if conn.vendor != "sqlite":
        return None
    name = str(conn.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        raise RuntimeError("内存中的 SQLite 数据库无法由 DuckDB 读取")
    return name


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _dsn_value(value: str) -> str:
    value = str(value)
    if not value or any(c in value for c in " '\\"):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return value
