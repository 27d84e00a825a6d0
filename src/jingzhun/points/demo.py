"""Demo points shops (爱心超市) and star ratings for three villages of the demo township,
written through the points actions by the demo township account. Deterministic: households in
id order, dates counted back from today; a few dozen households, so the demo stays fast."""

from __future__ import annotations

import contextlib
import datetime

from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import DomainError
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household

from .actions import (
    do_add_goods,
    do_create_shop,
    do_earn_points,
    do_post_appraisal,
    do_post_ratings,
    do_rate_household,
    do_redeem_points,
    do_restock_goods,
)
from .models import Appraisal, PointsShop

VILLAGES = 3
HOUSEHOLDS = 20  # per village
GOODS = (
    ("洗衣粉", "袋", 10, 60),
    ("食用油", "桶", 30, 20),
    ("毛巾", "条", 5, 80),
    ("大米", "袋", 40, 15),
)
CRITERIA = ("hygiene", "civility", "filial", "lawful", "self_reliance")


def seed_demo_points(county_code: str) -> int:
    """Shops, goods, points and ratings in the demo township's first villages; returns the
    number of points entries written (0 when there is nothing to seed or it was done)."""
    township = User.objects.filter(username="township", role="township").first()
    if township is None or PointsShop.objects.filter(county_code=county_code).exists():
        return 0
    grants = [g for g in granted_codes(township) if g.startswith(county_code[:6])]
    if not grants:
        return 0
    villages = list(
        Household.objects.filter(township_code=grants[0])
        .exclude(poverty_status__in=c.CLOSED_STATUSES)
        .order_by("village_id")
        .values_list("village_id", flat=True)
        .distinct()[:VILLAGES]
    )
    today = timezone.localdate()
    first = today.replace(day=1)
    last_month = first - datetime.timedelta(days=1)
    written = 0
    for v_index, village in enumerate(villages):
        shop = do_create_shop(village, "村爱心超市", keeper="村会计", actor=township)
        goods = []
        for name, unit, price, stock in GOODS:
            item = do_add_goods(shop.pk, name, price, unit=unit, actor=township)
            goods.append(do_restock_goods(item.pk, stock, note="首批进货", actor=township))
        households = list(
            Household.objects.filter(village_id=village)
            .exclude(poverty_status__in=c.CLOSED_STATUSES)
            .order_by("id")[:HOUSEHOLDS]
        )
        for h_index, household in enumerate(households):
            n = v_index * HOUSEHOLDS + h_index
            plan = [
                ("volunteer", last_month.replace(day=3)),
                ("meeting", last_month.replace(day=10)),
                ("public_labour", last_month.replace(day=12)),
                ("volunteer", first),
            ]
            if n % 3 == 0:
                plan.append(("tidy_courtyard", last_month.replace(day=20)))
            if n % 4 == 0:
                plan.append(("volunteer", min(today, first + datetime.timedelta(days=2))))
            for k, (code, day) in enumerate(plan):
                try:
                    do_earn_points(
                        household.pk, code, day, key=f"demo-{household.pk}-{k}", actor=township
                    )
                    written += 1
                except DomainError:
                    continue
            if n % 2 == 0:
                try:
                    do_redeem_points(
                        shop.pk, goods[(n % 3 == 0 and 2) or 0].pk, household.pk, 1, today,
                        key=f"demo-r-{household.pk}", actor=township,
                    )  # fmt: skip
                    written += 1
                except DomainError:
                    pass
            stars = {code: 0 if (n + i) % 7 == 0 else 1 for i, code in enumerate(CRITERIA)}
            do_rate_household(household.pk, today.year - 1, stars, actor=township)
        for appraisal in Appraisal.objects.filter(village_id=village, state="open"):
            if appraisal.month < first:
                do_post_appraisal(appraisal.pk, actor=township)
        with contextlib.suppress(DomainError):
            do_post_ratings(village, today.year - 1, actor=township)
    return written
