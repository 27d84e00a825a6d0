"""The project and fund routes of the API and the pages, by role: reads scoped, writes through
the actions, refusals as Chinese sentences with their status."""

from __future__ import annotations

import json
from typing import Any

from conftest import signed_in
from django.test import Client
from django.utils import timezone

from jingzhun.projects.models import Posting, Project

from .conftest import COUNTY, VILLAGE, YUAN


def client(world: Any, name: str) -> Client:
    return signed_in(Client(), world.user(name))


def post(c: Client, url: str, data: dict[str, Any]) -> Any:
    return c.post(url, json.dumps(data), content_type="application/json")


def test_api_propose_move_and_read_by_scope(world: Any, source: Any) -> None:
    village = client(world, "village")
    r = post(
        village,
        "/api/projects",
        {
            "region": VILLAGE,
            "name": "产业路",
            "kind": "infrastructure",
            "year": 2026,
            "budget_fen": 500_000,
        },
    )
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert client(world, "other_township").get(f"/api/projects/{pid}").status_code == 404
    assert client(world, "helper").get("/api/projects").json()["total"] == 0
    detail = client(world, "township").get(f"/api/projects/{pid}").json()
    assert detail["moves"] == ["review", "reject"] and detail["state"] == "proposed"
    r = post(village, f"/api/projects/{pid}/moves", {"move": "review", "version": 1})
    assert r.status_code == 403 and "角色" in r.json()["detail"]
    r = post(
        client(world, "township"), f"/api/projects/{pid}/moves", {"move": "review", "version": 1}
    )
    assert r.status_code == 200 and r.json()["state"] == "reviewed"
    r = post(
        client(world, "township"), f"/api/projects/{pid}/moves", {"move": "review", "version": 1}
    )
    assert r.status_code == 409


def test_api_ledger_refusals(world: Any, funded_source: Any, approved: Any) -> None:
    county = client(world, "county")
    today = timezone.localdate().isoformat()
    pay = {
        "project_id": approved.pk,
        "source_id": funded_source.pk,
        "amount_fen": 10_000 * YUAN + 1,
        "on_date": today,
        "key": "api-1",
        "voucher": "API-1",
        "payee": "某公司",
    }
    r = post(county, "/api/funds/disbursements", pay)
    assert r.status_code == 400 and "余额不足" in r.json()["detail"]
    r = post(county, "/api/funds/disbursements", {**pay, "amount_fen": 100})
    assert r.status_code == 201
    again = post(county, "/api/funds/disbursements", {**pay, "amount_fen": 100})
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    r = post(county, "/api/funds/disbursements", {**pay, "amount_fen": 100, "key": "api-2"})
    assert r.status_code == 400 and "凭证号" in r.json()["detail"]
    r = post(county, "/api/funds/disbursements", {**pay, "amount_fen": 200})
    assert r.status_code == 409
    r = post(
        county,
        f"/api/funds/postings/{again.json()['id']}/reversal",
        {"reason": "录错", "key": "api-rev"},
    )
    assert r.status_code == 201 and r.json()["reverses_id"] == again.json()["id"]
    report = county.get(f"/api/funds/reconciliation?county={COUNTY}").json()
    assert report["ok"] and report["total_balance_fen"] == 0
    assert (
        client(world, "township").get(f"/api/funds/reconciliation?county={COUNTY}").status_code
        == 404
    )
    sources = client(world, "auditor").get(f"/api/funds/sources?county={COUNTY}").json()
    assert sources[0]["received_fen"] == 50_000 * YUAN


def test_pages_render_for_each_reader_and_hide_from_others(
    world: Any, funded_source: Any, approved: Any
) -> None:
    for role in ("county", "township", "village", "auditor"):
        c = client(world, role)
        html = c.get("/projects/").content.decode()
        assert "村光伏电站" in html, role
        assert c.get(f"/projects/{approved.pk}/").status_code == 200
    assert client(world, "other_township").get(f"/projects/{approved.pk}/").status_code == 404
    assert client(world, "helper").get("/projects/").status_code == 404
    assert client(world, "township").get("/funds/").status_code == 404
    html = client(world, "county").get("/funds/").content.decode()
    assert "2026 年中央衔接资金" in html and "50,000.00" in html
    html = client(world, "county").get("/funds/reconciliation/").content.decode()
    assert "账实相符" in html
    r = client(world, "county").get("/funds/reconciliation/?format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")
    r = client(world, "village").get(f"/projects/{approved.pk}/funds.pdf")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")
    plan = approved.postings.get(kind="plan")
    r = client(world, "village").get(f"/projects/postings/{plan.pk}.pdf")
    assert r.status_code == 200


def test_pay_through_the_page_and_see_the_refusal(
    world: Any, funded_source: Any, approved: Any
) -> None:
    c = client(world, "township")
    data = {
        "form": "pay",
        "source": funded_source.pk,
        "amount": "20,000",
        "voucher": "W-1",
        "payee": "某公司",
        "key": "page-1",
    }
    r = c.post(f"/projects/{approved.pk}/", data)
    assert r.status_code == 400 and "余额不足" in r.content.decode()
    assert not Posting.objects.filter(kind="disbursement").exists()
    r = c.post(f"/projects/{approved.pk}/", {**data, "amount": "1,000.5"})
    assert r.status_code == 302
    assert Posting.objects.get(kind="disbursement").amount_fen == 100_050


def test_propose_through_the_page(world: Any) -> None:
    c = client(world, "village")
    r = c.post(
        "/projects/",
        {
            "region": VILLAGE,
            "name": "小型水窖",
            "kind": "water",
            "year": "2026",
            "budget": "12,000.00",
            "targets": "解决 30 户饮水",
        },
    )
    assert r.status_code == 302
    p = Project.objects.get(name="小型水窖")
    assert p.budget_fen == 1_200_000 and p.village_code == VILLAGE
    r = c.post(
        "/projects/",
        {"region": VILLAGE, "name": "坏预算", "kind": "water", "year": "2026", "budget": "12.345"},
    )
    assert r.status_code == 400 and "两位小数" in r.content.decode()
