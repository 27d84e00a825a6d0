"""Project assets and their income (扶贫项目资产, issue 23 item 4; ADR assets-income).

Invariants:
- An asset belongs to one village (its owner: the village collective or a household of that
  village); county/township/village codes agree with `region` (scoping, as projects).
- `AssetIncome` rows are append-only, positive, one per idempotency key and per voucher of an
  asset.
- A distribution plan's total (its four uses) never exceeds the asset's income received in the
  plan's year less the other plans of that year; it moves draft → approved → posted → paid only
  (`actions`); its household payments name a job, labour or reward basis and a household of
  the asset's village, and each payment is credited to the household's income once (`credited_at`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jingzhun.core.models import DomainModel
from jingzhun.projects.models import AppendOnly

from .choices import (
    ASSET_CATEGORIES,
    ASSET_KINDS,
    ASSET_STATES,
    HOUSEHOLD_USES,
    OWNER_KINDS,
    PLAN_STATES,
    USES,
)


def _user(label: str) -> Any:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=label,
    )


class Asset(DomainModel):
    """A project asset of the register (资产台账). Invariant: its codes agree with `region` (a
    village); a household owner lives in that village; `state` disposed is final."""

    writes_through_actions = True

    name = models.CharField("资产名称", max_length=100)
    kind = models.CharField("资产类型", max_length=20, choices=list(ASSET_KINDS.items()))
    category = models.CharField("资产类别", max_length=20, choices=list(ASSET_CATEGORIES.items()))
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="所在村"
    )
    county_code = models.CharField("县级区划代码", max_length=12, db_index=True)
    township_code = models.CharField("乡镇区划代码", max_length=12, default="")
    village_code = models.CharField("村级区划代码", max_length=12, default="")
    owner_kind = models.CharField("所有权人类型", max_length=20, choices=list(OWNER_KINDS.items()))
    owner_household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="所有权农户",
    )
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assets",
        verbose_name="来源项目",
    )
    value_fen = models.BigIntegerField("资产原值(分)", default=0)
    state = models.CharField(
        "资产状态", max_length=20, choices=list(ASSET_STATES.items()), default="in_use"
    )
    custodian = models.CharField("管护责任人", max_length=50, blank=True, default="")
    capacity_kw = models.PositiveIntegerField("装机容量(千瓦)", null=True, blank=True)
    built_on = models.DateField("建成日期", null=True, blank=True)
    confirmed_on = models.DateField("确权日期", null=True, blank=True)
    confirmed_by = _user("确权人")
    confirmation_document = models.CharField("确权文书", max_length=100, blank=True, default="")

    class Meta:
        verbose_name = "项目资产"
        verbose_name_plural = "项目资产"
        ordering = ["county_code", "village_code", "pk"]
        indexes = [
            models.Index(fields=["county_code", "kind"]),
            models.Index(fields=["township_code"]),
            models.Index(fields=["village_code"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(value_fen__gte=0), name="asset_value_gte_0"),
            models.CheckConstraint(
                condition=Q(kind__in=list(ASSET_KINDS)), name="asset_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(state__in=list(ASSET_STATES)), name="asset_state_known"
            ),
            models.CheckConstraint(
                condition=Q(owner_kind="collective", owner_household__isnull=True)
                | Q(owner_kind="household", owner_household__isnull=False),
                name="asset_owner_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_label(self) -> str:
        return ASSET_KINDS.get(self.kind, self.kind)

    @property
    def category_label(self) -> str:
        return ASSET_CATEGORIES.get(self.category, self.category)

    @property
    def state_label(self) -> str:
        return ASSET_STATES.get(self.state, self.state)

    @property
    def owner_label(self) -> str:
        if self.owner_kind == "household" and self.owner_household is not None:
            h = self.owner_household
            return f"农户 {h.household_code} {h.head_name}"
        return OWNER_KINDS.get(self.owner_kind, self.owner_kind)


class AssetIncome(AppendOnly):
    """Income received by an asset (资产收益到账). Append-only; unique key; unique voucher per asset."""

    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="incomes", verbose_name="资产"
    )
    received_on = models.DateField("到账日期")
    amount_fen = models.BigIntegerField("金额(分)")
    voucher = models.CharField("凭证号", max_length=50)
    note = models.CharField("摘要", max_length=200, blank=True, default="")
    key = models.CharField("幂等键", max_length=64, unique=True)
    recorded_by = _user("录入人")
    recorded_at = models.DateTimeField("录入时间", default=timezone.now)

    class Meta:
        verbose_name = "资产收益"
        verbose_name_plural = "资产收益"
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="asset_income_gt_0"),
            models.UniqueConstraint(fields=["asset", "voucher"], name="asset_income_voucher_once"),
        ]


class DistributionPlan(DomainModel):
    """A yearly distribution plan of one asset's income (收益分配方案). Invariant: the total of
    the uses is at most the income received less other plans; state moves only forward."""

    writes_through_actions = True

    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="plans", verbose_name="资产"
    )
    county_code = models.CharField("县级区划代码", max_length=12, db_index=True)
    township_code = models.CharField("乡镇区划代码", max_length=12, default="")
    village_code = models.CharField("村级区划代码", max_length=12, default="")
    year = models.PositiveSmallIntegerField("收益年度")
    title = models.CharField("方案名称", max_length=100)
    public_job_fen = models.BigIntegerField("公益岗位工资(分)", default=0)
    reward_fen = models.BigIntegerField("奖励补助(分)", default=0)
    works_fen = models.BigIntegerField("小型公益事业(分)", default=0)
    retention_fen = models.BigIntegerField("村集体留存(分)", default=0)
    state = models.CharField(
        "状态", max_length=20, choices=list(PLAN_STATES.items()), default="draft"
    )
    policy_version = models.CharField("规则版本", max_length=64, blank=True, default="")
    trace = models.JSONField("规则核对记录", default=list, blank=True)
    created_by = _user("编制人")
    approved_by = _user("审批人")
    approved_at = models.DateTimeField("审批时间", null=True, blank=True)
    posted_on = models.DateField("公示开始日期", null=True, blank=True)
    posting_days = models.PositiveSmallIntegerField("公示天数", null=True, blank=True)
    posting_pdf = models.BinaryField("公示 PDF", null=True, blank=True)
    posting_sha256 = models.CharField("公示 PDF SHA-256", max_length=64, blank=True, default="")
    paid_on = models.DateField("支付日期", null=True, blank=True)
    paid_by = _user("支付人")
    pay_key = models.CharField("支付幂等键", max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = "收益分配方案"
        verbose_name_plural = "收益分配方案"
        ordering = ["-year", "-pk"]
        indexes = [
            models.Index(fields=["county_code", "year"]),
            models.Index(fields=["township_code"]),
            models.Index(fields=["village_code"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(public_job_fen__gte=0, reward_fen__gte=0, works_fen__gte=0)
                & Q(retention_fen__gte=0),
                name="plan_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(state__in=list(PLAN_STATES)), name="plan_state_known"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def total_fen(self) -> int:
        return self.public_job_fen + self.reward_fen + self.works_fen + self.retention_fen

    @property
    def state_label(self) -> str:
        return PLAN_STATES.get(self.state, self.state)

    def use_fen(self, use: str) -> int:
        return int(getattr(self, f"{use}_fen"))


class PlanPayment(models.Model):
    """A payment of a plan to a household, with its basis (a job, labour or reward). Invariant:
    one per (plan, household, use); credited to the household's income once (`credited_at`)."""

    plan = models.ForeignKey(
        DistributionPlan, on_delete=models.PROTECT, related_name="payments", verbose_name="方案"
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", verbose_name="农户"
    )
    use = models.CharField("用途", max_length=20, choices=list(USES.items()))
    basis = models.CharField("依据", max_length=200)
    amount_fen = models.BigIntegerField("金额(分)")
    income_year = models.PositiveSmallIntegerField("计入收入年度", null=True, blank=True)
    income_field = models.CharField("计入收入项目", max_length=30, blank=True, default="")
    credited_at = models.DateTimeField("计入收入时间", null=True, blank=True)

    class Meta:
        verbose_name = "分配到户"
        verbose_name_plural = "分配到户"
        ordering = ["plan", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="plan_payment_gt_0"),
            models.CheckConstraint(
                condition=Q(use__in=list(HOUSEHOLD_USES)), name="plan_payment_use_household"
            ),
            models.UniqueConstraint(
                fields=["plan", "household", "use"], name="plan_payment_once_per_use"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.household_id}:{self.use}"

    @property
    def use_label(self) -> str:
        return USES.get(self.use, self.use)
