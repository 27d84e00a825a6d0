"""Work-team API (issue 21 item 1, 7, 8): the overview and a village by scope, check-ins."""

from __future__ import annotations

import datetime
import json
from typing import Any

from conftest import signed_in
from django.test import Client
from django.utils import timezone

from jingzhun.assistance.models import TeamCheckIn, TeamMember
from jingzhun.assistance.tests.conftest import V1, V2, team  # noqa: F401 - fixture


def client(world: Any, name: str) -> Client:
    return signed_in(Client(), world.user(name))


def test_overview_and_village_by_scope(world: Any, team: Any) -> None:  # noqa: F811
    data = client(world, "county").get("/api/teams?month=2024-01").json()
    assert data["villages"] == 4 and data["without_team"] == 3
    assert data["rules"]["min_members"] == 3 and data["rules"]["min_days_per_month"] == 20
    mine = client(world, "team1").get("/api/teams").json()
    assert [r["village_code"] for r in mine["rows"]] == [V1]
    village = client(world, "team1").get(f"/api/teams/{V1}").json()
    assert {m["role"] for m in village["serving"]} == {"secretary", "leader", "member"}
    assert client(world, "team1").get(f"/api/teams/{V2}").status_code == 404
    assert client(world, "helper").get("/api/teams").json()["rows"] == []


def test_overview_pages_by_village_code(world: Any, team: Any) -> None:  # noqa: F811
    """The overview's rows come `limit` villages a page after `after` (issue 26: a county's
    answer was 160 kB); the totals count every village of the scope on each page."""
    county = client(world, "county")
    whole = county.get("/api/teams?month=2024-01&limit=1000").json()
    codes = [r["village_code"] for r in whole["rows"]]
    assert len(codes) == 4 and codes == sorted(codes) and whole["next_after"] == ""
    seen: list[str] = []
    after = ""
    while True:
        page = county.get(f"/api/teams?month=2024-01&limit=3&after={after}").json()
        assert page["villages"] == 4 and page["without_team"] == whole["without_team"]
        seen += [r["village_code"] for r in page["rows"]]
        after = page["next_after"]
        if not after:
            break
    assert seen == codes
    assert county.get("/api/teams?limit=0").status_code == 422
    assert county.get("/api/teams?after=x").status_code == 422


def test_check_in_and_a_future_date(world: Any, team: Any) -> None:  # noqa: F811
    member = TeamMember.objects.get(team=team, role="secretary")
    c = client(world, "team1")
    url = f"/api/teams/members/{member.pk}/check-ins"
    today = timezone.localdate()
    response = c.post(url, json.dumps({"day": today.isoformat()}), content_type="application/json")
    assert response.status_code == 201, response.content
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    response = c.post(url, json.dumps({"day": tomorrow}), content_type="application/json")
    assert response.status_code == 400
    assert "晚于今天" in response.json()["detail"]
    assert TeamCheckIn.objects.count() == 1
    other = client(world, "other_township")
    response = other.post(
        url, json.dumps({"day": today.isoformat()}), content_type="application/json"
    )
    assert response.status_code == 404
