"""Reads of stored assessments. Callers pass households they obtained through a scope, or a user
whose scope limits the counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q

from jingzhun.access.scoping import village_prefixes
from jingzhun.core.fieldcrypt import open_tokens
from jingzhun.policy.decide import FAILED, PASSED, UNKNOWN, CompiledStandard
from jingzhun.policy.store import PolicyError, PolicyStore, default_store
from jingzhun.registry.models import Household, Member

from .bulk import MEMBER_ID, SEALED_MEMBER, VERSION_COLUMN
from .models import Assessment, AssessmentRun, AssessmentSummary, PolicyVersion
from .storage import SNAPSHOT_FILES

__all__ = [
    "AssessmentView",
    "CriterionCount",
    "assessment_view",
    "criterion_counts",
    "latest_assessment",
    "snapshot_facts",
]


def latest_assessment(
    household: Household, standard: str = "household_exit", year: int | None = None
) -> Assessment | None:
    """The household's most recent decision for a standard (latest year, or the given one; then
    latest run)."""
    found = Assessment.objects.filter(household=household, policy__standard=standard)
    if year is not None:
        found = found.filter(year=year)
    return (
        found.select_related("policy", "run")
        .order_by("-year", "-created_at", "-household_version", "-policy_id")
        .first()
    )


@dataclass
class AssessmentView:
    """A stored decision ready to show: each criterion with its result and reason."""

    assessment: Assessment
    criteria: list[dict[str, Any]]
    replayed: bool = False
    note: str = ""

    @property
    def year(self) -> int:
        return self.assessment.year

    @property
    def passed(self) -> bool:
        return self.assessment.passed

    @property
    def policy_version(self) -> str:
        return self.assessment.policy.version

    @property
    def created_at(self) -> datetime:
        return self.assessment.created_at

    @property
    def method(self) -> str:
        return self.assessment.run.get_method_display()


def assessment_view(
    household: Household, standard: str = "household_exit", *, store: PolicyStore | None = None
) -> AssessmentView | None:
    """The latest decision with its reasons: kept on the row (per-household path) or replayed
    from the run's input snapshot with the same policy version (bulk path)."""
    stored = latest_assessment(household, standard)
    if stored is None:
        return None
    view = _assessment_view(household, stored, standard, store)
    if stored.household_version != household.version:
        stale = "该户信息在这次判定之后有修改，以下是修改前的判定结果，请重新判定。"
        view.note = f"{stale}{view.note}"
    return view


def _assessment_view(
    household: Household, stored: Assessment, standard: str, store: PolicyStore | None
) -> AssessmentView:
    if stored.criteria is not None:
        return AssessmentView(stored, list(stored.criteria))
    results = {c: FAILED for c in stored.failed} | {c: UNKNOWN for c in stored.unknown}
    bare = [
        {
            "id": c["id"],
            "label": c["label"],
            "kind": c["kind"],
            "result": results.get(c["id"], PASSED),
            "explanation": "",
        }
        for c in stored.policy.criteria
    ]
    facts = snapshot_facts(stored.run, household.pk)
    if facts is None:
        return AssessmentView(stored, bare, note="该批次未保存输入快照，只显示各项结果。")
    try:
        store = store or default_store()
        province = str(facts.get("village_code") or "")[:2] or None
        resolved = store.standard_for_year(standard, year=stored.year, province=province)
        compiled = CompiledStandard(resolved, store)
    except PolicyError:
        compiled = None
    if compiled is None or compiled.version != stored.policy.version:
        return AssessmentView(
            stored, bare, note="判定所用的政策文件已不在当前策略目录中，只显示各项结果。"
        )
    decision = compiled.decide(facts, year=stored.year, province=province)
    replayed = decision.as_dict()["criteria"]
    if [(c["id"], c["result"]) for c in replayed] != [(c["id"], c["result"]) for c in bare]:
        return AssessmentView(stored, bare, note="按快照重算的结果与保存的结果不一致，请重新判定。")
    return AssessmentView(stored, replayed, replayed=True)


_READER: Any = None


