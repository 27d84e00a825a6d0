"""The masked copy of the households a batch creates (ADR 0040): built, compressed, read back.

A committed batch keeps the values of every household it created, and of their members, masked
exactly as the change log masks a diff (`pipeline._masked`: ID number first 6 + last 4, phone
3 + 4, bank account last 4, health and disability `***`), as gzip-compressed JSON Lines in parts
of at most `PART_SIZE` households (`ImportCreatedCopy`), so that reading one household
decompresses one part. One line per household, in write order:

    {"household_code": "...", <field>: <masked value>, ..., "members": [{<field>: ...}, ...]}

Keys other than "household_code" (first) and "members" (last) are in sorted order; a member's
"id_number" comes first, its other keys sorted; compact separators, no ASCII escaping. Only the fields a household or member has are
present (as in `HouseholdPlan.masked_diff()`); "village" is one of the household's fields.

The per-row path builds a line from a `HouseholdPlan` (`plan_line`); the columnar path builds
the same bytes from the `NewBlock`'s columns (`BlockLines`): each distinct value of a column is
masked and JSON-encoded once, and a household's or member's text is one join of its columns'
pieces. `imports/tests/test_columnar.py` compares the two.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any, Final

from jingzhun.registry.masking import SENSITIVE_FIELDS, mask_value

from .pipeline import HouseholdPlan, _masked

try:  # ISA-L's gzip: several times faster than zlib at the same ratio class
    from isal import igzip as _gzip

    LEVEL: Final = 1
except ImportError:  # pragma: no cover - isal is a dependency; stdlib gzip reads the same files
    import gzip as _gzip  # type: ignore[no-redef]

    LEVEL = 1  # type: ignore[misc]

PART_SIZE = 10_000  # households per part (tests make it smaller)


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_encode_str: Final = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _dumps(value: Any) -> str:
    return _encode_str(value) if type(value) is str else _ENCODER.encode(value)


def _piece(key: str, value: Any) -> str:
    """`,"key":value` for one field, masked; "" when the field has no value."""
    if value is None:
        return ""
    return f",{_dumps(key)}:{_dumps(_masked(key, value))}"


def _id_open(number: str) -> str:
    """A member's text up to its masked ID number (the first key: always there)."""
    return f'{{"id_number":{_dumps(_masked("id_number", number))}'


def plan_line(plan: HouseholdPlan) -> str:
    """The copy's line of a new household built by the per-row path."""
    fields = {**plan.values, "village": plan.village or None}
    household = "".join(_piece(k, fields[k]) for k in sorted(fields))
    members = ",".join(
        _id_open(m.values["id_number"])
        + "".join(_piece(k, m.values[k]) for k in sorted(m.values) if k != "id_number")
        + "}"
        for m in plan.members
    )
    return f'{{"household_code":{_dumps(plan.code)}{household},"members":[{members}]}}'


