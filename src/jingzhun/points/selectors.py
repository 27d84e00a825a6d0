"""Scoped reads of the points shops and star ratings (AGENTS.md rule 2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from jingzhun.access.scoping import scope_by_household
from jingzhun.core.errors import OutOfScope
from jingzhun.registry.models import Household
from jingzhun.registry.selectors import household_for

from .models import Appraisal, PointsAccount, PointsEntry, PointsShop, ShopGoods, StarRating
from .scope import HOUSEHOLD_NOT_FOUND, SHOP_NOT_FOUND, code_filter, place_filter, reads_points


def _reader(user: Any) -> None:
    if not reads_points(user):
        raise OutOfScope(HOUSEHOLD_NOT_FOUND)


def shops_for(user: Any) -> QuerySet[PointsShop]:
    return (
        PointsShop.objects.filter(place_filter(user))
        .select_related("region")
        .annotate(goods_count=Count("goods", filter=Q(goods__deleted_at__isnull=True)))
        .order_by("county_code", "township_code", "village_code", "pk")
    )


def shop_for(user: Any, shop_id: int) -> PointsShop:
    shop = (
        PointsShop.objects.filter(place_filter(user), pk=shop_id).select_related("region").first()
    )
    if shop is None:
        raise OutOfScope(SHOP_NOT_FOUND)
    return shop


def goods_of(shop: PointsShop) -> list[ShopGoods]:
    return list(ShopGoods.objects.filter(shop=shop).order_by("name"))


def points_household(user: Any, household_id: int) -> Household:
    """A household of the user's scope whose points the user reads."""
    _reader(user)
    return household_for(user, household_id)


def balance_of(household: Household) -> int:
    account = PointsAccount.objects.filter(household=household).first()
    return account.balance if account else 0


def pending_of(household: Household) -> int:
    total = PointsEntry.objects.filter(household=household, state="pending").aggregate(
        s=Sum("points")
    )["s"]
    return int(total or 0)


def entries_of(household: Household, *, limit: int = 200) -> list[PointsEntry]:
    return list(
        PointsEntry.objects.filter(household=household)
        .select_related("shop", "goods", "appraisal", "reversed_by")
        .order_by("-on_date", "-pk")[:limit]
    )


def shop_entries(user: Any, shop: PointsShop, *, limit: int = 100) -> list[PointsEntry]:
    qs = scope_by_household(user, PointsEntry.objects.filter(shop=shop))
    return list(qs.select_related("household", "goods").order_by("-pk")[:limit])


def appraisals_for(user: Any, *, limit: int = 100) -> list[Appraisal]:
    """The monthly appraisals of the user's villages, newest first, with their pending points."""
    return list(
        Appraisal.objects.filter(code_filter(user, "village__code"))
        .select_related("village")
        .annotate(
            entries_count=Count("entries", filter=Q(entries__state="pending")),
            points_sum=Sum("entries__points", filter=Q(entries__state="pending")),
        )
        .order_by("-month", "village_id")[:limit]
    )


def ratings_for(
    user: Any, *, year: int, village: str = "", full: bool | None = None
) -> QuerySet[StarRating]:
    """The star ratings of a year of the user's households (a village's, the five-star ones)."""
    qs = scope_by_household(user, StarRating.objects.filter(year=year))
    if not reads_points(user):
        qs = qs.none()
    if village:
        qs = qs.filter(village_code=village)
    if full is not None:
        qs = qs.filter(full=full)
    return qs.select_related("household").order_by("village_code", "household__household_code")


@dataclass(frozen=True)
class VillageStars:
    village_code: str
    village_name: str
    rated: int
    full: int


def five_star_villages(user: Any, year: int) -> list[VillageStars]:
    """Per village of the user's scope: households rated in the year and five-star households."""
    from jingzhun.regions.models import Region

    rows = (
        ratings_for(user, year=year)
        .order_by()
        .values("village_code")
        .annotate(rated=Count("pk"), full=Count("pk", filter=Q(full=True)))
    )
    names = dict(
        Region.objects.filter(pk__in=[r["village_code"] for r in rows]).values_list("code", "name")
    )
    return [
        VillageStars(r["village_code"], names.get(r["village_code"], ""), r["rated"], r["full"])
        for r in sorted(rows, key=lambda r: r["village_code"])
    ]


def rating_of(household: Household, year: int) -> StarRating | None:
    return StarRating.objects.filter(household=household, year=year).first()


def household_points_card(user: Any, household: Household) -> dict[str, Any] | None:
    """The household card's points section (None for roles that do not read points)."""
    if not reads_points(user):
        return None
    year = timezone.localdate().year
    ratings = StarRating.objects.filter(household=household).order_by("-year")[:3]
    return {
        "balance": balance_of(household),
        "pending": pending_of(household),
        "year": year,
        "ratings": list(ratings),
        "entries": entries_of(household, limit=5),
    }