def _snapshot_reader() -> Any:
    """One in-memory DuckDB connection per process for reading snapshots: opening one per
    household card cost more than the read itself (issue 26, B12). Each read takes its own
    cursor."""
    global _READER
    if _READER is None:
        import duckdb

        _READER = duckdb.connect(config={"threads": 1})
    return _READER


def snapshot_facts(run: AssessmentRun, household_id: int) -> dict[str, Any] | None:
    """One household's facts as the bulk run read them (from its Parquet snapshot)."""
    if not run.snapshot:
        return None
    folder = Path(settings.VAR_DIR) / run.snapshot
    paths = [folder / name for name in SNAPSHOT_FILES]
    if not all(p.is_file() for p in paths):
        return None
    con = _snapshot_reader().cursor()  # a cursor of the process's connection: cheap
    try:
        h = con.execute(
            "SELECT * FROM read_parquet(?) WHERE id = ?", [paths[0].as_posix(), household_id]
        )
        names = [d[0] for d in h.description]
        row = h.fetchone()
        if row is None:
            return None
        m = con.execute(
            "SELECT * FROM read_parquet(?) WHERE household_id = ?",
            [paths[1].as_posix(), household_id],
        )
        mnames = [d[0] for d in m.description]
        members = [
            {k: v for k, v in zip(mnames, r, strict=True) if k != "household_id"}
            for r in m.fetchall()
        ]
    finally:
        con.close()
    if MEMBER_ID in mnames:  # sealed fields stored as tokens (PII-2): opened with each row's key
        for name in (n for n in mnames if n in SEALED_MEMBER):
            f = SEALED_MEMBER[name]
            ids = [r[MEMBER_ID] for r in members]
            opened = open_tokens(Member._meta.db_table, f.column, ids, [r[name] for r in members])
            for r, value in zip(members, opened, strict=True):
                r[name] = f.to_python(value) if value is not None else None
        for r in members:
            del r[MEMBER_ID]
    facts: dict[str, Any] = {}
    income: dict[str, Any] = {}
    for name, value in zip(names, row, strict=True):
        if name.startswith("income_"):
            income[name.removeprefix("income_")] = value
        elif name not in ("id", VERSION_COLUMN):
            facts[name] = value
    facts["income"] = income if any(v is not None for v in income.values()) else None
    facts["members"] = members
    return facts


@dataclass
class CriterionCount:
    id: str
    label: str
    households: int = 0
    passed: int = 0
    failed: int = 0
    unknown: int = 0

    @property
    def share(self) -> float | None:
        """Percentage of the judged households that meet the criterion."""
        return 100 * self.passed / self.households if self.households else None


def criterion_counts(
    user: Any, standard: str, year: int, *, under: str | None = None
) -> tuple[list[CriterionCount], datetime | None]:
    """How many households in the user's scope (optionally under one region prefix) meet each
    criterion, from each village's latest finished run for the standard and year. The first
    entry ('') is the whole standard. Returns the counts and the time of the newest run used."""
    prefixes = village_prefixes(user)
    q = Q(run__standard=standard, run__year=year, run__finished_at__isnull=False)
    if prefixes is not None:
        scope = Q(pk__in=[])
        for p in prefixes:
            scope |= Q(village_code__startswith=p)
        q &= scope
    if under:
        q &= Q(village_code__startswith=under)
    rows = (
        AssessmentSummary.objects.filter(q)
        .order_by("village_code", "-run__finished_at")
        .values_list(
            "village_code", "run_id", "run__finished_at", "households", "passed", "criteria"
        )
    )
    chosen: dict[str, str] = {}
    newest: datetime | None = None
    counts: dict[str, CriterionCount] = {}
    for village, run_id, finished, n, ok, per in rows.iterator(chunk_size=5000):
        if chosen.setdefault(village, run_id) != run_id:
            continue  # an older run of the same village
        if finished is not None and (newest is None or finished > newest):
            newest = finished
        entries = [("", (n, ok, n - ok, 0)), *((c, tuple(v)) for c, v in per.items())]
        for criterion, (cn, cok, cbad, cunk) in entries:
            c = counts.setdefault(criterion, CriterionCount(criterion, ""))
            c.households += cn
            c.passed += cok
            c.failed += cbad
            c.unknown += cunk
    labels = _labels(standard)
    ordered = sorted(counts.values(), key=lambda c: (c.id != "", labels.get(c.id, (99, ""))[0]))
    for c in ordered:
        c.label = "全部标准" if c.id == "" else labels.get(c.id, (99, c.id))[1]
    return ordered, newest


