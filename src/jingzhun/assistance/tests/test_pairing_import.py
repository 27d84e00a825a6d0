"""The .xlsx pairing import (issue 21 item 2): all or nothing, problems named by row, column
and reason; the template reads back as an empty sheet."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from jingzhun.access.models import HelperPairing
from jingzhun.assistance.importer import (
    MAX_BYTES,
    PairingImportRefused,
    do_import_pairings,
    template,
)
from jingzhun.audit.models import AuditEvent

from .conftest import snapshot

HEADER = ["户编号", "户主姓名", "帮扶责任人账号", "开始日期"]


def sheet(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["结对帮扶名单"])  # a title row above the header
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_good_sheet_pairs_every_row(paired: Any) -> None:
    data = sheet(
        [
            ["P01", "户主1", "helper", datetime.date(2024, 3, 1)],
            ["P02", "", "HELPER2", "2024/3/2"],
            ["P03", None, "helper2", "2024-03-03"],
        ]
    )
    result = do_import_pairings(data, "pairs.xlsx", actor=paired.user("village"))
    assert len(result.created) == 3
    got = {(p.household.household_code, p.helper.username, p.start_date) for p in result.created}
    assert ("P02", "helper2", datetime.date(2024, 3, 2)) in got
    event = AuditEvent.objects.filter(event="assistance.pairing.import").latest("id")
    assert event.diff["pairings"] == [None, 3]


def test_bad_rows_are_all_named_and_nothing_is_written(paired: Any) -> None:
    data = sheet(
        [
            ["P01", "户主1", "helper", "2024-03-01"],  # good
            ["", "", "helper", "2024-03-01"],  # row 4: no household code
            ["P02", "别人", "helper", "2024-03-01"],  # row 5: wrong head name
            ["P03", "", "nobody", "2024-03-01"],  # row 6: unknown account
            ["P04", "", "helper3", "2024-03-01"],  # row 7: helper without profile
            ["P05", "", "helper", "三月"],  # row 8: not a date
            ["H101201", "", "helper", "2024-03-01"],  # row 9: another township's household
            ["P01", "", "helper", "2024-03-05"],  # row 10: the same pairing as row 3
            ["P06", "", "village", "2099-01-01"],  # row 11: not a helper, a future date
        ]
    )
    before = snapshot()
    with pytest.raises(PairingImportRefused) as refused:
        do_import_pairings(data, "bad.xlsx", actor=paired.user("village"))
    problems = {(p.row, p.column) for p in refused.value.problems}
    assert problems == {
        (4, "户编号"),
        (5, "户主姓名"),
        (6, "帮扶责任人账号"),
        (7, "帮扶责任人账号"),
        (8, "开始日期"),
        (9, "户编号"),
        (10, ""),
        (11, "帮扶责任人账号"),
        (11, "开始日期"),
    }
    message = refused.value.message
    assert message.startswith("结对导入文件有 9 处问题，未写入任何结对")
    assert "第 8 行“开始日期”列：“三月”不是有效日期" in message
    assert "第 9 行“户编号”列：未找到户编号 H101201，或该户不在您的范围内" in message
    assert snapshot() == before


def test_the_quota_counts_the_rows_of_the_file(paired: Any) -> None:
    # the world's helper holds 1 household; an other cadre may hold 6: rows 3-7 fit, row 8 not
    rows = [[f"P{i:02d}", "", "helper", "2024-03-01"] for i in range(1, 7)]
    before = snapshot()
    with pytest.raises(PairingImportRefused) as refused:
        do_import_pairings(sheet(rows), "quota.xlsx", actor=paired.user("county"))
    (problem,) = refused.value.problems
    assert (problem.row, problem.column) == (8, "帮扶责任人账号")
    assert "超过上限 6 户" in problem.reason and "其他干部每人包扶 6 户" in problem.reason
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"not a workbook at all", "找不到表头"),
        (b"", "文件为空"),
        (b"x" * (MAX_BYTES + 1), "文件超过 2 MB"),
    ],
)
def test_unreadable_files_are_refused(paired: Any, data: bytes, says: str) -> None:
    before = snapshot()
    with pytest.raises(PairingImportRefused, match=says):
        do_import_pairings(data, "x.xlsx", actor=paired.user("county"))
    assert snapshot() == before


def test_a_sheet_without_the_headers_is_refused(paired: Any) -> None:
    with pytest.raises(PairingImportRefused, match="找不到表头"):
        do_import_pairings(
            sheet([["P01"]], header=["户编号", "姓名"]), "x.xlsx", actor=paired.user("county")
        )


def test_the_template_has_the_headers_and_imports_as_empty(paired: Any) -> None:
    data = template()
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["结对表", "说明"]
    assert [c.value for c in book["结对表"][1]] == HEADER
    with pytest.raises(PairingImportRefused, match="没有结对数据"):
        do_import_pairings(data, "template.xlsx", actor=paired.user("county"))
    assert HelperPairing.objects.count() == 1
