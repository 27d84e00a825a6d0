"""Evidence files: what they may be (sniffed from their bytes, never from the name) and where they
are kept (VAR_DIR/evidence/<first two hex digits>/<sha256>, one copy per content)."""

from __future__ import annotations

import hashlib
import io
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


def path_of(sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a SHA-256")
    return Path(settings.VAR_DIR) / "evidence" / sha256[:2] / sha256


def store(sha256: str, data: bytes) -> Path:
    """Keep the bytes once; writing the same content again changes nothing."""
    path = path_of(sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.chmod(0o600)
        partial.replace(path)
    return path
