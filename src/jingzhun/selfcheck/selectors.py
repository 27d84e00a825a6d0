"""Scoped reads of self-checks and their sampled households, and the estimates (三率一度).

A self-check is visible to the accounts whose grants cover its county (county staff and
auditors); its sampled households to those whose grants cover the household's village
(township staff see their township's sample). Village cadres, helpers, liaisons, verifiers,
work teams and administrators see none (a village does not check itself)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from . import estimate, sampling
from .choices import RATES
from .estimate import Estimate, Verdict
from .models import DrawJob, SampledHousehold, SelfCheck

READERS = frozenset({"county", "township", "auditor"})


def _region_q(user: Any, field: str) -> Q:
    q = Q(pk__in=[])
    if getattr(user, "role", "") not in READERS:
        return q
    for code in granted_codes(user):
        q |= Q(**{f"{field}__startswith": codes.prefix(code)})
    return q


def sampled_for(user: Any) -> QuerySet[SampledHousehold]:
    return SampledHousehold.objects.filter(_region_q(user, "village__code"))


def selfchecks_for(user: Any) -> QuerySet[SelfCheck]:
    """Self-checks whose county the user's grants cover, or with sampled households in them."""
    mine = sampled_for(user).values("selfcheck_id")
    return (
        SelfCheck.objects.filter(_region_q(user, "county__code") | Q(pk__in=mine))
        .select_related("county")
        .order_by("-year", "-pk")
    )


def selfcheck_for(user: Any, selfcheck_id: int) -> SelfCheck:
    found = selfchecks_for(user).filter(pk=selfcheck_id).first()
    if found is None:
        raise OutOfScope("未找到该退出自查，或您无权访问。")
    return found


def sampled_household_for(user: Any, sampled_id: int) -> SampledHousehold:
    found = (
        sampled_for(user)
        .select_related("selfcheck", "household", "village", "finding_problem", "complaint_problem")
        .filter(pk=sampled_id)
        .first()
    )
    if found is None:
        raise OutOfScope("未找到该抽样户，或您无权访问。")
    return found


def latest_job(item: SelfCheck) -> DrawJob | None:
    return DrawJob.objects.filter(selfcheck=item).order_by("-pk").first()


def sample_rows(
    user: Any, item: SelfCheck, *, surveyed: str = "", group: str = ""
) -> QuerySet[SampledHousehold]:
    rows = sampled_for(user).filter(selfcheck=item).select_related("household", "village")
    if surveyed == "yes":
        rows = rows.filter(surveyed_on__isnull=False)
    elif surveyed == "no":
        rows = rows.filter(surveyed_on__isnull=True)
    if group in sampling.GROUPS:
        rows = rows.filter(group=group)
    return rows.order_by("village_id", "group", "pk")


def progress(user: Any, item: SelfCheck) -> dict[str, int]:
    """Sampled, surveyed and finding counts of the user's part of the sample, one query."""
    found = (
        sampled_for(user)
        .filter(selfcheck=item)
        .aggregate(
            sampled=Count("pk"),
            surveyed=Count("pk", filter=Q(surveyed_on__isnull=False)),
            wrong=Count("pk", filter=Q(wrongly_exited_persons__gt=0)),
            missed=Count("pk", filter=Q(missed_persons__gt=0)),
            complaints=Count("pk", filter=~Q(complaint="")),
            problems=Count("finding_problem", distinct=True)
            + Count("complaint_problem", distinct=True),
        )
    )
    return {k: int(v or 0) for k, v in found.items()}


@dataclass(frozen=True)
class RateResult:
    key: str
    label: str
    estimate: Estimate
    threshold: float
    upper: bool
    verdict: Verdict


@dataclass(frozen=True)
class Results:
    rates: list[RateResult]
    passed: bool | None  # the one-vote veto: False if any failed, None if any inconclusive
    surveyed: int
    sampled: int
    confidence: float


