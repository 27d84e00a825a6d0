"""The registry's shared write rules (registry/writes.py): what the per-row actions and the
import's bulk writer both apply — region codes, status history and exit year, versions."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import VILLAGES, World
from django.db import transaction

from jingzhun.core.errors import StaleVersion
from jingzhun.core.models import action_writes
from jingzhun.registry import writes
from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

DAY = datetime.date(2026, 3, 1)


def test_update_households_writes_region_status_history_exit_year_and_versions(
    world: World,
) -> None:
    moved = world.households["230231100201"]
    exited = world.households["230231100202"]
    before = {h.pk: Household.objects.get(pk=h.pk).version for h in (moved, exited)}
    with action_writes():
        entries = writes.update_households(
            [
                writes.RowChange(moved.pk, before[moved.pk], {"village": "230231101202"}),
                writes.RowChange(
                    exited.pk, before[exited.pk], {"poverty_status": "exited_with_policy"}
                ),
            ],
            changed_on=DAY,
            reason="测试",
            actor=world.user("county"),
        )
    moved.refresh_from_db()
    exited.refresh_from_db()
    assert (moved.village_id, moved.township_code, moved.county_code) == (
        "230231101202",
        "230231101000",
        "230231000000",
    )
    assert moved.version == before[moved.pk] + 1
    assert exited.poverty_status == "exited_with_policy" and exited.exit_year == 2026
    assert exited.version == before[exited.pk] + 1
    assert len(entries) == 1
    entry = StatusChange.objects.filter(household=exited).latest("id")
    assert (entry.status_from, entry.status_to, entry.changed_on) == (
        "not_exited",
        "exited_with_policy",
        DAY,
    )
    assert entry.actor_name == "county" and entry.reason == "测试"
    assert not StatusChange.objects.filter(household=moved).exclude(status_from="").exists()


def test_a_household_that_exited_before_keeps_its_exit_year(world: World) -> None:
    h = world.households["230231100201"]
    with action_writes():
        Household.objects.filter(pk=h.pk).update(exit_year=2019)
        writes.update_households(
            [writes.RowChange(h.pk, None, {"poverty_status": "exited_with_policy"})],
            changed_on=DAY,
            reason="测试",
            actor=None,
        )
    h.refresh_from_db()
    assert h.exit_year == 2019
    assert StatusChange.objects.filter(household=h).latest("id").actor_name == "system"


def test_the_same_status_writes_no_history_entry(world: World) -> None:
    h = world.households["230231100201"]
    count = StatusChange.objects.filter(household=h).count()
    with action_writes():
        writes.update_households(
            [writes.RowChange(h.pk, None, {"poverty_status": h.poverty_status})],
            changed_on=DAY,
            reason="测试",
            actor=None,
        )
    assert StatusChange.objects.filter(household=h).count() == count


def test_a_row_that_moved_since_it_was_read_is_refused_and_nothing_is_written(
    world: World,
) -> None:
    h = world.households["230231100201"]
    other = world.households["230231100202"]
    member = Member.objects.filter(household=h).first()
    assert member is not None
    with pytest.raises(StaleVersion), transaction.atomic(), action_writes():
        writes.update_households(
            [
                writes.RowChange(other.pk, other.version, {"head_name": "改名"}),
                writes.RowChange(h.pk, h.version - 1, {"head_name": "旧版本"}),
            ],
            changed_on=DAY,
            reason="测试",
            actor=None,
        )
    assert Household.objects.get(pk=other.pk).head_name != "改名"
    with pytest.raises(StaleVersion), transaction.atomic(), action_writes():
        writes.update_rows(Member, [writes.RowChange(member.pk, member.version + 1, {"name": "x"})])
    assert Member.objects.get(pk=member.pk).name == member.name


def test_update_rows_and_insert_rows_move_versions_and_stamp(world: World) -> None:
    h = world.households["230231100201"]
    with action_writes():
        writes.insert_rows(
            IncomeRecord, [{"household_id": h.pk, "year": 2025, "wage_income": Decimal("100")}]
        )
        income = IncomeRecord.objects.get(household=h, year=2025)
        assert income.version == 1
        writes.update_rows(
            IncomeRecord, [writes.RowChange(income.pk, 1, {"wage_income": Decimal("250.50")})]
        )
    income.refresh_from_db()
    assert income.wage_income == Decimal("250.50") and income.version == 2


def test_registry_writes_are_not_re_implemented_outside_the_registry() -> None:
    """Status history entries, exit years and the versions of households, members and incomes
    are written by registry/ (actions and writes.py) only; the demo generator builds its
    synthetic county set-wise and is the one exception (it never changes a stored row)."""
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(
        r"StatusChange\(|StatusChange\.objects\.(create|bulk_create)|\.exit_year\s*=|"
        r"\b(household|member|income|h)\.version\s*\+="
    )
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        if not {"registry", "demo", "tests", "migrations"} & set(path.relative_to(root).parts)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
    assert VILLAGES  # the fixture's regions are what the writes above used
