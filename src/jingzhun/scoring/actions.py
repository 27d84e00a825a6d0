"""Writes of assessment (考核, issue 24 item 4; ADR scoring).

- `do_request_scoring`: the county office asks for a period's scores under a scheme; checked
  (role, county, period, scheme in effect, every figure it names registered) and queued as a
  job for `jingzhun worker`. After the period's results were published, a new computation is
  refused unless a correction (更正说明) is given; the correction stays on the job and in the
  audit log, and the published results stay what the units see until published again.
- `run_job`: the worker computes every unit (progress on the job) and writes the scores at once.
- `do_publish_period`: the county office publishes the latest computation (audited).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from jingzhun.access.scoping import can_see_region
from jingzhun.audit.actions import record
from jingzhun.core.checks import require_role
from jingzhun.core.errors import DomainError, OutOfScope, StaleVersion
from jingzhun.core.figure_sources import UNIT_KINDS, Period
from jingzhun.core.jobs import JobKind, enqueue_after_commit, run_queued, worker_name
from jingzhun.core.models import action
from jingzhun.regions.models import Region

from . import engine
from .models import PERIOD_KINDS, ScorePeriod, ScoringJob, UnitScore
from .scheme import Scheme, scheme_by_hash, schemes_for
from .units import units_for

log = logging.getLogger(__name__)

SCORERS = frozenset({"county"})
PUBLISHERS = frozenset({"county"})
OPEN_JOBS = (ScoringJob.QUEUED, ScoringJob.RUNNING)


def _county(code: str, actor: Any) -> str:
    raw = str(code or "").strip()
    region = Region.objects.filter(code=raw, level="county").first() if raw.isdigit() else None
    if region is None or (actor is not None and not can_see_region(actor, region.code)):
        raise OutOfScope("未找到该县，或您无权访问。")
    return region.code


def scheme_for(county_code: str, scheme_id: str, period: Period) -> Scheme:
    found = next((s for s in schemes_for(county_code, period.end) if s.doc.id == scheme_id), None)
    if found is None:
        raise DomainError(
            f"{period.end} 没有生效的考核方案 “{scheme_id}”（policies/scoring/）。", field="scheme"
        )
    if period.kind not in found.doc.periods:
        allowed = "、".join(PERIOD_KINDS.get(k, k) for k in found.doc.periods)
        raise DomainError(
            f"考核方案 {found.path} 只按{allowed}考核，不能用于周期 {period.label}。",
            field="period",
        )
    return found


@action
@transaction.atomic
def do_request_scoring(
    *,
    county_code: str,
    scheme_id: str,
    period: str,
    correction: str = "",
    actor: Any,
) -> ScoringJob:
    """Queue the computation of one period's scores (a queued or running one is returned as it
    is: asking twice does not compute twice)."""
    require_role(actor, SCORERS, "发起考核计算")
    county = _county(county_code, actor)
    wanted = engine.parse_period(period, county)
    if wanted.start > timezone.localdate():
        raise DomainError(f"考核周期 {wanted.label} 尚未开始，不能计算。", field="period")
    scheme = scheme_for(county, scheme_id, wanted)
    engine.check_names(scheme)
    correction = str(correction or "").strip()
    if len(correction) > 500:
        raise DomainError("更正说明不能超过 500 字。", field="correction")
    row = (
        ScorePeriod.objects.select_for_update()
        .filter(county_code=county, scheme_id=scheme.doc.id, label=wanted.label)
        .first()
    )
    if row is None:
        row = ScorePeriod.objects.create(
            county_code=county,
            scheme_id=scheme.doc.id,
            unit_kind=scheme.doc.unit_kind,
            kind=wanted.kind,
            label=wanted.label,
            start=wanted.start,
            end=wanted.end,
        )
    running = row.jobs.filter(status__in=OPEN_JOBS).order_by("pk").first()
    if running is not None:
        return running
    if row.published and not correction:
        raise DomainError(
            f"{row.label} 的考核结果已于 {timezone.localtime(row.published_at):%Y-%m-%d %H:%M} "
            "发布，重新计算须填写更正说明（原因和依据）。",
            field="correction",
        )
    job = ScoringJob.objects.create(
        period=row,
        scheme_version=scheme.doc.version,
        scheme_hash=scheme.hash,
        scheme_path=scheme.path,
        correction=correction,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    record(
        "scoring.period.compute",
        actor=actor,
        object_type="scoring.ScorePeriod",
        object_id=row.pk,
        reason=correction,
        diff={
            "period": wanted.label,
            "scheme": scheme.key,
            "scheme_hash": scheme.hash,
            "job": job.pk,
            "after_publication": row.published,
        },
    )
    enqueue_after_commit(run_scoring_job, job.pk)
    return job


@task()
def run_scoring_job(job_id: int) -> str:
    """The queue's task: run scoring job `job_id` (`jingzhun worker`)."""
    job = run_job(job_id)
    return job.status if job is not None else "taken"


