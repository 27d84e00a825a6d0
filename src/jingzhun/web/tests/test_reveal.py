"""PII-1: the full value of a masked field only through the reveal endpoint, with the permission
and a reason, and every reveal (and refused reveal) audited without the value."""

from __future__ import annotations

import json

from conftest import VILLAGES, World, signed_in
from django.test import Client

from jingzhun.access.actions import do_set_unmasked_export
from jingzhun.audit.models import AuditEvent

HOUSEHOLD_VILLAGE = VILLAGES["230231100000"][0]


def _client(world: World, name: str, *, allowed: bool) -> Client:
    if allowed:
        do_set_unmasked_export(world.user(name), True, actor=None)
        world.user(name).refresh_from_db()
    return signed_in(Client(), world.user(name))


def test_reveal_with_permission_and_reason_is_audited(world: World) -> None:
    household = world.households[HOUSEHOLD_VILLAGE]
    client = _client(world, "township", allowed=True)
    response = client.post(
        f"/households/{household.pk}/reveal/", {"field": "phone", "reason": "核实联系方式"}
    )
    assert response.status_code == 200
    assert response.json()["value"] == household.phone
    event = AuditEvent.objects.get(event="registry.field.reveal")
    assert (event.outcome, event.reason, event.actor_name) == (
        "success",
        "核实联系方式",
        "township",
    )
    assert household.phone not in json.dumps(event.diff)
    member = household.members.order_by("id").first()
    response = client.post(
        f"/households/{household.pk}/reveal/",
        {"field": "id_number", "member": member.pk, "reason": "核对身份证件"},
    )
    assert response.json()["value"] == member.id_number
    assert response["Cache-Control"] == "no-store"


def test_reveal_without_permission_is_refused_and_the_refusal_audited(world: World) -> None:
    household = world.households[HOUSEHOLD_VILLAGE]
    client = _client(world, "village", allowed=False)
    response = client.post(
        f"/households/{household.pk}/reveal/", {"field": "bank_account", "reason": "核实账户信息"}
    )
    assert response.status_code == 403
    assert household.bank_account not in response.content.decode()
    event = AuditEvent.objects.get(event="registry.field.reveal")
    assert event.outcome == "refused"


def test_reveal_needs_a_reason(world: World) -> None:
    household = world.households[HOUSEHOLD_VILLAGE]
    client = _client(world, "township", allowed=True)
    response = client.post(f"/households/{household.pk}/reveal/", {"field": "phone", "reason": ""})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event="registry.field.reveal").exists()


def test_reveal_out_of_scope_is_not_found(world: World) -> None:
    household = world.households[HOUSEHOLD_VILLAGE]
    client = _client(world, "other_township", allowed=True)
    response = client.post(
        f"/households/{household.pk}/reveal/", {"field": "phone", "reason": "核实联系方式"}
    )
    assert response.status_code == 404
    assert household.phone not in response.content.decode()


def test_reveal_is_a_post(world: World) -> None:
    household = world.households[HOUSEHOLD_VILLAGE]
    client = _client(world, "township", allowed=True)
    assert (
        client.get(f"/households/{household.pk}/reveal/?field=phone&reason=abcd").status_code == 405
    )
