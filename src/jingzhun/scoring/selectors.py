"""Scoped reads of assessment (ADR scoring).

- The county (county staff, and auditors granted the county or above) sees every period of its
  county: the latest computation, earlier ones, and what was published.
- An assessed unit's people (township staff, village staff, work-team members) see only
  published periods of their county: the whole ranking with the red and black lists when the
  scheme publishes it (`publication.ranking: public`), and the score cards of units lying in
  their own regions (their township; the work team of their village). Department cards and
  unpublished results are the county's.
- Helpers, liaisons, verification teams and the administrators see none (404).
Out of scope is OutOfScope (404), never 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from jingzhun.access.scoping import can_see_region, granted_codes
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .models import ScorePeriod, ScoringJob, UnitScore
from .scheme import Scheme, scheme_by_hash

READERS = frozenset({"county", "township", "village", "auditor", "workteam"})
ABOVE_TOWNSHIP = ("county", "prefecture", "province", "national")
NOT_FOUND = "未找到该考核结果，或您无权访问。"


def _grants(user: Any) -> list[str]:
    if getattr(user, "role", "") not in READERS:
        return []
    return list(granted_codes(user))


def county_codes(user: Any) -> list[str]:
    """The counties whose assessment the user runs or audits (county-level grants or above)."""
    from jingzhun.regions.models import Region

    wide = [g for g in _grants(user) if codes.level_of(g) in ABOVE_TOWNSHIP]
    if not wide:
        return []
    q = Q(pk__in=[])
    for g in wide:
        q |= Q(code__startswith=codes.prefix(g))
    return list(Region.objects.filter(q, level="county").values_list("code", flat=True))


def is_county_viewer(user: Any, county_code: str) -> bool:
    return county_code in county_codes(user)


def _unit_counties(user: Any) -> list[str]:
    return sorted(
        {codes.county_of(g) for g in _grants(user) if codes.level_of(g) not in ABOVE_TOWNSHIP}
    )


def home_county(user: Any) -> str | None:
    """The county whose schemes and periods the user's pages show first."""
    found = county_codes(user) or _unit_counties(user)
    return found[0] if found else None


def periods_for(user: Any) -> QuerySet[ScorePeriod]:
    wide = county_codes(user)
    narrow = _unit_counties(user)
    q = Q(county_code__in=wide) | Q(county_code__in=narrow, published_job__isnull=False)
    return (
        ScorePeriod.objects.filter(q)
        .select_related("latest_job", "published_job", "published_by")
        .order_by("-end", "scheme_id")
    )


def period_for(user: Any, period_id: int) -> ScorePeriod:
    found = periods_for(user).filter(pk=period_id).first()
    if found is None:
        raise OutOfScope(NOT_FOUND)
    return found


def shown_job(user: Any, period: ScorePeriod) -> ScoringJob | None:
    """The computation the user sees: the county its latest finished one (else the published
    one), a unit the published one."""
    if is_county_viewer(user, period.county_code):
        latest = period.latest_job
        if latest is not None and latest.status == ScoringJob.DONE:
            return latest
    return period.published_job


def ranking_public(period: ScorePeriod) -> bool:
    job = period.published_job
    scheme = scheme_by_hash(job.scheme_hash) if job is not None else None
    return scheme is None or scheme.doc.publication.ranking == "public"


def _own_units(user: Any) -> Q:
    q = Q(pk__in=[])
    for g in _grants(user):
        q |= Q(region_code__startswith=codes.prefix(g))
    return q & ~Q(unit_kind="department")


def ranking(user: Any, period: ScorePeriod) -> list[UnitScore]:
    """The scores of the shown computation in rank order (what the user may see of them)."""
    job = shown_job(user, period)
    if job is None:
        return []
    found = UnitScore.objects.filter(job=job).select_related("job__period")
    if not is_county_viewer(user, period.county_code) and not ranking_public(period):
        found = found.filter(_own_units(user))
    return list(found.order_by("rank", "unit_key"))


def card_for(user: Any, score_id: int) -> UnitScore:
    """One unit's score card (its trace): the county any computation of its periods, a unit its
    own card of the published computation."""
    found = UnitScore.objects.select_related("job__period").filter(pk=score_id).first()
    if found is None:
        raise OutOfScope(NOT_FOUND)
    period = found.job.period
    if is_county_viewer(user, period.county_code):
        return found
    if (
        period.published_job_id == found.job_id
        and UnitScore.objects.filter(pk=found.pk).filter(_own_units(user)).exists()
    ):
        return found
    raise OutOfScope(NOT_FOUND)


def scheme_of(job: ScoringJob | None) -> Scheme | None:
    return scheme_by_hash(job.scheme_hash) if job is not None else None


def jobs_of(user: Any, period: ScorePeriod) -> list[ScoringJob]:
    """The computations of a period, newest first (the county only)."""
    if not is_county_viewer(user, period.county_code):
        return []
    return list(period.jobs.select_related("requested_by").order_by("-pk"))


def scores_by_region(user: Any, region_code: str) -> list[UnitScore]:
    """For the battle map: the units of the region's county with a score in the newest period
    the user sees of each scheme, those lying in the region (a county: every township and team;
    a township: itself and its teams), best first."""
    county = codes.county_of(region_code)
    if not can_see_region(user, region_code):
        raise OutOfScope(NOT_FOUND)
    out: list[UnitScore] = []
    seen: set[str] = set()
    for period in periods_for(user).filter(county_code=county):
        if period.scheme_id in seen:
            continue
        job = shown_job(user, period)
        if job is None:
            continue
        seen.add(period.scheme_id)
        rows = [r for r in ranking(user, period) if _lies_in(r, region_code)]
        out.extend(rows)
    return out


def _lies_in(score: UnitScore, region_code: str) -> bool:
    if codes.level_of(region_code) == "county":
        return True
    return score.unit_kind != "department" and score.region_code.startswith(
        codes.prefix(region_code)
    )


__all__ = [
    "card_for",
    "county_codes",
    "home_county",
    "is_county_viewer",
    "jobs_of",
    "period_for",
    "periods_for",
    "ranking",
    "scheme_of",
    "scores_by_region",
    "shown_job",
]
