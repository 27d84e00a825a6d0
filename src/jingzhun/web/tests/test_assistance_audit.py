"""Issue 21 items 7 and 8 through the pages and the API (the actions have their own tests):
a helper sees only paired households, a work-team member their village, a department liaison
only the measures of its own kind; a visit dated in the future, a photo that is not an image
or is too large, a negative amount and a pairing to an out-of-scope household are refused
with a Chinese sentence and nothing is written."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest
from conftest import TOWNSHIPS, VILLAGES, World
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from .conftest import body

V1 = VILLAGES[TOWNSHIPS[0]][0]  # the helper's paired household, the work-team member's village
V2 = VILLAGES[TOWNSHIPS[0]][1]  # the liaison's granted household
V3 = VILLAGES[TOWNSHIPS[1]][0]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def api(world: World, name: str) -> Client:
    from jingzhun.access.actions import do_issue_api_token

    user = world.user(name)
    token = do_issue_api_token(user, "tests", actor=user)
    return Client(headers={"Authorization": f"Bearer {token}"})


def written() -> dict[str, Any]:
    """Every row the assistance actions write, and the audit trail's length."""
    from jingzhun.access.models import HelperPairing
    from jingzhun.assistance.models import Measure, MeasureEvidence, Visit, VisitPhoto
    from jingzhun.audit.models import AuditEvent

    return {
        "pairings": list(HelperPairing.objects.order_by("pk").values()),
        "measures": list(Measure.all_objects.order_by("pk").values()),
        "evidence": MeasureEvidence.objects.count(),
        "visits": Visit.objects.count(),
        "photos": VisitPhoto.objects.count(),
        "events": AuditEvent.objects.exclude(event__startswith="auth.")
        .exclude(event__startswith="access.")
        .count(),
    }


@pytest.fixture
def measured(admins: World) -> World:
    """One approved measure of each of two kinds (agriculture, health) on every household."""
    from jingzhun.assistance.measures import do_decide_measure, do_propose_measure

    for code, household in admins.households.items():
        proposer = admins.user(
            "township" if code.startswith(TOWNSHIPS[0][:9]) else "other_township"
        )
        for kind in ("industry", "medical_aid"):
            m = do_propose_measure(household.pk, kind, datetime.date(2025, 3, 1), actor=proposer)
            do_decide_measure(m.pk, True, actor=admins.user("county"))
    return admins


def _codes(items: list[dict[str, Any]], key: str = "household_code") -> set[str]:
    return {i[key] for i in items}


# --- item 7: scope --------------------------------------------------------------------------


def test_a_helper_sees_only_paired_households(measured: World, client_for: Any) -> None:
    mine = measured.households[V1]
    others = [h for code, h in measured.households.items() if code != V1]
    client = client_for("helper")
    listed = body(client.get("/households/"))
    assert mine.household_code in listed
    assert not any(h.household_code in listed for h in others)
    for h in others:
        assert client.get(f"/households/{h.pk}/").status_code == 404
        assert client.get(f"/households/{h.pk}/visits/").status_code == 404
    page = body(client.get("/measures/"))
    assert mine.household_code in page and not any(h.household_code in page for h in others)
    rest = api(measured, "helper")
    assert _codes(rest.get("/api/measures?limit=100").json()["items"]) == {mine.household_code}
    assert _codes(rest.get("/api/households?limit=100").json()["items"]) == {mine.household_code}
    assert _codes(rest.get("/api/pairings?limit=100").json()["items"]) == {mine.household_code}
    for h in others:
        assert rest.get(f"/api/households/{h.pk}/measures").status_code == 404


def test_a_work_team_member_sees_their_village(measured: World, client_for: Any) -> None:
    village = {h.household_code for code, h in measured.households.items() if code == V1}
    client = client_for("workteam")
    listed = body(client.get("/households/"))
    for code, h in measured.households.items():
        assert (h.household_code in listed) is (code == V1), code
    assert client.get(f"/households/{measured.households[V2].pk}/").status_code == 404
    rest = api(measured, "workteam")
    assert _codes(rest.get("/api/measures?limit=100").json()["items"]) == village
    assert _codes(rest.get("/api/households?limit=100").json()["items"]) == village
    teams = body(client.get("/teams/"))
    assert "第1镇1村" in teams and "第1镇2村" not in teams and "第2镇1村" not in teams
    assert client.get(f"/teams/village/{V2}/").status_code == 404
    board = body(client.get("/dashboard/assistance/"))
    assert f'data-region="{V1}"' in board
    assert client.get(f"/dashboard/assistance/?region={TOWNSHIPS[0]}").status_code == 404


