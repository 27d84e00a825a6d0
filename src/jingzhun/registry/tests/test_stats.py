"""`registry_stats` and `jingzhun stats` (issue 19): ordinary rural households (未建档立卡) and
monitored households are counted apart, never as registered or remaining poor."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from conftest import COUNTY, VILLAGES, World, make_id
from django.core.management import call_command
from django.utils import timezone

from jingzhun.registry.actions import do_create_household, do_update_household
from jingzhun.registry.selectors import registry_stats

VILLAGE = VILLAGES["230231100000"][0]

pytestmark = pytest.mark.django_db


def _ordinary(code: str, seq: int, persons: int, **fields: Any) -> Any:
    members = [
        {
            "id_number": make_id("230231", f"197{i}0101", seq + i),
            "name": f"赵{i}",
            "relation": "head" if i == 0 else "son",
        }
        for i in range(persons)
    ]
    return do_create_household(
        code, VILLAGE, {"poverty_status": "not_registered", **fields}, members, actor=None
    )


def _stats_json(year: int) -> dict[str, Any]:
    out = io.StringIO()
    call_command("stats", "--county", COUNTY, "--year", str(year), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_ordinary_households_are_not_counted_as_registered(world: World) -> None:
    # Given the world's registered households and their year-end figures
    year = timezone.localdate().year  # the status history starts today (2026)
    before = _stats_json(year)
    assert before["ordinary_households"] == 0

    # When two ordinary households (3 and 1 persons) enter the registry, one of them monitored
    first = _ordinary("P0001", 601, 3)
    _ordinary("P0002", 611, 1)
    do_update_household(
        first.pk,
        first.version,
        {"monitoring_category": "edge", "risk_status": "not_eliminated"},
        actor=None,
        by_workflow=True,
    )

    # Then the registered, remaining and incidence figures do not move
    after = _stats_json(year)
    for key in ("registered_households", "registered_persons", "remaining_households"):
        assert after[key] == before[key]
    assert after["remaining_persons"] == before["remaining_persons"]
    assert after["poverty_incidence"] == before["poverty_incidence"]
    # and the ordinary households are shown apart, with the monitored one among all monitored
    assert (after["ordinary_households"], after["ordinary_persons"]) == (2, 4)
    stats = registry_stats(COUNTY, year)
    assert stats.as_dict() == after
    assert stats.monitored_households == before["monitored_households"] + 1


def test_monitored_households_are_not_shown_before_monitoring_began(world: World) -> None:
    assert registry_stats(COUNTY, 2020).monitored_households is None
    assert registry_stats(COUNTY, 2021).monitored_households is not None
