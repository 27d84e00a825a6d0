"""Helpers for the registry's data-migration tests: an executor, and one household in a
village of county 230231 written with the models of a past migration state."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def executor() -> MigrationExecutor:
    built = MigrationExecutor(connection)
    built.loader.build_graph()
    return built


def one_household(state: list[tuple[str, str]], **fields: Any) -> tuple[Any, Any]:
    """At migration `state`: the county 230231, township 100, village 100201 and household M1
    in it (`fields`: more household fields). Returns (the state's apps, the household)."""
    apps = executor().loader.project_state(state).apps
    region = apps.get_model("regions", "Region")
    for code, level, parent in (
        ("230231000000", "county", None),
        ("230231100000", "township", "230231000000"),
        ("230231100201", "village", "230231100000"),
    ):
        region.objects.create(code=code, name=code, level=level, parent_id=parent)
    household = apps.get_model("registry", "Household").objects.create(
        household_code="M1",
        village_id="230231100201",
        township_code="230231100000",
        county_code="230231000000",
        **fields,
    )
    return apps, household