def observations(rows: Any) -> dict[str, list[estimate.Obs]]:
    """The surveyed rows as the three rates' observations."""
    obs: dict[str, list[estimate.Obs]] = {k: [] for k in RATES}
    for r in rows:
        stratum, village, weight = r["stratum"], r["village_id"], r["weight"]
        if r["group"] == sampling.EXITED:
            obs["wrong_exit"].append(
                estimate.Obs(stratum, village, weight, r["wrongly_exited_persons"], r["persons"])
            )
        if r["group"] == sampling.ORDINARY:
            obs["missed"].append(
                estimate.Obs(stratum, village, weight, r["missed_persons"], r["persons"])
            )
        if r["approves"] is not None:
            obs["approval"].append(
                estimate.Obs(stratum, village, weight, 1.0 if r["approves"] else 0.0, 1.0)
            )
    return obs


def results(item: SelfCheck) -> Results:
    """The three rates with their intervals over the whole sample (the county's figures; only
    for readers of the self-check itself) and the one-vote veto against the policy thresholds."""
    rows = SampledHousehold.objects.filter(selfcheck=item).values(
        "stratum",
        "village_id",
        "weight",
        "group",
        "persons",
        "wrongly_exited_persons",
        "missed_persons",
        "approves",
        "surveyed_on",
    )
    rows = list(rows)
    surveyed = [r for r in rows if r["surveyed_on"] is not None]
    obs = observations(surveyed)
    plan = item.plan
    confidence = float(plan.get("confidence", 0.95))
    specs = (
        ("wrong_exit", float(plan.get("max_wrong_exit_rate", 0.02)), True),
        ("missed", float(plan.get("max_missed_rate", 0.02)), True),
        ("approval", float(plan.get("min_approval", 0.90)), False),
    )
    rates = []
    for key, threshold, upper in specs:
        est = estimate.ratio(obs[key], confidence=confidence)
        rates.append(
            RateResult(
                key,
                RATES[key],
                est,
                threshold,
                upper,
                estimate.judge(key, est, threshold, upper=upper),
            )
        )
    if any(r.verdict.passed is False for r in rates):
        passed: bool | None = False
    elif all(r.verdict.passed for r in rates):
        passed = True
    else:
        passed = None
    return Results(rates, passed, len(surveyed), len(rows), confidence)


def county_exit_sample(county_code: str, year: int) -> dict[str, Any] | None:
    """The county exit standard's sample figures (三率一度, `assessments.exits.SAMPLE_FIELDS`)
    from the county's self-check of `year`: the surveyed households' persons as the 2016 standard
    counts them (wrongly exited among the sampled exited persons, missed among the sampled
    non-registered persons, approving among the surveyed households), unweighted as the standard
    divides them; the weighted estimates with their intervals are on the self-check's own page.
    None when the county has no self-check for the year or nobody was surveyed yet."""
    item = SelfCheck.objects.filter(county_id=county_code, year=year).order_by("-pk").first()
    if item is None:
        return None
    surveyed = SampledHousehold.objects.filter(selfcheck=item, surveyed_on__isnull=False)
    exited = surveyed.filter(group=sampling.EXITED)
    ordinary = surveyed.filter(group=sampling.ORDINARY)
    answered = surveyed.filter(approves__isnull=False)
    if not surveyed.exists():
        return None
    return {
        "sampled_exited_persons": exited.aggregate(n=Sum("persons"))["n"] or 0,
        "sampled_wrong_exit_persons": exited.aggregate(n=Sum("wrongly_exited_persons"))["n"] or 0,
        "sampled_non_registered_persons": ordinary.aggregate(n=Sum("persons"))["n"] or 0,
        "verified_missed_persons": ordinary.aggregate(n=Sum("missed_persons"))["n"] or 0,
        "surveyed_households": answered.count(),
        "approving_households": answered.filter(approves=True).count(),
        "selfcheck": item.pk,
    }
