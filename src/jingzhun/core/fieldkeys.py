"""Where the field-encryption keys come from (PII-2, ADR 0058): outside the database.

Pure Python (the settings import it before Django is set up). Two kinds of key:

- field keys, versioned: one line each, "<version> <algorithm> <hex key>", oldest first; the
  highest version encrypts new values, every listed version still decrypts. From
  JINGZHUN_FIELD_KEY (one such line: the current key) and/or the file JINGZHUN_FIELD_KEY_FILE
  (default var/field_keys).
- the blind-index key (HMAC for exact search and uniqueness): one hex line, from
  JINGZHUN_INDEX_KEY or the file JINGZHUN_INDEX_KEY_FILE (default var/index_key).

An embedded or demo install without either gets files created 0600 with random keys on first
start (as the audit key); production settings refuse to start unless they are configured.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SM4_GCM = "sm4-gcm"
AES_256_GCM = "aes-256-gcm"
KEY_BYTES = {SM4_GCM: 16, AES_256_GCM: 32}


def sm4_available() -> bool:
    """Whether the OpenSSL under `cryptography` offers SM4-GCM (it is optional in builds)."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        encryptor = Cipher(algorithms.SM4(bytes(16)), modes.GCM(bytes(12))).encryptor()
        encryptor.update(b"x")
        encryptor.finalize()
    except Exception:  # UnsupportedAlgorithm, or an old cryptography without SM4
        return False
    return True


def default_algorithm() -> str:
    return SM4_GCM if sm4_available() else AES_256_GCM


def new_field_key_line(version: int, algorithm: str | None = None) -> str:
    algorithm = algorithm or default_algorithm()
    return f"{version} {algorithm} {secrets.token_hex(KEY_BYTES[algorithm])}"


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [s for s in (line.strip() for line in path.read_text().splitlines()) if s]


def _create_once(path: Path, text: str) -> None:
    """Write `text` to `path` unless it exists: 0600, linked into place so that processes
    starting together all read the same file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(text)
    draft.chmod(0o600)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def field_key_file(var_dir: Path) -> Path:
    return Path(os.environ.get("JINGZHUN_FIELD_KEY_FILE", var_dir / "field_keys"))


def index_key_file(var_dir: Path) -> Path:
    return Path(os.environ.get("JINGZHUN_INDEX_KEY_FILE", var_dir / "index_key"))


def configured() -> bool:
    """True when the deployment names its keys (environment or key files)."""
    return any(
        os.environ.get(name, "").strip()
        for name in (
            "JINGZHUN_FIELD_KEY",
            "JINGZHUN_FIELD_KEY_FILE",
        )
    ) and any(
        os.environ.get(name, "").strip()
        for name in ("JINGZHUN_INDEX_KEY", "JINGZHUN_INDEX_KEY_FILE")
    )


def load_field_keys(var_dir: Path, *, create: bool = True) -> list[str]:
    """The field keys' lines, oldest first (see the module docstring)."""
    path = field_key_file(var_dir)
    lines = _lines(path)
    current = os.environ.get("JINGZHUN_FIELD_KEY", "").strip()
    if current:
        return [line for line in lines if line != current] + [current]
    if not lines and create and "JINGZHUN_FIELD_KEY_FILE" not in os.environ:
        _create_once(path, new_field_key_line(1) + "\n")
        lines = _lines(path)
    return lines


def load_index_key(var_dir: Path, *, create: bool = True) -> str:
    """The blind-index key (hex), "" when none is configured."""
    current = os.environ.get("JINGZHUN_INDEX_KEY", "").strip()
    if current:
        return current
    path = index_key_file(var_dir)
    lines = _lines(path)
    if not lines and create and "JINGZHUN_INDEX_KEY_FILE" not in os.environ:
        _create_once(path, secrets.token_hex(32) + "\n")
        lines = _lines(path)
    return lines[-1] if lines else ""
