"""API fuzz (VAL-2): schemathesis over the OpenAPI document, in process, inside the test database.

For every operation, hypothesis generates schema-valid and schema-invalid requests; each is sent
through the real WSGI stack (all middleware) with the bearer token of a county user (the widest
business access), of a paired helper (the narrowest), and of the security administrator (refused
by design), and the answer must pass all of schemathesis's checks: never a 5xx, a status code and
a body the document declares, invalid input refused. Bounded and derandomised for CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import World
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from jingzhun.access.actions import do_issue_api_token
from jingzhun.access.models import User
from jingzhun.api.api import api

# A schema-valid request may still break a domain rule the schema cannot express (an unknown village
# code, a future income year, a household already registered): the API answers those 400 with the
# Chinese reason, as the routes document; schemathesis's default list plus 400 (its 5xx left out:
# never acceptable). Everything else is schemathesis's defaults.
POSITIVE_ANSWERS = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_ANSWERS}}}
)
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"), config=CONFIG)
schema.app = WSGIHandler()

FUZZ_USERS = ("county", "helper", "security")


@pytest.fixture
def tokens(world: World) -> dict[str, str]:
    """Authorization headers of the users each generated request is sent as."""
    security = User.objects.create_user(username="security", password="x", role="secadmin")
    users = {**world.users, "security": security}
    return {
        name: f"Bearer {do_issue_api_token(users[name], 'fuzz', actor=users[name])}"
        for name in FUZZ_USERS
    }


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """Django's WSGI handler closes the connection after each request; the test client does not.

    Keep the connection (and so the test transaction) open, as django.test.Client does.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.postgresql_pass  # CI: once, on the production database (.ci/run)
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_request_within_its_schema(
    case: Any, tokens: dict[str, str], in_test_transaction: None
) -> None:
    for name in FUZZ_USERS:
        case.call_and_validate(headers={"Authorization": tokens[name]})
