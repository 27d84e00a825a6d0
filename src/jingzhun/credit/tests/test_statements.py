"""Bank statements imported on the task queue: matched rows post once (a re-import posts nothing
twice), unmatched or mismatching rows are reported by row, a hostile file is refused whole."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from openpyxl import Workbook

from jingzhun.core.errors import Forbidden, OutOfScope
from jingzhun.credit.models import Loan, Repayment, StatementImport
from jingzhun.credit.statements import do_submit_statement, run_pending

from .conftest import COUNTY, OTHER_VILLAGE, YUAN, make_loan

pytestmark = pytest.mark.django_db


def csv_bytes(rows: list[list[Any]], header: str = "借据号,还款日期,本金,利息,户名") -> bytes:
    lines = [header] + [",".join(str(c) for c in r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["县农商银行小额信贷还款对账单（2026 年 9 月）"])
    ws.append(["贷款账号", "交易日期", "归还本金", "归还利息", "流水号"])
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _import(world: Any, data: bytes, name: str = "2026-09.csv") -> StatementImport:
    job = do_submit_statement(COUNTY, "县农商银行", name, data, actor=world.user("county"))
    assert job.status == "queued"
    [done] = run_pending()
    return done


def test_matched_rows_post_and_a_reimport_posts_nothing_twice(world: Any, loan: Loan) -> None:
    data = csv_bytes(
        [
            ["JD-2026-0001", "2026-06-01", "0", "375.00", "张三"],
            ["JD-2026-0001", "2026-09-01", "10000", "375.00", "张三"],
            ["JD-9999", "2026-09-01", "100", "1", "某某"],
            ["JD-2026-0001", "2026/09/02", "45000", "0", "张三"],
        ]
    )
    job = _import(world, data)
    assert job.status == "done", job.error
    assert (job.posted, job.already, job.unmatched) == (2, 0, 2)
    reasons = {r["row"]: r["reason"] for r in job.report}
    assert "本县没有借据号为 JD-9999 的贷款" in reasons[4]
    assert "超过贷款 JD-2026-0001 的未还本金 40,000.00 元" in reasons[5]
    loan.refresh_from_db()
    assert loan.outstanding_fen == 40_000 * YUAN
    again = _import(world, data)
    assert (again.posted, again.already, again.unmatched) == (0, 2, 2)
    assert Repayment.objects.count() == 2
    loan.refresh_from_db()
    assert loan.outstanding_fen == 40_000 * YUAN


def test_an_xlsx_statement_with_a_title_row_and_serials(world: Any, loan: Loan) -> None:
    data = xlsx_bytes(
        [
            ["JD-2026-0001", datetime.date(2026, 9, 1), 10000, 375, "S1"],
            ["JD-2026-0001", datetime.date(2026, 9, 1), 10000, 375, "S2"],  # same amounts, 2nd
        ]
    )
    job = _import(world, data, "2026-09.xlsx")
    assert job.status == "done", job.error
    assert job.posted == 2
    assert sorted(Repayment.objects.values_list("statement_row", flat=True)) == [3, 4]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (csv_bytes([["JD-2026-0001", "2026-09-01", "10000", "0"]], "合同,日期,金额"), "缺少列"),
        (
            csv_bytes([["JD-2026-0001", "2026-09-01", "一万", "0", "x"]]),
            "第 2 行“本金”：“一万”不是有效的金额",
        ),
        (csv_bytes([["JD-2026-0001", "九月一日", "100", "0", "x"]]), "第 2 行“还款日期”"),
        (csv_bytes([["JD-2026-0001", "2026-09-01", "-5", "0", "x"]]), "第 2 行“本金”"),
        (csv_bytes([["JD-2026-0001", "2026-09-01", "1.005", "0", "x"]]), "最多两位小数"),
    ],
)
def test_a_hostile_file_is_refused_naming_row_and_field(
    world: Any, loan: Loan, data: bytes, message: str
) -> None:
    good = ["JD-2026-0001", "2026-06-01", "100", "0", "x"]
    # a good first row is not written when a later row is bad
    lines = data.decode().splitlines()
    if "户名" in lines[0]:
        data = csv_bytes([good]) + "\n".join(lines[1:]).encode() + b"\n"
        message = message.replace("第 2 行", "第 3 行")
    job = _import(world, data)
    assert job.status == "failed" and message in job.error, job.error
    assert Repayment.objects.count() == 0
    loan.refresh_from_db()
    assert loan.outstanding_fen == loan.amount_fen


def test_a_loan_of_another_county_refuses_the_whole_file(world: Any, loan: Loan) -> None:
    from jingzhun.regions.actions import RegionRow, do_load_regions

    do_load_regions(
        [
            RegionRow(1, "230232000000", "邻县"),
            RegionRow(2, "230232100000", "邻镇"),
            RegionRow(3, "230232100201", "邻村"),
        ],
        actor=None,
        source="test",
    )
    from conftest import make_id

    from jingzhun.credit.actions import LoanTerms, do_create_loan, do_deposit_risk_fund
    from jingzhun.registry.actions import do_create_household

    other = do_create_household(
        "N1",
        "230232100201",
        {"identified_year": 2014},
        [{"id_number": make_id("230232", "19800101", 5), "name": "孙八", "relation": "head"}],
        actor=None,
    )
    do_deposit_risk_fund(
        "230232000000", 100_000 * YUAN, datetime.date(2026, 1, 5), key="n", actor=None
    )
    do_create_loan(
        other.pk,
        other.members.get().pk,
        LoanTerms(
            "邻县银行", "NB-1", 10_000 * YUAN, 300, 12, datetime.date(2026, 3, 1), "A", "planting"
        ),
        actor=None,
    )
    data = csv_bytes(
        [
            ["JD-2026-0001", "2026-09-01", "100", "0", "x"],
            ["NB-1", "2026-09-01", "100", "0", "y"],
        ]
    )
    job = _import(world, data)
    assert job.status == "failed"
    assert "第 3 行“借据号”：贷款 NB-1 不属于本县" in job.error
    assert Repayment.objects.count() == 0


def test_who_may_import(world: Any, loan: Loan) -> None:
    data = csv_bytes([["JD-2026-0001", "2026-09-01", "100", "0", "x"]])
    for name in ("township", "village", "auditor", "helper"):
        with pytest.raises(Forbidden):
            do_submit_statement(COUNTY, "银行", "a.csv", data, actor=world.user(name))
    with pytest.raises(OutOfScope):
        do_submit_statement("230232000000", "银行", "a.csv", data, actor=world.user("county"))
    assert StatementImport.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_upload_is_queued_and_the_worker_runs_it(world: Any, fund: Any) -> None:
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    make_loan(world, village=OTHER_VILLAGE)
    data = csv_bytes([["JD-2026-0001", "2026-09-01", "100", "0", "x"]])
    job = do_submit_statement(COUNTY, "县农商银行", "a.csv", data, actor=world.user("county"))
    assert DBTaskResult.objects.filter(args_kwargs__args=[job.pk]).exists()
    call_command("worker", "--batch")
    job.refresh_from_db()
    assert job.status == "done" and job.posted == 1
