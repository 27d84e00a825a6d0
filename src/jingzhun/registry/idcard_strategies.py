"""Hypothesis strategies for resident ID numbers, shared by every test that needs people.

Test-only helpers (they import hypothesis, a dev dependency): never import them from app code.

The check character is computed here straight from the ISO 7064 MOD 11-2 definition, not with
`idcard.check_char`, so that tests comparing the two are not comparing the code with itself.
"""

from __future__ import annotations

import datetime
from typing import Literal, NamedTuple

from hypothesis import strategies as st

__all__ = [
    "IdParts",
    "id_parts",
    "iso7064_check_char",
    "messy_spellings",
    "valid_ids",
]


def iso7064_check_char(first17: str) -> str:
    """MOD 11-2 from its definition: the digit a_1 with sum(a_i * 2**(i-1)) == 1 (mod 11), where
    positions i count from the right and the check character itself is i = 1 (10 written X)."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (1 - total) % 11
    return "X" if value == 10 else str(value)


class IdParts(NamedTuple):
    """A generated ID together with the facts it was built from."""

    number: str
    region_code: str
    birth_date: datetime.date
    sequence: int
    sex: Literal["male", "female"]


@st.composite
def id_parts(
    draw: st.DrawFn,
    *,
    regions: st.SearchStrategy[str] | None = None,
    min_birth: datetime.date = datetime.date(1900, 1, 1),
    max_birth: datetime.date = datetime.date(2020, 12, 31),
    sex: Literal["male", "female"] | None = None,
) -> IdParts:
    """A valid 18-character ID and its parts. `regions` draws 6-digit codes (default: any)."""
    region = draw(regions if regions is not None else st.integers(0, 999_999).map("{:06d}".format))
    if len(region) != 6 or not (region.isascii() and region.isdigit()):
        raise ValueError(f"region strategy gave {region!r}, not 6 ASCII digits")
    born = draw(st.dates(min_value=min_birth, max_value=max_birth))
    sequence = draw(st.integers(0, 999))
    if sex == "male":
        sequence |= 1
    elif sex == "female":
        sequence &= ~1
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return IdParts(
        number=first17 + iso7064_check_char(first17),
        region_code=region,
        birth_date=born,
        sequence=sequence,
        sex="male" if sequence % 2 else "female",
    )


def valid_ids(
    *,
    regions: st.SearchStrategy[str] | None = None,
    min_birth: datetime.date = datetime.date(1900, 1, 1),
    max_birth: datetime.date = datetime.date(2020, 12, 31),
    sex: Literal["male", "female"] | None = None,
) -> st.SearchStrategy[str]:
    """Valid, normalised 18-character IDs (upper-case X), born between min_birth and max_birth."""
    return id_parts(regions=regions, min_birth=min_birth, max_birth=max_birth, sex=sex).map(
        lambda parts: parts.number
    )


_FULLWIDTH_OFFSET = 0xFEE0
_SPACES = (" ", "\u3000", "\t", "\n", "\xa0", "\u200b")


@st.composite
def messy_spellings(draw: st.DrawFn, number: str) -> str:
    """`number` as people and spreadsheets type it: stray spaces (incl. full-width), full-width
    characters, lower-case x, a leading apostrophe. `idcard.normalize` must undo all of it."""
    out: list[str] = []
    for ch in number:
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(_SPACES)))
        if ch == "X":
            ch = draw(st.sampled_from(["X", "x", "\uff38", "\uff58"]))  # X x Ｘ ｘ
        elif draw(st.booleans()):
            ch = chr(ord(ch) + _FULLWIDTH_OFFSET)
        out.append(ch)
    if draw(st.booleans()):
        out.append(draw(st.sampled_from(_SPACES)))
    text = "".join(out)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["'", "\uff07", "\u2018", "\u2019"])) + text
    return text
