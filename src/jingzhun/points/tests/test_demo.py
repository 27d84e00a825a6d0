"""The demo county shows points shops, points and five-star households (points.demo)."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command

from jingzhun.points.models import PointsAccount, PointsEntry, PointsShop, StarRating
from jingzhun.points.selectors import five_star_villages


def test_the_demo_seeds_shops_points_and_ratings(db: Any) -> None:
    out = io.StringIO()
    call_command(
        "demo", "--county", "230623", "--scale", "0.2", "--password", "Demo-pass-2026-x",
        "--no-serve", "--no-progress", "--no-assess", stdout=out,
    )  # fmt: skip
    assert "爱心超市积分" in out.getvalue()
    assert PointsShop.objects.count() == 3
    assert PointsEntry.objects.filter(kind="redeem").exists()
    assert PointsEntry.objects.filter(state="pending").exists()
    assert not PointsAccount.objects.filter(balance__lt=0).exists()
    assert StarRating.objects.filter(state="posted", full=True).exists()
    from jingzhun.access.models import User

    township = User.objects.get(username="township")
    rows = five_star_villages(township, StarRating.objects.first().year)  # type: ignore[union-attr]
    assert len(rows) == 3 and all(r.full > 0 for r in rows)
