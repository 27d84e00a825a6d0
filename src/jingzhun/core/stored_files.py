"""Stored files (case evidence, measure evidence, visit photos): what they may be (sniffed from
their bytes, never from the name), their SHA-256, and where they are kept
(VAR_DIR/evidence/<first two hex digits>/<sha256>, one copy per content, 0600 in a 0700
directory). The one place that writes such a file; the rows describing them inherit
`core.models.StoredFile`."""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from pathlib import Path
from typing import Final

from django.conf import settings

from jingzhun.core.errors import DomainError

MAX_BYTES: Final = 10 * 1024 * 1024
TYPES: Final = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def sniff(data: bytes) -> str | None:
    """The file's type by its content: pdf, jpg, png or xlsx; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
    return None


def check_upload(filename: str, data: bytes) -> tuple[str, str, str]:
    """(type, clean file name, sha256) of an acceptable upload; DomainError otherwise."""
    if not data:
        raise DomainError("上传的文件是空的。", field="file")
    if len(data) > MAX_BYTES:
        raise DomainError(
            f"文件过大：最大 {MAX_BYTES // (1024 * 1024)} MB，请压缩后再上传。", field="file"
        )
    kind = sniff(data)
    if kind is None:
        raise DomainError("只接受 PDF、JPG、PNG 图片或 Excel（.xlsx）文件。", field="file")
    name = Path(filename.replace("\\", "/")).name.strip()
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)[:150] or f"upload.{kind}"
    return kind, name, hashlib.sha256(data).hexdigest()


def content_type_of(kind: str) -> str:
    """The MIME type of a sniffed kind (pdf, jpg, png, xlsx)."""
    return TYPES[kind]


def path_of(sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a SHA-256")
    return Path(settings.VAR_DIR) / "evidence" / sha256[:2] / sha256


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by this account only (0600 from its creation), whole or not at all
    (a partial file beside it, then renamed)."""
    partial = path.with_suffix(".part")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
    partial.replace(path)


def store(sha256: str, data: bytes) -> Path:
    """Keep the bytes once, named by their SHA-256; writing the same content again changes
    nothing."""
    path = path_of(sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(path, data)
    return path
