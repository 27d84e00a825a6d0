"""Income columns of the national forms (issue 19 item 2): the year rule, bad cells, updates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.models import ImportChange
from jingzhun.imports.pipeline import HOUSEHOLD_CODE_UNUSABLE, plan_import
from jingzhun.registry.actions import do_record_income
from jingzhun.registry.models import Household, IncomeRecord

from .conftest import FLAT_HEADER, OTHER_TOWNSHIP_VILLAGE, VILLAGE, household_rows, xlsx

INCOME_HEADER = ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出"]
THIS_YEAR = timezone.localdate().year


def _rows(amounts: list[Any], *, year: Any = None) -> list[list[Any]]:
    """Two new households (N1, N2) with `amounts` on every member row (a flat form)."""
    rows = household_rows("N1", VILLAGE, 101) + household_rows("N2", VILLAGE, 201)
    return [[*r, *([] if year is None else [year]), *amounts] for r in rows]


def _header(*, year: bool = False) -> list[str]:
    return [*FLAT_HEADER, *(["年度"] if year else []), *INCOME_HEADER]


def _incomes() -> dict[tuple[str, int], tuple[Decimal, ...]]:
    return {
        (i.household.household_code, i.year): (
            i.wage_income,
            i.business_income,
            i.property_income,
            i.transfer_income,
            i.business_costs,
        )
        for i in IncomeRecord.objects.select_related("household")
    }


def test_a_2019_roster_with_its_year_in_the_title_imports_every_income(world: Any) -> None:
    title = ["拜泉县建档立卡贫困户花名册（2019年度）"]
    data = xlsx({"s": [title, _header(), *_rows([12000, "3,500.5", 0, 2400, 800])]})
    outcome = do_commit_import(data, "2019.xlsx", actor=world.user("township"))
    assert outcome.committed, [str(e) for e in outcome.result.errors]
    notices = " ".join(outcome.result.notices)
    assert "无法识别" not in notices
    amounts = (Decimal(12000), Decimal("3500.5"), Decimal(0), Decimal(2400), Decimal(800))
    assert _incomes() == {("N1", 2019): amounts, ("N2", 2019): amounts}
    income = IncomeRecord.objects.get(household__household_code="N1")
    assert income.net_income == Decimal("17100.50")
    # The same content again (a new file): nothing changes.
    again = plan_import(
        xlsx({"另存": [title, _header(), *_rows([12000, 3500.5, 0, 2400, 800])]}),
        "copy.xlsx",
        actor=world.user("township"),
    )
    assert again.ok and {p.kind for p in again.plans} == {"unchanged"}


@pytest.mark.parametrize(
    ("title", "column", "flag", "expected"),
    [
        ("花名册（2019年度）", 2018, 2017, 2018),  # a 年度 column wins
        ("花名册（2019年度）", None, 2017, 2019),  # then the title
        ("花名册", None, 2017, 2017),  # then the year given with the file
        ("2019年建档立卡贫困户花名册", None, None, 2019),
    ],
)
def test_the_income_year_comes_from_the_column_then_the_title_then_the_flag(
    world: Any, title: str, column: int | None, flag: int | None, expected: int
) -> None:
    rows = [[title], _header(year=column is not None), *_rows([100, 0, 0, 0, 0], year=column)]
    outcome = do_commit_import(xlsx({"s": rows}), "y.xlsx", actor=world.user("county"), year=flag)
    assert outcome.committed, [str(e) for e in outcome.result.errors]
    assert set(IncomeRecord.objects.values_list("year", flat=True)) == {expected}


def test_income_columns_without_a_year_anywhere_refuse_the_file(world: Any) -> None:
    # "截至2019年12月31日" is a date, not the income year.
    rows = [["花名册（截至2019年12月31日）"], _header(), *_rows([100, 0, 0, 0, 0])]
    before = Household.objects.count()
    outcome = do_commit_import(xlsx({"s": rows}), "n.xlsx", actor=world.user("county"))
    assert not outcome.committed
    [error] = outcome.result.errors
    assert "未指明收入所属年度" in error.reason and "工资性收入、生产经营性收入" in error.reason
    assert "请增加“年度”列" in error.reason and error.row == 2
    assert Household.objects.count() == before and IncomeRecord.objects.count() == 0


def test_a_year_in_the_future_is_refused_naming_the_cell(world: Any) -> None:
    rows = [_header(year=True), *_rows([100, 0, 0, 0, 0], year=THIS_YEAR + 1)]
    result = plan_import(xlsx({"s": rows}), "f.xlsx", actor=world.user("county"))
    assert {(e.row, e.header) for e in result.errors} == {(r, "年度") for r in range(2, 6)}
    assert "晚于今年" in result.errors[0].reason
    title = [[f"花名册（{THIS_YEAR + 1}年度）"], _header(), *_rows([100, 0, 0, 0, 0])]
    result = plan_import(xlsx({"s": title}), "t.xlsx", actor=world.user("county"))
    [error] = result.errors
    assert (error.row, error.header, "晚于今年" in error.reason) == (1, "标题", True)
    flagged = plan_import(
        xlsx({"s": [_header(), *_rows([1, 0, 0, 0, 0])]}), "g.xlsx", actor=None, year=THIS_YEAR + 1
    )
    assert [e.header for e in flagged.errors] == ["指定年度"]


@pytest.mark.parametrize(
    ("cell", "reason"), [(-5, "不能为负数"), ("三千元", "应为数字"), ("1,2x", "应为数字")]
)
def test_a_bad_income_cell_is_refused_naming_the_cell_and_nothing_is_written(
    world: Any, cell: Any, reason: str
) -> None:
    rows = _rows([100, 0, 0, 0, 0], year=2019)
    rows[2][len(FLAT_HEADER) + 1 + 2] = cell  # N2's head: 财产性收入
    before = Household.objects.count()
    outcome = do_commit_import(
        xlsx({"s": [_header(year=True), *rows]}), "b.xlsx", actor=world.user("county")
    )
    assert not outcome.committed
    [error] = outcome.result.errors
    assert (error.row, error.header, error.reason) == (4, "财产性收入", reason)
    assert "第 4 行" in str(error) and "L 列“财产性收入”" in str(error)
    assert Household.objects.count() == before and IncomeRecord.objects.count() == 0


def test_income_disagreeing_within_a_household_is_refused(world: Any) -> None:
    rows = _rows([100, 0, 0, 0, 0], year=2019)
    rows[1][len(FLAT_HEADER) + 1] = 200
    result = plan_import(xlsx({"s": [_header(year=True), *rows]}), "d.xlsx", actor=None)
    [error] = result.errors
    assert error.row == 3 and "同一户2019年度的工资性收入与工作表“s”第 2 行不一致" in error.reason


def _existing(world: Any, village: str, amounts: list[Any]) -> list[list[Any]]:
    household = world.households[village]
    return [
        [
            household.household_code,
            village,
            m.name,
            m.id_number,
            "",
            "户主" if m.relation == "head" else "之女",
            "",
            "",
            2019,
            *amounts,
        ]
        for m in household.members.order_by("id")
    ]


def test_income_of_an_existing_household_is_updated_audited_and_rerun_changes_nothing(
    world: Any,
) -> None:
    household = world.households[VILLAGE]
    do_record_income(household.pk, 2019, {"wage_income": 5000, "transfer_income": 100}, actor=None)
    household.refresh_from_db()
    version = household.version
    # 财产性收入 empty: left as it is; transfer unchanged; wage changed; costs given.
    rows = _existing(world, VILLAGE, [6000, 0, "", 100, 300])
    data = xlsx({"s": [_header(year=True), *rows]})
    dry = plan_import(data, "u.xlsx", actor=world.user("village"))
    [plan] = dry.plans
    assert plan.kind == "changed" and plan.values == {}
    [income] = plan.incomes
    assert (income.year, income.kind) == (2019, "changed")
    assert income.values == {"wage_income": Decimal(6000), "business_costs": Decimal(300)}
    assert ("2019年度工资性收入", "5000.00", "6000.00") in plan.field_rows()
    outcome = do_commit_import(data, "u.xlsx", actor=world.user("village"))
    assert outcome.committed and outcome.batch.households_changed == 1
    record = IncomeRecord.objects.get(household=household, year=2019)
    assert (record.wage_income, record.business_costs, record.transfer_income) == (6000, 300, 100)
    assert record.version == 2
    household.refresh_from_db()
    assert household.version == version + 1  # assessments key on it: the old one is stale
    [change] = ImportChange.objects.filter(batch=outcome.batch)
    assert change.diff["incomes"] == [
        {
            "year": 2019,
            "kind": "changed",
            "fields": {"business_costs": ["0.00", "300.00"], "wage_income": ["5000.00", "6000.00"]},
        }
    ]
    rerun = plan_import(
        xlsx({"again": [_header(year=True), *rows]}), "u2.xlsx", actor=world.user("village")
    )
    assert [p.kind for p in rerun.plans] == ["unchanged"]


def test_income_for_a_household_outside_the_scope_is_refused(world: Any) -> None:
    rows = _existing(world, OTHER_TOWNSHIP_VILLAGE, [6000, 0, 0, 0, 0])
    outcome = do_commit_import(
        xlsx({"s": [_header(year=True), *rows]}), "o.xlsx", actor=world.user("township")
    )
    assert not outcome.committed
    assert [p.kind for p in outcome.result.plans] == ["refused"]
    # the generic answer for another region's household (ADR 0047)
    assert any(e.reason == HOUSEHOLD_CODE_UNUSABLE for e in outcome.result.errors)
    assert IncomeRecord.objects.count() == 0


def test_a_changed_income_queues_its_household_for_judging_again(world: Any) -> None:
    from jingzhun.assessments.models import ReassessJob

    household = world.households[VILLAGE]
    do_record_income(household.pk, 2019, {"wage_income": 5000}, actor=None)
    ReassessJob.objects.all().delete()
    rows = _existing(world, VILLAGE, [7000, "", "", "", ""])
    outcome = do_commit_import(
        xlsx({"s": [_header(year=True), *rows]}), "r.xlsx", actor=world.user("village")
    )
    assert outcome.committed
    [job] = ReassessJob.objects.all()
    assert (job.year, job.household_ids(), job.status) == (2019, [household.pk], "queued")


def test_the_command_takes_the_income_year(world: Any, tmp_path: Any) -> None:
    import io

    from django.core.management import CommandError, call_command

    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx({"s": [_header(), *_rows([800, 0, 0, 0, 0])]}))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", str(path), stdout=io.StringIO(), stderr=err)
    assert "未指明收入所属年度" in err.getvalue()
    call_command("import", str(path), "--year", "2018", stdout=io.StringIO(), stderr=io.StringIO())
    assert set(IncomeRecord.objects.values_list("year", flat=True)) == {2018}