class _Encoder:
    """A column's values as `,"key":masked` pieces, each distinct value encoded once.

    A column holds one field's converted values, so one type besides None (the first value's
    decides; a memo per type, as True == 1). Values are looked up as themselves (equal values
    print alike: decimals are quantized to the field's places by `values._as_decimal`), a list
    of codes as a tuple."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.prefix = f",{_dumps(key)}:"
        self.sensitive = key in SENSITIVE_FIELDS
        self.memos: dict[type, dict[Any, str]] = {}  # by the column's type: True == 1

    def _encode(self, kind: type, k: Any) -> str:
        """The piece of the value whose lookup key is `k`."""
        if kind is list:
            return _piece(self.key, list(k))
        if self.sensitive:
            return self.prefix + _dumps(mask_value(self.key, k))
        if kind is str:
            return self.prefix + _encode_str(k)
        return _piece(self.key, k)

    def __call__(self, values: list[Any]) -> list[str]:
        kind = type(next((v for v in values if v is not None), ""))
        keys = [None if v is None else tuple(v) for v in values] if kind is list else values
        memo = self.memos.setdefault(kind, {None: ""})
        try:
            return list(map(memo.__getitem__, keys))
        except KeyError:  # values not seen yet: encoded once each
            for k in set(keys).difference(memo):
                memo[k] = self._encode(kind, k)
            return list(map(memo.__getitem__, keys))


_PLAIN_IDS: Final = re.compile(r"(?:\d{17}[\dX])*")


def _id_opens(numbers: list[str]) -> list[str]:
    """`_id_open` of a column of normalised ID numbers; when every one is 18 plain characters
    (a clean file), masked by slicing as `idcard.mask` does, without normalising each again."""
    if set(map(len, numbers)) <= {18} and _PLAIN_IDS.fullmatch("".join(numbers)):
        return [f'{{"id_number":"{v[:6]}********{v[-4:]}"' for v in numbers]
    return list(map(_id_open, numbers))


class BlockLines:
    """The copy's lines of a columnar `NewBlock`'s households, built column by column: a
    member's text is one join of its columns' pieces, a household's line one join of its
    code, its columns' pieces and its members (at C speed, `map` over `zip`)."""

    def __init__(self, block: Any) -> None:
        self.block = block
        household = {k: v for k, v in block.household.items() if k != "village"}
        household["village"] = block.villages
        hkeys = sorted(household)
        self.hcols = [(_Encoder(k), household[k]) for k in hkeys]
        mkeys = sorted(k for k in block.member if k != "id_number")
        self.mcols = [(_Encoder(k), block.member[k]) for k in mkeys]

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines of households start..stop (ISO birth dates: `plans()` turns them into dates,
        which mask and print as the same text)."""
        block = self.block
        starts = block.starts
        first, last = starts[start], starts[stop]
        ids = _id_opens(block.member["id_number"][first:last])
        mpieces = [encode(col[first:last]) for encode, col in self.mcols]
        members = list(map("".join, zip(ids, *mpieces, itertools.repeat("}"), strict=False)))
        it = iter(members)
        groups = [
            f',"members":[{",".join(itertools.islice(it, starts[h + 1] - starts[h]))}]}}'
            for h in range(start, stop)
        ]
        opens = [f'{{"household_code":{_dumps(c)}' for c in block.codes[start:stop]]
        hpieces = [encode(col[start:stop]) for encode, col in self.hcols]
        return list(map("".join, zip(opens, *hpieces, groups, strict=True)))


class CreatedCopy:
    """Collects the lines of created households in write order and cuts them into compressed
    parts of `PART_SIZE` households; hashes the parts as it goes."""

    def __init__(self) -> None:
        self.size = PART_SIZE
        self.count = 0  # households added
        self.lines: list[str] = []
        self.part = 0  # the part being filled
        self.hash = hashlib.sha256()
        self.compressed = 0  # bytes of the parts cut so far
        self.raw = 0

    def parts_of(self, n: int) -> list[int]:
        """The parts the next `n` households will go to."""
        return [(self.count + i) // self.size for i in range(n)]

    def cuts(self, n: int) -> int:
        """How many parts adding `n` households will fill (and `add` yield)."""
        return (self.count + n) // self.size - self.count // self.size

    def add(self, lines: list[str]) -> Iterator[tuple[int, int, bytes]]:
        """Add lines; yields (part, households, gzip bytes) for each part filled by them."""
        for line in lines:
            self.lines.append(line)
            self.count += 1
            if len(self.lines) == self.size:
                yield self._cut()

    def finish(self) -> Iterator[tuple[int, int, bytes]]:
        if self.lines:
            yield self._cut()

    def _cut(self) -> tuple[int, int, bytes]:
        text = ("\n".join(self.lines) + "\n").encode()
        data = _gzip.compress(text, LEVEL, mtime=0)
        self.hash.update(data)
        part, n = self.part, len(self.lines)
        self.part += 1
        self.lines = []
        self.raw += len(text)
        self.compressed += len(data)
        return part, n, data

    def digest(self) -> str:
        """SHA-256 of the parts as stored (compressed), in order (`created_sha256`): checked
        against the stored rows without decompressing them."""
        return self.hash.hexdigest()


def read_part(data: bytes | memoryview) -> list[str]:
    """The lines of one stored part."""
    return _gzip.decompress(bytes(data)).decode().splitlines()


def find(data: bytes | memoryview, household_code: str) -> dict[str, Any] | None:
    """One household's values from a stored part (None when it is not there)."""
    prefix = f'{{"household_code":{_dumps(household_code)},'
    for line in read_part(data):
        if line.startswith(prefix):
            value: dict[str, Any] = json.loads(line)
            return value
    return None