def _labels(standard: str) -> dict[str, tuple[int, str]]:
    """criterion id -> (position, label), from the policy versions applied so far."""
    out: dict[str, tuple[int, str]] = {}
    for pv in PolicyVersion.objects.filter(standard=standard).order_by("id"):
        for i, c in enumerate(pv.criteria):
            out.setdefault(c["id"], (i + (100 if c.get("kind") == "blocker" else 0), c["label"]))
    return out


# --- Village and county exit pages (issue 24 item 5) -------------------------------------


@dataclass(frozen=True)
class VillageExitRow:
    village: Any  # regions.Region
    facts: dict[str, Any]  # the facts it would be judged on now (exits.village_facts)
    conditions: Any  # VillageConditions | None
    decision: Any  # the latest stored RegionAssessment | None
    current: bool  # the latest decision was made on these same facts


@dataclass(frozen=True)
class ExitOverview:
    county: Any
    year: int
    villages: list[VillageExitRow]
    county_decision: Any  # RegionAssessment | None


def exit_counties(user: Any) -> list[Any]:
    """The counties whose villages the user may see (a township or village grant gives its county)."""
    from jingzhun.access.scoping import granted_codes
    from jingzhun.regions.models import Region

    wanted = {code[:6] + "000000" for code in granted_codes(user) if len(code) == 12}
    counties = [c for c in wanted if c[4:6] != "00"]
    return list(Region.objects.filter(code__in=counties, level="county").order_by("code"))


def exit_overview(user: Any, county_code: str, year: int) -> ExitOverview:
    """A county's villages for a year as the user may see them: facts, conditions, latest
    decision; the county's latest decision when the user sees the whole county."""
    from jingzhun.access.scoping import can_see_region
    from jingzhun.core.errors import DomainError, OutOfScope

    from .exits import COUNTY_EXIT, county_region, latest_village_decisions, village_facts
    from .models import RegionAssessment, VillageConditions

    if not can_see_region(user, county_code) and not exit_counties_contains(user, county_code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    try:
        county = county_region(county_code)
    except DomainError as exc:  # not a loaded county: shown as not found
        raise OutOfScope("未找到该区划，或您无权访问。") from exc
    decisions = latest_village_decisions(county.code, year)
    conditions = {
        v.village_id: v
        for v in VillageConditions.objects.filter(
            year=year, village__code__startswith=county.code[:6]
        )
    }
    rows = []
    for item in village_facts(county.code, year):
        if not can_see_region(user, item.region.code):
            continue
        decision = decisions.get(item.region.code)
        rows.append(
            VillageExitRow(
                village=item.region,
                facts=item.facts,
                conditions=conditions.get(item.region.code),
                decision=decision,
                current=decision is not None and decision.facts_sha256 == item.sha256,
            )
        )
    county_decision = None
    if can_see_region(user, county.code):
        county_decision = (
            RegionAssessment.objects.filter(standard=COUNTY_EXIT, year=year, region=county)
            .order_by("-created_at", "-pk")
            .first()
        )
    return ExitOverview(county, year, rows, county_decision)


def exit_counties_contains(user: Any, county_code: str) -> bool:
    return any(c.code == county_code for c in exit_counties(user))


def village_conditions_for(user: Any, village_code: str, year: int) -> tuple[Any, Any]:
    """(village Region, its VillageConditions for the year or None); OutOfScope when not visible."""
    from jingzhun.access.scoping import can_see_region
    from jingzhun.core.errors import OutOfScope
    from jingzhun.regions.models import Region

    from .models import VillageConditions

    village = Region.objects.filter(code=village_code, level="village").first()
    if village is None or not can_see_region(user, village.code):
        raise OutOfScope("未找到该村，或您无权访问。")
    return village, VillageConditions.objects.filter(village=village, year=year).first()
