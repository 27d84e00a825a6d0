"""The battle map's points figures (issue 23 item 6): points issued and redeemed in a year,
points waiting for their appraisal, five-star households.

Like `assistance.board` and `projects.board`: computed when shown, each figure a condition over
one scoped queryset; `figure_rows` lists the same condition, so the figure equals its list.

Figure keys: `points:issued` (earnings counted, less their reversals), `points:redeemed`
(redemptions less their reversals, as a positive number), `points:pending` (earnings waiting
for the monthly appraisal), `stars:full` (five-star households of the year), `stars:rated`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from jingzhun.access.scoping import scope_by_household
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .models import PointsEntry, StarRating
from .scope import reads_points

FIGURES = {
    "points:issued": "已计入的积分",
    "points:redeemed": "已兑换的积分",
    "points:pending": "待评议公示的积分",
    "stars:rated": "已评定星级的户",
    "stars:full": "五星户",
}
UNKNOWN = "没有这一指标。"


def household_region_q(region: str) -> Q:
    level = codes.level_of(region)
    column = {
        "county": "household__county_code",
        "township": "household__township_code",
        "village": "household__village_id",
    }
    if level not in column:
        raise OutOfScope("未找到该区划，或您无权访问。")
    return Q(**{column[level]: region})


def _condition(figure: str) -> Q:
    if figure == "points:issued":
        return Q(state="counted") & (Q(kind="earn") | Q(kind="reversal", reverses__kind="earn"))
    if figure == "points:redeemed":
        return Q(kind="redeem") | Q(kind="reversal", reverses__kind="redeem")
    if figure == "points:pending":
        return Q(state="pending")
    raise OutOfScope(UNKNOWN)


def entries_in(user: Any, region: str, year: int) -> QuerySet[PointsEntry]:
    if not reads_points(user):
        return PointsEntry.objects.none()
    qs = PointsEntry.objects.filter(household_region_q(region), on_date__year=year)
    return scope_by_household(user, qs)


def ratings_in(user: Any, region: str, year: int) -> QuerySet[StarRating]:
    if not reads_points(user):
        return StarRating.objects.none()
    return scope_by_household(
        user, StarRating.objects.filter(household_region_q(region), year=year)
    )


@dataclass(frozen=True)
class PointsBoard:
    year: int
    issued: int
    redeemed: int
    pending: int
    rated: int
    full: int
    shown: bool


def points_board(user: Any, region: str, year: int) -> PointsBoard:
    """The points figures of a region and year for this reader (two queries)."""
    sums = (
        entries_in(user, region, year)
        .order_by()
        .aggregate(
            issued=Sum("points", filter=_condition("points:issued")),
            redeemed=Sum("points", filter=_condition("points:redeemed")),
            pending=Sum("points", filter=_condition("points:pending")),
        )
    )
    stars = (
        ratings_in(user, region, year)
        .order_by()
        .aggregate(rated=Count("pk"), full=Count("pk", filter=Q(full=True)))
    )
    return PointsBoard(
        year=year,
        issued=int(sums["issued"] or 0),
        redeemed=-int(sums["redeemed"] or 0),
        pending=int(sums["pending"] or 0),
        rated=stars["rated"],
        full=stars["full"],
        shown=reads_points(user),
    )


def figure_label(figure: str) -> str:
    if figure not in FIGURES:
        raise OutOfScope(UNKNOWN)
    return FIGURES[figure]


def figure_rows(user: Any, region: str, figure: str, year: int) -> QuerySet[Any]:
    figure_label(figure)
    if figure.startswith("stars:"):
        qs = ratings_in(user, region, year)
        if figure == "stars:full":
            qs = qs.filter(full=True)
        return qs.select_related("household").order_by("village_code", "household__household_code")
    return (
        entries_in(user, region, year)
        .filter(_condition(figure))
        .select_related("household", "goods", "shop")
        .order_by("on_date", "pk")
    )


def figure_value(user: Any, region: str, figure: str, year: int) -> int:
    rows = figure_rows(user, region, figure, year)
    if figure.startswith("stars:"):
        return rows.count()
    total = int(rows.aggregate(s=Sum("points"))["s"] or 0)
    return -total if figure == "points:redeemed" else total
