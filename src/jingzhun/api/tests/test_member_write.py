"""PATCH /api/members/{id} (issue 19 item 3): a member's fields with optimistic locking; the ID
number, sex and birth date stay consistent; refusals change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import World, make_id
from django.test import Client

from jingzhun.audit.models import AuditEvent
from jingzhun.registry.models import Household, Member

from .conftest import V100_1, V101_1

Make = Callable[..., Client]


def patch(client: Client, member: Member, body: Any) -> Any:
    return client.patch(
        f"/api/members/{member.pk}", data=json.dumps(body), content_type="application/json"
    )


def daughter(world: World, village: str = V100_1) -> Member:
    return world.households[village].members.get(relation="daughter")


def snapshot() -> tuple[Any, ...]:
    return (
        list(Member.all_objects.order_by("pk").values()),
        list(Household.all_objects.order_by("pk").values("pk", "version", "head_name")),
        AuditEvent.objects.exclude(outcome="refused").count(),
    )


def test_a_member_is_updated_and_both_versions_move(world: World, session_client: Make) -> None:
    member = daughter(world)
    household_version = member.household.version

    response = patch(
        session_client("village"),
        member,
        {"version": 1, "changes": {"school_status": "junior", "work_months": 3}},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["school_status"], body["work_months"]) == (2, "junior", 3)
    assert body["id_number"] != member.id_number  # the response stays masked
    assert Household.objects.get(pk=member.household_id).version == household_version + 1
    event = AuditEvent.objects.get(event="registry.member.update", object_id=str(member.pk))
    assert (event.actor_name, event.channel) == ("village", "api")
    assert event.diff == {"school_status": ["primary", "junior"], "work_months": [None, 3]}


def test_a_corrected_id_number_brings_its_sex_and_birth_date(
    world: World, token_client: Make
) -> None:
    member = daughter(world)
    new_id = make_id("230231", "20110302", 41)

    response = patch(
        token_client("township"), member, {"version": 1, "changes": {"id_number": new_id}}
    )

    assert response.status_code == 200, response.content
    stored = Member.objects.get(pk=member.pk)
    assert (stored.id_number, str(stored.birth_date)) == (new_id, "2011-03-02")
    assert response.json()["birth_year"] == 2011


def test_a_stale_version_is_409_and_changes_nothing(world: World, session_client: Make) -> None:
    member = daughter(world)
    client = session_client("county")
    assert patch(client, member, {"version": 1, "changes": {"name": "甲"}}).status_code == 200
    before = snapshot()
    response = patch(client, member, {"version": 1, "changes": {"name": "乙"}})
    assert response.status_code == 409 and "已被他人修改" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({}, 400, "changes"),
        ({"id_number": "123456"}, 400, "id_number"),
        ({"sex": "male"}, 400, "sex"),  # the daughter's ID number says female
        ({"birth_date": "2001-01-01"}, 400, "birth_date"),
        ({"relation": "head"}, 400, "relation"),
        ({"name": " "}, 400, "name"),
        ({"work_months": 13}, 422, None),
        ({"disability_grade": 5}, 422, None),
        ({"education": "nonsense"}, 422, None),
        ({"household": 1}, 422, None),
    ],
)
def test_bad_changes_are_refused_naming_the_field(
    world: World, session_client: Make, changes: dict[str, Any], status: int, field: str | None
) -> None:
    before = snapshot()
    response = patch(session_client("county"), daughter(world), {"version": 1, "changes": changes})
    assert response.status_code == status, response.content
    if field:
        assert response.json()["field"] == field
    assert snapshot() == before


@pytest.mark.parametrize("username", ["auditor", "helper"])
def test_read_only_roles_get_403(world: World, session_client: Make, username: str) -> None:
    before = snapshot()
    response = patch(
        session_client(username), daughter(world), {"version": 1, "changes": {"name": "甲"}}
    )
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(("username", "village"), [("village", V101_1), ("other_township", V100_1)])
def test_out_of_scope_is_404(
    world: World, session_client: Make, username: str, village: str
) -> None:
    before = snapshot()
    member = daughter(world, village)
    response = patch(session_client(username), member, {"version": 1, "changes": {"name": "甲"}})
    assert response.status_code == 404
    assert snapshot() == before
