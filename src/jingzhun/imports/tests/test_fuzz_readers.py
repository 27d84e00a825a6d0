"""A bounded fuzz run of the readers (issue 20, item 2): small valid .xlsx and .csv files
mutated by bit flips, truncations and splices are read through `read_sheets` (the container
checks, then the child); every sheet's rows are taken. The only exception allowed out is
`UnreadableFile`, the documented one (the CLI's exit 2, the web's "cannot read")."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jingzhun.imports import reader
from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, csv_bytes, household_rows, xlsx

_ROWS = [FLAT_HEADER, *household_rows("F1", VILLAGE, 101, 3), ["F2", VILLAGE, "张三", "", 1.5]]
SEEDS = {
    "xlsx": xlsx({"花名册": _ROWS, "说明": [["填表说明"]]}, {"花名册": ["A2:A4"]}),
    "csv": csv_bytes(_ROWS),
    "csv-gbk": csv_bytes(_ROWS, "gb18030"),
}


@st.composite
def mutated(draw: Any) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "splice", "bytes"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice":  # a slice of the file copied elsewhere in it
            end = draw(st.integers(at, min(len(data), at + 4096)))
            to = draw(st.integers(0, len(data)))
            data[to:to] = data[at:end]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_read_or_are_unreadable(data: bytes) -> None:
    try:
        for sheet in reader.read_sheets(data):
            for _number, row in sheet.rows():
                assert type(row) is list
            again = sheet.again()
            if again is not None:
                list(again.rows())
    except reader.UnreadableFile as exc:
        assert exc.message
