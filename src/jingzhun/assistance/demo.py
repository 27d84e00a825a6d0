"""Demo measures (一户一策) for the demo village: kinds follow each household's main cause,
written through the measure actions by the demo accounts (village proposes, township approves).
Deterministic: households in id order, dates counted back from today."""

from __future__ import annotations

import datetime

from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import DomainError
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household

from .measures import (
    do_complete_measure,
    do_decide_measure,
    do_propose_measure,
    do_start_measure,
)

# The measure a main cause calls for (catalogue codes), plus one industry link for everyone.
BY_CAUSE = {
    "illness": ("medical_aid", "1200"),
    "disability": ("social_assistance", "2400"),
    "schooling": ("education_subsidy", "2000"),
    "disaster": ("housing_renovation", "18000"),
    "lack_skills": ("training", "800"),
    "lack_capital": ("microcredit", "50000"),
    "lack_labour": ("public_welfare_job", "6000"),
    "lack_land": ("equity_dividend", "600"),
    "lack_water": ("relocation_followup", "3000"),
}
INDUSTRY = ("industry", "3000")
MAX_HOUSEHOLDS = 40


def seed_demo_measures(county_code: str) -> int:
    """Measures for up to 40 registered or monitored households of the demo village (the
    helper's first); returns how many measures were written."""
    actors = {r: User.objects.filter(username=r, role=r).first() for r in ("village", "township")}
    village_user, township = actors["village"], actors["township"]
    if village_user is None or township is None:
        return 0
    villages = [code for code in granted_codes(village_user) if len(code) == 12]
    if not villages or not villages[0].startswith(county_code[:6]):
        return 0
    today = timezone.localdate()
    eligible = Household.objects.filter(village_id=villages[0]).exclude(
        poverty_status__in=c.CLOSED_STATUSES
    )
    # monitored households first (risk elimination reads their completed measures), then
    # registered ones, in id order
    households = list(eligible.exclude(monitoring_category="").order_by("id")[:MAX_HOUSEHOLDS])
    households += list(
        eligible.filter(monitoring_category="", poverty_status__in=c.REGISTERED_STATUSES).order_by(
            "id"
        )[: MAX_HOUSEHOLDS - len(households)]
    )
    made = 0
    for n, household in enumerate(households):
        plan = [BY_CAUSE.get(household.main_cause or "", ("employment", "0")), INDUSTRY]
        if n % 3 == 0:
            plan.append(("solar_income", "1000"))  # every third household: 2 industry links
        for k, (kind, amount) in enumerate(plan):
            start = today - datetime.timedelta(days=300 - 20 * k)
            try:
                m = do_propose_measure(
                    household.pk,
                    kind,
                    start,
                    amount=amount,
                    description="（演示）",
                    actor=village_user,
                )
                made += 1
                stage = (n + k) % 4  # 0 proposed, 1 approved, 2 in progress, 3+ completed
                if household.monitoring_category or stage >= 1:
                    m = do_decide_measure(m.pk, True, "同意（演示）", actor=township)
                if household.monitoring_category or stage >= 2:
                    m = do_start_measure(m.pk, actor=village_user)
                if household.monitoring_category or stage == 3:
                    do_complete_measure(
                        m.pk, start + datetime.timedelta(days=90), actor=village_user
                    )
            except DomainError:
                continue
    return made
