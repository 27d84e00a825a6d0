"""The shared action checks (core/checks.py): role, idempotency key, business date and the
versioned update that refuses a concurrent edit."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import TOWNSHIPS, VILLAGES, World
from django.utils import timezone

from jingzhun.core.checks import business_date, clean_key, require_role, versioned_update
from jingzhun.core.errors import DomainError, Forbidden, StaleVersion
from jingzhun.duty.actions import do_assign_task
from jingzhun.duty.models import Task


def test_require_role() -> None:
    county = SimpleNamespace(role="county", is_active=True)
    require_role(county, frozenset({"county"}), "做事")
    require_role(None, frozenset({"county"}), "做事")  # the system
    with pytest.raises(Forbidden, match="您的角色无权做事"):
        require_role(None, frozenset({"county"}), "做事", system=False)
    with pytest.raises(Forbidden):
        require_role(SimpleNamespace(role="village", is_active=True), frozenset({"county"}), "做事")
    with pytest.raises(Forbidden):
        require_role(SimpleNamespace(role="county", is_active=False), frozenset({"county"}), "做事")


def test_clean_key() -> None:
    assert clean_key("  k-1 ") == "k-1"
    for bad in ("", None, "x" * 65, "a\x00b"):
        with pytest.raises(DomainError, match="幂等键须为 1 至 64 个字符") as err:
            clean_key(bad)
        assert err.value.field == "key"
    assert clean_key("x" * 64) == "x" * 64


def test_business_date(monkeypatch: Any) -> None:
    today = datetime.date(2026, 12, 7)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: today)
    assert business_date(today) == today
    tomorrow = today + datetime.timedelta(days=1)
    assert business_date(tomorrow, slack_days=1) == tomorrow
    for bad in (tomorrow, datetime.date(2013, 12, 31), "2026-01-01", datetime.datetime(2026, 1, 1)):
        with pytest.raises(DomainError) as err:
            business_date(bad, field="paid_on")
        assert err.value.field == "paid_on"


def test_versioned_update_refuses_a_stale_version(world: World, monkeypatch: Any) -> None:
    # a date whose working-day deadline stays inside the years chinese-calendar knows
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: datetime.date(2026, 9, 21))
    task = do_assign_task(
        region_code=VILLAGES[TOWNSHIPS[0]][0], title="排查", owner_unit="镇政府",
        owner_person="刘某", schedule="weekly", actor=world.user("township"),
    )  # fmt: skip
    seen = task.version
    versioned_update(task, seen, "已被他人修改。", progress=40)
    assert (task.version, task.progress) == (seen + 1, 40)
    with pytest.raises(StaleVersion, match="已被他人修改"):
        versioned_update(task, seen, "已被他人修改。", progress=80)
    assert Task.objects.get(pk=task.pk).progress == 40
