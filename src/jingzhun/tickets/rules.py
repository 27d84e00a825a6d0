"""Numbers from a dated policy table (policies/tables/), with the citation a deadline keeps:
the value, its unit (working days or calendar days), the file, its version and content hash.
Used by the tickets (ticket_rules) and the scheduled tasks (duty_rules); working days through
workflows.workdays (chinese-calendar + local overrides, ADR 0072)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from jingzhun.core.errors import DomainError
from jingzhun.policy.store import PolicyError, default_store
from jingzhun.workflows.workdays import DAYS, UNITS, WORKING_DAYS, official_calendar


@dataclass(frozen=True)
class Rule:
    value: int
    unit: str  # workdays.WORKING_DAYS or workdays.DAYS
    cite: str  # "20 个工作日（策略表 …，文件 …，版本 …，内容哈希 …）"
    version: str  # table id @ version


def rule(
    table: str,
    name: str,
    on: datetime.date,
    county: str = "",
    *,
    label: str,
    days_name: str = "",
    **keys: str,
) -> Rule:
    """The row `name` of `table` in effect on `on` (a county's own row first), in working days.
    With `days_name`, a matching row of that name (calendar days) is taken first: a rule set in
    calendar days by its source (信访: 60日) stays in calendar days."""
    store = default_store()
    try:
        loaded = store.table_file(table, on)
        found, unit = None, DAYS
        if days_name:
            found = store.lookup(table, on=on, rule=days_name, county=county[:6] or None, **keys)
        if found is None or found.value is None:
            found = store.lookup(table, on=on, rule=name, county=county[:6] or None, **keys)
            unit = WORKING_DAYS
    except PolicyError as exc:
        raise DomainError(f"{on} 没有生效的{label}（{table}）。") from exc
    if found is None or found.value is None:
        what = "，".join(f"{k}={v}" for k, v in keys.items())
        raise DomainError(f"{label} {loaded.path} 缺少规则 {name}{f'（{what}）' if what else ''}。")
    version = f"{table}@{loaded.doc.version}"
    cite = (
        f"{found.value} {UNITS[unit]}（策略表 {table}，文件 {loaded.path}，版本 "
        f"{loaded.doc.version}，内容哈希 {loaded.hash[:12]}）"
    )
    return Rule(int(found.value), unit, cite, version)


def date_after(start: datetime.date, found: Rule, region: str = "") -> datetime.date:
    """The deadline `found` days (or working days) after `start` in `region`."""
    return official_calendar().add(start, found.value, found.unit, region)
