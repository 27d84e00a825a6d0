"""Sensitive fields encrypted at rest (security.md PII-2, ADR 0058).

A value is stored as a token "jz<version>:<base64url(nonce | ciphertext | tag)>": SM4-GCM (or
AES-256-GCM where the OpenSSL lacks SM4, and for keys written so) under the field key of that
version, with the associated data "<table>|<column>|<primary key>", so a token copied into another
row or column fails authentication. Keys live outside the database (core.fieldkeys). Empty
values stay empty (an empty phone is not a secret), so `field=""` still filters.

Models declare `EncryptedCharField` (and `BlindIndexField` for exact search and uniqueness:
HMAC-SM3, or HMAC-SHA256 without SM3, of the normalised value under the index key). The ORM reads
and writes plaintext: a loaded value is decrypted on first access with the row's key; saving
encrypts with the row's primary key, which `reserve_pks` draws before the insert (a new row
knows its key before it is written). Filtering on the plaintext is refused (it could only match
nothing): search through the blind index (`blind_index`). Set-wise writers call `seal_columns`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.db.models.query_utils import DeferredAttribute
from django.utils.text import capfirst

from . import sealopen
from .fieldkeys import AES_256_GCM, KEY_BYTES

TOKEN = re.compile(r"^jz(\d+):[A-Za-z0-9_-]{30,}$")
NONCE = 12
TAG = 16
# From this many tokens on, open_tokens splits the work over the cores (a child process costs
# about 0.1 s to start; SM4-GCM opens about 140,000 tokens a second in one process).
SPLIT_MIN = 100_000


class FieldKeyError(ImproperlyConfigured):
    """A missing or unusable field key (the message is Chinese and names what to configure)."""


class FieldDecryptError(ValueError):
    """A token that does not authenticate for its row and column (moved, altered, wrong key)."""


@dataclass(frozen=True)
class FieldKey:
    version: int
    algorithm: str
    secret: bytes

    @functools.cached_property
    def _aes(self) -> Any:
        return AESGCM(self.secret)

    @functools.cached_property
    def _sm4(self) -> Any:
        return algorithms.SM4(self.secret)

    def seal(self, plaintext: bytes, aad: bytes) -> str:
        nonce = os.urandom(NONCE)
        if self.algorithm == AES_256_GCM:
            body = self._aes.encrypt(nonce, plaintext, aad)
        else:
            enc = Cipher(self._sm4, modes.GCM(nonce)).encryptor()
            enc.authenticate_additional_data(aad)
            body = enc.update(plaintext) + enc.finalize() + enc.tag
        text = base64.urlsafe_b64encode(nonce + body).rstrip(b"=").decode("ascii")
        return f"jz{self.version}:{text}"

    def open(self, raw: bytes, aad: bytes) -> bytes:
        nonce, body = raw[:NONCE], raw[NONCE:]
        try:
            if self.algorithm == AES_256_GCM:
                return bytes(self._aes.decrypt(nonce, body, aad))
            dec = Cipher(self._sm4, modes.GCM(nonce, body[-TAG:])).decryptor()
            dec.authenticate_additional_data(aad)
            return dec.update(body[:-TAG]) + dec.finalize()
        except (InvalidTag, ValueError) as exc:
            raise FieldDecryptError(
                f"密文校验失败（{aad.decode(errors='replace')}）：数据被改动或移到了别的行，或密钥不对"
            ) from exc


def _parse_key(line: str) -> FieldKey:
    try:
        version_text, algorithm, hex_key = line.split()
        version, secret = int(version_text), bytes.fromhex(hex_key)
    except ValueError as exc:
        raise FieldKeyError(
            "字段加密密钥格式应为“版本号 算法 十六进制密钥”（如 1 sm4-gcm 0123…），请检查"
            " JINGZHUN_FIELD_KEY 或字段密钥文件。"
        ) from exc
    if algorithm not in KEY_BYTES or len(secret) != KEY_BYTES[algorithm]:
        raise FieldKeyError(
            f"字段加密密钥（版本 {version}）的算法或长度不对：应为 sm4-gcm（16 字节）或"
            " aes-256-gcm（32 字节）。"
        )
    return FieldKey(version, algorithm, secret)


@dataclass(frozen=True)
class Keyring:
    keys: dict[int, FieldKey]
    current: FieldKey
    index_secret: bytes

    @functools.cached_property
    def _index_mac(self) -> Any:
        return chmac.HMAC(self.index_secret, hashes.SM3())

    def index(self, message: bytes) -> str:
        if SM3:
            mac = self._index_mac.copy()
            mac.update(message)
            return str(mac.finalize().hex())
        return hmac.new(self.index_secret, message, hashlib.sha256).hexdigest()

    def key(self, version: int) -> FieldKey:
        key = self.keys.get(version)
        if key is None:
            raise FieldKeyError(
                f"缺少第 {version} 版字段加密密钥，无法解密已存数据：请把该版本的密钥行放回"
                " JINGZHUN_FIELD_KEY 或字段密钥文件（var/field_keys）。"
            )
        return key


@functools.lru_cache(maxsize=8)
def _keyring(lines: tuple[str, ...], index_key: str) -> Keyring:
    if not lines:
        raise FieldKeyError(
            "未配置字段加密密钥：请设置 JINGZHUN_FIELD_KEY 或 JINGZHUN_FIELD_KEY_FILE"
            "（每行“版本号 算法 十六进制密钥”）。"
        )
    if not index_key:
        raise FieldKeyError(
            "未配置盲索引密钥：请设置 JINGZHUN_INDEX_KEY 或 JINGZHUN_INDEX_KEY_FILE（十六进制）。"
        )
    keys = {k.version: k for k in map(_parse_key, lines)}
    try:
        index_secret = bytes.fromhex(index_key)
    except ValueError as exc:
        raise FieldKeyError("盲索引密钥应为十六进制字符串。") from exc
    return Keyring(keys, keys[max(keys)], index_secret)


def keyring() -> Keyring:
    return _keyring(
        tuple(getattr(settings, "JINGZHUN_FIELD_KEYS", ())),
        getattr(settings, "JINGZHUN_INDEX_KEY", ""),
    )


def aad(table: str, column: Any, pk: Any) -> bytes:
    return f"{table}|{column}|{pk}".encode()


def is_token(value: Any) -> bool:
    return isinstance(value, str) and TOKEN.match(value) is not None


def token_version(token: str) -> int:
    match = TOKEN.match(token)
    if match is None:
        raise FieldDecryptError("不是加密字段的密文")
    return int(match.group(1))


def seal(table: str, column: Any, pk: Any, plaintext: str, ring: Keyring | None = None) -> str:
    """The token of `plaintext` for this row and column under the current key."""
    ring = ring or keyring()
    return ring.current.seal(plaintext.encode("utf-8"), aad(table, column, pk))


def open_token(table: str, column: Any, pk: Any, token: str, ring: Keyring | None = None) -> str:
    """The plaintext of a token stored in this row and column."""
    ring = ring or keyring()
    version = token_version(token)
    text = token.split(":", 1)[1]
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return ring.key(version).open(raw, aad(table, column, pk)).decode("utf-8")


def _sm3_available() -> bool:
    try:
        chmac.HMAC(b"k", hashes.SM3()).finalize()
    except Exception:
        return False
    return True


SM3 = _sm3_available()


def blind_index(label: str, normalized: str, ring: Keyring | None = None) -> str:
    """HMAC-SM3 (HMAC-SHA256 without SM3) of "<label>|<normalised value>" under the index key,
    as hex; "" for an empty value."""
    if not normalized:
        return ""
    ring = ring or keyring()
    return ring.index(f"{label}|{normalized}".encode())


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "upper": lambda v: v.strip().upper(),
    "digits": lambda v: "".join(ch for ch in v if ch.isdigit()),
}


class Sealed:
    """A token read from the database, decrypted on first access (it needs the row's key)."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "Sealed(…)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sealed, (self.token,))


class _SealedAttribute(DeferredAttribute):
    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            field = self.field
            value = field.to_python(
                open_token(field.model._meta.db_table, field.column, instance.pk, value.token)
            )
            instance.__dict__[field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedCharField(models.CharField):
    """A text field stored as a token (see the module docstring). `max_length` is the plaintext's
    (forms, validation); the column is wide enough for the token."""

    descriptor_class = _SealedAttribute
    COLUMN_LENGTH = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.plain_max_length = kwargs.pop("plain_max_length", None) or kwargs.get("max_length")
        kwargs["max_length"] = self.COLUMN_LENGTH
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["plain_max_length"] = self.plain_max_length
        return name, path, args, kwargs

    def formfield(self, **kwargs: Any) -> Any:
        field: Any = super().formfield(**kwargs)
        if field is not None and self.plain_max_length:
            field.max_length = self.plain_max_length
            field.widget.attrs["maxlength"] = str(self.plain_max_length)
            field.validators = [
                v for v in field.validators if getattr(v, "limit_value", None) != self.max_length
            ]
        return field

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return Sealed(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Sealed):
            return value.token
        if value is None or value == "" or is_token(value):
            return value
        value = super().get_prep_value(value)
        if value in (None, "") or is_token(value):
            return value
        raise FieldKeyError(
            f"{self.model.__name__}.{self.name} 是加密字段：不能按明文查询或写入"
            "（查询请用盲索引，写入请经由模型保存或 seal_columns）。"
        )

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value in (None, "") or is_token(value):
            return value
        if model_instance.pk is None:
            raise FieldKeyError(
                f"{self.model.__name__}.{self.name}：加密前须先取得主键（reserve_pks）。"
            )
        return seal(self.model._meta.db_table, self.column, model_instance.pk, str(value))


class EncryptedIntegerField(EncryptedCharField):
    """A small integer stored as a token of its decimal text (a disability grade): reads give
    an int, forms an integer input bounded by `min_value`/`max_value` (validated in Python: a
    database check cannot see through the ciphertext)."""

    def __init__(self, *args: Any, min_value: int | None = None, max_value: int | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        self.min_value, self.max_value = min_value, max_value
        kwargs.setdefault("plain_max_length", 6)
        super().__init__(*args, **kwargs)
        # the text length check of CharField does not apply to an int
        self.validators[:] = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]
        if min_value is not None:
            self.validators.append(MinValueValidator(min_value))
        if max_value is not None:
            self.validators.append(MaxValueValidator(max_value))

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["min_value"], kwargs["max_value"] = self.min_value, self.max_value
        if kwargs.get("plain_max_length") == 6:
            del kwargs["plain_max_length"]
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, (int, Sealed)):
            return None if value == "" else value
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{self.verbose_name}须为整数", code="invalid") from exc

    def run_validators(self, value: Any) -> None:
        if value not in (None, ""):
            super().run_validators(value)

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        defaults: dict[str, Any] = {
            "form_class": forms.IntegerField,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "required": not self.blank,
            "label": capfirst(self.verbose_name),
            "help_text": self.help_text,
        }
        defaults.update(kwargs)
        form_class = defaults.pop("form_class")
        return form_class(**defaults)


class BlindIndexField(models.CharField):
    """The keyed HMAC of another field's normalised plaintext, kept in step on save."""

    def __init__(self, *args: Any, source: str = "", normalize: str = "upper", **kwargs: Any):
        self.source, self.normalize = source, normalize
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"], kwargs["normalize"] = self.source, self.normalize
        return name, path, args, kwargs

    def index_of(self, value: Any, ring: Keyring | None = None) -> str:
        if value in (None, ""):
            return ""
        label = f"{self.model._meta.db_table}.{self.source}"
        return blind_index(label, NORMALIZERS[self.normalize](str(value)), ring)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = self.index_of(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def encrypted_fields(model: type[models.Model]) -> list[EncryptedCharField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]


def index_fields(model: type[models.Model]) -> list[BlindIndexField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]


def index_for(model: type[models.Model], source: str, value: Any) -> str:
    """The blind index of `value` for `model.source` (for exact lookups)."""
    for field in index_fields(model):
        if field.source == source:
            return field.index_of(value)
    raise LookupError(f"{model.__name__}.{source} has no blind index")


def sealed_models() -> list[type[models.Model]]:
    from django.apps import apps

    return [m for m in apps.get_models() if encrypted_fields(m)]


def reserve_pks(model: type[models.Model], n: int, using: str = "default") -> list[int]:
    """`n` unused primary keys of an integer-keyed model. PostgreSQL: from the identity
    sequence (safe beside concurrent inserts); SQLite: after the highest key in use, safe
    inside a transaction (it holds the database's write lock from BEGIN: IMMEDIATE)."""
    if n <= 0:
        return []
    connection = connections[using]
    table, column = model._meta.db_table, str(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, n],
            )
            return [int(r[0]) for r in cursor.fetchall()]
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT max({quote(column)}) FROM {quote(table)}")
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        top = max(int(top), int(row[0]) if row and row[0] is not None else 0)
        return list(range(top + 1, top + 1 + n))


def seal_row_values(model: type[models.Model], pk: Any, values: dict[str, Any]) -> dict[str, Any]:
    """`values` for an update of row `pk`: encrypted fields as tokens, their blind indexes
    alongside."""
    out = dict(values)
    table = model._meta.db_table
    for field in encrypted_fields(model):
        if field.name in values:
            value = values[field.name]
            if (
                value not in (None, "")
                and not is_token(value)
                and not hasattr(value, "resolve_expression")
            ):
                out[field.name] = seal(table, field.column, pk, str(value))
    for index in index_fields(model):
        if index.source in values:
            value = values[index.source]
            if not is_token(value):
                out[index.name] = index.index_of(value)
    return out


def _column_of(model: type[models.Model], name: str) -> str:
    return str(getattr(model._meta.get_field(name), "column", name))


def seal_columns(model: type[models.Model], columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Columns for a set-wise insert (BulkWriter): plaintext of encrypted fields → tokens, with
    their blind indexes filled. Needs the "id" column (keys reserved before the insert)."""
    fields = [f for f in encrypted_fields(model) if f.column in columns]
    indexes = [f for f in index_fields(model) if _column_of(model, f.source) in columns]
    if not fields and not indexes:
        return columns
    ring = keyring()
    ids = columns["id"]
    out = dict(columns)
    table = model._meta.db_table
    for index in indexes:
        source = columns[_column_of(model, index.source)]
        out[str(index.column)] = [index.index_of(v, ring) for v in source]
    for field in fields:
        key, prefix = ring.current, aad(table, field.column, "")
        out[str(field.column)] = [
            v
            if v in (None, "") or is_token(v)
            else key.seal(str(v).encode("utf-8"), prefix + str(pk).encode())
            for pk, v in zip(ids, columns[str(field.column)], strict=True)
        ]
    return out


def open_column(
    model: type[models.Model], column: str, pairs: Iterable[tuple[Any, Any]]
) -> list[Any]:
    """Plaintext of (pk, token) pairs read set-wise from `model.column` (exports, bulk readers)."""
    ring = keyring()
    table = model._meta.db_table
    out: list[Any] = []
    for pk, token in pairs:
        if token in (None, ""):
            out.append(token)
        elif isinstance(token, Sealed):
            out.append(open_token(table, column, pk, token.token, ring))
        else:
            out.append(open_token(table, column, pk, token, ring))
    return out


def open_tokens(
    table: str, column: str, pks: Sequence[Any], tokens: Sequence[Any], ring: Keyring | None = None
) -> list[Any]:
    """Plaintext of many tokens of `table.column` (None for None or ""), with the least work per
    token (core.sealopen.open_many: one cipher object per key version, the AAD prefix built
    once); from SPLIT_MIN tokens on, split over the cores (sealopen.open_split). Raises
    FieldDecryptError for a token that does not open for its row (moved, altered), naming the
    table, column and row."""
    ring = ring or keyring()
    keys = {v: (k.algorithm, k.secret) for v, k in ring.keys.items()}
    prefix = aad(table, column, "")
    try:
        if len(tokens) >= SPLIT_MIN:
            return sealopen.open_split(keys, prefix, pks, tokens, sealopen.parts_available())
        return sealopen.open_many(keys, prefix, pks, tokens)
    except sealopen.OpenError as exc:
        pk = pks[exc.index]
        if exc.kind == "not_token":
            raise FieldDecryptError(f"{table}.{column}（行 {pk}）不是加密字段的密文") from exc
        if exc.kind == "no_key":
            ring.key(exc.version or 0)  # raises FieldKeyError naming the missing version
        raise FieldDecryptError(
            f"密文校验失败（{table}|{column}|{pk}）：数据被改动或移到了别的行，或密钥不对"
        ) from exc


def open_in_duckdb(
    con: Any,
    table: str,
    model: type[models.Model],
    columns: dict[str, str],
    *,
    id_column: str,
    target: str,
    allowed: dict[str, set[str] | None] | None = None,
) -> tuple[str, Any, str] | None:
    """DuckDB table `table` holds tokens of `model`'s encrypted fields in `columns` (name ->
    the DuckDB type to give the plaintext) beside the row key `id_column`: create `target` as
    `table` without the key and with those columns opened (open_tokens) and cast. The values
    pass to DuckDB as small integer codes (one per distinct value) scanned from NumPy arrays
    and joined on the row key (not by position: the connections do not preserve insertion
    order, so two scans of a table need not agree on it). A value outside `allowed[name]` (when given) stops with
    (name, row key, plaintext) returned and `target` not created."""
    import numpy as np

    names = list(columns)
    fields = {f.name: f for f in encrypted_fields(model)}
    selected = ", ".join(f"coalesce(\"{n}\", '')" for n in names)
    raw = con.execute(f'SELECT "{id_column}", {selected} FROM {table}').fetchnumpy()
    arrays = list(raw.values())
    ids = arrays[0].tolist()
    ring = keyring()
    coded: dict[str, Any] = {}
    replace = []
    for n, tokens in zip(names, arrays[1:], strict=True):
        opened = open_tokens(
            model._meta.db_table, str(fields[n].column), ids, tokens.tolist(), ring
        )
        values = sorted({v for v in opened if v is not None})
        ok = (allowed or {}).get(n)
        for v in values:
            if ok is not None and v not in ok:
                return n, ids[opened.index(v)], v
        number = {v: i for i, v in enumerate(values, start=1)}
        coded[n] = np.fromiter(
            (0 if v is None else number[v] for v in opened), dtype=np.int32, count=len(opened)
        )
        quoted = {v: "'" + v.replace("'", "''") + "'" for v in values}
        whens = " ".join(f"WHEN {i} THEN {quoted[v]}" for v, i in number.items())
        text = f'CASE o."{n}" {whens} END' if whens else "NULL"
        replace.append(f'CAST({text} AS {columns[n]}) AS "{n}"')
    view = f"opened_{target}"
    coded["row_key__"] = arrays[0]
    con.register(view, coded)
    try:
        con.execute(
            f'CREATE OR REPLACE TABLE {target} AS SELECT s.* EXCLUDE ("{id_column}") '
            f"REPLACE ({', '.join(replace)}) FROM {table} s JOIN {view} o "
            f'ON o.row_key__ = s."{id_column}"'
        )
    finally:
        con.unregister(view)
    return None


def reseal_all(
    models_: Sequence[type[models.Model]] | None = None,
    *,
    batch: int = 2000,
    progress: Callable[[str, int, int], None] | None = None,
    indexes: bool = False,
) -> dict[str, int]:
    """Re-encrypt every stored token not under the current key (and, with `indexes`, recompute
    every blind index) in batches; returns the number of values re-encrypted per table.column.
    The caller holds the transaction (all or nothing)."""
    ring = keyring()
    counts: dict[str, int] = {}
    for model in models_ or sealed_models():
        table = model._meta.db_table
        connection = connections["default"]
        quote = connection.ops.quote_name
        fields = encrypted_fields(model)
        idx = index_fields(model) if indexes else []
        cols = [str(f.column) for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {quote(table)}")
            total = int(cursor.fetchone()[0])
        done, last = 0, -1
        for f in fields:
            counts[f"{table}.{f.column}"] = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, {', '.join(quote(c) for c in cols)} FROM {quote(table)}"
                    f" WHERE id > %s ORDER BY id LIMIT {int(batch)}",
                    [last],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            updates: list[list[Any]] = []
            for row in rows:
                pk, tokens = row[0], row[1:]
                plain = {}
                new: list[Any] = []
                changed = False
                for f, token in zip(fields, tokens, strict=True):
                    if token in (None, ""):
                        new.append(token)
                        plain[f.name] = token
                        continue
                    value = open_token(table, f.column, pk, token, ring)
                    plain[f.name] = value
                    if token_version(token) != ring.current.version:
                        new.append(seal(table, f.column, pk, value, ring))
                        counts[f"{table}.{f.column}"] += 1
                        changed = True
                    else:
                        new.append(token)
                index_values = [i.index_of(plain.get(i.source), ring) for i in idx]
                if changed or idx:
                    updates.append([*new, *index_values, pk])
            if updates:
                sets = ", ".join(f"{quote(c)} = %s" for c in [*cols, *(str(i.column) for i in idx)])
                with connection.cursor() as cursor:
                    cursor.executemany(f"UPDATE {quote(table)} SET {sets} WHERE id = %s", updates)
            done += len(rows)
            last = rows[-1][0]
            if progress:
                progress(table, done, total)
    return counts
