"""PATCH /api/households/{id}: the write path, optimistic locking, and refusals that change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from conftest import World
from django.test import Client

from jingzhun.audit.actions import verify_chain
from jingzhun.audit.models import AuditEvent
from jingzhun.registry.models import Household

from .conftest import V100_1, V101_1

Make = Callable[..., Client]


def patch(client: Client, household: Household, body: dict[str, Any]) -> Any:
    return client.patch(
        f"/api/households/{household.pk}", data=json.dumps(body), content_type="application/json"
    )


def snapshot(household: Household) -> tuple[dict[str, Any], int]:
    # A refusal (403) writes its own "refused" event (AUDIT-1); nothing else may be recorded.
    events = AuditEvent.objects.exclude(outcome="refused").count()
    return Household.all_objects.values().get(pk=household.pk), events


def test_a_user_of_the_right_region_updates_and_the_version_increments(
    world: World, session_client: Make
) -> None:
    household = world.households[V100_1]
    events = AuditEvent.objects.count()

    response = patch(
        session_client("village"),
        household,
        {
            "version": 1,
            "changes": {
                "group_name": "第二村民小组",
                "house_area_m2": "72.50",
                "house_safety_grade": "B",
                "phone": "13912345678",
            },
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (
        body["version"] == 2
        and body["group_name"] == "第二村民小组"
        and body["house_area_m2"] == 72.5
    )
    assert body["house_safety_grade_label"] == "B级"
    assert body["phone"] == "139****5678"  # the response masks what was just written
    stored = Household.objects.get(pk=household.pk)
    assert (stored.version, stored.group_name, stored.phone) == (2, "第二村民小组", "13912345678")
    event = AuditEvent.objects.get(event="registry.household.update", object_id=str(household.pk))
    assert AuditEvent.objects.count() == events + 1
    assert (event.actor_name, event.channel) == ("village", "api")
    assert event.diff["phone"] == ["139****0001", "139****5678"]
    assert verify_chain() is None


def test_areas_are_rounded_to_the_columns_two_decimals(world: World, session_client: Make) -> None:
    household = world.households[V100_1]

    response = patch(
        session_client("county"), household, {"version": 1, "changes": {"house_area_m2": 60.125}}
    )

    assert response.status_code == 200
    assert Household.objects.get(pk=household.pk).house_area_m2 == Decimal("60.13")


def test_a_token_user_updates_too(world: World, token_client: Make) -> None:
    household = world.households[V101_1]
    response = patch(
        token_client("other_township"), household, {"version": 1, "changes": {"food_secure": True}}
    )
    assert response.status_code == 200 and response.json()["food_secure"] is True
    assert (
        AuditEvent.objects.filter(
            event="registry.household.update", actor_name="other_township"
        ).count()
        == 1
    )


def test_a_stale_version_is_409_and_changes_nothing(world: World, session_client: Make) -> None:
    household = world.households[V100_1]
    client = session_client("township")
    assert (
        patch(client, household, {"version": 1, "changes": {"group_name": "一组"}}).status_code
        == 200
    )
    before = snapshot(household)

    response = patch(client, household, {"version": 1, "changes": {"group_name": "二组"}})

    assert response.status_code == 409
    assert "已被他人修改" in response.json()["detail"]
    assert snapshot(household) == before


def test_of_two_clients_saving_the_same_version_exactly_one_wins(
    world: World, session_client: Make
) -> None:
    household = world.households[V100_1]
    first, second = session_client("village"), session_client("township")
    version = first.get(f"/api/households/{household.pk}").json()["version"]
    assert second.get(f"/api/households/{household.pk}").json()["version"] == version

    results = [
        patch(first, household, {"version": version, "changes": {"group_name": "甲"}}).status_code,
        patch(second, household, {"version": version, "changes": {"group_name": "乙"}}).status_code,
    ]

    assert results == [200, 409]
    assert Household.objects.get(pk=household.pk).group_name == "甲"


@pytest.mark.parametrize("username", ["auditor", "helper"])
def test_read_only_roles_get_403_and_change_nothing(
    world: World, session_client: Make, username: str
) -> None:
    household = world.households[V100_1]  # in scope of both the auditor and the helper
    before = snapshot(household)

    response = patch(
        session_client(username), household, {"version": 1, "changes": {"group_name": "一组"}}
    )

    assert response.status_code == 403
    assert "无权" in response.json()["detail"]
    assert snapshot(household) == before


@pytest.mark.parametrize(
    ("username", "village"), [("township", V101_1), ("village", V101_1), ("other_township", V100_1)]
)
def test_out_of_scope_is_404_and_changes_nothing(
    world: World, session_client: Make, username: str, village: str
) -> None:
    household = world.households[village]
    before = snapshot(household)

    response = patch(
        session_client(username), household, {"version": 1, "changes": {"group_name": "一组"}}
    )

    assert response.status_code == 404
    assert snapshot(household) == before


def test_moving_a_household_outside_ones_scope_is_refused(
    world: World, session_client: Make
) -> None:
    household = world.households[V100_1]
    before = snapshot(household)

    response = patch(
        session_client("township"), household, {"version": 1, "changes": {"village": V101_1}}
    )

    assert response.status_code == 404
    assert snapshot(household) == before


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, 400),
        ({"poverty_status": "exited_with_policy"}, 422),
        # workflow-owned fields (issue 19): changed by their cases only
        ({"exit_year": 2020}, 422),
        ({"identified_year": 2016}, 422),
        ({"monitoring_category": "edge"}, 422),
        ({"risk_status": "eliminated", "risk_eliminated_on": "2024-01-01"}, 422),
        ({"head_name": "某某"}, 422),
        ({"village": "230231100299"}, 400),
        ({"household_code": "H-X"}, 422),
        ({"version": 5}, 422),
        ({"attribute": "nonsense"}, 422),
        ({"house_area_m2": -1}, 422),
        ({"house_area_m2": "abc"}, 422),
        ({"house_area_m2": "123456789"}, 422),
        ({"house_area_m2": 1e308}, 422),
        ({"identified_year": 99999}, 422),
        ({"food_secure": "maybe"}, 422),
        ({"food_secure": "true"}, 422),
        ({"identified_year": "2015"}, 422),
        ({"risk_eliminated_on": "not-a-date"}, 422),
        ({"group_name": "x" * 51}, 422),
        ({"group_name": "a\x00b"}, 422),
        ({"other_causes": ["illness", "schooling", "disaster"]}, 422),
        ({"phone": "call me"}, 422),
        ({"attribute": None}, 422),
    ],
)
def test_bad_changes_are_refused_with_4xx_and_change_nothing(
    world: World, session_client: Make, changes: dict[str, Any], status: int
) -> None:
    household = world.households[V100_1]
    before = snapshot(household)

    response = patch(session_client("county"), household, {"version": 1, "changes": changes})

    assert response.status_code == status, response.content
    assert snapshot(household) == before


@pytest.mark.parametrize(
    "body", [{"changes": {"group_name": "一组"}}, {"version": 0, "changes": {}}, {"version": 1}, []]
)
def test_a_malformed_body_is_422(world: World, session_client: Make, body: Any) -> None:
    household = world.households[V100_1]
    before = snapshot(household)
    response = session_client("county").patch(
        f"/api/households/{household.pk}", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422
    assert snapshot(household) == before
