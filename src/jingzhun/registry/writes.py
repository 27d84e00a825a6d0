"""The registry's write rules, shared by its actions (one row) and the bulk writers (imports).

What a write of a household, member or income record implies beyond the values given lives here
and only here (ADR 0059, issue 19 item 5):

- a village fixes the township and county codes (`region_values`);
- entering a new poverty status appends to the household's status history, and the first exit
  fixes the exit year (`status_values`, `status_entry`);
- every changed row's version moves by one and its `updated_at` is stamped (`bump`), and a row
  that moved since it was read is refused (`StaleVersion`).

`update_households` and `update_rows` apply these rules set-wise to rows the caller has locked
(an import commit: `select_for_update` on every household it changes, inside its transaction);
the per-row actions in `registry.actions` use the same helpers through single-row updates. The
columnar insert path of imports builds its columns with `region_columns` and
`first_status_columns`. Audit events stay with the caller (one per action, one per import batch).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Model
from django.utils import timezone

from jingzhun.core.errors import StaleVersion
from jingzhun.regions import codes

from . import choices as c
from .models import Household, StatusChange

BATCH_SIZE = 2000


def actor_columns(actor: Any) -> dict[str, Any]:
    """Who wrote a status entry: the user (when one is stored) and the name kept with it."""
    return {
        "actor": actor if getattr(actor, "pk", None) else None,
        "actor_name": getattr(actor, "username", "") or "system",
    }


def region_values(village_code: str) -> dict[str, str]:
    """The codes a household's village fixes."""
    return {
        "township_code": codes.township_of(village_code),
        "county_code": codes.county_of(village_code),
    }


def region_columns(village_codes: Sequence[str]) -> dict[str, list[str]]:
    """`region_values` as columns, for set-wise inserts."""
    return {
        "township_code": [codes.township_of(v) for v in village_codes],
        "county_code": [codes.county_of(v) for v in village_codes],
    }


def status_values(
    status_to: str, exit_year: int | None, changed_on: datetime.date
) -> dict[str, Any]:
    """The household fields entering `status_to` sets: the status, and on the first exit the
    exit year (a household that exited before keeps its year)."""
    values: dict[str, Any] = {"poverty_status": status_to}
    if status_to in c.EXITED_STATUSES and exit_year is None:
        values["exit_year"] = changed_on.year
    return values


def status_entry(
    household_id: int,
    status_from: str,
    status_to: str,
    changed_on: datetime.date,
    reason: str,
    actor: Any,
) -> StatusChange:
    """One entry of a household's status history (unsaved)."""
    return StatusChange(
        household_id=household_id,
        status_from=status_from or "",
        status_to=status_to,
        changed_on=changed_on,
        reason=reason[:200],
        **actor_columns(actor),
    )


def first_status_reason(status: str) -> str:
    """Why a household registered by hand enters its first status."""
    return "登记为一般农户" if status == c.NOT_REGISTERED else "建档立卡登记"


def first_status_columns(
    ids: Sequence[int],
    household_ids: Sequence[int],
    statuses: Sequence[str],
    changed_on: datetime.date,
    reason: str,
    actor: Any,
    stamp: str,
) -> dict[str, list[Any]]:
    """The first status entries of new households as columns for `core.bulk.BulkWriter`
    (`ids`: the entries' reserved keys; `stamp`: the recorded time as the writer loads it)."""
    n = len(household_ids)
    who = actor_columns(actor)
    return {
        "id": list(ids),
        "household_id": list(household_ids),
        "status_to": list(statuses),
        "changed_on": [changed_on.isoformat()] * n,
        "reason": [reason[:200]] * n,
        "actor_id": [getattr(who["actor"], "pk", None)] * n,
        "actor_name": [who["actor_name"]] * n,
        "recorded_at": [stamp] * n,
    }


def bump(values: Mapping[str, Any] | None = None, now: datetime.datetime | None = None) -> dict:
    """`values` plus what every changed row gets: version + 1 and the time of the change, for a
    single-row `QuerySet.update`."""
    return {**(values or {}), "version": F("version") + 1, "updated_at": now or timezone.now()}


@dataclass
class RowChange:
    """A change to one stored row: its key, the version it had when read (None: the caller does
    not check it), and the new values of the changed fields."""

    pk: int
    version: int | None
    values: dict[str, Any] = field(default_factory=dict)


def _apply(row: Model, change: RowChange, fields: set[str], what: str) -> None:
    if change.version is not None and row.version != change.version:  # type: ignore[attr-defined]
        raise StaleVersion(f"{what}已被他人修改（主键 {change.pk}），请重新核对后提交。")
    for key, value in change.values.items():
        setattr(row, key, value)
        fields.add(key)


def update_households(
    changes: Iterable[RowChange],
    *,
    changed_on: datetime.date,
    reason: str,
    actor: Any,
    now: datetime.datetime | None = None,
) -> list[StatusChange]:
    """Change locked households set-wise: a new village brings its township and county, a new
    status its history entry (and on the first exit the exit year), every household's version
    moves by one. `values` may name "village" (a division code) and "head_name". Returns the
    status entries written."""
    now = now or timezone.now()
    changes = list(changes)
    rows = Household.objects.in_bulk([ch.pk for ch in changes])
    fields: set[str] = {"version", "updated_at"}
    entries: list[StatusChange] = []
    touched: list[Household] = []
    for ch in changes:
        h = rows[ch.pk]
        values = dict(ch.values)
        if "village" in values:
            village = str(values.pop("village"))
            values["village_id"] = village
            values.update(region_values(village))
        status_to = values.pop("poverty_status", None)
        if status_to is not None and status_to != h.poverty_status:
            entries.append(
                status_entry(h.pk, h.poverty_status, status_to, changed_on, reason, actor)
            )
            values.update(status_values(status_to, h.exit_year, changed_on))
        _apply(h, RowChange(ch.pk, ch.version, values), fields, "该户信息")
        h.version += 1
        h.updated_at = now
        touched.append(h)
    if touched:
        Household.objects.bulk_update(touched, sorted(fields), batch_size=BATCH_SIZE)
    StatusChange.objects.bulk_create(entries, batch_size=BATCH_SIZE)
    return entries


def update_rows(
    model: type[Model], changes: Iterable[RowChange], *, now: datetime.datetime | None = None
) -> int:
    """Change rows of a registry model that has a version (members, income records) set-wise,
    under row locks taken here; each changed row's version moves by one. The caller moves the
    households' versions (`update_households`, or `bump` on the household). Returns the count."""
    now = now or timezone.now()
    changes = list(changes)
    if not changes:
        return 0
    rows = model._default_manager.select_for_update().in_bulk([ch.pk for ch in changes])
    fields: set[str] = {"version", "updated_at"}
    what = str(model._meta.verbose_name)
    for ch in changes:
        row = rows[ch.pk]
        _apply(row, ch, fields, what)
        row.version += 1  # type: ignore[attr-defined]
        row.updated_at = now  # type: ignore[attr-defined]
    model._default_manager.bulk_update(
        [rows[ch.pk] for ch in changes], sorted(fields), batch_size=BATCH_SIZE
    )
    return len(changes)


def insert_rows(
    model: type[Model], rows: Iterable[Mapping[str, Any]], *, now: datetime.datetime | None = None
) -> int:
    """New rows of a registry model (members, income records of existing households), stamped."""
    now = now or timezone.now()
    objs = [model(created_at=now, updated_at=now, **values) for values in rows]
    model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
    return len(objs)
