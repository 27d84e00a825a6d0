"""A masked ID number hides exactly the birth date: masked output keeps only the birth year."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import make_id

from jingzhun.audit.models import AuditEvent
from jingzhun.registry.actions import do_add_member
from jingzhun.registry.masking import age_on, mask_value

pytestmark = pytest.mark.django_db


def test_mask_value_keeps_only_the_year_of_a_birth_date() -> None:
    assert mask_value("birth_date", datetime.date(1969, 8, 14)) == "1969"
    assert mask_value("birth_date", "1969-08-14") == "1969"
    assert mask_value("birth_date", None) is None


def test_age_is_in_whole_years_reached_on_the_birthday() -> None:
    born = datetime.date(1969, 8, 14)
    assert age_on(born, datetime.date(2026, 8, 13)) == 56
    assert age_on(born, datetime.date(2026, 8, 14)) == 57


def test_the_audit_diff_of_a_new_member_has_the_birth_year_only(world: Any) -> None:
    household = world.households["230231100201"]
    new = make_id("230231", "19690814", 41)
    member = do_add_member(
        household.pk, {"id_number": new, "name": "孙七", "relation": "other"}, "迁入", actor=None
    )
    event = AuditEvent.objects.get(event="registry.member.add", object_id=str(member.pk))
    text = str(event.diff)
    assert event.diff["birth_date"] == [None, "1969"]
    assert "1969-08-14" not in text and "19690814" not in text and new not in text
