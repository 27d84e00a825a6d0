"""AUTH-3 idle limit with sessions saved at most once a minute (ADR 0026): a request soon after
the last save writes nothing; a later one moves the expiry; 30 idle minutes still end it."""

from __future__ import annotations

import datetime
from typing import Any

import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone


def _expiry(client: Client) -> datetime.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_session_saved_at_most_once_a_minute_and_idle_limit_holds(world: Any) -> None:
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        client = Client()
        response = client.post("/login/", {"username": "township", "password": "Test-pass-2026"})
        assert response.status_code == 302
        assert client.get("/").status_code == 200
        first = _expiry(client)
        assert first == start + datetime.timedelta(minutes=30)
    with time_machine.travel(start + datetime.timedelta(seconds=40), tick=False):
        assert client.get("/").status_code == 200
        assert _expiry(client) == first  # not saved again within the minute
    later = start + datetime.timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        assert client.get("/").status_code == 200
        assert _expiry(client) == later + datetime.timedelta(minutes=30)
    with time_machine.travel(later + datetime.timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200  # kept alive by the request at +2 min
    idle = later + datetime.timedelta(minutes=29) + datetime.timedelta(minutes=30, seconds=1)
    with time_machine.travel(idle, tick=False):
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")
