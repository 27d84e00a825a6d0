"""Key rotation of the encrypted fields (PII-2, ADR 0058): `jingzhun keys status|rotate|
reencrypt|rotate-index`.

rotate: a new field key version is appended to the key file and made current, then every stored
value not under it is decrypted and encrypted again, in batches, in one transaction (all or
nothing), audited. Afterwards no row needs an older key: its line can be removed from the file
(keep it while a backup that needs it is kept). rotate-index: a new blind-index key; every
index is recomputed in one transaction; the new key replaces the file after the commit.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from jingzhun.audit.actions import record
from jingzhun.core import fieldcrypt, fieldkeys
from jingzhun.core.errors import DomainError

Progress = Callable[[str, int, int], None]


def _check_file_keys(name: str) -> None:
    if os.environ.get(name, "").strip():
        raise DomainError(
            f"密钥由环境变量 {name} 提供：请在部署配置中设置新密钥（旧密钥行移入密钥文件），"
            "再运行 jingzhun keys reencrypt（盲索引密钥：rotate-index 只用于密钥文件）。"
        )


def key_versions() -> dict[str, dict[int, int]]:
    """Stored values per table.column and key version (for `keys status`)."""
    out: dict[str, dict[int, int]] = {}
    quote = connection.ops.quote_name
    for model in fieldcrypt.sealed_models():
        table = model._meta.db_table
        for field in fieldcrypt.encrypted_fields(model):
            counts: dict[int, int] = {}
            column = quote(str(field.column))
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {column} FROM {quote(table)} WHERE {column} <> ''")
                for (token,) in cursor.fetchall():
                    version = fieldcrypt.token_version(token)
                    counts[version] = counts.get(version, 0) + 1
            out[f"{table}.{field.column}"] = counts
    return out


def _reencrypt(event: str, version: int, progress: Progress | None) -> dict[str, int]:
    with transaction.atomic():
        counts = fieldcrypt.reseal_all(progress=progress)
        record(
            event,
            actor=None,
            object_type="field_key",
            object_id=version,
            diff={"version": version, "reencrypted": counts},
        )
    return counts


def do_rotate_field_key(progress: Progress | None = None) -> tuple[int, dict[str, int]]:
    """A new current field key (appended to the key file), then every value re-encrypted."""
    _check_file_keys("JINGZHUN_FIELD_KEY")
    path = fieldkeys.field_key_file(Path(settings.VAR_DIR))
    version = fieldcrypt.keyring().current.version + 1
    with path.open("a") as fh:  # the file is 0600 (umask 077 and its creation)
        fh.write(fieldkeys.new_field_key_line(version) + "\n")
    settings.JINGZHUN_FIELD_KEYS = fieldkeys.load_field_keys(Path(settings.VAR_DIR), create=False)
    return version, _reencrypt("registry.keys.rotate", version, progress)


def do_reencrypt_fields(progress: Progress | None = None) -> tuple[int, dict[str, int]]:
    """Every value not under the current key encrypted again (after a key set by hand)."""
    version = fieldcrypt.keyring().current.version
    return version, _reencrypt("registry.keys.reencrypt", version, progress)


def do_rotate_index_key(progress: Progress | None = None) -> int:
    """A new blind-index key: every index recomputed in one transaction; the key file is
    replaced after the commit. Returns the number of rows recomputed."""
    _check_file_keys("JINGZHUN_INDEX_KEY")
    path = fieldkeys.index_key_file(Path(settings.VAR_DIR))
    old = settings.JINGZHUN_INDEX_KEY
    draft = path.with_name(f"{path.name}.new")
    draft.write_text(secrets.token_hex(32) + "\n")
    draft.chmod(0o600)
    settings.JINGZHUN_INDEX_KEY = draft.read_text().strip()
    models_ = [m for m in fieldcrypt.sealed_models() if fieldcrypt.index_fields(m)]
    rows = 0

    def count(table: str, done: int, total: int) -> None:
        nonlocal rows
        rows = max(rows, done)
        if progress:
            progress(table, done, total)

    try:
        with transaction.atomic():
            fieldcrypt.reseal_all(models_, indexes=True, progress=count)
            record(
                "registry.keys.rotate_index",
                actor=None,
                object_type="index_key",
                diff={"rows": rows},
            )
    except BaseException:
        settings.JINGZHUN_INDEX_KEY = old
        draft.unlink(missing_ok=True)
        raise
    os.replace(draft, path)
    return rows


def summary(counts: dict[str, Any]) -> str:
    return "，".join(f"{k} {v} 个" for k, v in counts.items()) or "无"
