"""Judging households against a standard and storing the decisions (per-household path)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from jingzhun.access.scoping import check_region_in_scope
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.policy.decide import FAILED, PASSED, UNKNOWN, CompiledStandard
from jingzhun.policy.store import PolicyStore, default_store
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.actions import check_can_write
from jingzhun.registry.facts import versioned_facts_for
from jingzhun.registry.models import Household

from .bulk import policy_version_for
from .exits import (
    CONDITION_FIELDS,
    REGION_STANDARDS,
    VILLAGE_EXIT,
    county_facts,
    county_region,
    jsonable,
    village_facts,
)
from .models import (
    Assessment,
    AssessmentRun,
    AssessmentSummary,
    PolicyVersion,
    RegionAssessment,
    VillageConditions,
)

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


# --- Village and county exit (issue 24 item 5; ADR 0071) -------

YEAR_MIN, YEAR_MAX = 2014, 2100
MAX_COLLECTIVE_INCOME = Decimal("9999999999.99")
# Who judges a county's villages and the county: the county office (and the server's operator).
REGION_ASSESSORS = frozenset({"county"})


@dataclass(frozen=True)
class RegionRunResult:
    run_id: str
    standard: str
    regions: int
    created: int
    unchanged: int
    passed: int
    unknown: int  # regions with at least one unknown criterion


def _check_year(year: int) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise DomainError(f"年度 {year} 无效（应在 {YEAR_MIN}–{YEAR_MAX} 之间）。", field="year")


@transaction.atomic
def do_save_village_conditions(
    village_code: str,
    year: int,
    values: Mapping[str, Any],
    *,
    actor: Any,
    expected_version: int | None = None,
) -> VillageConditions:
    """Enter or change a village's conditions for a year (one live row per village and year).
    A value left out or None is unknown; a stale version (someone saved since) is refused."""
    check_can_write(actor)
    _check_year(year)
    village = Region.objects.filter(code=village_code, level="village").first()
    if village is None:
        raise OutOfScope("未找到该村，或您无权访问。")
    if actor is not None:
        check_region_in_scope(actor, village.code)
    unknown = sorted(set(values) - set(CONDITION_FIELDS) - {"note"})
    if unknown:
        raise DomainError(f"未知的村退出条件：{'、'.join(unknown)}。", field=unknown[0])
    clean: dict[str, Any] = {}
    for name in CONDITION_FIELDS:
        value = values.get(name)
        if name == "collective_income":
            if value is not None:
                try:
                    value = Decimal(str(value)).quantize(Decimal("0.01"))
                except (InvalidOperation, ValueError) as exc:
                    raise DomainError(
                        "村集体经济收入应为金额（元）。", field="collective_income"
                    ) from exc
                if value < 0 or value > MAX_COLLECTIVE_INCOME:
                    raise DomainError(
                        "村集体经济收入不能为负数，也不能超过 99 亿元。",
                        field="collective_income",
                    )
        elif value is not None and not isinstance(value, bool):
            raise DomainError(f"条件 {name} 应为“是”“否”或不填。", field=name)
        clean[name] = value
    note = str(values.get("note") or "").strip()
    if len(note) > 200:
        raise DomainError("说明不能超过 200 字。", field="note")
    clean["note"] = note
    row = VillageConditions.objects.select_for_update().filter(village=village, year=year).first()
    if row is None:
        if expected_version not in (None, 0):
            raise StaleVersion("该村本年度的条件已被删除或尚未填报，请刷新后重试。")
        row = VillageConditions.objects.create(
            village=village, year=year, entered_by=actor, **clean
        )
        before: dict[str, Any] = {}
    else:
        if expected_version is not None and expected_version != row.version:
            raise StaleVersion("该村本年度的条件已被他人修改，请刷新后重试。")
        before = {name: getattr(row, name) for name in CONDITION_FIELDS}
        updated = VillageConditions.objects.filter(pk=row.pk, version=row.version).update(
            **clean,
            version=F("version") + 1,
            updated_at=timezone.now(),
            entered_by=actor,
        )
        if updated == 0:
            raise StaleVersion("该村本年度的条件已被他人修改，请刷新后重试。")
        row.refresh_from_db()
    after = {name: getattr(row, name) for name in CONDITION_FIELDS}
    diff = {
        k: [jsonable(before.get(k)), jsonable(after[k])]
        for k in CONDITION_FIELDS
        if before.get(k) != after[k] or not before
    }
    record(
        "assessments.village_conditions.save",
        actor=actor,
        object_type="village_conditions",
        object_id=row.pk,
        diff={"village": [None, village.code], "year": [None, year], **diff},
    )
    return row


@transaction.atomic
def do_assess_regions(
    standard_id: str,
    year: int,
    county_code: str,
    *,
    actor: Any,
    store: PolicyStore | None = None,
) -> RegionRunResult:
    """Judge a county's villages (village_exit) or the county itself (county_exit) for a year and
    store one RegionAssessment per region with its facts and per-criterion trace. The same
    policy version on the same facts keeps the stored decision; the county decision reads the
    latest village decisions, so run village_exit first."""
    if standard_id not in REGION_STANDARDS:
        raise DomainError(f"标准 {standard_id} 不是村或县的退出标准。", field="standard")
    _check_year(year)
    if actor is not None:
        if getattr(actor, "role", "") not in REGION_ASSESSORS or not actor.is_active:
            raise Forbidden("只有县级业务人员可以判定村、县退出。")
        check_region_in_scope(actor, county_code)
    county = county_region(county_code)
    store = store or default_store()
    province = county.code[:2]
    standard = store.standard_for_year(standard_id, year=year, province=province)
    compiled = CompiledStandard(standard, store)
    policy = policy_version_for(compiled, standard_id)
    if standard_id == VILLAGE_EXIT:
        regions = village_facts(county.code, year)
        level = "village"
    else:
        regions = [county_facts(county.code, year)]
        level = "county"
    run = AssessmentRun.objects.create(
        id=uuid.uuid4().hex,
        standard=standard_id,
        year=year,
        method=AssessmentRun.PER_REGION,
        source="orm",
        scope=codes.prefix(county.code),
        actor=actor,
        actor_name=getattr(actor, "username", "") or "",
    )
    existing = set(
        RegionAssessment.objects.filter(
            year=year, policy=policy, region__in=[r.region for r in regions]
        ).values_list("region_id", "facts_sha256")
    )
    fresh: list[RegionAssessment] = []
    passed = unknown = 0
    for item in regions:
        decision = compiled.decide(item.facts, year=year, province=province)
        passed += decision.passed
        unknown += bool(decision.unknown)
        sha = item.sha256
        if (item.region.code, sha) in existing:
            continue
        fresh.append(
            RegionAssessment(
                region=item.region,
                level=level,
                standard=standard_id,
                year=year,
                policy=policy,
                run=run,
                facts_sha256=sha,
                passed=decision.passed,
                failed=decision.failed,
                unknown=decision.unknown,
                criteria=decision.as_dict()["criteria"],
                facts=jsonable(item.facts),
            )
        )
    RegionAssessment.objects.bulk_create(fresh)
    AssessmentRun.objects.filter(pk=run.pk).update(
        households=len(regions),
        created=len(fresh),
        unchanged=len(regions) - len(fresh),
        passed=passed,
        finished_at=timezone.now(),
    )
    record(
        "assessments.regions.run",
        actor=actor,
        object_type="assessment_run",
        object_id=run.pk,
        diff={
            "standard": standard_id,
            "year": year,
            "county": county.code,
            "policy": policy.version,
            "regions": len(regions),
            "created": len(fresh),
            "passed": passed,
        },
    )
    return RegionRunResult(
        run.pk, standard_id, len(regions), len(fresh), len(regions) - len(fresh), passed, unknown
    )
