"""The pages as users use them: list, card, new-loan form with the trace, repayment, overdue list
and its .xlsx (masked), statement upload with the job's page; scoping and read-only roles."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from conftest import signed_in
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from jingzhun.credit.actions import do_mark_overdue
from jingzhun.credit.models import Loan, Repayment, StatementImport
from jingzhun.credit.statements import run_pending

from .conftest import COUNTY, OTHER_VILLAGE, YUAN, head, make_loan

pytestmark = pytest.mark.django_db


def _client(world: Any, name: str) -> Client:
    return signed_in(Client(), world.user(name))


def test_loan_list_and_card_for_each_reader(world: Any, loan: Loan) -> None:
    for name in ("county", "township", "village", "auditor", "helper"):
        c = _client(world, name)
        page = c.get("/credit/")
        assert page.status_code == 200 and "JD-2026-0001" in page.content.decode(), name
        card = c.get(f"/credit/{loan.pk}/")
        assert card.status_code == 200, name
        text = card.content.decode()
        assert "还款计划" in text and "资格审查记录" in text
        h = loan.household
        assert head(h).id_number not in text  # masked
    other = _client(world, "other_township")
    assert "JD-2026-0001" not in other.get("/credit/").content.decode()
    assert other.get(f"/credit/{loan.pk}/").status_code == 404


def test_new_loan_form_shows_the_trace_then_registers(world: Any, fund: Any) -> None:
    c = _client(world, "township")
    h = world.households["230231100201"]
    page = c.get("/credit/new/", {"household_code": h.household_code})
    assert page.status_code == 200 and "张三" in page.content.decode()
    form = {
        "household_code": h.household_code,
        "borrower": head(h).pk,
        "bank_name": "县农商银行",
        "contract_no": "JD-W-1",
        "amount": "30000",
        "rate": "3.00",
        "term_months": "12",
        "start_date": "2026-03-01",
        "credit_rating": "A",
        "purpose": "planting",
    }
    checked = c.post("/credit/new/", {**form, "step": "check"})
    text = checked.content.decode()
    assert checked.status_code == 200 and 'data-criterion="fund_leverage"' in text
    assert "符合条件" in text and Loan.objects.count() == 0
    bad = c.post("/credit/new/", {**form, "rate": "3.10", "step": "create"})
    assert bad.status_code == 400 and "年利率不超过" in bad.content.decode()
    assert Loan.objects.count() == 0
    made = c.post("/credit/new/", {**form, "step": "create"})
    assert made.status_code == 302
    loan = Loan.objects.get(contract_no="JD-W-1")
    assert made["Location"] == f"/credit/{loan.pk}/"
    for name in ("village", "auditor", "helper"):
        assert (
            _client(world, name).post("/credit/new/", {**form, "step": "create"}).status_code == 403
        )


def test_repayment_through_the_card_and_refusal_above_balance(world: Any, loan: Loan) -> None:
    c = _client(world, "county")
    url = f"/credit/{loan.pk}/"
    ok = c.post(url, {"form": "repay", "key": "w1", "paid_on": "2026-09-01", "principal": "100"})
    assert ok.status_code == 302
    again = c.post(url, {"form": "repay", "key": "w1", "paid_on": "2026-09-01", "principal": "100"})
    assert again.status_code == 302 and Repayment.objects.count() == 1
    refused = c.post(
        url, {"form": "repay", "key": "w2", "paid_on": "2026-09-01", "principal": "60000"}
    )
    assert refused.status_code == 400 and "未入账" in refused.content.decode()
    assert Repayment.objects.count() == 1
    assert (
        _client(world, "auditor")
        .post(url, {"form": "repay", "key": "w3", "paid_on": "2026-09-01", "principal": "1"})
        .status_code
        == 403
    )


def test_overdue_list_and_masked_export(world: Any, loan: Loan) -> None:
    old = make_loan(
        world,
        village=OTHER_VILLAGE,
        contract_no="JD-OLD",
        start_date=timezone.localdate() - datetime.timedelta(days=500),
        amount_fen=10_000 * YUAN,
    )
    do_mark_overdue(COUNTY, actor=world.user("county"))
    c = _client(world, "county")
    page = c.get("/credit/overdue/")
    assert "JD-OLD" in page.content.decode() and "JD-2026-0001" not in page.content.decode()
    by_village = c.get("/credit/overdue/", {"region": "230231100201"})
    assert "JD-OLD" not in by_village.content.decode()
    response = c.get("/credit/overdue.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("村", "户编号", "借款人", "证件号码")
    assert [r[7] for r in rows[1:]] == ["JD-OLD"]
    member = old.borrower
    flat = " ".join(str(v) for r in rows for v in r)
    assert member.id_number not in flat and "****" in flat
    assert old.household.phone not in flat and old.household.bank_account not in flat
    # township 100 sees no overdue loan
    assert "JD-OLD" not in _client(world, "township").get("/credit/overdue/").content.decode()


def test_statement_upload_and_job_page(world: Any, loan: Loan) -> None:
    c = _client(world, "county")
    data = b"\xe5\x80\x9f\xe6\x8d\xae\xe5\x8f\xb7,\xe8\xbf\x98\xe6\xac\xbe\xe6\x97\xa5\xe6\x9c\x9f,\xe6\x9c\xac\xe9\x87\x91,\xe5\x88\xa9\xe6\x81\xaf\nJD-2026-0001,2026-09-01,100,0\n"
    upload = io.BytesIO(data)
    upload.name = "2026-09.csv"
    response = c.post("/credit/statements/", {"bank_name": "县农商银行", "file": upload})
    assert response.status_code == 302
    job = StatementImport.objects.get()
    queued = c.get(f"/credit/statements/{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in queued
    run_pending()
    done = c.get(f"/credit/statements/{job.pk}/").content.decode()
    assert 'id="posted">1<' in done and "hx-trigger" not in done
    assert _client(world, "township").get("/credit/statements/").status_code == 404
    assert _client(world, "auditor").get(f"/credit/statements/{job.pk}/").status_code == 200
    assert (
        _client(world, "auditor").post("/credit/statements/", {"bank_name": "x"}).status_code == 403
    )


def test_fund_page(world: Any, fund: Any) -> None:
    c = _client(world, "county")
    assert "1,000,000.00" in c.get("/credit/fund/").content.decode()
    ok = c.post(
        "/credit/fund/",
        {"form": "deposit", "key": "d2", "amount": "500", "on_date": str(timezone.localdate())},
    )
    assert ok.status_code == 302
    assert _client(world, "auditor").get("/credit/fund/").status_code == 200
    assert _client(world, "auditor").post("/credit/fund/", {"form": "deposit"}).status_code == 403
    assert _client(world, "village").get("/credit/fund/").status_code == 404


def test_battle_map_figures_link_to_the_lists_behind_them(world: Any, loan: Loan) -> None:
    import re

    make_loan(
        world,
        village=OTHER_VILLAGE,
        contract_no="JD-OLD",
        start_date=timezone.localdate() - datetime.timedelta(days=500),
        amount_fen=10_000 * YUAN,
    )
    c = _client(world, "county")
    section = c.get(
        "/dashboard/assistance/", {"region": COUNTY}, HTTP_HX_REQUEST="true"
    ).content.decode()
    board = section[section.index('id="credit-board"') :]

    def figure(key: str) -> tuple[str, str]:
        m = re.search(rf'data-figure="{key}"><a href="([^"]+)">([\d,]+)</a>', board)
        assert m, key
        return m.group(1).replace("&amp;", "&"), m.group(2)

    url, n = figure("outstanding_count")
    assert n == "2" and url == f"/credit/?status=open&region={COUNTY}"
    listed = c.get(url).content.decode()
    assert listed.count('href="/credit/') - listed.count('href="/credit/?') >= 2
    assert "JD-OLD" in listed and "JD-2026-0001" in listed
    url, n = figure("overdue_count")
    assert n == "1"
    overdue_page = c.get(url).content.decode()
    assert "JD-OLD" in overdue_page and "JD-2026-0001" not in overdue_page
    assert 'data-figure="overdue_rate">16.67%' in board
    # a township's map counts only its own loans
    t = _client(world, "township").get(
        "/dashboard/assistance/", {"region": "230231100000"}, HTTP_HX_REQUEST="true"
    )
    tb = t.content.decode()
    assert re.search(r'data-figure="outstanding_count"><a href="[^"]+">1</a>', tb)
