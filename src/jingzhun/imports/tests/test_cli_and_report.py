"""`jingzhun import` exit codes and counts; the .xlsx error report; hostile files (hypothesis)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from jingzhun.access.models import User
from jingzhun.audit.models import AuditEvent
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.pipeline import plan_import
from jingzhun.imports.report import REASON_HEADER, SUMMARY_SHEET, build_report
from jingzhun.registry.models import Household, Member

from .conftest import FLAT_HEADER, VILLAGE, csv_bytes, household_rows, xlsx


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def test_cli_dry_run_commit_rerun_refusal_and_unreadable(world: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx({"s": [FLAT_HEADER, *household_rows("C1", VILLAGE, 101, 3)]}))
    code, out, _ = _run(str(good), "--dry-run", "--user", "township")
    assert code == 0 and "新增 1 户 3 人" in out and "未写入" in out
    assert not Household.objects.filter(household_code="C1").exists()
    # the dry run is audited with the ID numbers it tested, as the web's check is
    [event] = AuditEvent.objects.filter(event="imports.dry_run")
    assert event.diff["id_numbers_tested"] == 3 and event.diff["filename"] == "good.xlsx"
    assert event.actor_id == User.objects.get(username="township").pk

    code, out, _ = _run(str(good), "--user", "township")
    assert code == 0 and "导入完成" in out
    assert Member.objects.filter(household__household_code="C1").count() == 3

    code, out, _ = _run(str(good), "--user", "township")
    assert code == 0 and "此前已导入" in out and "新增 0" in out

    bad_rows = household_rows("C2", VILLAGE, 201)
    bad_rows[1][4] = "男"  # a daughter's ID number says female
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([FLAT_HEADER, *bad_rows], "gbk"))
    report = tmp_path / "report.xlsx"
    code, out, err = _run(str(bad), "--report", str(report))
    assert code == 1 and "拒绝 1 行" in out and "第 3 行" in err and "未导入任何数据" in err
    assert not Household.objects.filter(household_code="C2").exists()
    assert report.exists()

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    code, _, err = _run(str(broken), "--report", str(tmp_path / "r2.xlsx"))
    assert code == 2 and "无法读取" in err
    assert SUMMARY_SHEET in load_workbook(tmp_path / "r2.xlsx").sheetnames

    code, _, _ = _run(str(tmp_path / "missing.xlsx"))
    assert code == 2


def test_the_report_is_a_copy_with_bad_cells_marked_and_a_reason_column(world: Any) -> None:
    rows = household_rows("P1", VILLAGE, 101)
    rows[1][3] = "230231201001010000"
    rows[1][2] = "=cmd|' /C calc'!A0"  # never a live formula in the report
    data = csv_bytes([["某县花名册"], FLAT_HEADER, *rows])
    result = plan_import(data, "p.csv", actor=world.user("county"))
    assert not result.ok
    book = load_workbook(io.BytesIO(build_report(data, result)))
    assert book.sheetnames == [SUMMARY_SHEET, "CSV"]
    sheet = book["CSV"]
    assert sheet["A1"].value == "某县花名册"
    assert sheet.cell(2, len(FLAT_HEADER) + 1).value == REASON_HEADER
    bad = sheet["D4"]
    assert bad.value == "230231201001010000"
    assert bad.fill.fgColor.rgb.endswith("FFC7CE")
    assert bad.comment is not None and "置零" in bad.comment.text
    assert sheet["C4"].data_type == "s" and sheet["C4"].value.startswith("'=")
    reason = sheet.cell(4, len(FLAT_HEADER) + 1).value
    assert "证件号码" in reason and "公式" in reason
    assert sheet["D3"].comment is None
    summary = [row for row in book[SUMMARY_SHEET].iter_rows(values_only=True)]
    assert any(r[1] == 4 and r[2] == "D" for r in summary)
    # the summary masks the ID number it quotes
    assert not any("230231201001010000" in str(r) for r in summary)


def _valid_file() -> bytes:
    return xlsx({"s": [FLAT_HEADER, *household_rows("Z1", VILLAGE, 101)]})


cell_values = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="=+-@\t\r0123456789Xx．０１", max_size=20),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(cell_values, min_size=0, max_size=10), max_size=8),
    header=st.lists(
        st.sampled_from([*FLAT_HEADER, "备注", "", "出生日期", "耕地面积"]), max_size=10
    ),
    as_csv=st.booleans(),
)
def test_hostile_cell_values_give_an_error_report_never_an_exception(
    world: Any, rows: list[list[Any]], header: list[str], as_csv: bool
) -> None:
    if as_csv:  # CSV carries anything, control characters included
        data = csv_bytes([header, *rows])
    else:  # .xlsx cannot hold control characters: openpyxl refuses to write them
        clean = [
            [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r] for r in rows
        ]
        data = xlsx({"s": [header, *clean]})
    households = Household.all_objects.count()
    outcome = do_commit_import(data, "fuzz.xlsx", actor=world.user("county"))
    if not outcome.committed:
        assert Household.all_objects.count() == households
        assert outcome.result.errors and all(e.reason for e in outcome.result.errors)
    load_workbook(io.BytesIO(build_report(data, outcome.result)))


# The readers' fuzz: plans only (nothing is committed); the database holds the fixture's users
# and households.
@pytest.mark.single_database
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(min_value=0, max_value=10_000),
    noise=st.binary(max_size=64),
    encoding=st.sampled_from(["xlsx", "utf-16-le", "latin-1", "raw"]),
)
def test_truncated_broken_and_wrongly_encoded_files_are_reported(
    world: Any, cut: int, noise: bytes, encoding: str
) -> None:
    if encoding == "xlsx":
        data = _valid_file()[:cut] + noise
    elif encoding == "raw":
        data = noise
    else:
        data = ",".join(FLAT_HEADER).encode(encoding, errors="replace") + noise
    before = Household.all_objects.count()
    result = plan_import(data, "x", actor=world.user("county"))
    assert result.ok or result.errors
    assert all(isinstance(e.reason, str) and e.reason for e in result.errors)
    report = build_report(data, result)
    assert zipfile.is_zipfile(io.BytesIO(report))
    assert Household.all_objects.count() == before


def test_a_zip_that_is_not_a_workbook_and_a_huge_cell(world: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "不是表格")
    result = plan_import(buffer.getvalue(), "z.xlsx", actor=None)
    assert result.unreadable and "Excel" in result.errors[0].reason
    rows = household_rows("G1", VILLAGE, 101)
    rows[0][2] = "名" * 40_000
    result = plan_import(csv_bytes([FLAT_HEADER, *rows]), "g.csv", actor=None)
    assert any("过长" in e.reason for e in result.errors)
    load_workbook(io.BytesIO(build_report(csv_bytes([FLAT_HEADER, *rows]), result)))


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02", "户编号\n".encode("utf-16")])
def test_empty_and_binary_files_are_unreadable_or_headerless(db: Any, data: bytes) -> None:
    result = plan_import(data, "e", actor=None)
    assert not result.ok and result.errors[0].reason
