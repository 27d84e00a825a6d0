"""The backup artefact (BAK-1, ADR 0046): a gzip tar of the database dump, the data files and a
manifest, encrypted with AES-256-GCM. Pure Python (no Django).

Layout: a fixed header (magic, format version, key kind, salt, scrypt cost, nonce), the
ciphertext, the 16-byte GCM tag. The header is authenticated as associated data, so a flipped
byte anywhere fails decryption. The key comes from a passphrase (scrypt, n=2^15, r=8, p=1) or
from a key file kept outside the database (HKDF-SHA256 over its bytes, at least 32 of them).

Encryption streams (a county's database does not fit in memory twice); decryption writes the
plaintext to a private temporary file that is used only after the tag has been checked.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import struct
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC: Final = b"JZBACKUP"
FORMAT: Final = 1
PASSPHRASE, KEY_FILE = 1, 2
HEADER: Final = struct.Struct(
    ">8sBB16sBBB12s"
)  # magic, format, key kind, salt, n log2, r, p, nonce
TAG_SIZE: Final = 16
CHUNK: Final = 1 << 20
SCRYPT_COST: Final = (15, 8, 1)
MIN_PASSPHRASE: Final = 12
MANIFEST: Final = "manifest.json"


class BackupError(Exception):
    """A refused or failed backup, restore or check; `message` is a Chinese sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Key:
    """The secret a backup is encrypted with: a passphrase, or the bytes of a key file."""

    kind: int
    secret: bytes

    @classmethod
    def passphrase(cls, text: str) -> Key:
        if len(text) < MIN_PASSPHRASE:
            raise BackupError(f"备份口令至少 {MIN_PASSPHRASE} 个字符。")
        return cls(PASSPHRASE, text.encode("utf-8"))

    @classmethod
    def from_file(cls, path: Path) -> Key:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BackupError(f"无法读取密钥文件 {path}：{exc.strerror}") from exc
        if len(data.strip()) < 32:
            raise BackupError(f"密钥文件 {path} 太短（至少 32 字节随机数据）。")
        return cls(KEY_FILE, data.strip())

    def derive(self, salt: bytes, cost: tuple[int, int, int]) -> bytes:
        if self.kind == PASSPHRASE:
            n_log2, r, p = cost
            return Scrypt(salt=salt, length=32, n=2**n_log2, r=r, p=p).derive(self.secret)
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"jingzhun backup")
        return hkdf.derive(self.secret)


class EncryptingWriter(io.RawIOBase):
    """A write-only stream: the header first, then ciphertext; close() appends the tag."""

    def __init__(self, out: IO[bytes], key: Key) -> None:
        salt, nonce = os.urandom(16), os.urandom(12)
        header = HEADER.pack(MAGIC, FORMAT, key.kind, salt, *SCRYPT_COST, nonce)
        cipher = Cipher(algorithms.AES(key.derive(salt, SCRYPT_COST)), modes.GCM(nonce))
        self._enc = cipher.encryptor()
        self._enc.authenticate_additional_data(header)
        self._out = out
        out.write(header)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._out.write(self._enc.update(bytes(data)))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._out.write(self._enc.finalize())
            self._out.write(self._enc.tag)
        super().close()


def decrypt(path: Path, key: Key, out: IO[bytes]) -> None:
    """Decrypt the artefact into `out`; BackupError when it is damaged, altered or the key wrong."""
    size = path.stat().st_size
    if size < HEADER.size + TAG_SIZE:
        raise BackupError(f"{path} 不是精准的备份文件（文件太短）。")
    with path.open("rb") as f:
        header = f.read(HEADER.size)
        magic, fmt, kind, salt, n_log2, r, p, nonce = HEADER.unpack(header)
        if magic != MAGIC:
            raise BackupError(f"{path} 不是精准的备份文件。")
        if fmt != FORMAT or kind not in (PASSPHRASE, KEY_FILE) or n_log2 > 20:
            raise BackupError(f"{path} 的格式版本或参数不受支持，文件可能已损坏。")
        if kind != key.kind:
            need = "口令" if kind == PASSPHRASE else "密钥文件"
            raise BackupError(f"该备份是用{need}加密的，请提供{need}。")
        f.seek(size - TAG_SIZE)
        tag = f.read(TAG_SIZE)
        f.seek(HEADER.size)
        cipher = Cipher(algorithms.AES(key.derive(salt, (n_log2, r, p))), modes.GCM(nonce, tag))
        dec = cipher.decryptor()
        dec.authenticate_additional_data(header)
        left = size - HEADER.size - TAG_SIZE
        while left:
            chunk = f.read(min(CHUNK, left))
            left -= len(chunk)
            out.write(dec.update(chunk))
        try:
            out.write(dec.finalize())
        except InvalidTag as exc:
            raise BackupError("备份文件校验失败：文件已损坏或被篡改，或口令、密钥不正确。") from exc


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(path: Path, name: str) -> dict[str, Any]:
    return {"path": name, "size": path.stat().st_size, "sha256": sha256_of(path)}


def pack(
    out: IO[bytes],
    key: Key,
    manifest: bytes,
    files: list[tuple[Path, str]],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the encrypted artefact: the manifest first, then each (source, name in archive)."""
    writer = EncryptingWriter(out, key)
    zipped = gzip.GzipFile(fileobj=writer, mode="wb", compresslevel=6, mtime=0)
    with tarfile.open(fileobj=zipped, mode="w|") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(manifest), 0o600
        tar.addfile(info, io.BytesIO(manifest))
        for source, name in files:
            info = tar.gettarinfo(str(source), arcname=name)
            info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
            with source.open("rb") as f:
                tar.addfile(info, f)
            if progress:
                progress(info.size)
    zipped.close()
    writer.close()


def unpack(plain: Path, target: Path) -> None:
    """Extract a decrypted (authenticated) tar into `target`: regular files under it only."""
    with tarfile.open(plain, mode="r:gz") as tar:
        for member in tar:
            name = PurePosixPath(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                raise BackupError(f"备份中有不允许的条目：{member.name}")
            dest = target.joinpath(*name.parts)
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            source = tar.extractfile(member)
            assert source is not None
            with source, dest.open("wb") as f:
                shutil.copyfileobj(source, f, CHUNK)
            dest.chmod(0o600)
