"""Backup and restore (BAK-1, ADR 0046): a consistent snapshot of the database (SQLite's online
backup API, or `pg_dump -Fc` inside an exported repeatable-read snapshot), the data files under
VAR_DIR, and a manifest of hashes and row counts, packed and encrypted (`archive`).

Data files are the uploaded evidence (`evidence/`), the assessment runs' input snapshots
(`snapshots/`) and the audit archives (`audit-archive/`): rows in the database name them. They
are copied after the database snapshot; they are written before the rows that name them and never
rewritten, so every file the snapshot names is in the backup. Everything else under VAR_DIR is a
cache or transient work (DuckDB temporaries and extensions, collected static files, web import
uploads in progress) or a secret kept apart (`secret_key`).

`restore_backup` restores into the configured database, which must be empty; `verify_backup`
restores into a scratch database (a temporary SQLite file; a PostgreSQL database created and
dropped) and checks it. Both compare the table row counts with the manifest and check the audit
hash chain (`jingzhun audit verify`, run against the scratch database in a child process).
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from jingzhun import __version__
from jingzhun.audit.actions import record_now, verify_chain

from .archive import MANIFEST, BackupError, Key, decrypt, file_entry, pack, sha256_of, unpack

DATA_DIRS: Final = ("evidence", "snapshots", "audit-archive")
SQLITE_NAME: Final = "database/jingzhun.sqlite3"
PG_NAME: Final = "database/jingzhun.pgdump"

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


@dataclass(frozen=True)
class Outcome:
    manifest: dict[str, Any]
    problems: list[str]


# --- the database: kind, connection details, counts --------------------------------------------


def _kind(db: dict[str, Any]) -> str:
    engine = str(db["ENGINE"])
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise BackupError(f"不支持备份该数据库：{engine}")


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_conninfo(db: dict[str, Any], name: str) -> str:
    parts = {"dbname": name, "host": db.get("HOST"), "port": db.get("PORT"), "user": db.get("USER")}
    parts["password"] = db.get("PASSWORD")
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


def _pg_url(db: dict[str, Any], name: str) -> str:
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{quote(name, safe='')}"


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}


def _pg_counts(cursor: Any) -> dict[str, int]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    names = [r[0] for r in cursor.fetchall()]
    counts = {}
    for name in names:
        cursor.execute(f'SELECT COUNT(*) FROM "{name}"')
        counts[name] = cursor.fetchone()[0]
    return counts


def _pg_tool(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BackupError(f"找不到 {tool}：请安装 PostgreSQL 客户端（postgresql-client）。")
    return path


def _check_pg_dump(server_version: int) -> None:
    out = subprocess.run(  # noqa: S603 - the pg_dump found on PATH, fixed arguments
        [_pg_tool("pg_dump"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    major = int(out.split()[-1].split(".")[0])
    if major < server_version // 10000:
        raise BackupError(
            f"pg_dump 版本（{major}）低于数据库服务器（{server_version // 10000}），"
            "请安装不低于服务器版本的 PostgreSQL 客户端。"
        )


def _run(args: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} 失败：{done.stderr.strip()[-500:]}")


# --- create ---------------------------------------------------------------------------------


def _dump(work: Path, say: Progress) -> tuple[Path, str, dict[str, int], dict[str, Any]]:
    """A consistent copy of the database in `work`, with the row counts of that copy."""
    db = connection.settings_dict
    kind = _kind(db)
    connection.ensure_connection()
    if kind == "sqlite":
        target = work / "jingzhun.sqlite3"
        say("复制数据库（SQLite 在线备份）")
        dest = sqlite3.connect(target)
        try:
            connection.connection.backup(dest, pages=4096)
        finally:
            dest.close()
        return target, SQLITE_NAME, _sqlite_counts(target), {"sqlite": sqlite3.sqlite_version}
    import psycopg

    target = work / "jingzhun.pgdump"
    with psycopg.connect(_pg_conninfo(db, str(db["NAME"]))) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]  # type: ignore[index]
            server = conn.info.server_version
            _check_pg_dump(server)
            say("导出数据库（pg_dump，与计数同一快照）")
            counts = _pg_counts(cursor)
            _run(
                [
                    _pg_tool("pg_dump"),
                    "-Fc",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(target),
                    str(db["NAME"]),
                ],
                _pg_env(db),
            )
        conn.rollback()
    return target, PG_NAME, counts, {"postgresql": server}


def _data_files() -> list[tuple[Path, str]]:
    var = Path(settings.VAR_DIR)
    found = []
    for folder in DATA_DIRS:
        root = var / folder
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.name.endswith(".part"):
                    found.append((path, f"files/{path.relative_to(var).as_posix()}"))
    return found


def _migrations() -> list[list[str]]:
    rows = MigrationRecorder(connection).migration_qs.order_by("app", "name")
    return [[app, name] for app, name in rows.values_list("app", "name")]


def create_backup(output: Path, key: Key, *, say: Progress = _quiet) -> dict[str, Any]:
    """Write the encrypted backup to `output` (0600, moved into place when complete); audited."""
    if not output.parent.is_dir():
        raise BackupError(f"输出目录不存在：{output.parent}")
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output.parent) as tmp:
        work = Path(tmp)
        database, name, counts, server = _dump(work, say)
        files = [(database, name), *_data_files()]
        say(f"计算 {len(files)} 个文件的 SHA-256")
        kind = _kind(connection.settings_dict)
        manifest: dict[str, Any] = {
            "format": 1,
            "app_version": __version__,
            "created_at": timezone.now().isoformat(),
            "database": {"kind": kind, "file": name, **server},
            "migrations": _migrations(),
            "tables": counts,
            "files": [file_entry(path, arcname) for path, arcname in files],
        }
        partial = work / "backup.part"
        say("打包并加密（AES-256-GCM）")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            pack(out, key, json.dumps(manifest, ensure_ascii=False, indent=1).encode(), files)
        digest, size = sha256_of(partial), partial.stat().st_size
        os.replace(partial, output)
    record_now(
        "backup.create",
        actor=None,
        object_type="backup",
        object_id=output.name,
        diff={
            "sha256": digest,
            "bytes": size,
            "rows": sum(counts.values()),
            "files": len(files) - 1,
            "database": kind,
        },
    )
    return {**manifest, "sha256": digest, "bytes": size}


# --- read back ------------------------------------------------------------------------------


def _open(path: Path, key: Key, work: Path, say: Progress) -> dict[str, Any]:
    """Decrypt (the tag is checked before anything is used), extract, check every file's hash."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件：{path}")
    plain = work / "plain.tar.gz"
    say("解密并校验（AES-256-GCM）")
    fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        decrypt(path, key, out)
    root = work / "content"
    unpack(plain, root)
    plain.unlink()
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError("备份中缺少清单（manifest.json）或清单无法读取。") from exc
    say(f"核对 {len(manifest['files'])} 个文件的 SHA-256")
    for entry in manifest["files"]:
        member = root / entry["path"]
        if not member.is_file() or sha256_of(member) != entry["sha256"]:
            raise BackupError(f"备份中的文件 {entry['path']} 缺失或与清单的哈希不符。")
    return {**manifest, "_root": str(root)}


