"""Scoped reads of the asset register (AGENTS.md rule 2): an asset, its income and plans belong
to a village and are seen by its county, township and village staff and the county's auditors
(`projects.scope.project_filter` over the same region columns); another region's ids are
`OutOfScope` (404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from jingzhun.core.errors import OutOfScope
from jingzhun.projects.scope import project_filter
from jingzhun.regions import codes

from .models import Asset, AssetIncome, DistributionPlan, PlanPayment

NOT_FOUND = "未找到该资产，或您无权访问。"
PLAN_NOT_FOUND = "未找到该分配方案，或您无权访问。"


def asset_filter(user: Any, *, prefix: str = "") -> Q:
    return project_filter(user, prefix=prefix)


def assets_for(
    user: Any, *, kind: str = "", state: str = "", q: str = "", region: str = ""
) -> QuerySet[Asset]:
    qs = Asset.objects.filter(asset_filter(user)).select_related("region", "owner_household")
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(name__contains=q)
    if region:
        qs = qs.filter(Q(county_code=region) | Q(township_code=region) | Q(village_code=region))
    return qs.order_by("county_code", "village_code", "pk")


def asset_for(user: Any, asset_id: int) -> Asset:
    asset = (
        Asset.objects.filter(asset_filter(user), pk=asset_id)
        .select_related("region", "owner_household", "project")
        .first()
    )
    if asset is None:
        raise OutOfScope(NOT_FOUND)
    return asset


def incomes_for(user: Any, *, year: int | None = None, region: str = "") -> QuerySet[AssetIncome]:
    qs = AssetIncome.objects.filter(asset_filter(user, prefix="asset__")).select_related("asset")
    if year:
        qs = qs.filter(received_on__year=year)
    if region:
        qs = qs.filter(_region_q(region, "asset__"))
    return qs.order_by("-received_on", "-pk")


def plans_for(
    user: Any, *, year: int | None = None, state: str = "", region: str = ""
) -> QuerySet[DistributionPlan]:
    qs = DistributionPlan.objects.filter(asset_filter(user)).select_related("asset")
    if year:
        qs = qs.filter(year=year)
    if state:
        qs = qs.filter(state=state)
    if region:
        qs = qs.filter(_region_q(region))
    return qs.order_by("-year", "-pk")


def plan_for(user: Any, plan_id: int) -> DistributionPlan:
    plan = (
        DistributionPlan.objects.filter(asset_filter(user), pk=plan_id)
        .select_related("asset", "asset__region")
        .first()
    )
    if plan is None:
        raise OutOfScope(PLAN_NOT_FOUND)
    return plan


def payments_of(plan: DistributionPlan) -> QuerySet[PlanPayment]:
    return plan.payments.select_related("household").order_by("pk")


def payments_for(user: Any, *, year: int | None = None, region: str = "") -> QuerySet[PlanPayment]:
    """The credited payments (paid plans) of the user's scope; `year` = the income year."""
    qs = PlanPayment.objects.filter(
        asset_filter(user, prefix="plan__"), credited_at__isnull=False
    ).select_related("plan", "plan__asset", "household")
    if year:
        qs = qs.filter(income_year=year)
    if region:
        qs = qs.filter(_region_q(region, "plan__"))
    return qs.order_by("-pk")


def _region_q(region: str, prefix: str = "") -> Q:
    """Rows of a region at any level (every asset has its village's code)."""
    return Q(**{f"{prefix}village_code__startswith": codes.prefix(region)})


def received_fen(asset: Asset, year: int) -> int:
    return int(
        AssetIncome.objects.filter(asset=asset, received_on__year=year).aggregate(
            s=Sum("amount_fen")
        )["s"]
        or 0
    )


def planned_fen(asset: Asset, year: int, *, excluding: int | None = None) -> int:
    """The totals of the asset's plans of the year (all states), but one."""
    qs = DistributionPlan.objects.filter(asset=asset, year=year)
    if excluding:
        qs = qs.exclude(pk=excluding)
    sums = qs.aggregate(
        a=Sum("public_job_fen"), b=Sum("reward_fen"), c=Sum("works_fen"), d=Sum("retention_fen")
    )
    return sum(int(v or 0) for v in sums.values())


def paid_by_use(plan: DistributionPlan) -> dict[str, int]:
    return {
        row["use"]: int(row["s"])
        for row in plan.payments.values("use").annotate(s=Sum("amount_fen")).order_by("use")
    }


@dataclass(frozen=True)
class TraceLine:
    """One asset income payment inside a household's income of a year."""

    asset: str
    asset_id: int
    plan: str
    plan_id: int
    use: str
    basis: str
    amount_fen: int
    income_field: str

    def __str__(self) -> str:
        from .choices import INCOME_FIELD_LABELS, USES
        from .money import yuan

        return (
            f"资产收益：{self.asset}《{self.plan}》{USES.get(self.use, self.use)}"
            f"（{self.basis}）{yuan(self.amount_fen)} 元，计入"
            f"{INCOME_FIELD_LABELS.get(self.income_field, self.income_field)}"
        )


def income_trace(household_id: int, year: int) -> list[TraceLine]:
    """The asset income payments credited to a household's income of a year (the caller has
    checked the household is in scope)."""
    rows = (
        PlanPayment.objects.filter(
            household_id=household_id, income_year=year, credited_at__isnull=False
        )
        .select_related("plan", "plan__asset")
        .order_by("pk")
    )
    return [
        TraceLine(
            asset=p.plan.asset.name,
            asset_id=p.plan.asset_id,
            plan=p.plan.title,
            plan_id=p.plan_id,
            use=p.use,
            basis=p.basis,
            amount_fen=p.amount_fen,
            income_field=p.income_field,
        )
        for p in rows
    ]


def household_asset_income(household_id: int) -> list[PlanPayment]:
    """A household's asset income payments (credited), newest first: the card's section."""
    return list(
        PlanPayment.objects.filter(household_id=household_id, credited_at__isnull=False)
        .select_related("plan", "plan__asset")
        .order_by("-income_year", "-pk")
    )


@dataclass(frozen=True)
class Figures:
    received_fen: int
    distributed_fen: int
    households: int


def figures(user: Any, region: str, year: int) -> Figures:
    """The battle map's asset income figures of a region for a year: income received, paid to
    households (credited payments) and households reached; each is the count of its list
    (`incomes_for`, `payments_for`, `reached_households`)."""
    received = incomes_for(user, year=year, region=region).aggregate(s=Sum("amount_fen"))["s"]
    paid = payments_for(user, year=year, region=region).aggregate(
        s=Sum("amount_fen"), n=Count("household_id", distinct=True)
    )
    return Figures(int(received or 0), int(paid["s"] or 0), int(paid["n"] or 0))


def reached_households(user: Any, *, year: int, region: str = "") -> list[dict[str, Any]]:
    """The households reached by asset income in a year, with what each received."""
    rows = (
        payments_for(user, year=year, region=region)
        .values("household_id", "household__household_code", "household__head_name")
        .annotate(amount_fen=Sum("amount_fen"), payments=Count("id"))
        .order_by("household__household_code")
    )
    return [dict(r) for r in rows]
