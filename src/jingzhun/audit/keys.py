"""The audit chain's HMAC keys (settings.JINGZHUN_AUDIT_KEYS, kept outside the database).

A key is named by its id, the first 16 hex digits of its SHA-256, so an anchor file can say which
key signed it without holding the key. The last key signs new events; earlier ones still verify
older events after a key change.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class AuditKey:
    id: str
    secret: bytes = b""

    def mac(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def _key(text: str) -> AuditKey:
    secret = text.encode("utf-8")
    return AuditKey(hashlib.sha256(secret).hexdigest()[:16], secret)


def all_keys() -> list[AuditKey]:
    """The keys, the signing key first."""
    keys = [_key(k) for k in getattr(settings, "JINGZHUN_AUDIT_KEYS", []) if k]
    if not keys:
        raise ImproperlyConfigured("未配置审计密钥（JINGZHUN_AUDIT_KEY 或审计密钥文件）。")
    return keys[::-1]


def signing_key() -> AuditKey:
    return all_keys()[0]


def key_by_id(key_id: str) -> AuditKey | None:
    return next((k for k in all_keys() if hmac.compare_digest(k.id, key_id)), None)
