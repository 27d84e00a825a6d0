"""/api/households/{id}/measures and /api/measures (issue 21 items 3, 7, 8): the approval flow,
computed coverage, scope, the liaison's kinds, bad input naming the field and writing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import VILLAGES

pytestmark = pytest.mark.django_db
V1 = VILLAGES["230231100000"][0]
V2 = VILLAGES["230231100000"][1]
BODY = {"kind": "industry", "start_date": "2025-03-01", "amount": "3000", "description": "种植"}


def _rows() -> list[dict[str, Any]]:
    from jingzhun.assistance.models import Measure

    return list(Measure.all_objects.order_by("pk").values())


def test_propose_decide_progress_and_coverage(world: Any, token_client: Any) -> None:
    hid = world.households[V1].pk
    made = token_client("helper").post(
        f"/api/households/{hid}/measures", BODY, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    m = made.json()
    assert (m["status"], m["department"], m["amount"]) == ("proposed", "agriculture", "3000.00")
    township = token_client("township")
    refused = township.post(
        f"/api/measures/{m['id']}/decide",
        {"version": m["version"], "approve": False},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["field"] == "note"
    ok = township.post(
        f"/api/measures/{m['id']}/decide",
        {"version": m["version"], "approve": True},
        content_type="application/json",
    ).json()
    assert ok["status"] == "approved"
    stale = township.post(
        f"/api/measures/{m['id']}/progress",
        {"version": m["version"], "step": "start"},
        content_type="application/json",
    )
    assert stale.status_code == 409
    done = (
        token_client("village")
        .post(
            f"/api/measures/{m['id']}/progress",
            {"version": ok["version"], "step": "complete", "completed_on": "2025-04-01"},
            content_type="application/json",
        )
        .json()
    )
    assert done["status"] == "completed" and done["completed_on"] == "2025-04-01"
    plan = token_client("helper").get(f"/api/households/{hid}/measures").json()
    (industry,) = [c for c in plan["coverage"] if c["rule"] == "industry_links"]
    assert industry["met"] is False and "已有 1 项" in industry["detail"]
    assert [i["id"] for i in plan["items"]] == [m["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"end_date": "2025-02-01"}, "end_date"),
        ({"kind": "nothing"}, "kind"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    world: Any, token_client: Any, change: dict[str, Any], field: str
) -> None:
    hid = world.households[V1].pk
    response = token_client("village").post(
        f"/api/households/{hid}/measures", {**BODY, **change}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["field"] == field
    assert _rows() == []


def test_scope_out_of_scope_is_404_and_lists_are_scoped(world: Any, token_client: Any) -> None:
    hid2 = world.households[V2].pk
    response = token_client("helper").post(
        f"/api/households/{hid2}/measures", BODY, content_type="application/json"
    )
    assert response.status_code == 404 and _rows() == []
    assert token_client("helper").get(f"/api/households/{hid2}/measures").status_code == 404
    made = (
        token_client("township")
        .post(f"/api/households/{hid2}/measures", BODY, content_type="application/json")
        .json()
    )
    assert token_client("helper").get(f"/api/measures/{made['id']}").status_code == 404
    assert token_client("helper").get("/api/measures").json()["count"] == 0
    assert token_client("county").get("/api/measures?kind=industry").json()["count"] == 1
    assert token_client("county").get("/api/measures?kind=training").json()["count"] == 0
    assert token_client("other_township").get("/api/measures").json()["count"] == 0


def test_liaison_lists_its_department_kinds(admins: Any, token_client: Any) -> None:
    from jingzhun.assistance.measures import do_set_liaison_department

    hid2 = admins.households[V2].pk
    township = token_client("township")
    for kind in ("industry", "medical_aid"):
        township.post(
            f"/api/households/{hid2}/measures",
            {**BODY, "kind": kind},
            content_type="application/json",
        )
    do_set_liaison_department(admins.user("liaison").pk, "agriculture", actor=admins.user("county"))
    items = token_client("liaison").get("/api/measures").json()["items"]
    assert [i["kind"] for i in items] == ["industry"]
    refused = token_client("liaison").post(
        f"/api/households/{hid2}/measures", BODY, content_type="application/json"
    )
    assert refused.status_code == 403
