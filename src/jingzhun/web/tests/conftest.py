"""Fixtures of the web tests: signed-in clients for the users of the shared `world` fixture."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import pass_second_factor
from django.test import Client

PASSWORD = "Test-pass-2026"
# Any 18-character ID-number-shaped string (6-digit region, 8-digit birth date, 3 digits, check).
FULL_ID = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])[0-9]{2}[0-9]{3}[0-9Xx](?![0-9])"
)


@pytest.fixture
def client_for(world: Any) -> Callable[[str], Client]:
    """A test client signed in as one of the world's users (by the real login form)."""

    def make(username: str) -> Client:
        client = Client()
        response = client.post("/login/", {"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:500]
        pass_second_factor(client, world.user(username))
        return client

    return make


def body(response: Any) -> str:
    return response.content.decode()
