"""Writes of the import pipeline: committing a file (all or nothing), pending uploads, mappings.

`do_commit_import` is one transaction: it re-reads and re-validates the file against the registry
as it is inside that transaction, and writes only when no row is refused, with bulk inserts and
updates, one `ImportChange` row per household touched (masked diff) and one audit event for the
batch (ADR 0012). A process killed half-way leaves nothing behind: the transaction never commits.
A file whose SHA-256 was already committed changes nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Field, JSONField, Model
from django.utils import timezone

from jingzhun.access.scoping import check_region_in_scope
from jingzhun.audit.actions import record
from jingzhun.core import hooks
from jingzhun.core.bulk import Batch, BulkWriter, pipelined
from jingzhun.core.bulk import reserve_ids as _reserve_ids
from jingzhun.core.errors import DomainError
from jingzhun.core.hooks import regions_written
from jingzhun.core.jobs import WORKER_DIED, worker_alive
from jingzhun.core.models import action
from jingzhun.registry import writes
from jingzhun.registry.actions import check_can_write
from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

from .created import CreatedCopy
from .fields import FIELDS, assignable_fields, norm
from .models import ColumnMapping, ImportBatch, ImportChange, ImportCreatedCopy, ImportJob
from .pipeline import HouseholdPlan, ImportResult, plan_import
from .stored import Expected, fingerprint

BULK_SIZE = 2000
NEW_CHUNK = 20_000  # households per set-wise insert
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class CommitOutcome:
    batch: ImportBatch
    result: ImportResult
    committed: bool  # True when the registry was written (or the file had been imported before)
    stale: bool = False  # the registry moved since the check: nothing written, planned anew


def _actor_fields(actor: Any) -> dict[str, Any]:
    return {
        "user": actor if getattr(actor, "pk", None) else None,
        "user_name": getattr(actor, "username", "") or "system",
    }


def _batch(result: ImportResult, status: str, actor: Any, year: int | None = None) -> ImportBatch:
    counts = result.counts()
    return ImportBatch.objects.create(
        income_year=year,
        sha256=result.sha256,
        filename=result.filename[:255],
        size=result.size,
        status=status,
        error_count=len(result.errors),
        finished_at=timezone.now() if status != "pending" else None,
        **counts,
        **_actor_fields(actor),
    )


@action
@transaction.atomic
def do_commit_import(
    data: bytes,
    filename: str,
    *,
    actor: Any,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    pending: ImportBatch | None = None,
    year: int | None = None,
    expected: Expected | None = None,
    planned: ImportResult | None = None,
) -> CommitOutcome:
    """Import a file into the registry: everything, or nothing when any row is refused.
    `year`: the income year given with the file (see `plan_import`).

    The file is planned once, under locks (ADR 0059). With `expected` (the stored
    plan of a pending batch's check): the households it names are locked first, the file is
    planned, and it is written only when the plan's fingerprint is the check's; otherwise the
    registry moved since the check and nothing is written (`stale`: the batch stays pending
    with the new counts, the caller stores the new plan for the user to confirm again).
    Without it: planned (or `planned`: this process's own plan of these bytes, made just
    before, as `jingzhun import` does to report a refused file without recording a batch), the
    registered households it touches locked, and planned again only when one of them moved in
    between (its version)."""
    check_can_write(actor)
    sha = hashlib.sha256(data).hexdigest()
    done = ImportBatch.objects.select_for_update().filter(sha256=sha, status="committed").first()
    if done is not None:
        result = ImportResult(filename=filename, sha256=sha, size=len(data), already_imported=True)
        return CommitOutcome(done, result, committed=True)
    from .selectors import households_by_code

    if expected is not None and expected.codes:
        households_by_code(expected.codes, lock=True)
    if planned is not None and expected is None and planned.sha256 == sha and planned.ok:
        result = planned
    else:
        result = plan_import(
            data,
            filename,
            actor=actor,
            mapping=mapping,
            progress=_counting(progress, "校验"),
            year=year,
        )
    if expected is not None and pending is not None and fingerprint(result) != expected.fingerprint:
        batch = _finish(pending, result, "pending", actor)
        record(
            "imports.batch.recheck",
            actor=actor,
            object_type="import_batch",
            object_id=batch.pk,
            outcome="refused",
            reason="校验后登记数据已有变动，未导入，请核对新的校验结果后再次确认",
            diff={"sha256": sha, "filename": filename[:255], **result.counts()},
        )
        return CommitOutcome(batch, result, committed=False, stale=True)
    if not result.ok:
        batch = _finish(pending, result, "refused", actor)
        record(
            "imports.batch.refuse",
            actor=actor,
            object_type="import_batch",
            object_id=batch.pk,
            outcome="refused",
            reason=f"{len(result.errors)} 处错误，未导入任何数据",
            diff={
                "sha256": sha,
                "filename": filename[:255],
                **result.counts(),
                **result.id_audit(),
            },
        )
        return CommitOutcome(batch, result, committed=False)
    if expected is None:
        # Lock the households the plan will change; plan again only if one moved meanwhile.
        existing = [p for p in result.listed if p.kind != "new"]
        if existing:
            locked = households_by_code([p.code for p in existing], lock=True)
            if any((h := locked.get(p.code)) is None or h.version != p.version for p in existing):
                result = plan_import(data, filename, actor=actor, mapping=mapping, year=year)
                if not result.ok:  # pragma: no cover - only when another writer got in between
                    raise DomainError("导入期间登记数据被他人修改，请重新导入。")
    batch = _finish(pending, result, "committed", actor)
    started = time.perf_counter()
    digest, created = _apply(result, batch, actor, progress)
    record(
        "imports.batch.commit",
        actor=actor,
        object_type="import_batch",
        object_id=batch.pk,
        diff={
            "sha256": sha,
            "filename": filename[:255],
            **result.counts(),
            "changes_sha256": digest,
            "created_sha256": created,
            **result.id_audit(),
        },
    )
    result.seconds["write"] = time.perf_counter() - started
    # the battle map's figures of the counties touched are recomputed after the commit
    villages = {p.village for p in result.listed if p.village}
    if result.new_block is not None:  # its villages as a column: no plans built for them
        villages.update(v for v in result.new_block.villages if v)
    if villages:  # analytics registers its request_refresh here (core.hooks)
        regions_written(sorted(villages), actor=actor, reason="数据导入")
    # households whose income changed are judged again (their decisions went stale)
    incomes: dict[int, list[int]] = {}
    for p in result.listed:
        if p.kind != "changed" or p.household_id is None:
            continue
        for i in p.incomes:
            if i.kind != "unchanged":
                incomes.setdefault(i.year, []).append(p.household_id)
    for year, ids in sorted(incomes.items()):  # judged again by a background job (ADR 0052)
        hooks.incomes_written(ids, year, actor=actor, reason="数据导入")
    return CommitOutcome(batch, result, committed=True)


def _counting(progress: Progress | None, stage: str) -> Callable[[int], None] | None:
    """plan_import's progress (households added) as a stage of a commit's progress."""
    if progress is None:
        return None
    done = 0

    def add(n: int) -> None:
        nonlocal done
        done += n
        progress(stage, done, 0)

    return add


def _finish(
    pending: ImportBatch | None, result: ImportResult, status: str, actor: Any
) -> ImportBatch:
    if pending is None:
        return _batch(result, status, actor)
    counts = result.counts()
    for key, value in counts.items():
        setattr(pending, key, value)
    pending.status = status
    pending.error_count = len(result.errors)
    pending.finished_at = timezone.now()
    pending.save()
    return pending


def _chunks(items: list[Any], size: int = BULK_SIZE) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _apply(
    result: ImportResult, batch: ImportBatch, actor: Any, progress: Progress | None
) -> tuple[str, str]:
    """Write a clean plan in bulk, the per-household change log (masked diffs of changed
    households, source rows and copy part of new ones: ADR 0033, 0040) and the masked copy of
    the new households (ADR 0040); returns the digests of the log (`changes_sha256`) and of the
    copy (`created_sha256`)."""
    now = timezone.now()
    today = timezone.localdate()
    new_plans = [p for p in result.listed if p.kind == "new"]
    changed_plans = [p for p in result.listed if p.kind == "changed"]
    block = result.new_block
    total = len(new_plans) + len(changed_plans) + (len(block) if block is not None else 0)
    step = 0

    def tick(n: int) -> None:
        nonlocal step
        step += n
        if progress:
            progress("写入", step, total)

    if actor is not None:
        for village in (
            {p.village for p in new_plans}
            | set(block.villages if block else ())
            | {str(p.values["village"]) for p in changed_plans if "village" in p.values}
        ):
            check_region_in_scope(actor, village)

    log = _ChangeLog(batch.pk)
    copy = CreatedCopy()
    # New households, then their members and first status entries: set-wise (COPY on
    # PostgreSQL, executemany on SQLite), ids reserved first so members can point at them.
    with BulkWriter() as writer:
        for chunk in _chunks(new_plans, NEW_CHUNK):
            ids = _reserve_ids(writer, Household, len(chunk))
            _write_new(writer, chunk, ids, now, today, result.filename, actor)
            log.add(writer, "new", chunk, ids, copy.parts_of(len(chunk)))
            for part in copy.add_plans(chunk):
                writer.load(_copy_part(writer, batch.pk, part))
            tick(len(chunk))
        # The columnar path's new households: written from their columns, ids reserved first.
        # On PostgreSQL a second thread runs each COPY while this one builds the next (the
        # server works on the other core); SQLite's inserts run in this process: in turn.
        if block is not None and len(block):
            batches = _block_batches(
                writer, block, log, copy, tick, now, today, result.filename, actor
            )
            if writer.overlaps_io:
                pipelined(batches, writer.load)  # type: ignore[arg-type]  # (its count unused)
            else:
                for prepared in batches:
                    writer.load(prepared)

        # Changed households: the rows were locked by the caller; versions move by one.
        for chunk in _chunks(changed_plans):
            _update_households(chunk, now, today, result.filename, actor)
            _update_members(chunk, now)
            _update_incomes(chunk, now)
            log.add(writer, "changed", chunk, [p.household_id for p in chunk])
            tick(len(chunk))
        for part in copy.finish():
            writer.load(_copy_part(writer, batch.pk, part))
    return log.digest(), copy.digest()


def _copy_part(writer: BulkWriter, batch_id: int, part: tuple[int, int, bytes]) -> Any:
    """A prepared `ImportCreatedCopy` row: (part, households, gzip bytes)."""
    number, households, data = part
    return writer.prepare(
        ImportCreatedCopy,
        {
            "id": _reserve_ids(writer, ImportCreatedCopy, 1),
            "batch_id": [batch_id],
            "part": [number],
            "households": [households],
            "data": [data],
        },
    )


class _ChangeLog:
    """Writes the `ImportChange` rows chunk by chunk and hashes the change list as it goes.

    The digest is the SHA-256 of `json.dumps(changes, ensure_ascii=False, sort_keys=True,
    default=str)` for the list of {"household_code", "kind", **masked diff} in write order
    (ADR 0012), built item by item: a JSON list is "[" + ", ".join(items) + "]", so the whole
    list never has to be held in memory."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.hash = hashlib.sha256(b"[")
        self.first = True

    def add(
        self,
        writer: BulkWriter,
        kind: str,
        plans: list[HouseholdPlan],
        ids: list[Any],
        parts: list[int] | None = None,
    ) -> None:
        diffs = []
        for i, p in enumerate(plans):
            diff = p.change_entry()
            if parts is not None:  # a new household: where its masked copy is (ADR 0040)
                diff["part"] = parts[i]
            item = {"household_code": p.code, "kind": kind, **diff}
            text = json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)
            self.hash.update(text.encode() if self.first else b", " + text.encode())
            self.first = False
            diffs.append(json.dumps(diff))
        if not plans:
            return
        writer.write(
            ImportChange,
            {
                "id": _reserve_ids(writer, ImportChange, len(plans)),
                "batch_id": [self.batch_id] * len(plans),
                "household_id": ids,
                "kind": [kind] * len(plans),
                "diff": diffs,
            },
        )

    def texts(self, kind: str, items: list[str], diffs: list[str], ids: list[Any]) -> Any:
        """The columns of `ImportChange` rows for changes already serialised (`items` as hashed,
        `diffs` as stored), hashed here in write order; `ids`: the rows' reserved keys then
        their households'."""
        text = ", ".join(items).encode()
        self.hash.update(text if self.first else b", " + text)
        self.first = False
        n = len(items)
        return {
            "id": ids[:n],
            "batch_id": [self.batch_id] * n,
            "household_id": ids[n:],
            "kind": [kind] * n,
            "diff": diffs,
        }

    def digest(self) -> str:
        self.hash.update(b"]")
        return self.hash.hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _block_log(block: Any, start: int, stop: int, parts: list[int]) -> tuple[list[str], list[str]]:
    """The change-log texts of new households start..stop of a `NewBlock`, exactly as
    `_ChangeLog.add` serialises `HouseholdPlan.change_entry()` with its copy's part (sorted
    keys, so the digest is the same): (items as hashed, diffs as stored)."""
    sheet = _dumps(block.sheet)
    rows = block.member_rows
    starts = block.starts
    codes = block.codes
    items, diffs = [], []
    for h, part in zip(range(start, stop), parts, strict=True):
        first, last = starts[h], starts[h + 1]
        listed = ", ".join(f"[{sheet}, {r}]" for r in rows[first:last])
        diff = f'"members": {last - first}, "part": {part}, "rows": [{listed}]'
        incomes = block.incomes_of(h) if block.income else []
        # (keys sorted: "incomes" comes after "household_code" and before "kind")
        years = f'"incomes": [{", ".join(str(i.year) for i in incomes)}], ' if incomes else ""
        diffs.append(f"{{{years}{diff}}}")
        items.append(f'{{"household_code": {_dumps(codes[h])}, {years}"kind": "new", {diff}}}')
    return items, diffs


def _db_value(field: Field[Any, Any], value: Any) -> Any:
    """A model field's value as BulkWriter loads it (what the ORM would have stored)."""
    if value is None:
        return None
    if isinstance(field, JSONField):
        return json.dumps(value)
    if isinstance(value, (datetime.date, Decimal)) and not isinstance(value, datetime.datetime):
        return str(value)
    return value


def _write_children(
    writer: BulkWriter,
    model: type[Model],
    rows: list[tuple[int, Any]],
    stamp: list[Any],
    **fixed: list[Any],
) -> None:
    """New households' members or income records, (household id, planned row) pairs, set-wise."""
    if not rows:
        return
    writer.write(
        model,
        _columns(
            model,
            [row.values for _h, row in rows],
            {
                "id": _reserve_ids(writer, model, len(rows)),
                "household_id": [h for h, _row in rows],
                **fixed,
                "created_at": stamp * len(rows),
                "updated_at": stamp * len(rows),
            },
        ),
    )


def _columns(
    model: type[Model], rows: list[dict[str, Any]], fixed: dict[str, list[Any]]
) -> dict[str, list[Any]]:
    """Column lists for BulkWriter: `fixed` as given, every field some row sets from the rows
    (a row without it gets the field's default, as `Model(**values)` would)."""
    columns = dict(fixed)
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    for key in keys:
        field = model._meta.get_field(key)
        assert isinstance(field, Field)
        default = field.get_default()
        columns[str(field.column)] = [_db_value(field, row.get(key, default)) for row in rows]
    return columns


def _write_new(
    writer: BulkWriter,
    plans: list[HouseholdPlan],
    ids: list[int],
    now: datetime.datetime,
    today: datetime.date,
    filename: str,
    actor: Any,
) -> None:
    stamp = [now.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")]
    n = len(plans)
    writer.write(
        Household,
        _columns(
            Household,
            [p.values for p in plans],
            {
                "id": ids,
                "household_code": [p.code for p in plans],
                "village_id": [p.village for p in plans],
                **writes.region_columns([p.village for p in plans]),
                "head_name": [p.head_name or "" for p in plans],
                "created_at": stamp * n,
                "updated_at": stamp * n,
            },
        ),
    )
    members = [
        (household_id, m) for p, household_id in zip(plans, ids, strict=True) for m in p.members
    ]
    _write_children(writer, Member, members, stamp)
    incomes = [
        (household_id, i) for p, household_id in zip(plans, ids, strict=True) for i in p.incomes
    ]
    _write_children(writer, IncomeRecord, incomes, stamp, year=[i.year for _h, i in incomes])
    status_default = Household._meta.get_field("poverty_status").get_default()
    writer.write(
        StatusChange,
        writes.first_status_columns(
            _reserve_ids(writer, StatusChange, n),
            ids,
            [p.values.get("poverty_status", status_default) for p in plans],
            today,
            f"批量导入：{filename}",
            actor,
            stamp[0],
        ),
    )


def _block_column(model: type[Model], key: str, values: list[Any]) -> tuple[str, list[Any]]:
    """A column of a `NewBlock` as BulkWriter loads it: None → the field's default."""
    field = model._meta.get_field(key)
    assert isinstance(field, Field)
    default = _db_value(field, field.get_default())
    if isinstance(field, JSONField):
        out = [default if v is None else json.dumps(v) for v in values]
    elif values and any(isinstance(v, (datetime.date, Decimal)) for v in values[:100]):
        out = [default if v is None else str(v) for v in values]
    else:
        out = [default if v is None else v for v in values]
    return str(field.column), out


def _block_batches(
    writer: BulkWriter,
    block: Any,
    log: _ChangeLog,
    copy: CreatedCopy,
    tick: Callable[[int], None],
    now: datetime.datetime,
    today: datetime.date,
    filename: str,
    actor: Any,
) -> Iterator[Batch | None]:
    """What `_write_new` and `_ChangeLog.add` write, for a columnar `NewBlock`, as prepared
    batches in write order: per chunk of households, households, members, first status entries
    and change-log pieces, and the parts of the masked copy as they fill (the last one is
    written by the caller, `CreatedCopy.finish`). Every key is reserved before the first batch
    (the loading thread holds the connection while it copies)."""
    n, m = len(block), block.members
    household_ids = _reserve_ids(writer, Household, n)
    member_ids = _reserve_ids(writer, Member, m)
    status_ids = _reserve_ids(writer, StatusChange, n)
    change_ids = _reserve_ids(writer, ImportChange, n)
    with_income = [h for h in range(n) if block.incomes_of(h)] if block.income else []
    income_ids = iter(_reserve_ids(writer, IncomeRecord, len(with_income)))
    copy_ids = iter(_reserve_ids(writer, ImportCreatedCopy, copy.cuts(n)))
    stamp = [now.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")]
    status_default = Household._meta.get_field("poverty_status").get_default()
    reason = f"批量导入：{filename}"[:200]
    for start in range(0, n, NEW_CHUNK):
        stop = min(start + NEW_CHUNK, n)
        k = stop - start
        ids = household_ids[start:stop]
        villages = block.villages[start:stop]
        columns: dict[str, list[Any]] = {
            "id": ids,
            "household_code": block.codes[start:stop],
            "village_id": villages,
            **writes.region_columns(villages),
            "head_name": [h or "" for h in block.head_names[start:stop]],
            "created_at": stamp * k,
            "updated_at": stamp * k,
        }
        statuses = [status_default] * k
        for key, values in block.household.items():
            part = values[start:stop]
            if key == "village" or all(v is None for v in part):
                continue  # as `_columns`: only fields some household sets
            column, out = _block_column(Household, key, part)
            columns[column] = out
            if key == "poverty_status":
                statuses = out
        yield writer.prepare(Household, columns)
        first, last = block.starts[start], block.starts[stop]
        if last > first:
            mcolumns: dict[str, list[Any]] = {
                "id": member_ids[first:last],
                "household_id": [household_ids[p] for p in block.member_household[first:last]],
                "created_at": stamp * (last - first),
                "updated_at": stamp * (last - first),
            }
            for key, values in block.member.items():
                part = values[first:last]
                if all(v is None for v in part):
                    continue
                column, out = _block_column(Member, key, part)
                mcolumns[column] = out
            yield writer.prepare(Member, mcolumns)
        incomes = [(h, i) for h in range(start, stop) for i in block.incomes_of(h)]
        if incomes:
            icolumns: dict[str, list[Any]] = {
                "id": [next(income_ids) for _ in incomes],
                "household_id": [household_ids[h] for h, _i in incomes],
                "year": [i.year for _h, i in incomes],
                "created_at": stamp * len(incomes),
                "updated_at": stamp * len(incomes),
            }
            for key in block.income:
                if key != "year":
                    column, out = _block_column(
                        IncomeRecord, key, [i.values.get(key) for _h, i in incomes]
                    )
                    icolumns[column] = out
            yield writer.prepare(IncomeRecord, icolumns)
        yield writer.prepare(
            StatusChange,
            writes.first_status_columns(
                status_ids[start:stop], ids, statuses, today, reason, actor, stamp[0]
            ),
        )
        for low in range(start, stop, BULK_SIZE):  # texts in small pieces: flat memory
            high = min(low + BULK_SIZE, stop)
            items, diffs = _block_log(block, low, high, copy.parts_of(high - low, low - start))
            keys = change_ids[low:high] + household_ids[low:high]
            yield writer.prepare(ImportChange, log.texts("new", items, diffs, keys))
        for number, households, data in copy.add_block(block, start, stop):
            yield writer.prepare(
                ImportCreatedCopy,
                {
                    "id": [next(copy_ids)],
                    "batch_id": [log.batch_id],
                    "part": [number],
                    "households": [households],
                    "data": [data],
                },
            )
        tick(k)


def _update_households(
    plans: list[HouseholdPlan],
    now: datetime.datetime,
    today: datetime.date,
    filename: str,
    actor: Any,
) -> None:
    """Changed households through the registry's set-wise writer (the caller holds their
    locks and checked their versions): region codes, status history, exit year, versions."""
    changes = []
    for p in plans:
        assert p.household_id is not None
        values = dict(p.values)
        if p.head_name is not None:
            values["head_name"] = p.head_name
        changes.append(writes.RowChange(p.household_id, p.version, values))
    writes.update_households(
        changes, changed_on=today, reason=f"批量导入：{filename}", actor=actor, now=now
    )


def _update_members(plans: list[HouseholdPlan], now: datetime.datetime) -> None:
    writes.update_rows(
        Member,
        [
            writes.RowChange(m.member_id, m.version, m.values)
            for p in plans
            for m in p.members
            if m.kind == "changed" and m.member_id is not None
        ],
        now=now,
    )
    writes.insert_rows(
        Member,
        [
            {"household_id": p.household_id, **m.values}
            for p in plans
            for m in p.members
            if m.kind == "new"
        ],
        now=now,
    )


def _update_incomes(plans: list[HouseholdPlan], now: datetime.datetime) -> None:
    """Income records of changed households: the changed amounts of a year's record (its
    version moves by one), or a new record for a year the household had none."""
    writes.update_rows(
        IncomeRecord,
        [
            writes.RowChange(i.income_id, i.version, i.values)
            for p in plans
            for i in p.incomes
            if i.kind == "changed" and i.income_id is not None
        ],
        now=now,
    )
    writes.insert_rows(
        IncomeRecord,
        [
            {"household_id": p.household_id, "year": i.year, **i.values}
            for p in plans
            for i in p.incomes
            if i.kind == "new"
        ],
        now=now,
    )


@transaction.atomic
def do_start_import(result: ImportResult, *, actor: Any, year: int | None = None) -> ImportBatch:
    """Record an uploaded file awaiting confirmation (the web's dry run); `year`: the income
    year given with it (kept for the dry-run page and the commit)."""
    check_can_write(actor)
    batch = _batch(result, "pending", actor, year)
    record(
        "imports.batch.upload",
        actor=actor,
        object_type="import_batch",
        object_id=batch.pk,
        diff={
            "sha256": result.sha256,
            "filename": result.filename[:255],
            **result.counts(),
            **result.id_audit(),
        },
    )
    return batch


@transaction.atomic
def do_record_dry_run(result: ImportResult, *, actor: Any) -> None:
    """Audit a dry run that keeps no batch (`jingzhun import --dry-run`): the file, its counts and
    how many ID numbers it tested against the registry (issue 20 item 3), as the web's upload
    event does."""
    record(
        "imports.dry_run",
        actor=actor,
        object_type="import_file",
        object_id=result.sha256[:32],
        diff={
            "sha256": result.sha256,
            "filename": result.filename[:255],
            "ok": result.ok,
            **result.counts(),
            **result.id_audit(),
        },
    )


@transaction.atomic
def do_save_column_mapping(
    name: str, columns: dict[str, str], *, actor: Any, region_code: str | None = None
) -> ColumnMapping:
    """Save header label → field choices for the actor (or, for county staff, for a region)."""
    check_can_write(actor)
    name = name.strip()[:100] or "默认方案"
    valid = {s.key for s in assignable_fields()}
    clean: dict[str, str] = {}
    for header, key in columns.items():
        if key not in valid:
            raise DomainError(f"“{key}”不是可导入的字段", field="columns")
        label = norm(header)
        if not label:
            raise DomainError("列名不能为空", field="columns")
        clean[label] = key
    if region_code:
        if actor is not None:
            check_region_in_scope(actor, region_code)
        mapping, _ = ColumnMapping.objects.update_or_create(
            region_id=region_code, user=None, name=name, defaults={"updated_at": timezone.now()}
        )
    else:
        mapping, _ = ColumnMapping.objects.update_or_create(
            user=actor, name=name, defaults={"updated_at": timezone.now()}
        )
    mapping.columns = {**mapping.columns, **clean}
    mapping.save(update_fields=["columns"])
    record(
        "imports.mapping.save",
        actor=actor,
        object_type="column_mapping",
        object_id=mapping.pk,
        diff={"name": name, "columns": {k: FIELDS[v].label for k, v in clean.items()}},
    )
    return mapping


@transaction.atomic
def do_queue_import_check(
    data: bytes, filename: str, *, actor: Any, year: int | None = None
) -> ImportJob:
    """Keep an upload and queue its check (the dry run) as a background job (ADR 0029);
    `year`: the income year given on the upload form."""
    from . import jobs

    check_can_write(actor)
    job = ImportJob.objects.create(
        kind=ImportJob.CHECK,
        filename=filename[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        user=actor,
        income_year=year,
    )
    jobs.store(jobs.job_upload_path(job), data)
    record(
        "imports.job.queue",
        actor=actor,
        object_type="import_job",
        object_id=job.pk,
        diff={"kind": job.kind, "sha256": job.sha256, "filename": job.filename},
    )
    jobs.start(job)
    return job


@transaction.atomic
def do_queue_import_commit(batch: ImportBatch, *, actor: Any) -> ImportJob:
    """Queue the commit of a pending batch as a background job; one at a time per batch.

    A running job whose process has died (its commit rolled back) is marked failed here, so the
    batch can be confirmed again."""
    from . import jobs

    check_can_write(actor)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.user_id != getattr(actor, "pk", None):
        raise DomainError("只能确认自己上传的批次。")
    if batch.status != "pending" or not jobs.upload_path(batch).exists():
        raise DomainError("该批次已处理，不能再次确认。")
    for active in ImportJob.objects.filter(
        batch=batch, kind=ImportJob.COMMIT, status__in=[ImportJob.QUEUED, ImportJob.RUNNING]
    ):
        if active.status == ImportJob.RUNNING and not worker_alive(active.worker):
            ImportJob.objects.filter(pk=active.pk).update(
                status=ImportJob.FAILED,
                error=WORKER_DIED,
                finished_at=timezone.now(),
            )
            continue
        raise DomainError("该批次正在导入，请等待完成。")
    job = ImportJob.objects.create(
        kind=ImportJob.COMMIT,
        filename=batch.filename,
        sha256=batch.sha256,
        size=batch.size,
        batch=batch,
        user=actor,
    )
    record(
        "imports.job.queue",
        actor=actor,
        object_type="import_job",
        object_id=job.pk,
        diff={"kind": job.kind, "batch": batch.pk, "sha256": batch.sha256},
    )
    jobs.start(job)
    return job
