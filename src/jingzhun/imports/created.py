"""The masked copy of the households a batch creates (ADR 0040): built, compressed, read back.

A committed batch keeps the values of every household it created, and of their members, masked
exactly as the change log masks a diff (`pipeline._masked`: ID number first 6 + last 4, phone
3 + 4, bank account last 4, health and disability `***`), in parts of at most `PART_SIZE`
households (`ImportCreatedCopy`, households in write order), so that reading one household
decompresses one part. A part is one gzip-compressed JSON document of columns:

    {"households": {"household_code": [...], "village": [...], <field>: [...], ...},
     "member_counts": [n, ...],
     "members": {"id_number": [...], <field>: [...], ...}}

`households` holds one value per household, `members` one per member, the members of each
household together and in file order (`member_counts` says how many each has); null where a
household or member has no value; a field appears when some household (member) of the part
has a value. Keys sorted, compact separators, no ASCII escaping. Columns, not a line per
household: the columnar path writes them from its own columns with one join per column (each
distinct value masked and encoded once), about half the CPU of a line per household (ADR 0040),
and repeated values sit together for the compressor. `household(part, code)` gives back one
household as {"household_code", "village", fields..., "members": [{fields...}]}: the values of
`HouseholdPlan.masked_diff()`.

The per-row path gathers its plans into the same columns (`_plan_tables`); the columnar path
slices its `NewBlock` (`_block_tables`); both go through the same encoder, and
`imports/tests/test_columnar.py` compares the bytes stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any, Final

from jingzhun.registry.masking import MASKED_FIELDS, mask_value

from .pipeline import HouseholdPlan, _masked

try:  # ISA-L's gzip: several times faster than zlib at a similar ratio
    from isal import igzip as _gzip

    LEVEL: Final = 1
except ImportError:  # pragma: no cover - isal is a dependency; stdlib gzip reads the same files
    import gzip as _gzip  # type: ignore[no-redef]

    LEVEL = 1  # type: ignore[misc]

PART_SIZE = 10_000  # households per part (tests make it smaller)

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_encode_str: Final = json.encoder.encode_basestring

Table = dict[str, list[Any]]  # field -> one value per row (None: no value)


def _dumps(value: Any) -> str:
    return _encode_str(value) if type(value) is str else _ENCODER.encode(value)


class _Encoder:
    """A column's values as masked JSON texts, each distinct value masked and encoded once.

    A column holds one field's converted values, so one type besides None (the first value's
    decides; a memo per type, as True == 1). Values are looked up as themselves (equal values
    print alike: decimals are quantized to the field's places by `values._as_decimal`), a list
    of codes as a tuple."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.sensitive = key in MASKED_FIELDS
        self.memos: dict[type, dict[Any, str]] = {}
        self.distinct = False  # text that rarely repeats (names, codes): not worth a memo

    def _encode(self, kind: type, k: Any) -> str:
        if kind is str:  # `_masked` without its type test
            return _encode_str(mask_value(self.key, k) if self.sensitive else k)
        return _dumps(_masked(self.key, list(k) if kind is list else k))

    def __call__(self, values: list[Any], kind: type) -> list[str]:
        """The texts of `values`, a column of `kind` values and None."""
        if self.distinct and kind is str and None not in values:
            return list(map(_encode_str, values))  # mostly distinct text: no memo, at C speed
        keys = [None if v is None else tuple(v) for v in values] if kind is list else values
        memo = self.memos.setdefault(kind, {None: "null"})
        try:
            return list(map(memo.__getitem__, keys))
        except KeyError:  # values not seen yet: encoded once each
            for k in set(keys).difference(memo):
                memo[k] = self._encode(kind, k)
            self.distinct = not self.sensitive and len(memo) * 4 > len(keys)
            return list(map(memo.__getitem__, keys))


_PLAIN_IDS: Final = re.compile(r"(?:\d{17}[\dX])*")


def _id_texts(numbers: list[Any]) -> list[str]:
    """Masked ID numbers as JSON texts; when every one is 18 plain characters (a clean file's
    normalised numbers), masked by slicing as `idcard.mask` does, without normalising again."""
    plain = set(map(type, numbers)) == {str} and set(map(len, numbers)) == {18}
    if plain and _PLAIN_IDS.fullmatch("".join(numbers)):
        return [f'"{v[:6]}********{v[-4:]}"' for v in numbers]
    return [_dumps(_masked("id_number", v)) for v in numbers]


class _TableEncoder:
    def __init__(self) -> None:
        self.encoders: dict[str, _Encoder] = {}

    def __call__(self, table: Table) -> str:
        columns = []
        for key in sorted(table):
            values = table[key]
            first = next((v for v in values if v is not None), None)
            if first is None:
                continue  # no row has it (as a plan's values leave it out)
            if key == "id_number":
                texts = _id_texts(values)
            else:
                encoder = self.encoders.get(key)
                if encoder is None:
                    encoder = self.encoders[key] = _Encoder(key)
                texts = encoder(values, type(first))
            columns.append(f"{_encode_str(key)}:[{','.join(texts)}]")
        return "{" + ",".join(columns) + "}"


def _plan_tables(plans: list[HouseholdPlan]) -> tuple[Table, list[int], Table]:
    """The per-row path's new households as the copy's columns."""
    households: Table = {
        "household_code": [p.code for p in plans],
        "village": [p.village or None for p in plans],
    }
    for key in {k for p in plans for k in p.values}:
        households[key] = [p.values.get(key) for p in plans]
    rows = [m.values for p in plans for m in p.members]
    members: Table = {key: [v.get(key) for v in rows] for key in {k for v in rows for k in v}}
    return households, [len(p.members) for p in plans], members


def _block_tables(block: Any, start: int, stop: int) -> tuple[Table, list[int], Table]:
    """Households start..stop of a columnar `NewBlock` as the copy's columns (ISO birth dates:
    the per-row path's dates mask and print as the same text)."""
    starts = block.starts
    first, last = starts[start], starts[stop]
    households: Table = {
        "household_code": block.codes[start:stop],
        "village": block.villages[start:stop],
    }
    for key, values in block.household.items():
        if key != "village":
            households[key] = values[start:stop]
    counts = [starts[h + 1] - starts[h] for h in range(start, stop)]
    members = {key: values[first:last] for key, values in block.member.items()}
    return households, counts, members


class CreatedCopy:
    """Collects created households in write order (plans or ranges of a `NewBlock`) and cuts
    them into compressed parts of `PART_SIZE` households; hashes the parts as it goes."""

    def __init__(self) -> None:
        self.size = PART_SIZE
        self.count = 0  # households added
        self.pending: list[tuple[Table, list[int], Table]] = []
        self.part = 0  # the part being filled
        self.hash = hashlib.sha256()
        self.households = _TableEncoder()
        self.members = _TableEncoder()
        self.raw = 0  # bytes of the parts cut so far, uncompressed and stored
        self.compressed = 0

    def parts_of(self, n: int, offset: int = 0) -> list[int]:
        """The parts of the `n` households after the next `offset` ones to be added."""
        first = self.count + offset
        return [(first + i) // self.size for i in range(n)]

    def cuts(self, n: int) -> int:
        """How many parts adding `n` households will fill (and `add_*` yield)."""
        return (self.count + n) // self.size - self.count // self.size

    def add_plans(self, plans: list[HouseholdPlan]) -> Iterator[tuple[int, int, bytes]]:
        """Add new households of the per-row path; yields (part, households, gzip bytes) for
        each part they fill."""
        done = 0
        while done < len(plans):
            take = min(len(plans) - done, self.size - self.count % self.size)
            yield from self._add(_plan_tables(plans[done : done + take]), take)
            done += take

    def add_block(self, block: Any, start: int, stop: int) -> Iterator[tuple[int, int, bytes]]:
        """Add households start..stop of a `NewBlock`; yields the parts they fill."""
        while start < stop:
            take = min(stop - start, self.size - self.count % self.size)
            yield from self._add(_block_tables(block, start, start + take), take)
            start += take

    def _add(
        self, tables: tuple[Table, list[int], Table], n: int
    ) -> Iterator[tuple[int, int, bytes]]:
        self.pending.append(tables)
        self.count += n
        if self.count % self.size == 0:
            yield self._cut()

    def finish(self) -> Iterator[tuple[int, int, bytes]]:
        if self.pending:
            yield self._cut()

    def _cut(self) -> tuple[int, int, bytes]:
        pieces, self.pending = self.pending, []
        counts = [n for _h, c, _m in pieces for n in c]
        households = _concat([h for h, _c, _m in pieces], [len(c) for _h, c, _m in pieces])
        members = _concat([m for _h, _c, m in pieces], [sum(c) for _h, c, _m in pieces])
        text = (
            f'{{"households":{self.households(households)},'
            f'"member_counts":[{",".join(map(str, counts))}],'
            f'"members":{self.members(members)}}}'
        ).encode()
        data = _gzip.compress(text, LEVEL, mtime=0)
        self.hash.update(data)
        part = self.part
        self.part += 1
        self.raw += len(text)
        self.compressed += len(data)
        return part, len(counts), data

    def digest(self) -> str:
        """SHA-256 of the parts as stored (compressed), in order (`created_sha256`): checked
        against the stored rows without decompressing them."""
        return self.hash.hexdigest()


def _concat(tables: list[Table], sizes: list[int]) -> Table:
    """Tables of `sizes` rows one after the other (a field missing from one: None there)."""
    if len(tables) == 1:
        return tables[0]
    joined: Table = {}
    for key in {k for t in tables for k in t}:
        column: list[Any] = []
        for table, n in zip(tables, sizes, strict=True):
            column.extend(table.get(key) or [None] * n)
        joined[key] = column
    return joined


def read_part(data: bytes | memoryview) -> dict[str, Any]:
    """One stored part, decompressed and parsed."""
    part: dict[str, Any] = json.loads(_gzip.decompress(bytes(data)))
    return part


def households(data: bytes | memoryview) -> Iterator[dict[str, Any]]:
    """The households of one stored part in order, each as {"household_code", fields...,
    "members": [{fields...}]} with only the values it has."""
    part = read_part(data)
    columns, members = part["households"], part["members"]
    offset = 0
    for i, count in enumerate(part["member_counts"]):
        household = {k: v[i] for k, v in columns.items() if v[i] is not None}
        household["members"] = [
            {k: v[j] for k, v in members.items() if v[j] is not None}
            for j in range(offset, offset + count)
        ]
        offset += count
        yield household


def household(data: bytes | memoryview, household_code: str) -> dict[str, Any] | None:
    """One household's values from a stored part (None when it is not there)."""
    return next((h for h in households(data) if h["household_code"] == household_code), None)
