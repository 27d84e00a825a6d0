"""The "查看" buttons of the household card (PII-1): shown only to users allowed to see unmasked
data, they post the reason with HTMX and get the value back in place; every reveal is audited
with its reason, a refusal changes nothing but the audit log."""

from __future__ import annotations

from conftest import VILLAGES, World, signed_in
from django.test import Client

from jingzhun.access.actions import do_set_unmasked_export
from jingzhun.audit.models import AuditEvent
from jingzhun.registry.idcard import mask

VILLAGE = VILLAGES["230231100000"][0]
HX = {"HTTP_HX_REQUEST": "true"}


def _client(world: World, name: str, *, allowed: bool) -> Client:
    if allowed:
        do_set_unmasked_export(world.user(name), True, actor=None)
        world.user(name).refresh_from_db()
    return signed_in(Client(), world.user(name))


def test_the_card_shows_a_reveal_button_per_masked_field_only_to_allowed_users(
    world: World,
) -> None:
    household = world.households[VILLAGE]
    member = household.members.get(relation="head")
    allowed = _client(world, "township", allowed=True).get(f"/households/{household.pk}/")
    html = allowed.content.decode()
    for slot in ("phone", "bank_account", f"id_number-{member.pk}", f"health_status-{member.pk}"):
        part = html.split(f'id="reveal-{slot}"')[1].split("</d")[0].split("</td>")[0]
        assert 'class="reveal"' in part and 'name="reason"' in part and "required" in part, slot
    assert household.phone not in html and member.id_number not in html
    assert mask(member.id_number) in html
    plain = _client(world, "village", allowed=False).get(f"/households/{household.pk}/")
    text = plain.content.decode()
    assert plain.status_code == 200 and 'id="reveal-phone"' in text
    assert 'class="reveal"' not in text and "确认查看" not in text


def test_a_reveal_from_the_card_answers_the_value_in_place_and_is_audited(world: World) -> None:
    household = world.households[VILLAGE]
    member = household.members.get(relation="head")
    client = _client(world, "township", allowed=True)
    response = client.post(
        f"/households/{household.pk}/reveal/",
        {"field": "id_number", "member": member.pk, "reason": "核对身份证件"},
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert f'data-field="id_number">{member.id_number}</span>' in html
    assert "<form" not in html
    event = AuditEvent.objects.get(event="registry.field.reveal")
    assert (event.outcome, event.reason, event.object_id) == (
        "success",
        "核对身份证件",
        str(member.pk),
    )
    assert member.id_number not in str(event.diff)
    health = client.post(
        f"/households/{household.pk}/reveal/",
        {"field": "health_status", "member": member.pk, "reason": "核实大病救助"},
        **HX,
    )
    assert health.status_code == 200 and "长期慢性病" in health.content.decode()


def test_a_short_reason_comes_back_as_the_form_with_the_message(world: World) -> None:
    household = world.households[VILLAGE]
    client = _client(world, "township", allowed=True)
    response = client.post(
        f"/households/{household.pk}/reveal/", {"field": "phone", "reason": "看"}, **HX
    )
    html = response.content.decode()
    assert response.status_code == 400 and "至少 4 个字" in html
    assert household.phone not in html and household.phone[-4:] in html  # the masked value
    assert "<details" in html and " open" in html
    assert not AuditEvent.objects.filter(event="registry.field.reveal").exists()


def test_a_user_without_the_permission_gets_403_and_the_refusal_is_audited(world: World) -> None:
    household = world.households[VILLAGE]
    client = _client(world, "village", allowed=False)
    response = client.post(
        f"/households/{household.pk}/reveal/", {"field": "phone", "reason": "核实联系方式"}, **HX
    )
    assert response.status_code == 403 and household.phone not in response.content.decode()
    assert AuditEvent.objects.get(event="registry.field.reveal").outcome == "refused"
    other = _client(world, "other_township", allowed=True)
    response = other.post(
        f"/households/{household.pk}/reveal/", {"field": "phone", "reason": "核实联系方式"}, **HX
    )
    assert response.status_code == 404