def _count_problems(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(found)):
        if expected.get(table) != found.get(table):
            problems.append(
                f"表 {table} 的行数不符：清单 {expected.get(table, '无此表')}，"
                f"恢复后 {found.get(table, '无此表')}。"
            )
    return problems


def _chain_problem(url: str) -> str | None:
    """`jingzhun audit verify` against another database, in a child process."""
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "jingzhun.cli", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode == 0:
        return None
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "审计哈希链校验失败。"


@contextmanager
def pg_scratch_database(db: dict[str, Any]) -> Any:
    """A scratch PostgreSQL database on the same server, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"jz_verify_{secrets.token_hex(6)}"
    with psycopg.connect(_pg_conninfo(db, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(_pg_conninfo(db, "postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _pg_restore(db: dict[str, Any], name: str, dump: Path) -> None:
    _run(
        [
            _pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            name,
            str(dump),
        ],
        _pg_env(db),
    )


def _pg_counts_of(db: dict[str, Any], name: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(_pg_conninfo(db, name)) as conn, conn.cursor() as cursor:
        return _pg_counts(cursor)


def verify_backup(path: Path, key: Key, *, say: Progress = _quiet) -> Outcome:
    """Restore into a scratch database and check counts, hashes and the audit chain."""
    db = connection.settings_dict
    with tempfile.TemporaryDirectory(prefix="jingzhun-verify-") as tmp:
        manifest = _open(path, key, Path(tmp), say)
        root = Path(manifest.pop("_root"))
        dump = root / manifest["database"]["file"]
        kind = manifest["database"]["kind"]
        if kind == "sqlite":
            say("在临时数据库中核对行数和审计哈希链")
            problems = _count_problems(manifest["tables"], _sqlite_counts(dump))
            chain = _chain_problem(f"sqlite:///{dump}")
        else:
            if _kind(db) != "postgresql":
                raise BackupError("该备份来自 PostgreSQL，须在配置了 PostgreSQL 的环境中核对。")
            with pg_scratch_database(db) as name:
                say(f"恢复到临时数据库 {name}")
                _pg_restore(db, name, dump)
                say("核对行数和审计哈希链")
                problems = _count_problems(manifest["tables"], _pg_counts_of(db, name))
                chain = _chain_problem(_pg_url(db, name))
        if chain:
            problems.append(chain)
    if "audit_auditevent" not in connection.introspection.table_names():
        return Outcome(manifest, problems)  # checked on an empty database (before a restore)
    record_now(
        "backup.verify",
        actor=None,
        object_type="backup",
        object_id=path.name,
        outcome="success" if not problems else "failed",
        reason="；".join(problems)[:500],
        diff={"sha256": sha256_of(path), "created_at": manifest["created_at"]},
    )
    return Outcome(manifest, problems)


# --- restore --------------------------------------------------------------------------------


def _is_empty() -> bool:
    return connection.introspection.table_names() == []


def restore_backup(path: Path, key: Key, *, say: Progress = _quiet) -> Outcome:
    """Restore into the configured database, which must be empty; then the data files; then
    check counts and the audit chain, and record the restore in the restored audit log."""
    db = connection.settings_dict
    with tempfile.TemporaryDirectory(prefix="jingzhun-restore-") as tmp:
        manifest = _open(path, key, Path(tmp), say)
        root = Path(manifest.pop("_root"))
        kind = manifest["database"]["kind"]
        if kind != _kind(db):
            raise BackupError(
                f"该备份的数据库是 {kind}，当前配置的是 {_kind(db)}：请配置同类数据库再恢复。"
            )
        if not _is_empty():
            raise BackupError(
                "目标数据库不是空的：恢复只能写入空数据库（新建数据库，不要先执行 migrate）。"
            )
        dump = root / manifest["database"]["file"]
        say("恢复数据库")
        if kind == "sqlite":
            connection.close()
            source, dest = sqlite3.connect(dump), sqlite3.connect(str(db["NAME"]))
            try:
                source.backup(dest, pages=4096)
            finally:
                source.close()
                dest.close()
        else:
            connection.close()
            _pg_restore(db, str(db["NAME"]), dump)
        say("恢复数据文件")
        var = Path(settings.VAR_DIR)
        for entry in manifest["files"]:
            if entry["path"].startswith("files/"):
                dest_path = var / entry["path"].removeprefix("files/")
                dest_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.copyfile(root / entry["path"], dest_path)
                dest_path.chmod(0o600)
    say("核对行数和审计哈希链")
    found = _sqlite_counts(Path(db["NAME"])) if kind == "sqlite" else _pg_counts_of(db, db["NAME"])
    problems = _count_problems(manifest["tables"], found)
    broken = verify_chain()
    if broken is not None:
        problems.append(f"审计哈希链在事件 #{broken} 处断开。")
    if _migrations() != manifest["migrations"]:
        say("提示：备份的数据库迁移与当前版本不同，请执行 jingzhun migrate。")
    record_now(
        "backup.restore",
        actor=None,
        object_type="backup",
        object_id=path.name,
        outcome="success" if not problems else "failed",
        reason="；".join(problems)[:500],
        diff={
            "sha256": sha256_of(path),
            "created_at": manifest["created_at"],
            "restored_at": datetime.datetime.now(datetime.UTC).isoformat(),
        },
    )
    return Outcome(manifest, problems)
