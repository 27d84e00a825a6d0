"""Parsing contained (issue 20, item 2): hostile workbooks are refused before any reader sees
them, what the checks let through is read in a child process under limits, `jingzhun import`
exits 2 and writes nothing, and the contained read gives the same rows as the reader itself."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from jingzhun.imports import reader
from jingzhun.imports.models import ImportBatch
from jingzhun.imports.tests import hostile
from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, household_rows, xlsx
from jingzhun.registry.models import Household

HOSTILE = {
    "far cell": (hostile.far_cell, "工作表“花名册”在单元格 XFD1048576 处有内容"),
    "far cell after A1": (hostile.far_cell_after_a1, "在单元格 XFD1048576 处有内容"),
    "declared dimension": (hostile.declared_dimension, "声明的范围为 A1:XFD1048576"),
    "zip bomb": (hostile.zip_bomb, "疑似压缩炸弹"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_workbooks_are_refused_before_any_reader(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build, expected = HOSTILE[case]

    def no_child(*args: Any) -> Any:
        raise AssertionError("the reader was started")

    monkeypatch.setattr(reader.sandbox, "Channel", no_child)
    with pytest.raises(reader.UnreadableFile) as refused:
        reader.read_sheets(build())
    assert expected in refused.value.message


@pytest.mark.parametrize("case", [*HOSTILE, "nested GeoJSON"])
def test_import_exits_2_and_writes_nothing(world: Any, tmp_path: Path, case: str) -> None:
    build, expected = HOSTILE.get(case) or (hostile.nested_geojson, "文件是 JSON（如 GeoJSON")
    path = tmp_path / ("b.geojson" if case == "nested GeoJSON" else "花名册.xlsx")
    path.write_bytes(build())
    households, batches = Household.objects.count(), ImportBatch.objects.count()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import", str(path), stdout=out, stderr=err)
    assert failed.value.returncode == 2
    assert str(failed.value).startswith("无法读取文件：") and expected in str(failed.value)
    assert (Household.objects.count(), ImportBatch.objects.count()) == (households, batches)


def test_what_the_checks_let_through_is_contained_by_the_child() -> None:
    """With the range checks lifted, the workbook whose range is 512 GiB reaches the reader:
    python-calamine aborts its process, which is the child, and the caller gets the reason."""
    lifted = {
        **settings.IMPORT_LIMITS,
        "sheet_columns": 1 << 30,
        "sheet_rows": 1 << 30,
        "sheet_cells": 1 << 62,
        "memory_mb": 1024,
    }
    with override_settings(IMPORT_LIMITS=lifted), pytest.raises(reader.UnreadableFile) as failed:
        for sheet in reader.read_sheets(hostile.far_cell_after_a1()):
            list(sheet.rows())
    assert "读取文件所需内存超过上限（1024 MB）" in failed.value.message


def test_the_contained_read_gives_the_readers_rows() -> None:
    """Two sheets with a merged range, the second's head read before the first's rest (as the
    layout detection does), and a sheet read again from the chunks kept."""
    first = [
        FLAT_HEADER,
        *household_rows("B1", VILLAGE, 101, 3),
        *household_rows("B2", VILLAGE, 201, 2),
    ]
    data = xlsx(
        {"户表": first, "说明": [["填表说明"], ["x", 1.5, None, True]]}, {"户表": ["A2:A4"]}
    )
    expected = [list(s.rows()) for s in reader.open_sheets(data)]
    sheets = reader.read_sheets(data)
    one, two = sheets[0].rows(), sheets[1].rows()
    head = [next(one), next(one)]
    got_two = list(two)
    got_one = head + list(one)
    assert [got_one, got_two] == expected
    assert got_one[2][1][0] == "B1"  # the merged cell carried down
    again = sheets[0].again()
    assert again is not None and list(again.rows()) == expected[0]


def test_a_csv_is_read_in_the_child_once() -> None:
    data = "户编号,姓名\nB1,张三\nB2,李四\n".encode("gb18030")
    (sheet,) = reader.read_sheets(data)
    assert list(sheet.rows()) == [(1, ["户编号", "姓名"]), (2, ["B1", "张三"]), (3, ["B2", "李四"])]
    assert sheet.again() is None  # a CSV is read again from its bytes


def test_a_county_sized_workbook_passes_the_checks() -> None:
    """300,000 rows of 66 columns (the B1 roster) is within every default limit: its range,
    and its cells as the scan finds them."""
    limits = settings.IMPORT_LIMITS
    reader._check_dimension("花名册", "A1:BN300002", limits)
    cells = "".join(
        f'<row r="{r}"><c r="A{r}" t="n"><v>1</v></c><c r="BN{r}" t="n"><v>1</v></c></row>'
        for r in (1, 2, 300_002)
    )
    data = hostile.workbook(hostile.sheet_xml(cells, dimension="A1:BN300002"))
    reader.check_workbook(data, limits)
