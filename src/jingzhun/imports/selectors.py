"""Reads of the import pipeline: registry rows matching a file's keys (set-based), batches, mappings.

A file may carry hundreds of thousands of ID numbers. They are looked up in one query each way
(households by code, live members by ID number) through a temporary key table joined in SQL, not
a query per row and not an `IN (...)` list longer than the database accepts; on PostgreSQL the
keys go in by COPY.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from jingzhun.access.scoping import granted_codes
from jingzhun.core.jobs import worker_alive
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household, IncomeRecord, Member, id_index

from .models import ColumnMapping, ImportBatch, ImportJob

INSERT_CHUNK = 5000


@contextmanager
def key_table(keys: Iterable[str]) -> Iterator[RawSQL]:
    """A temporary one-column table holding `keys`; yields a subquery selecting them."""
    name = f"import_keys_{uuid.uuid4().hex[:12]}"
    qn = connection.ops.quote_name(name)
    values = sorted(set(keys))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {qn} (k varchar(64) PRIMARY KEY)")
        try:
            if connection.vendor == "postgresql":
                # COPY: a county file's 100k+ ID numbers in one round trip.
                with cursor.cursor.copy(f"COPY {qn} (k) FROM STDIN") as copy:
                    for v in values:
                        copy.write_row((v,))
            else:
                for start in range(0, len(values), INSERT_CHUNK):
                    chunk = [(v,) for v in values[start : start + INSERT_CHUNK]]
                    cursor.executemany(f"INSERT INTO {qn} (k) VALUES (%s)", chunk)
            yield RawSQL(f"SELECT k FROM {qn}", ())  # noqa: S611 - the name is generated here
        finally:
            cursor.execute(f"DROP TABLE {qn}")


def households_by_code(codes: Iterable[str], *, lock: bool = False) -> dict[str, Household]:
    """Live households whose code is in `codes`, whatever the scope (the caller checks scope)."""
    with key_table(codes) as keys:
        qs: QuerySet[Household] = Household.objects.filter(household_code__in=keys)
        if lock:
            qs = qs.select_for_update()
        return {h.household_code: h for h in qs}


def live_members_by_id(ids: Iterable[str]) -> dict[str, Member]:
    """Live members (of live households) whose ID number is in `ids`: one joined query."""
    by_index = {id_index(i): i for i in ids}
    with key_table(by_index) as keys:
        qs = Member.objects.filter(
            id_number_index__in=keys, household__deleted_at__isnull=True
        ).select_related("household")
        return {by_index[m.id_number_index]: m for m in qs}


def members_by_household_code(codes: Iterable[str]) -> dict[int, list[Member]]:
    """Live members of the live households whose code is in `codes`, by household id."""
    with key_table(codes) as keys:
        result: dict[int, list[Member]] = {}
        qs = Member.objects.filter(
            household__household_code__in=keys, household__deleted_at__isnull=True
        ).order_by("id")
        for member in qs:
            result.setdefault(member.household_id, []).append(member)
        return result


def incomes_by_household_code(codes: Iterable[str]) -> dict[tuple[int, int], IncomeRecord]:
    """Live income records of the live households whose code is in `codes`, by
    (household id, year)."""
    with key_table(codes) as keys:
        qs = IncomeRecord.objects.filter(
            household__household_code__in=keys, household__deleted_at__isnull=True
        )
        return {(i.household_id, i.year): i for i in qs}


def existing_villages(codes: Iterable[str]) -> set[str]:
    return set(
        Region.objects.filter(code__in=set(codes), level="village").values_list("code", flat=True)
    )


def batches_for(user: Any) -> QuerySet[ImportBatch]:
    """An account sees the batches it started itself (they hold its uploaded file)."""
    if not getattr(user, "is_authenticated", False):
        return ImportBatch.objects.none()
    return ImportBatch.objects.filter(user=user).order_by("-created_at", "-id")


def batch_for(user: Any, batch_id: int) -> ImportBatch:
    from jingzhun.core.errors import OutOfScope

    batch = batches_for(user).filter(pk=batch_id).first()
    if batch is None:
        raise OutOfScope("未找到该导入批次，或您无权访问。")
    return batch


def jobs_for(user: Any) -> QuerySet[ImportJob]:
    """An account sees the import jobs it started itself."""
    if not getattr(user, "is_authenticated", False):
        return ImportJob.objects.none()
    return ImportJob.objects.filter(user=user).select_related("batch")


def job_for(user: Any, job_id: int) -> ImportJob:
    from jingzhun.core.errors import OutOfScope

    job = jobs_for(user).filter(pk=job_id).first()
    if job is None:
        raise OutOfScope("未找到该导入任务，或您无权访问。")
    return job


def job_state(job: ImportJob) -> dict[str, Any]:
    """What the progress page shows: status ("interrupted" for a running job whose process is
    gone), stage, done, total (0 = unknown) and percent (None = unknown)."""
    from . import jobs

    status = job.status
    live = jobs.read_progress(job) if status == ImportJob.RUNNING else {}
    if status == ImportJob.RUNNING and not worker_alive(job.worker):
        status = "interrupted"
    done, total = int(live.get("done") or 0), int(live.get("total") or 0)
    percent = min(100, done * 100 // total) if total else None
    if status == ImportJob.DONE:
        percent = 100
    return {
        "status": status,
        "stage": str(live.get("stage") or ""),
        "done": done,
        "total": total,
        "percent": percent,
    }


def mappings_for(user: Any) -> QuerySet[ColumnMapping]:
    """Saved column mappings that apply to the user: their own, and those of their granted regions."""
    if user is None:
        return ColumnMapping.objects.filter(user__isnull=True, region__isnull=True)
    q = Q(user=user) | Q(user__isnull=True, region__isnull=True)
    codes = granted_codes(user)
    if codes:
        q |= Q(region_id__in=codes)
    return ColumnMapping.objects.filter(q).order_by("id")


def header_overrides(user: Any) -> dict[str, str]:
    """Normalised header label → field key from the saved mappings (the user's own win)."""
    merged: dict[str, str] = {}
    rows = list(mappings_for(user))
    rows.sort(key=lambda m: (m.user_id is not None, m.id))
    for mapping in rows:
        merged.update(mapping.columns)
    return merged


def created_values(
    user: Any, batch: ImportBatch | int, household_code: str
) -> dict[str, Any] | None:
    """The masked values a committed batch created one household with, from the batch's copy
    (ADR 0040): {"household_code", "village", fields..., "members": [{fields...}]}.

    Scoped like the registry: the household must be one the user may see (region grants, a
    helper's pairings), or `OutOfScope` is raised, as it is when the batch did not create a
    household of that code. None for a household created before the copy was kept (ADR 0033
    batches: their change entry names no part)."""
    from jingzhun.access.scoping import scope_households
    from jingzhun.core.errors import OutOfScope

    from . import created
    from .models import ImportChange, ImportCreatedCopy

    batch_id = batch if isinstance(batch, int) else batch.pk
    change = (
        ImportChange.objects.filter(
            batch_id=batch_id,
            batch__status="committed",
            kind="new",
            household__household_code=household_code,
        )
        .only("household_id", "diff")
        .first()
    )
    if (
        change is None
        or not scope_households(user, Household.all_objects.filter(pk=change.household_id)).exists()
    ):
        raise OutOfScope("未找到该批次新增的这一户，或您无权访问。")
    part = change.diff.get("part") if isinstance(change.diff, dict) else None
    if part is None:
        return None
    data = (
        ImportCreatedCopy.objects.filter(batch_id=batch_id, part=part)
        .values_list("data", flat=True)
        .first()
    )
    return None if data is None else created.household(data, household_code)
