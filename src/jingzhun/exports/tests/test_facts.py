"""Household facts JSON (domain.md 2.5) for a filter: masked by default, scoped, audited."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden
from jingzhun.exports.actions import do_export_facts
from jingzhun.registry.actions import do_record_income
from jingzhun.registry.models import Member
from jingzhun.registry.selectors import HouseholdFilters

from .conftest import approval, secrets_of


def facts(
    actor: Any, filters: HouseholdFilters | None = None, **kwargs: Any
) -> tuple[bytes, list[Any]]:
    out = io.BytesIO()
    do_export_facts(filters or HouseholdFilters(), 2019, out, actor=actor, **kwargs)
    return out.getvalue(), json.loads(out.getvalue())


def test_masked_facts_have_no_id_number_birth_date_or_health_detail(world: Any) -> None:
    household = world.households["230231100201"]
    do_record_income(household.pk, 2019, {"wage_income": "5000"}, actor=None)
    raw, data = facts(world.user("township"))
    assert len(data) == 2
    first = next(f for f in data if f["household_code"] == "H100201")
    assert first["village_code"] == "230231100201" and first["year"] == 2019
    assert first["income"]["wage_income"] == 5000
    head = next(m for m in first["members"] if m["relation"] == "head")
    # the birth date is the masked ID's hidden digits: only the year goes out masked
    assert head["birth_date"] is None and head["birth_year"] == 1970
    assert head["id_number"] is None and head["health_status"] is None
    assert [s for s in secrets_of(world) if s.encode() in raw] == []
    event = AuditEvent.objects.get(event="exports.facts.export")
    assert (event.diff["households"], event.diff["rows"], event.diff["year"]) == (2, 4, 2019)
    assert event.diff["masked"] is True


def test_unmasked_facts_need_the_permission(world: Any) -> None:
    county = world.user("county")
    with pytest.raises(Forbidden):
        facts(county, unmasked=True)
    granted = approval(county, "facts")
    _raw, data = facts(
        county, HouseholdFilters(status="not_exited"), unmasked=True, approval=granted
    )
    ids = {m["id_number"] for f in data for m in f["members"]}
    assert ids == set([m.id_number for m in Member.objects.all()])
    assert {m["health_status"] for f in data for m in f["members"]} == {"chronic", None}


def test_an_empty_filter_gives_an_empty_list(world: Any) -> None:
    raw, data = facts(world.user("county"), HouseholdFilters(status="returned"))
    assert data == [] and raw.strip() == b"[\n]"
