"""Demo assessment for `jingzhun demo`: an inspection of the last finished quarter with problems
in the townships (some rectified, some overdue and escalated 挂牌督办), then the townships'
assessment of that quarter computed under the shipped scheme and published by the county
account, through the real actions. Seeded, so every demo shows the same lists."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.core.errors import DomainError
from jingzhun.regions import codes
from jingzhun.regions.models import Region

from .actions import do_publish_period, do_request_scoring, run_job
from .models import ScorePeriod

SCHEME = "township_assessment"
CATEGORIES = ("assistance", "policy", "data", "identification", "funds")


@dataclass(frozen=True)
class DemoScoring:
    period: ScorePeriod
    problems: int
    units: int


def last_quarter(today: datetime.date) -> tuple[str, datetime.date]:
    """The label and first day of the last quarter that has ended."""
    q = (today.month - 1) // 3  # the running quarter's index 0..3; the one before it ended
    year = today.year if q else today.year - 1
    q = q or 4
    return f"{year}Q{q}", datetime.date(year, 3 * q - 2, 1)


def seed_demo_scoring(county_code: str, *, seed: int = 24) -> DemoScoring | None:
    """Problems of the last quarter and the townships' published assessment of it (None when
    the demo accounts are missing)."""
    from jingzhun.inspection.actions import (
        do_escalate_overdue,
        do_record_inspection,
        do_record_problem,
    )

    county = User.objects.filter(username="county", role="county").first()
    if county is None:
        return None
    today = timezone.localdate()
    label, start = last_quarter(today)
    rng = random.Random(seed)
    inspection = do_record_inspection(
        kind="unannounced",
        title=f"{label[:4]} 年第 {label[-1]} 季度脱贫攻坚暗访督查（演示）",
        region_code=county_code,
        organiser="县脱贫攻坚指挥部督查组",
        started_on=start + datetime.timedelta(days=10),
        actor=county,
    )
    townships = list(
        Region.objects.filter(level="township", code__startswith=codes.prefix(county_code))
        .order_by("code")
        .values_list("code", "name")
    )
    made = 0
    for index, (code, name) in enumerate(townships):
        for n in range(rng.choice((0, 1, 1, 2, 3)) + (index % 3 == 2)):
            found = start + datetime.timedelta(days=12 + n)
            do_record_problem(
                inspection.pk,
                category=rng.choice(CATEGORIES),
                description=f"{name}：帮扶手册、明白卡与实际不符（演示问题 {n + 1}）",
                region_code=code,
                unit=f"{name}人民政府",
                responsible_unit=f"{name}人民政府",
                responsible_person="乡镇分管负责人",
                found_on=found,
                deadline=found + datetime.timedelta(days=30),
                actor=county,
            )
            made += 1
    # still open a month after their deadlines: escalated one level (挂牌督办) within the quarter
    try:
        do_escalate_overdue(on=start + datetime.timedelta(days=75), actor=None)
        job = do_request_scoring(
            county_code=county_code, scheme_id=SCHEME, period=label, actor=county
        )
    except DomainError:
        return None
    done = run_job(job.pk)
    if done is None or done.status != "done":
        return None
    period = ScorePeriod.objects.get(pk=job.period_id)
    period = do_publish_period(period.pk, version=period.version, actor=county)
    return DemoScoring(period, made, done.units)
