"""Reading files: formats by content, encodings, title rows, two-row merged headers, synonyms, codes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.fields import match_header
from jingzhun.imports.layout import data_rows
from jingzhun.imports.pipeline import plan_import
from jingzhun.imports.reader import UnreadableFile, detect_format, read_sheets
from jingzhun.registry.models import Household

from .conftest import FLAT_HEADER, VILLAGE, csv_bytes, household_rows, person, xlsx


def _new_plan(result: Any, code: str) -> Any:
    return next(p for p in result.plans if p.code == code)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_excel_and_wps_save(world: Any, encoding: str) -> None:
    data = csv_bytes([FLAT_HEADER, *household_rows("C1", VILLAGE, 101)], encoding)
    result = plan_import(data, "a.csv", actor=world.user("county"))
    assert result.errors == []
    plan = _new_plan(result, "C1")
    assert plan.kind == "new"
    assert plan.values["main_cause"] == "illness"
    assert [m.values["name"] for m in plan.members] == ["户主C1", "女儿C11"]


def test_undecodable_bytes_are_an_unreadable_file() -> None:
    with pytest.raises(UnreadableFile, match="编码"):
        read_sheets("户编号,姓名\n".encode("utf-16-le") + b"\xff\xfe\x00\xd8")


def test_broken_zip_is_an_unreadable_file_with_a_chinese_reason(world: Any) -> None:
    data = xlsx({"a": [FLAT_HEADER]})[:300]
    result = plan_import(data, "a.xlsx", actor=world.user("county"))
    assert result.unreadable and not result.ok
    assert "Excel" in result.errors[0].reason


def test_title_rows_and_a_two_row_merged_header_are_understood(world: Any) -> None:
    head, daughter = person(101), person(102, "20100101")
    rows = [
        ["拜泉县贫困户信息采集表"],
        ["填报单位：第1镇", None, None, None, None, None],
        ["户编号", "村级区划代码", "家庭成员", None, "与户主关系", "出生日期"],
        [None, None, "姓名", "身份证号码", None, None],
        ["1", "2", "3", "4", "5", "6"],  # the column-number row forms put under the header
        ["T1", VILLAGE, "王大", head, "户主", datetime.date(1980, 1, 1)],
        [None, None, "王小", daughter, "女儿", datetime.date(2010, 1, 1)],
    ]
    merges = {"表": ["A1:F1", "C3:D3", "A6:A7", "B6:B7"]}
    result = plan_import(xlsx({"表": rows}, merges), "t.xlsx", actor=world.user("county"))
    assert result.errors == []
    layout = result.layouts[0]
    assert layout.header_rows == (3, 4)
    assert {c.key for c in layout.columns if c.key} >= {"household_code", "name", "id_number"}
    plan = _new_plan(result, "T1")
    assert [(m.values["name"], m.values["relation"]) for m in plan.members] == [
        ("王大", "head"),
        ("王小", "daughter"),
    ]


def test_a_sheet_that_starts_right_of_column_a_keeps_its_column_letters(world: Any) -> None:
    rows = [[None, None, *FLAT_HEADER], [None, None, *household_rows("S1", VILLAGE, 101)[0]]]
    rows[1][5] = "12345"  # bad ID number in column F
    result = plan_import(xlsx({"s": rows}), "s.xlsx", actor=world.user("county"))
    [error] = [e for e in result.errors if e.field == "id_number"]
    assert (error.row, error.column) == (2, 5)
    assert "第 2 行" in str(error) and "F 列" in str(error)


def test_headers_match_labels_synonyms_english_names_and_full_width_forms() -> None:
    assert match_header("身份证号") == "id_number"
    assert match_header("公民身份号码") == "id_number"
    assert match_header("id_number") == "id_number"
    assert match_header("＊姓 名") == "name"
    assert match_header("耕地面积（亩）") == "cultivated_land_mu"
    assert match_header("住房面积（平方米）") == "house_area_m2"
    assert match_header("与户主关系(必填)") == "relation"
    assert match_header("手机号码") == "phone"
    assert match_header("备注") is None


def test_unknown_columns_are_reported_and_ignored(world: Any) -> None:
    rows = [[*FLAT_HEADER, "备注"], [*household_rows("U1", VILLAGE, 101)[0], "随便写"]]
    result = plan_import(xlsx({"s": rows}), "u.xlsx", actor=world.user("county"))
    assert result.errors == []
    assert any("“备注”无法识别，已忽略" in n for n in result.notices)


def test_code_values_are_read_from_chinese_labels_and_full_width_digits(world: Any) -> None:
    header = [*FLAT_HEADER, "贫困户属性", "耕地面积（亩）", "参加城乡居民基本医疗保险", "识别年度"]
    head = household_rows("V1", VILLAGE, 101)[0]
    head[6], head[7] = "因病致贫", "已脱贫（享受政策）"
    row = [*head, "五保户", "３．５", "是", "２０１６"]
    row[0] = "Ｖ1"
    result = plan_import(xlsx({"s": [header, row]}), "v.xlsx", actor=world.user("county"))
    assert result.errors == []
    plan = _new_plan(result, "V1")
    assert plan.values["main_cause"] == "illness"
    assert plan.values["poverty_status"] == "exited_with_policy"
    assert plan.values["attribute"] == "tekun"
    assert plan.values["cultivated_land_mu"] == Decimal("3.50")
    assert plan.values["identified_year"] == 2016
    [member] = plan.members
    assert member.values["sex"] == "male" and member.values["basic_medical_insured"] is True


def test_household_sheet_plus_member_sheet(world: Any) -> None:
    households = [
        ["户编号", "村级区划代码", "主要致贫原因", "联系电话"],
        ["M1", VILLAGE, "因学", 13900009999],
    ]
    members = [["户编号", "姓名", "证件号码", "与户主关系"], ["M1", "甲", person(101), "户主"]]
    data = xlsx({"户表": households, "成员表": members, "说明": [["填表说明：……"]]})
    result = plan_import(data, "m.xlsx", actor=world.user("county"))
    assert result.errors == []
    assert [layout.kind for layout in result.layouts] == ["household", "member", "ignored"]
    plan = _new_plan(result, "M1")
    assert plan.values["main_cause"] == "schooling"
    assert plan.values["phone"] == "13900009999"
    assert len(plan.members) == 1


def test_a_saved_mapping_makes_an_unknown_header_known(world: Any) -> None:
    from jingzhun.imports.actions import do_save_column_mapping

    header = [*FLAT_HEADER[:3], "身份证明号", *FLAT_HEADER[4:]]
    data = xlsx({"s": [header, *household_rows("K1", VILLAGE, 101)]})
    user = world.user("township")
    before = plan_import(data, "k.xlsx", actor=user)
    assert not before.ok and "缺少必需的列：证件号码" in before.errors[0].reason
    do_save_column_mapping("乡里的表", {"身份证明号": "id_number"}, actor=user)
    after = plan_import(data, "k.xlsx", actor=user)
    assert after.errors == [] and _new_plan(after, "K1").kind == "new"
    # another township's user does not get this user's mapping
    assert not plan_import(data, "k.xlsx", actor=world.user("other_township")).ok


def test_rows_stream_without_reading_the_whole_sheet_first() -> None:
    rows = [FLAT_HEADER, *[["X", VILLAGE, "n", "1"] for _ in range(50)]]
    [sheet] = read_sheets(csv_bytes(rows))
    layout, stream = data_rows(sheet, None)
    assert layout.kind == "member"
    first = next(stream)
    assert first.number == 2 and first.values["household_code"] == "X"
    assert sum(1 for _ in stream) == 49


def test_nothing_is_written_by_a_dry_run(world: Any) -> None:
    before = Household.all_objects.count()
    plan_import(xlsx({"s": [FLAT_HEADER, *household_rows("D1", VILLAGE, 101)]}), "d", actor=None)
    assert Household.all_objects.count() == before


def test_an_old_excel_xls_file_imports(world: Any) -> None:
    """A real .xls (OLE2, made by LibreOffice from an .xlsx; fixtures/README.md) is read by content."""
    data = (Path(__file__).parent / "fixtures" / "households.xls").read_bytes()
    assert detect_format(data) == "xls"
    result = plan_import(data, "采集表.xls", actor=world.user("county"))
    assert result.errors == []
    assert result.counts()["households_new"] == 2
    assert result.counts()["members_new"] == 5
    x1 = _new_plan(result, "X1")
    assert x1.village == VILLAGE
    assert x1.head_name == "户主X1"
    assert x1.values["main_cause"] == "illness"
    assert [m.values["sex"] for m in x1.members] == ["male", "female", "female"]
    outcome = do_commit_import(data, "采集表.xls", actor=world.user("county"))
    assert outcome.committed
    household = Household.objects.get(household_code="X1")
    assert household.members.count() == 3
    assert household.village_id == VILLAGE


@pytest.mark.parametrize(
    ("header", "cell", "expected"),
    [
        ("户类型", "一般农户", "not_registered"),
        ("是否建档立卡", "否", "not_registered"),
        ("是否建档立卡", "是", "not_exited"),
        ("户类型", "脱贫户", "exited_with_policy"),
    ],
)
def test_a_household_type_column_tells_ordinary_from_registered_households(
    world: Any, header: str, cell: str, expected: str
) -> None:
    # issue 19: 户类型 / 是否建档立卡 beside 脱贫状态 (blank for an ordinary household)
    assert match_header(header) == "household_type"
    head = household_rows("V1", VILLAGE, 101)[0]
    head[7] = "已脱贫（享受政策）" if cell == "脱贫户" else ""
    result = plan_import(
        xlsx({"s": [[*FLAT_HEADER, header], [*head, cell]]}), "v.xlsx", actor=world.user("county")
    )
    assert result.errors == []
    values = _new_plan(result, "V1").values
    assert values.get("poverty_status", "not_exited") == expected
    assert "household_type" not in values