def run_job(job_id: int) -> ScoringJob | None:
    """Compute one queued job (None if another worker took it); a refusal is kept on the job."""
    if not ScoringJob.take(job_id, worker_name(), progress=1, step="开始"):
        return None
    job = ScoringJob.objects.select_related("period").get(pk=job_id)

    def progress(step: str, pct: int) -> None:
        ScoringJob.objects.filter(pk=job_id).update(step=step[:100], progress=min(pct, 99))

    try:
        count = _compute(job, progress)
    except Exception as exc:  # kept on the job, shown on the page
        if not isinstance(exc, DomainError):
            log.exception("scoring job %s failed", job_id)
        ScoringJob.fail(job_id, exc)
    else:
        ScoringJob.finish(job_id, progress=100, step="完成", units=count)
    job.refresh_from_db()
    return job


def _compute(job: ScoringJob, progress: Any) -> int:
    row = job.period
    scheme = scheme_by_hash(job.scheme_hash)
    if scheme is None:
        raise DomainError(
            f"考核方案文件 {job.scheme_path}（版本 {job.scheme_version}）已不存在或已被修改。"
        )
    period = Period(row.kind, row.label, row.start, row.end, row.county_code)
    engine.check_names(scheme)
    progress("确定考核对象", 3)
    units = units_for(scheme.doc.unit_kind, period)
    figures = engine.gather(scheme, units, period, progress)
    progress("计分、排名", 90)
    results = engine.score_units(scheme, units, figures, period)
    _store(job, results)
    return len(results)


@action
@transaction.atomic
def _store(job: ScoringJob, results: list[engine.UnitResult]) -> None:
    UnitScore.objects.bulk_create(
        UnitScore(
            job=job,
            unit_kind=r.unit.kind,
            unit_key=r.unit.key,
            unit_label=r.unit.label[:200],
            region_code=r.unit.region_code,
            score=r.score,
            rank=r.rank,
            band=r.band,
            trace=r.trace,
        )
        for r in results
    )
    ScorePeriod.objects.filter(pk=job.period_id).update(
        latest_job=job, version=F("version") + 1, updated_at=timezone.now()
    )
    record(
        "scoring.period.computed",
        actor=None,
        object_type="scoring.ScorePeriod",
        object_id=job.period_id,
        diff={
            "job": job.pk,
            "units": len(results),
            "red": sum(r.band == "red" for r in results),
            "black": sum(r.band == "black" for r in results),
        },
    )


@action
@transaction.atomic
def do_publish_period(period_id: int, *, version: int | None = None, actor: Any) -> ScorePeriod:
    """Publish the latest computation of a period (红黑榜 and the ranking become visible to the
    units as the scheme says)."""
    require_role(actor, PUBLISHERS, "发布考核结果")
    row = ScorePeriod.objects.select_for_update().filter(pk=period_id).first()
    if row is None or (actor is not None and not can_see_region(actor, row.county_code)):
        raise OutOfScope("未找到该考核周期，或您无权访问。")
    if version is not None and version != row.version:
        raise StaleVersion("该考核周期已被他人计算或发布，请刷新页面后重试。")
    latest = row.latest_job
    if latest is None or latest.status != ScoringJob.DONE:
        raise DomainError(f"{row.label} 还没有计算完成的考核结果，不能发布。")
    if row.jobs.filter(status__in=OPEN_JOBS).exists():
        raise DomainError(f"{row.label} 正在重新计算，请等计算完成后再发布。")
    if row.published_job_id == latest.pk:
        raise DomainError(f"{row.label} 的这次计算结果已经发布。")
    before = row.published_job_id
    now = timezone.now()
    updated = ScorePeriod.objects.filter(pk=row.pk, version=row.version).update(
        published_job=latest,
        published_at=now,
        published_by=actor if getattr(actor, "pk", None) else None,
        version=F("version") + 1,
        updated_at=now,
    )
    if updated == 0:
        raise StaleVersion("该考核周期已被他人计算或发布，请刷新页面后重试。")
    record(
        "scoring.period.publish",
        actor=actor,
        object_type="scoring.ScorePeriod",
        object_id=row.pk,
        reason=latest.correction,
        diff={"published_job": [before, latest.pk], "scheme_hash": latest.scheme_hash},
    )
    row.refresh_from_db()
    return row


def run_pending() -> list[ScoringJob]:
    """Run every queued scoring job in order (`jingzhun scoring --pending`, tests)."""
    return run_queued(ScoringJob.objects.filter(status=ScoringJob.QUEUED), run_job)


KIND = JobKind(model=ScoringJob)  # no files

__all__ = [
    "KIND",
    "UNIT_KINDS",
    "do_publish_period",
    "do_request_scoring",
    "run_job",
    "run_pending",
    "scheme_for",
]
