"""A small self-check in the demo county: drawn with a fixed seed, the first households of the
sample surveyed by the county account with a few planted findings (a wrongly exited household,
a missed one, a complaint) that become inspection problems. Deterministic; through the actions."""

from __future__ import annotations

import datetime

from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.core.errors import DomainError

from .actions import do_create_selfcheck, do_save_survey, run_job
from .models import DrawJob, SampledHousehold

SURVEYED = 80
SEED = 20191119


def seed_demo_selfcheck(county_code: str, year: int) -> int:
    """The demo self-check of `year`; returns the households surveyed (0 when skipped)."""
    county = User.objects.filter(username="county", role="county").first()
    if county is None:
        return 0
    try:
        item = do_create_selfcheck(county_code, year, seed=SEED, actor=county)
    except DomainError:
        return 0
    job = DrawJob.objects.filter(selfcheck=item).order_by("pk").first()
    if job is None or run_job(job.pk) is None:
        return 0
    # a month back, so that the problems' deadlines fall in days the calendar knows
    day = timezone.localdate() - datetime.timedelta(days=30)
    rows = list(SampledHousehold.objects.filter(selfcheck=item).order_by("village_id", "pk"))
    planted = {"wrong": False, "missed": False}
    for n, row in enumerate(rows[:SURVEYED]):
        answers: dict[str, object] = {
            "approves": n % 23 != 7,
            "food_clothing_secure": True,
            "education_secure": True,
            "medical_secure": True,
            "housing_secure": n % 31 != 5,
            "water_secure": True,
        }
        if row.group == "exited" and not planted["wrong"]:
            answers["wrongly_exited_persons"] = 1
            planted["wrong"] = True
        elif row.group == "ordinary" and not planted["missed"]:
            answers["missed_persons"] = min(2, row.persons)
            planted["missed"] = True
        if n == 11:
            answers["complaint"] = "村内道路雨天泥泞，希望硬化。"
        do_save_survey(
            row.pk,
            version=row.version,
            surveyed_on=day,
            team=f"第{n % 8 + 1}专项核查组",
            answers=answers,
            actor=county,
        )
    return min(len(rows), SURVEYED)
