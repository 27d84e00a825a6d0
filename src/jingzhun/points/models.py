"""Points shops (爱心超市 / 积分超市) and household star ratings (五星新农家), issue 23 item 5.

Invariants:
- `PointsEntry` rows are append-only (a correction is a reversal, each entry reversed at most
  once); each has a unique idempotency key. Earnings are positive, redemptions negative.
- `PointsAccount.balance` is the sum of the household's counted entries; it changes only in the
  same transaction as the entry, under the account's row lock; a CHECK keeps it at or above zero.
- `ShopGoods.stock` changes only with a redemption, a reversal of one or a restock, under the
  goods' row lock; a CHECK keeps it at or above zero.
- A household's star rating is one per year; a posted rating is not changed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jingzhun.core.models import DomainModel

from .choices import APPRAISAL_STATES, ENTRY_KINDS, ENTRY_STATES, RATING_STATES


def _user(related: str = "+", label: str = "经办人") -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name=related,
        verbose_name=label,
    )


class PointsShop(DomainModel):
    """A points shop of a village or a township: it serves the households of that place."""

    name = models.CharField("超市名称", max_length=100)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="服务区域"
    )
    county_code = models.CharField("县级区划代码", max_length=12, db_index=True)
    township_code = models.CharField("乡镇区划代码", max_length=12, blank=True, default="")
    village_code = models.CharField("村级区划代码", max_length=12, blank=True, default="")
    keeper = models.CharField("管理员", max_length=50, blank=True, default="")

    class Meta:
        verbose_name = "爱心超市"
        verbose_name_plural = "爱心超市"
        ordering = ["county_code", "township_code", "village_code", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "name"],
                condition=Q(deleted_at__isnull=True),
                name="points_shop_name_unique_live",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def serves(self, household: object) -> bool:
        """The household lives in the shop's village (or township, for a township's shop)."""
        if self.village_code:
            return getattr(household, "village_id", None) == self.village_code
        return bool(self.township_code) and (
            getattr(household, "township_code", None) == self.township_code
        )


class ShopGoods(DomainModel):
    """Goods on a shop's shelf with their price in points and the stock (never below zero)."""

    shop = models.ForeignKey(
        PointsShop, on_delete=models.PROTECT, related_name="goods", verbose_name="爱心超市"
    )
    name = models.CharField("商品名称", max_length=100)
    unit = models.CharField("单位", max_length=10, default="件")
    price_points = models.PositiveIntegerField("兑换积分")
    stock = models.IntegerField("库存", default=0)

    class Meta:
        verbose_name = "超市商品"
        verbose_name_plural = "超市商品"
        ordering = ["shop", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="goods_stock_gte_0"),
            models.CheckConstraint(condition=Q(price_points__gte=1), name="goods_price_gte_1"),
            models.UniqueConstraint(
                fields=["shop", "name"],
                condition=Q(deleted_at__isnull=True),
                name="goods_name_unique_live",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PointsAccount(models.Model):
    """A household's points balance: the sum of its counted entries, never below zero."""

    household = models.OneToOneField(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="points_account",
        verbose_name="农户",
    )
    county_code = models.CharField("县级区划代码", max_length=12, db_index=True)
    balance = models.IntegerField("积分余额", default=0)

    class Meta:
        verbose_name = "积分账户"
        verbose_name_plural = "积分账户"
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.balance}"


