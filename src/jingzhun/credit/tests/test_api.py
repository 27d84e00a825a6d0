"""The API: scoped lists, the masked overdue list, repayments with a key, refusals."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from conftest import signed_in
from django.test import Client
from django.utils import timezone

from jingzhun.credit.actions import do_mark_overdue
from jingzhun.credit.models import Loan, Repayment

from .conftest import COUNTY, OTHER_VILLAGE, YUAN, make_loan

pytestmark = pytest.mark.django_db


def _client(world: Any, name: str) -> Client:
    return signed_in(Client(), world.user(name))


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, data=json.dumps(body), content_type="application/json")


def test_loans_scoped_and_masked(world: Any, loan: Loan) -> None:
    rows = _client(world, "village").get("/api/credit/loans").json()["rows"]
    assert [r["contract_no"] for r in rows] == ["JD-2026-0001"]
    assert "*" in rows[0]["borrower_id_number"]
    assert _client(world, "other_township").get("/api/credit/loans").json()["total"] == 0
    assert _client(world, "other_township").get(f"/api/credit/loans/{loan.pk}").status_code == 404
    detail = _client(world, "helper").get(f"/api/credit/loans/{loan.pk}").json()
    assert detail["eligibility"][0]["id"] == "household_group" and len(detail["schedule"]) == 4


def test_repayment_key_and_refusals(world: Any, loan: Loan) -> None:
    c = _client(world, "county")
    url = f"/api/credit/loans/{loan.pk}/repayments"
    body = {"key": "api-1", "paid_on": "2026-09-01", "principal_fen": 100 * YUAN}
    assert _post(c, url, body).status_code == 201
    assert _post(c, url, body).status_code == 201  # a retry: the same repayment
    assert Repayment.objects.count() == 1
    conflict = _post(c, url, {**body, "principal_fen": 200 * YUAN})
    assert conflict.status_code == 409
    too_much = _post(c, url, {**body, "key": "api-2", "principal_fen": 60_000 * YUAN})
    assert too_much.status_code == 400 and "未入账" in too_much.json()["detail"]
    assert _post(_client(world, "auditor"), url, {**body, "key": "a"}).status_code == 403
    assert _post(_client(world, "other_township"), url, {**body, "key": "o"}).status_code == 404
    assert Repayment.objects.count() == 1


def test_overdue_and_figures(world: Any, loan: Loan) -> None:
    make_loan(
        world,
        village=OTHER_VILLAGE,
        contract_no="JD-OLD",
        start_date=timezone.localdate() - datetime.timedelta(days=500),
        amount_fen=10_000 * YUAN,
    )
    do_mark_overdue(COUNTY, actor=world.user("county"))
    c = _client(world, "county")
    rows = c.get("/api/credit/overdue").json()["rows"]
    assert [r["contract_no"] for r in rows] == ["JD-OLD"]
    assert rows[0]["phone"].count("*") == 4 and rows[0]["bank_account"].startswith("****")
    assert c.get("/api/credit/overdue", {"region": "230231100201"}).json()["total"] == 0
    f = c.get("/api/credit/figures").json()
    assert f == {
        "outstanding_count": 2,
        "outstanding_fen": 60_000 * YUAN,
        "overdue_count": 1,
        "overdue_fen": 10_000 * YUAN,
        "overdue_rate_pct": "16.67",
    }
