"""Judging households against a standard and storing the decisions (per-household path)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from jingzhun.audit.actions import record
from jingzhun.policy.decide import FAILED, PASSED, UNKNOWN, CompiledStandard
from jingzhun.policy.store import PolicyStore, default_store
from jingzhun.registry.facts import versioned_facts_for
from jingzhun.registry.models import Household

from .bulk import policy_version_for
from .models import Assessment, AssessmentRun, AssessmentSummary, PolicyVersion

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
    """Judge every household of a (scoped) queryset one by one and store one assessment each,
    with its full trace and masked input facts on the row (the per-household path; bulk.py is
    the fast path for whole registries).

    A household already judged with the same policy version on the same data (household version)
    keeps its assessment untouched; a new policy version, or changed data, adds new assessments and
    keeps the old ones (ADR 0032).
    """
    store = store or default_store()
    run = AssessmentRun.objects.create(
        id=uuid.uuid4().hex,
        standard=standard_id,
        year=year,
        method=AssessmentRun.PER_HOUSEHOLD,
        source="orm",
        actor=actor,
        actor_name=getattr(actor, "username", "") or "",
    )
    compiled: dict[str | None, CompiledStandard] = {}
    policies: dict[str, PolicyVersion] = {}
    total = created = passed = 0
    batch: list[Assessment] = []
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])

    def flush() -> int:
        existing = set(
            Assessment.objects.filter(
                household_id__in={a.household_id for a in batch},
                year=year,
                policy_id__in={a.policy_id for a in batch},
            ).values_list("household_id", "policy_id", "household_version")
        )
        fresh = [
            a for a in batch if (a.household_id, a.policy_id, a.household_version) not in existing
        ]
        Assessment.objects.bulk_create(fresh)
        batch.clear()
        return len(fresh)

    for household_id, version, facts in versioned_facts_for(households, year, chunk_size=CHUNK):
        province = str(facts.get("village_code") or "")[:2] or None
        if province not in compiled:
            standard = store.standard_for_year(standard_id, year=year, province=province)
            compiled[province] = CompiledStandard(standard, store)
        standard_c = compiled[province]
        if standard_c.version not in policies:
            policies[standard_c.version] = policy_version_for(standard_c, standard_id)
        decision = standard_c.decide(facts, year=year, province=province)
        data = decision.as_dict()
        batch.append(
            Assessment(
                household_id=household_id,
                year=year,
                policy=policies[standard_c.version],
                household_version=version,
                run=run,
                passed=decision.passed,
                failed=decision.failed,
                unknown=decision.unknown,
                criteria=data["criteria"],
                facts=facts,
            )
        )
        village = str(facts.get("village_code") or "")
        for key, outcome in [("", PASSED if decision.passed else FAILED)] + [
            (c.id, c.result) for c in decision.criteria
        ]:
            row = counts[(village, key)]
            row[0] += 1
            row[{PASSED: 1, FAILED: 2, UNKNOWN: 3}[outcome]] += 1
        total += 1
        passed += decision.passed
        if len(batch) >= CHUNK:
            created += flush()
        if progress is not None:
            progress(1)
    if batch:
        created += flush()
    by_village: dict[str, AssessmentSummary] = {}
    for (village, key), (n, ok, bad, unk) in counts.items():
        summary = by_village.setdefault(
            village, AssessmentSummary(run=run, village_code=village, households=0, passed=0)
        )
        if key == "":
            summary.households, summary.passed = n, ok
        else:
            summary.criteria[key] = [n, ok, bad, unk]
    AssessmentSummary.objects.bulk_create(by_village.values())
    AssessmentRun.objects.filter(pk=run.pk).update(
        households=total,
        created=created,
        unchanged=total - created,
        passed=passed,
        finished_at=timezone.now(),
    )
    record(
        "assessments.run",
        actor=actor,
        object_type="assessment_run",
        object_id=run.pk,
        diff={
            "standard": standard_id,
            "year": year,
            "method": "per_household",
            "households": total,
            "created": created,
            "passed": passed,
        },
    )
    return AssessResult(run.pk, total, created, total - created, passed)
