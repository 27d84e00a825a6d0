"""An out-of-scope request (answered 404, like a missing one) is audited as a denied attempt,
at most once a minute per user and route (AUDIT-1)."""

from __future__ import annotations

import datetime
from typing import Any

import time_machine
from conftest import VILLAGES, World, signed_in
from django.test import Client
from django.utils import timezone

from jingzhun.audit.actions import OUT_OF_SCOPE
from jingzhun.audit.models import AuditEvent

FOREIGN = VILLAGES["230231100000"][0]  # township 100: outside other_township's scope


def _events() -> list[tuple[str, str, str]]:
    rows = AuditEvent.objects.filter(event=OUT_OF_SCOPE).order_by("id")
    return [(e.actor_name, e.object_type, e.object_id) for e in rows]


def test_out_of_scope_pages_and_api_answers_are_audited_once_a_minute(world: World) -> None:
    household = world.households[FOREIGN]
    client = signed_in(Client(), world.user("other_township"))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        # When a user asks for a household outside their scope, on a page and in the API, twice
        assert client.get(f"/households/{household.pk}/").status_code == 404
        assert client.get(f"/households/{household.pk + 1000}/").status_code == 404
        assert client.get(f"/api/households/{household.pk}").status_code == 404
        assert client.get(f"/api/households/{household.pk}").status_code == 404
        # Then one refused event per route, naming the first path asked for
        page, api = _events()
        assert page == ("other_township", "web:household", f"/households/{household.pk}/")
        assert api[0] == "other_township" and api[2] == f"/api/households/{household.pk}"
        event = AuditEvent.objects.filter(event=OUT_OF_SCOPE).first()
        assert event is not None and event.outcome == "refused" and event.diff == {"method": "GET"}
        # and another after a minute
        clock.shift(datetime.timedelta(seconds=61))
        assert client.get(f"/households/{household.pk}/").status_code == 404
        assert len(_events()) == 3


def test_an_in_scope_page_and_an_unknown_url_are_not_audited(world: World) -> None:
    household = world.households[FOREIGN]
    client = signed_in(Client(), world.user("township"))
    assert client.get(f"/households/{household.pk}/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    assert _events() == []


def test_a_scan_by_another_user_is_audited_separately(world: Any) -> None:
    household = world.households[VILLAGES["230231101000"][0]]
    for username in ("township", "village"):
        client = signed_in(Client(), world.user(username))
        assert client.get(f"/households/{household.pk}/").status_code == 404
    assert [e[0] for e in _events()] == ["township", "village"]
