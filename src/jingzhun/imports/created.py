"""The masked copy of the households a batch creates (ADR 0040): built, compressed, read back.

A committed batch keeps the values of every household it created, and of their members, masked
exactly as the change log masks a diff (`pipeline._masked`: ID number first 6 + last 4, phone
3 + 4, bank account last 4, health and disability `***`), as gzip-compressed JSON Lines in parts
of at most `PART_SIZE` households (`ImportCreatedCopy`), so that reading one household
decompresses one part. One line per household, in write order:

    {"household_code": "...", <field>: <masked value>, ..., "members": [{<field>: ...}, ...]}

Keys other than "household_code" (first) and "members" (last) are in sorted order, members'
keys too; compact separators, no ASCII escaping. Only the fields a household or member has are
present (as in `HouseholdPlan.masked_diff()`); "village" is one of the household's fields.

The per-row path builds a line from a `HouseholdPlan` (`plan_line`); the columnar path builds
the same bytes from the `NewBlock`'s columns (`BlockLines`): each distinct value of a column is
masked and JSON-encoded once, and a household's or member's text is one join of its columns'
pieces. `imports/tests/test_columnar.py` compares the two.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any, Final

from .pipeline import HouseholdPlan, _masked

try:  # ISA-L's gzip: several times faster than zlib at the same ratio class
    from isal import igzip as _gzip

    LEVEL: Final = 1
except ImportError:  # pragma: no cover - isal is a dependency; stdlib gzip reads the same files
    import gzip as _gzip  # type: ignore[no-redef]

    LEVEL = 1  # type: ignore[misc]

PART_SIZE = 10_000  # households per part (tests make it smaller)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _piece(key: str, value: Any) -> str:
    """`,"key":value` for one field, masked; "" when the field has no value."""
    if value is None:
        return ""
    return f",{_dumps(key)}:{_dumps(_masked(key, value))}"


def _line(code: str, household: list[str], members: list[str]) -> str:
    return (
        f'{{"household_code":{_dumps(code)}{"".join(household)},"members":[{",".join(members)}]}}'
    )


def _member(pieces: Any) -> str:
    text = "".join(pieces)
    return f"{{{text[1:]}}}"


def plan_line(plan: HouseholdPlan) -> str:
    """The copy's line of a new household built by the per-row path."""
    fields = {**plan.values, "village": plan.village or None}
    household = [_piece(k, fields[k]) for k in sorted(fields)]
    members = [_member(_piece(k, m.values[k]) for k in sorted(m.values)) for m in plan.members]
    return _line(plan.code, household, members)


class _Encoder:
    """A column's values as `,"key":masked` pieces, each distinct value encoded once."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.memo: dict[Any, str] = {None: ""}

    def __call__(self, values: list[Any]) -> list[str]:
        memo = self.memo
        types = set(map(type, values))
        if types <= {str, type(None)}:
            keys: list[Any] = values
        else:  # equal but differently written (Decimal 1.0 / 1.00, 1 / True): keyed apart
            keys = [
                None if v is None else (list, tuple(v)) if type(v) is list else (type(v), str(v), v)
                for v in values
            ]
        for k, v in zip(keys, values, strict=True):
            if k not in memo:
                memo[k] = _piece(self.key, v)
        return list(map(memo.__getitem__, keys))


class BlockLines:
    """The copy's lines of a columnar `NewBlock`'s households, built column by column."""

    def __init__(self, block: Any) -> None:
        self.block = block
        household = {k: v for k, v in block.household.items() if k != "village"}
        household["village"] = block.villages
        self.hkeys = sorted(household)
        self.hcols = [household[k] for k in self.hkeys]
        self.hencoders = [_Encoder(k) for k in self.hkeys]
        self.mkeys = sorted(block.member)
        self.mcols = [block.member[k] for k in self.mkeys]
        self.mencoders = [_Encoder(k) for k in self.mkeys]

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines of households start..stop (ISO birth dates, as `plans()` gives them as dates)."""
        block = self.block
        starts = block.starts
        first, last = starts[start], starts[stop]
        hpieces = [
            enc(col[start:stop]) for enc, col in zip(self.hencoders, self.hcols, strict=True)
        ]
        mpieces = [
            enc(col[first:last]) for enc, col in zip(self.mencoders, self.mcols, strict=True)
        ]
        members = [f"{{{''.join(p)[1:]}}}" for p in zip(*mpieces, strict=True)]
        out = []
        codes = block.codes
        for h, household in zip(range(start, stop), zip(*hpieces, strict=True), strict=True):
            a, b = starts[h] - first, starts[h + 1] - first
            out.append(_line(codes[h], list(household), members[a:b]))
        return out


class CreatedCopy:
    """Collects the lines of created households in write order and cuts them into compressed
    parts of `PART_SIZE` households; hashes their uncompressed text as it goes."""

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
        self.hash.update(text)
        data = _gzip.compress(text, LEVEL, mtime=0)
        part, n = self.part, len(self.lines)
        self.part += 1
        self.lines = []
        self.raw += len(text)
        self.compressed += len(data)
        return part, n, data

    def digest(self) -> str:
        """SHA-256 of the uncompressed parts in order (`created_sha256`)."""
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
