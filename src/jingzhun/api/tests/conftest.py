"""Clients for the API tests: signed in through the session, or carrying a bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import VILLAGES, World, signed_in
from django.test import Client

from jingzhun.access.actions import do_issue_api_token

T100, T101 = "230231100000", "230231101000"
V100_1, V100_2 = VILLAGES[T100]
V101_1, V101_2 = VILLAGES[T101]

# Villages whose households each user may see: written out here, independently of the scoping code.
VISIBLE_VILLAGES = {
    "county": {V100_1, V100_2, V101_1, V101_2},
    "auditor": {V100_1, V100_2, V101_1, V101_2},
    "township": {V100_1, V100_2},
    "other_township": {V101_1, V101_2},
    "village": {V100_1},
    "helper": {V100_1},
}


def expected_ids(world: World, username: str) -> set[int]:
    return {world.households[v].pk for v in VISIBLE_VILLAGES[username]}


@pytest.fixture
def session_client(world: World) -> Callable[[str], Client]:
    """A Client signed in as one of the world's users (web session)."""

    def make(username: str, **kwargs: Any) -> Client:
        client = Client(**kwargs)
        return signed_in(client, world.user(username))

    return make


@pytest.fixture
def token_client(world: World) -> Callable[[str], Client]:
    """A Client that sends `Authorization: Bearer <token>` for one of the world's users."""

    def make(username: str, **kwargs: Any) -> Client:
        user = world.user(username)
        token = do_issue_api_token(user, "tests", actor=user)
        return Client(headers={"Authorization": f"Bearer {token}"}, **kwargs)

    return make