def test_a_liaison_sees_only_the_measures_of_its_kind(measured: World, client_for: Any) -> None:
    from jingzhun.assistance.measures import do_set_liaison_department

    liaison = measured.user("liaison")
    rest = api(measured, "liaison")
    assert rest.get("/api/measures?limit=100").json()["count"] == 0  # no department yet
    do_set_liaison_department(liaison.pk, "health", actor=measured.user("county"))
    items = rest.get("/api/measures?limit=100").json()["items"]
    assert {(i["household_code"], i["kind"]) for i in items} == {
        (measured.households[V2].household_code, "medical_aid")
    }
    assert rest.get("/api/measures?kind=industry").json()["count"] == 0
    plan = rest.get(f"/api/households/{measured.households[V2].pk}/measures").json()
    assert {i["kind"] for i in plan["items"]} == {"medical_aid"}
    page = body(client_for("liaison").get("/measures/"))
    assert "<td>医疗救助</td>" in page and "<td>产业帮扶</td>" not in page


# --- item 8: bad input ------------------------------------------------------------------------


def _sync(client: Client, household: Any, *, photos: dict[str, Any] | None = None, **kw: Any):
    item = {
        "client_id": str(uuid.uuid4()),
        "household_id": household.pk,
        "visited_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "kind": "home",
        "household_version": household.version,
        **kw,
    }
    data: dict[str, Any] = {"visits": json.dumps([item])}
    for n, upload in enumerate((photos or {}).values()):
        data[f"photo-{item['client_id']}-{n}"] = upload
    return client.post("/visits/sync/", data)


@pytest.mark.parametrize(
    ("change", "photo", "words"),
    [
        (
            {"visited_on": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()},
            None,
            "不能登记未来的走访",
        ),
        ({}, ("doc.jpg", b"%PDF-1.4 a document"), "不是图片"),
        ({}, ("big.png", PNG + b"\x00" * (5 * 1024 * 1024)), "过大"),
        ({"household_id": "abc"}, None, ""),
    ],
)
def test_bad_visits_are_refused_in_chinese(
    measured: World, client_for: Any, change: dict[str, Any], photo: Any, words: str
) -> None:
    before = written()
    photos = {"p": SimpleUploadedFile(photo[0], photo[1])} if photo else None
    response = _sync(client_for("helper"), measured.households[V1], photos=photos, **change)
    assert response.status_code in (200, 400)
    answer = response.json()
    message = answer["outcomes"][0]["message"] if "outcomes" in answer else answer["error"]
    if "outcomes" in answer:
        assert answer["outcomes"][0]["status"] == "refused"
    assert words in message and any("\u4e00" <= ch <= "\u9fff" for ch in message)
    assert written() == before


def test_a_visit_to_an_unpaired_household_is_refused(measured: World, client_for: Any) -> None:
    before = written()
    answer = _sync(client_for("helper"), measured.households[V2]).json()
    assert answer["outcomes"][0]["status"] == "refused"
    assert "不是您的结对帮扶户" in answer["outcomes"][0]["message"]
    assert written() == before


def test_a_negative_amount_is_refused_by_the_api(measured: World) -> None:
    before = written()
    response = api(measured, "village").post(
        f"/api/households/{measured.households[V1].pk}/measures",
        json.dumps({"kind": "industry", "start_date": "2025-03-01", "amount": "-100"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "amount" and "金额不能为负数" in response.json()["detail"]
    assert written() == before


def test_measure_evidence_that_is_not_allowed_is_refused(measured: World, client_for: Any) -> None:
    from jingzhun.assistance.models import Measure

    m = Measure.objects.filter(household=measured.households[V1]).first()
    assert m is not None
    before = written()
    client = client_for("village")
    exe = SimpleUploadedFile("a.exe", b"MZ\x90\x00binary")
    response = client.post(f"/measures/{m.pk}/evidence/", {"file": exe})
    assert response.status_code == 400 and "只接受 PDF、JPG、PNG" in body(response)
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"\x00" * (10 * 1024 * 1024))
    response = client.post(f"/measures/{m.pk}/evidence/", {"file": big})
    assert response.status_code == 400 and "文件过大" in body(response)
    assert written() == before


def test_a_pairing_to_an_out_of_scope_household_is_refused(
    measured: World, client_for: Any
) -> None:
    from jingzhun.assistance.actions import do_save_helper_profile

    do_save_helper_profile(
        measured.user("helper").pk, "县农业农村局", "other_cadre", actor=measured.user("county")
    )
    before = written()
    outside = measured.households[V3]  # township 101: not the village user's
    response = api(measured, "village").post(
        "/api/pairings",
        json.dumps(
            {
                "household_id": outside.pk,
                "helper_id": measured.user("helper").pk,
                "start_date": "2025-01-01",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 404 and "未找到该户" in response.json()["detail"]
    response = client_for("village").post(
        "/pairings/",
        {
            "household_code": outside.household_code,
            "helper": measured.user("helper").pk,
            "start_date": "2025-01-01",
        },
    )
    assert response.status_code == 404
    assert f"未找到户编号为“{outside.household_code}”的户" in body(response)
    assert written() == before
