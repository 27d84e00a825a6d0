"""`--database-tests` (conftest.py): which tests the PostgreSQL pass of .ci/run runs again."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import uses_database
from django.test import SimpleTestCase, TestCase


class Item:
    def __init__(
        self, fixtures: tuple[str, ...] = (), marks: tuple[str, ...] = (), cls: Any = None
    ):
        self.fixturenames = ["request", "django_db_blocker", "_live_server_helper", *fixtures]
        self.marks = marks
        self.cls = cls

    def get_closest_marker(self, name: str) -> Any:
        return pytest.mark.django_db if name in self.marks else None


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (Item(), False),  # every test has the autouse blocker: not a use
        (Item(fixtures=("db",)), True),
        (Item(fixtures=("world", "db")), True),  # through a fixture that needs the database
        (Item(fixtures=("transactional_db",)), True),
        (Item(fixtures=("live_server",)), True),
        (Item(marks=("django_db",)), True),
        (Item(marks=("postgres_only",)), True),
        (Item(fixtures=("world", "db"), marks=("single_database",)), False),
        (Item(cls=TestCase), True),
        (Item(cls=SimpleTestCase), False),
        (Item(cls=object), False),
    ],
)
def test_uses_database(item: Item, expected: bool) -> None:
    assert uses_database(item) is expected  # type: ignore[arg-type]
