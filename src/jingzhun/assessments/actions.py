"""Judging households against a standard and storing the decisions (per-household path)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from jingzhun.audit.actions import record
from jingzhun.policy.decide import CompiledStandard
from jingzhun.policy.store import PolicyStore, default_store
from jingzhun.registry.facts import facts_for
from jingzhun.registry.models import Household

from .models import Assessment

CHUNK = 2000


@dataclass(frozen=True)
class AssessResult:
    run_id: str
    households: int
    created: int
    unchanged: int
    passed: int


@transaction.atomic
def do_assess_households(
    households: QuerySet[Household],
    standard_id: str,
    year: int,
    *,
    actor: Any,
    store: PolicyStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> AssessResult:
    """Judge every household of a (scoped) queryset and store one assessment each.

    A household already judged with the same policy version keeps its assessment untouched; a new
    policy version adds new assessments and keeps the old ones.
    """
    store = store or default_store()
    run_id = uuid.uuid4().hex
    compiled: dict[str | None, CompiledStandard] = {}
    total = created = passed = 0
    batch: list[Assessment] = []

    def flush() -> int:
        keys = {(a.household_id, a.policy_version) for a in batch}
        existing = set(
            Assessment.objects.filter(
                household_id__in=[k[0] for k in keys], year=year, standard=standard_id
            ).values_list("household_id", "policy_version")
        )
        fresh = [a for a in batch if (a.household_id, a.policy_version) not in existing]
        Assessment.objects.bulk_create(fresh)
        batch.clear()
        return len(fresh)

    for household_id, facts in facts_for(households, year, chunk_size=CHUNK):
        province = str(facts.get("village_code") or "")[:2] or None
        if province not in compiled:
            standard = store.standard_for_year(standard_id, year=year, province=province)
            compiled[province] = CompiledStandard(standard, store)
        decision = compiled[province].decide(facts, year=year, province=province)
        data = decision.as_dict()
        batch.append(
            Assessment(
                household_id=household_id,
                year=year,
                standard=standard_id,
                province=province or "",
                policy_version=decision.policy_version,
                policy_files=decision.policy_files,
                reference_date=date.fromisoformat(decision.reference_date),
                passed=decision.passed,
                failed=decision.failed,
                unknown=decision.unknown,
                criteria=data["criteria"],
                facts=facts,
                run_id=run_id,
            )
        )
        total += 1
        passed += decision.passed
        if len(batch) >= CHUNK:
            created += flush()
        if progress is not None:
            progress(1)
    if batch:
        created += flush()
    record(
        "assessments.run",
        actor=actor,
        object_type="assessment_run",
        object_id=run_id,
        diff={"standard": standard_id, "year": year, "households": total, "created": created},
    )
    return AssessResult(run_id, total, created, total - created, passed)
