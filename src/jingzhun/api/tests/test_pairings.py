"""/api/pairings and /api/helpers (issue 21 items 2, 7, 8): scope, quota refusal, end rules."""

from __future__ import annotations

import datetime
from typing import Any

from jingzhun.access.models import HelperPairing
from jingzhun.assistance.tests.conftest import V1, V3, extra, paired, snapshot  # noqa: F401


def _rows() -> dict[str, Any]:
    rows = snapshot()
    rows.pop("events")  # refusals are audited (denied attempts are logged)
    return rows


def test_a_helper_gets_only_their_own_pairings(paired: Any, token_client: Any) -> None:  # noqa: F811
    from jingzhun.assistance.actions import do_pair_helper

    do_pair_helper(
        extra("P01").pk,
        paired.user("helper2").pk,
        datetime.date(2024, 3, 1),
        actor=paired.user("county"),
    )
    mine = token_client("helper").get("/api/pairings").json()
    assert [p["household_code"] for p in mine["items"]] == [paired.households[V1].household_code]
    other = HelperPairing.objects.get(household=extra("P01"))
    assert token_client("helper").get(f"/api/pairings/{other.pk}").status_code == 404
    helpers = token_client("helper").get("/api/helpers").json()
    assert [h["username"] for h in helpers] == ["helper"]
    assert helpers[0]["quota"]["limit"] == 6 and "helper_quotas" in helpers[0]["quota"]["rule"]
    assert helpers[0]["load"] == helpers[0]["in_scope"] == 1
    county = token_client("county").get("/api/pairings").json()
    assert county["count"] == 2
    loads = {h["username"]: h for h in token_client("other_township").get("/api/helpers").json()}
    # the other township sees every helper's load, but none of their households is in its scope
    assert (loads["helper2"]["load"], loads["helper2"]["in_scope"]) == (1, 0)
    assert loads["helper2"]["quota"]["limit"] == 8 and loads["helper3"]["quota"] is None


def test_pair_over_quota_is_refused_naming_the_rule(paired: Any, token_client: Any) -> None:  # noqa: F811
    client = token_client("county")
    helper = paired.user("helper").pk
    for i in range(1, 6):
        made = client.post(
            "/api/pairings",
            {
                "household_id": extra(f"P{i:02d}").pk,
                "helper_id": helper,
                "start_date": "2024-03-01",
            },
            content_type="application/json",
        )
        assert made.status_code == 201, made.content
    before = _rows()
    refused = client.post(
        "/api/pairings",
        {"household_id": extra("P06").pk, "helper_id": helper, "start_date": "2024-03-01"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "超过上限 6 户" in detail and "版本 baiquan-reports" in detail
    assert _rows() == before


def test_out_of_scope_household_is_404_and_writes_nothing(paired: Any, token_client: Any) -> None:  # noqa: F811
    before = _rows()
    refused = token_client("village").post(
        "/api/pairings",
        {
            "household_id": paired.households[V3].pk,
            "helper_id": paired.user("helper").pk,
            "start_date": "2024-03-01",
        },
        content_type="application/json",
    )
    assert refused.status_code == 404
    assert refused.json()["detail"] == "未找到该户，或您无权访问。"
    assert _rows() == before


def test_end_needs_a_successor_or_a_reason_and_a_current_version(
    paired: Any,  # noqa: F811
    token_client: Any,
) -> None:
    client = token_client("village")
    pairing = HelperPairing.objects.get(helper=paired.user("helper"))
    url = f"/api/pairings/{pairing.pk}/end"
    before = _rows()
    refused = client.post(
        url, {"version": 1, "end_date": "2025-01-01"}, content_type="application/json"
    )
    assert refused.status_code == 400 and refused.json()["field"] == "reason"
    stale = client.post(
        url,
        {"version": 7, "end_date": "2025-01-01", "reason": "x"},
        content_type="application/json",
    )
    assert stale.status_code == 409
    assert _rows() == before
    done = client.post(
        url,
        {"version": 1, "end_date": "2025-01-01", "successor_id": paired.user("helper2").pk},
        content_type="application/json",
    )
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["ended"]["end_date"] == "2025-01-01"
    assert body["successor"]["helper_username"] == "helper2"


def test_unpaired_lists(paired: Any, token_client: Any) -> None:  # noqa: F811
    registered = token_client("township").get("/api/pairings/unpaired?group=registered").json()
    codes = {h["household_code"] for h in registered["items"]}
    assert "P01" in codes and paired.households[V1].household_code not in codes
    assert paired.households[V3].household_code not in codes
    monitored = token_client("township").get("/api/pairings/unpaired?group=monitored").json()
    assert monitored["count"] == 0
    helper = token_client("helper").get("/api/pairings/unpaired").json()
    assert helper["count"] == 0  # their only household has them
