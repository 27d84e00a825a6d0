"""The plan of a pending batch, stored once by its check (ADR 0059).

The check job plans an upload once (`pipeline.plan_import`) and keeps two things in a file
beside the upload (VAR_DIR/imports/<batch>-<sha256>.plan, 0600):

- the *view*: what the dry-run page and the error report show (counts, every error, notices,
  layouts, the first `LISTED` new and changed households): small whatever the file's size, so a
  page GET reads it instead of planning the file again;
- the *lock list and fingerprint*: the codes of the registered households the plan touches,
  which the commit locks before it plans the file once more under those locks, and a digest of
  what the plan decided from the registry (which households exist, at which version, each error).
  The commit writes only when its own plan has the same fingerprint: the change the user
  confirmed is the one written. Otherwise the registry moved since the check: nothing is
  written, the new plan replaces the stored one and the user confirms again.

Each part is a pickle, gzip-compressed, behind an HMAC-SHA256 under the settings' SECRET_KEY;
it is unpickled only when the HMAC holds, and then only with the classes of the plan (the file
lives in the application's private var/ directory; the HMAC and the class list keep a file put
there by someone else from ever being executed).
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import hashlib
import hmac
import io
import os
import pickle
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from django.conf import settings

from .layout import Column, Layout
from .pipeline import CellError, HouseholdPlan, ImportResult, IncomePlan, MemberPlan

LISTED: Final = 200  # households of each kind kept for the page (web.views.MAX_LISTED)
_HEAD: Final = struct.Struct("<32sQ")  # HMAC, length of the part that follows
_MAGIC: Final = b"JZPLAN1\n"
_ALLOWED: Final = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("datetime", "date"): datetime.date,
    ("datetime", "datetime"): datetime.datetime,
    ("decimal", "Decimal"): decimal.Decimal,
    **{
        (cls.__module__, cls.__name__): cls
        for cls in (CellError, HouseholdPlan, ImportResult, IncomePlan, MemberPlan, Layout, Column)
    },
}


@dataclass
class Expected:
    """What the commit needs of the check's plan: the households to lock and the fingerprint."""

    codes: list[str]
    fingerprint: str


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed") from None


def _key() -> bytes:
    return hashlib.sha256(b"jingzhun.imports.stored\0" + settings.SECRET_KEY.encode()).digest()


def _dump(obj: Any) -> bytes:
    blob = gzip.compress(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), compresslevel=1)
    return _HEAD.pack(hmac.new(_key(), blob, "sha256").digest(), len(blob)) + blob


def fingerprint(result: ImportResult) -> str:
    """A digest of what a plan of one file decided from the registry: the verdict, id and
    version of every household planned one by one (a write to a household's members or incomes
    moves its version too), the new households' codes and every error. Two plans of the same
    bytes with the same fingerprint write the same rows."""
    h = hashlib.sha256()
    for p in result.listed:
        h.update(f"{p.code}\0{p.kind}\0{p.household_id}\0{p.version}\n".encode())
        for m in p.members:
            h.update(f"m\0{m.kind}\0{m.member_id}\0{m.version}\n".encode())
        for i in p.incomes:
            h.update(f"i\0{i.year}\0{i.kind}\0{i.income_id}\0{i.version}\n".encode())
    if result.new_block is not None:
        h.update("\0".join(result.new_block.codes).encode())
    for e in result.errors:
        h.update(f"e\0{e.sheet}\0{e.row}\0{e.column}\0{e.field}\0{e.reason}\n".encode())
    h.update(f"u{result.unreadable}".encode())
    return h.hexdigest()


def view_of(result: ImportResult) -> ImportResult:
    """The part of a plan the pages show: counts fixed, at most LISTED households of each kind
    listed (new, changed), no column block."""
    listed = result.plans_of("new", LISTED) + result.plans_of("changed", LISTED)
    return replace(
        result,
        listed=listed,
        new_block=None,
        stored_counts=result.counts(),
        stored_refused=sum(1 for p in result.listed if p.kind == "refused"),
    )


def locked_codes(result: ImportResult) -> list[str]:
    """The registered households a plan writes or compares (the commit locks them)."""
    return [p.code for p in result.listed if p.kind != "new"]


def save(path: Path, result: ImportResult) -> None:
    """Store a plan (its view, then the lock list and fingerprint) readable by this account."""
    expected = Expected(locked_codes(result), fingerprint(result))
    tmp = path.with_suffix(".plan-part")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(_MAGIC)
        f.write(_dump(view_of(result)))
        f.write(_dump({"codes": expected.codes, "fingerprint": expected.fingerprint}))
    tmp.replace(path)


def _part(f: io.BufferedReader, index: int) -> Any:
    if f.read(len(_MAGIC)) != _MAGIC:
        return None
    for i in range(index + 1):
        head = f.read(_HEAD.size)
        if len(head) != _HEAD.size:
            return None
        mac, size = _HEAD.unpack(head)
        if i < index:
            f.seek(size, io.SEEK_CUR)
            continue
        blob = f.read(size)
        if len(blob) != size or not hmac.compare_digest(
            mac, hmac.new(_key(), blob, "sha256").digest()
        ):
            return None
        return _Unpickler(io.BytesIO(gzip.decompress(blob))).load()
    return None


def _read(path: Path, index: int) -> Any:
    try:
        with open(path, "rb") as f:
            return _part(f, index)
    except (OSError, EOFError, pickle.UnpicklingError, gzip.BadGzipFile):
        return None


def load_view(path: Path) -> ImportResult | None:
    """The stored view (None when there is none or it does not verify)."""
    view = _read(path, 0)
    return view if isinstance(view, ImportResult) else None


def load_expected(path: Path) -> Expected | None:
    """The stored lock list and fingerprint (None when there is none or it does not verify)."""
    part = _read(path, 1)
    if not isinstance(part, dict):
        return None
    return Expected(list(part["codes"]), str(part["fingerprint"]))