class Appraisal(models.Model):
    """A village's monthly appraisal (月度评议): the earnings under appraisal items of the month
    count once it has been posted for the rule's days and confirmed."""

    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="村"
    )
    county_code = models.CharField("县级区划代码", max_length=12, db_index=True)
    month = models.DateField("月份")  # the first day of the month
    state = models.CharField(
        "状态", max_length=10, default="open", choices=list(APPRAISAL_STATES.items())
    )
    posted_on = models.DateField("公示日期", null=True, blank=True)
    posting_days = models.PositiveSmallIntegerField("公示天数", default=0)
    confirmed_on = models.DateField("确认日期", null=True, blank=True)
    posted_by = _user(label="公示人")
    confirmed_by = _user(label="确认人")
    rules_version = models.CharField("积分规则版本", max_length=60, blank=True, default="")

    class Meta:
        verbose_name = "月度评议"
        verbose_name_plural = "月度评议"
        ordering = ["-month", "village"]
        constraints = [
            models.UniqueConstraint(fields=["village", "month"], name="appraisal_village_month"),
            models.CheckConstraint(
                condition=Q(state__in=list(APPRAISAL_STATES)), name="appraisal_state_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.month:%Y-%m}"

    @property
    def state_label(self) -> str:
        return APPRAISAL_STATES.get(self.state, self.state)


class PointsEntry(models.Model):
    """One movement of a household's points (append-only): an earning under a rule item, a
    redemption of goods, or the reversal of one of them."""

    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="points_entries",
        verbose_name="农户",
    )
    county_code = models.CharField("县级区划代码", max_length=12)
    kind = models.CharField("类别", max_length=10, choices=list(ENTRY_KINDS.items()))
    state = models.CharField(
        "计入状态", max_length=10, default="counted", choices=list(ENTRY_STATES.items())
    )
    points = models.IntegerField("积分")  # + earned / returned, − redeemed / taken back
    on_date = models.DateField("业务日期")
    key = models.CharField("幂等键", max_length=64, unique=True)
    item = models.CharField("积分事项", max_length=40, blank=True, default="")
    item_name = models.CharField("积分事项名称", max_length=100, blank=True, default="")
    rules_version = models.CharField("积分规则版本", max_length=60, blank=True, default="")
    appraisal = models.ForeignKey(
        Appraisal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name="月度评议",
    )
    shop = models.ForeignKey(
        PointsShop,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name="爱心超市",
    )
    goods = models.ForeignKey(
        ShopGoods,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name="商品",
    )
    quantity = models.PositiveIntegerField("数量", default=0)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name="冲正的记录",
    )
    note = models.CharField("说明", max_length=200, blank=True, default="")
    recorded_by = _user(label="登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "积分记录"
        verbose_name_plural = "积分记录"
        ordering = ["-on_date", "-pk"]
        indexes = [
            models.Index(fields=["household", "on_date"], name="points_entry_household_day"),
            models.Index(fields=["county_code", "kind", "on_date"], name="points_entry_county"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="points_entry_nonzero"),
            models.CheckConstraint(
                condition=Q(kind__in=list(ENTRY_KINDS)), name="points_entry_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="points_entry_reversal_points_back",
            ),
            models.CheckConstraint(
                condition=~Q(kind="earn") | Q(points__gt=0), name="points_earn_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind="redeem") | (Q(points__lt=0) & Q(goods__isnull=False)),
                name="points_redeem_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.points}"

    @property
    def kind_label(self) -> str:
        return ENTRY_KINDS.get(self.kind, self.kind)

    @property
    def state_label(self) -> str:
        return ENTRY_STATES.get(self.state, self.state)


class StarRating(DomainModel):
    """A household's star rating of a year (五星新农家): stars per criterion of the rule file,
    who rated it, and when it was posted. One live rating per household and year."""

    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="star_ratings",
        verbose_name="农户",
    )
    county_code = models.CharField("县级区划代码", max_length=12, db_index=True)
    village_code = models.CharField("村级区划代码", max_length=12)
    year = models.PositiveSmallIntegerField("年度")
    stars = models.JSONField("各项星数", default=dict)  # criterion code -> stars
    total = models.PositiveSmallIntegerField("星数合计", default=0)
    full = models.BooleanField("五星户", default=False)
    state = models.CharField(
        "状态", max_length=10, default="draft", choices=list(RATING_STATES.items())
    )
    rated_on = models.DateField("评定日期")
    rated_by = _user(label="评定人")
    posted_on = models.DateField("公示日期", null=True, blank=True)
    rules_version = models.CharField("规则版本", max_length=60)
    trace = models.JSONField("评定依据", default=list)  # [{criterion, name, stars, most}]
    note = models.CharField("说明", max_length=200, blank=True, default="")

    class Meta:
        verbose_name = "星级评定"
        verbose_name_plural = "星级评定"
        ordering = ["-year", "village_code", "household"]
        indexes = [models.Index(fields=["village_code", "year"], name="star_rating_village_year")]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "year"],
                condition=Q(deleted_at__isnull=True),
                name="star_rating_one_per_year",
            ),
            models.CheckConstraint(
                condition=Q(state__in=list(RATING_STATES)), name="star_rating_state_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.year}: {self.total}"

    @property
    def state_label(self) -> str:
        return RATING_STATES.get(self.state, self.state)
