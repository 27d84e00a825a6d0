"""The liaison department through the API (issue 21 item 3): county staff only, audited, a
department outside the catalogue refused with nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import World


def test_county_lists_and_sets_departments(admins: World, token_client: Any) -> None:
    from jingzhun.assistance.models import LiaisonDepartment
    from jingzhun.audit.models import AuditEvent

    liaison = admins.user("liaison")
    client = token_client("county")
    rows = client.get("/api/liaisons").json()
    assert [r["user_id"] for r in rows] == [liaison.pk] and rows[0]["department"] == ""
    url = f"/api/liaisons/{liaison.pk}/department"
    response = client.put(
        url, json.dumps({"department": "health"}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["department"] == "health"
    assert LiaisonDepartment.objects.get(user=liaison).department == "health"
    events = AuditEvent.objects.filter(event="assistance.liaison.department").count()
    assert events == 1
    response = client.put(
        url, json.dumps({"department": "police"}), content_type="application/json"
    )
    assert response.status_code == 400 and "不在措施目录中" in response.json()["detail"]
    assert LiaisonDepartment.objects.get(user=liaison).department == "health"
    assert AuditEvent.objects.filter(event="assistance.liaison.department").count() == events


@pytest.mark.parametrize("role", ["township", "village", "auditor", "helper", "liaison"])
def test_other_roles_are_refused(admins: World, token_client: Any, role: str) -> None:
    from jingzhun.assistance.models import LiaisonDepartment

    client = token_client(role)
    assert client.get("/api/liaisons").status_code == 403
    url = f"/api/liaisons/{admins.user('liaison').pk}/department"
    response = client.put(
        url, json.dumps({"department": "health"}), content_type="application/json"
    )
    assert response.status_code == 403
    assert not LiaisonDepartment.objects.exists()
