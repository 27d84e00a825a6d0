"""The registry (建档立卡): households, members, yearly income and status history (domain.md 2.2-2.4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from jingzhun.core.fieldcrypt import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedIntegerField,
    index_for,
)
from jingzhun.core.models import DomainModel

from . import choices as c
from .contact import bank_account_problem, phone_problem


def money(label: str, **kwargs: Any) -> models.DecimalField:
    """Yuan with fen: Decimal(12, 2)."""
    return models.DecimalField(label, max_digits=12, decimal_places=2, **kwargs)


def area(label: str, **kwargs: Any) -> models.DecimalField:
    """Areas and distances: Decimal(10, 2)."""
    return models.DecimalField(label, max_digits=10, decimal_places=2, **kwargs)


def _nonneg(*fields: str, table: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{f}__gte": 0}) | Q(**{f"{f}__isnull": True}),
            name=f"{table}_{f}_nonneg",
        )
        for f in fields
    ]


def validate_phone(value: str) -> None:
    """A Chinese mobile or landline number (registry.contact)."""
    problem = phone_problem(value)
    if problem:
        raise ValidationError(problem, code="phone")


def validate_bank_account(value: str) -> None:
    """12-19 digits; a card number's Luhn check digit (registry.contact)."""
    problem = bank_account_problem(value)
    if problem:
        raise ValidationError(problem, code="bank_account")


class Household(DomainModel):
    """A registered household. Invariants: county/township codes are the village code's ancestors;
    `version` moves with every change to the household, its members or its incomes (the writes
    of registry.actions and registry.writes, which the import's bulk writer goes through), so it identifies the data a decision was made on
    (assessments key on it, ADR 0032)."""

    writes_through_actions = True  # update/bulk_update only inside actions

    household_code = models.CharField("户编号", max_length=32)
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, verbose_name="所属村", related_name="+"
    )
    township_code = models.CharField("所属乡镇", max_length=12, db_index=True, editable=False)
    county_code = models.CharField("所属县", max_length=12, db_index=True, editable=False)
    group_name = models.CharField("村民小组", max_length=50, blank=True, default="")
    head_name = models.CharField("户主姓名", max_length=50, blank=True, default="")
    # encrypted at rest (PII-2, core.fieldcrypt, ADR 0058)
    phone = EncryptedCharField(
        "联系电话", max_length=20, blank=True, default="", validators=[validate_phone]
    )
    bank_name = models.CharField("开户银行", max_length=50, blank=True, default="")
    bank_account = EncryptedCharField(
        "银行账号", max_length=32, blank=True, default="", validators=[validate_bank_account]
    )
    identification_standard = models.CharField(
        "识别标准", max_length=12, choices=c.choices(c.IDENTIFICATION_STANDARD), default="national"
    )
    attribute = models.CharField(
        "贫困户属性", max_length=12, choices=c.choices(c.ATTRIBUTE), default="general"
    )
    main_cause = models.CharField(
        "主要致贫原因", max_length=20, choices=c.choices(c.CAUSE), blank=True, default=""
    )
    other_causes = models.JSONField("其他致贫原因", default=list, blank=True)
    poverty_status = models.CharField(
        "脱贫状态", max_length=20, choices=c.choices(c.POVERTY_STATUS), default="not_exited"
    )
    identified_year = models.PositiveSmallIntegerField("识别年度", null=True, blank=True)
    exit_year = models.PositiveSmallIntegerField("脱贫年度", null=True, blank=True)
    food_secure = models.BooleanField("不愁吃", null=True, blank=True)
    clothing_secure = models.BooleanField("不愁穿", null=True, blank=True)
    house_safety_grade = models.CharField(
        "住房安全等级", max_length=1, choices=c.choices(c.HOUSE_GRADE), blank=True, default=""
    )
    relocated = models.BooleanField("易地扶贫搬迁", default=False)
    relocation_moved_in = models.BooleanField("搬迁已入住", null=True, blank=True)
    house_area_m2 = area("住房面积(平方米)", null=True, blank=True)
    house_structure = models.CharField(
        "住房结构", max_length=16, choices=c.choices(c.HOUSE_STRUCTURE), blank=True, default=""
    )
    water_quantity_ok = models.BooleanField("水量达标", null=True, blank=True)
    water_quality_ok = models.BooleanField("水质达标", null=True, blank=True)
    water_convenience_ok = models.BooleanField("用水方便程度达标", null=True, blank=True)
    water_reliability_ok = models.BooleanField("供水保证率达标", null=True, blank=True)
    cultivated_land_mu = area("耕地面积(亩)", null=True, blank=True)
    irrigated_land_mu = area("有效灌溉面积(亩)", null=True, blank=True)
    forest_land_mu = area("林地面积(亩)", null=True, blank=True)
    grassland_mu = area("牧草地面积(亩)", null=True, blank=True)
    water_surface_mu = area("水面面积(亩)", null=True, blank=True)
    has_production_power = models.BooleanField("通生产用电", null=True, blank=True)
    has_living_power = models.BooleanField("通生活用电", null=True, blank=True)
    road_type = models.CharField(
        "入户路类型", max_length=12, choices=c.choices(c.ROAD_TYPE), blank=True, default=""
    )
    distance_to_main_road_km = area("与村主干路距离(公里)", null=True, blank=True)
    sanitary_toilet = models.BooleanField("卫生厕所", null=True, blank=True)
    fuel_type = models.CharField(
        "主要燃料类型", max_length=12, choices=c.choices(c.FUEL_TYPE), blank=True, default=""
    )
    in_cooperative = models.BooleanField("加入农民专业合作社", null=True, blank=True)
    monitoring_category = models.CharField(
        "监测类别", max_length=20, choices=c.choices(c.MONITORING_CATEGORY), blank=True, default=""
    )
    risk_types = models.JSONField("风险类型", default=list, blank=True)
    risk_status = models.CharField(
        "风险状态", max_length=16, choices=c.choices(c.RISK_STATUS), blank=True, default=""
    )
    risk_eliminated_on = models.DateField("风险消除时间", null=True, blank=True)
    elimination_method = models.CharField(
        "消除方式", max_length=16, choices=c.choices(c.ELIMINATION_METHOD), blank=True, default=""
    )

    class Meta:
        verbose_name = "贫困户"
        verbose_name_plural = "贫困户"
        ordering = ["household_code"]
        indexes = [
            # a region's live households by status: counted from the index alone (an
            # index-only scan; the list pages' group counts, issue 26 item 3)
            models.Index(
                fields=["county_code", "poverty_status"],
                name="household_live_county_status",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["township_code", "poverty_status"],
                name="household_live_town_status",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["village", "poverty_status"],
                name="household_live_village_status",
                condition=Q(deleted_at__isnull=True),
            ),
            # the monitored households (a few percent of a county) of a region, from the index
            models.Index(
                fields=["county_code", "township_code", "village", "poverty_status"],
                name="household_live_monitored",
                condition=Q(deleted_at__isnull=True) & ~Q(monitoring_category=""),
            ),
            # the household list: a region's households in code order, read page by page from
            # the index (keyset pages, core.paging; issue 26)
            models.Index(fields=["county_code", "household_code"], name="household_county_code"),
            models.Index(fields=["township_code", "household_code"], name="household_town_code"),
            models.Index(fields=["village", "household_code"], name="household_village_code"),
            # name search from the start (LIKE 'x%'): a pattern index on PostgreSQL, whatever the
            # database's collation (opclasses are ignored elsewhere); registry 0007 adds trigram
            # indexes for searches anywhere in the name
            models.Index(
                fields=["head_name"],
                name="household_head_name_like",
                opclasses=["varchar_pattern_ops"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["household_code"],
                condition=Q(deleted_at__isnull=True),
                name="household_code_live_unique",
            ),
            models.CheckConstraint(
                condition=Q(poverty_status__in=list(c.POVERTY_STATUS)),
                name="household_status_known",
            ),
            *_nonneg(
                "house_area_m2",
                "cultivated_land_mu",
                "irrigated_land_mu",
                "forest_land_mu",
                "grassland_mu",
                "water_surface_mu",
                "distance_to_main_road_km",
                table="household",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_code} {self.head_name}"

    @property
    def water_safe(self) -> bool | None:
        flags = [
            self.water_quantity_ok,
            self.water_quality_ok,
            self.water_convenience_ok,
            self.water_reliability_ok,
        ]
        if any(f is False for f in flags):
            return False
        return None if any(f is None for f in flags) else True


class Member(DomainModel):
    """A household member. Invariant: a live ID number belongs to one live member; one head per household.

    Membership is dated (ADR 0055): `joined_on` (birth, marriage or move
    in; empty = a member since the household was registered) and `left_on` (death, marriage or
    move out; the member is then soft-deleted with the reason). A year-end count holds the
    members present on 31 December: joined by then and not yet left (`present_on`)."""

    writes_through_actions = True  # update/bulk_update only inside actions

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name="所属户"
    )
    # encrypted at rest; exact search and uniqueness through its blind index (PII-2, ADR 0058)
    id_number = EncryptedCharField("证件号码", max_length=20)
    id_number_index = BlindIndexField("证件号码索引", source="id_number", normalize="upper")
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=6, choices=c.choices(c.SEX))
    birth_date = models.DateField("出生日期")
    relation = models.CharField("与户主关系", max_length=16, choices=c.choices(c.RELATION))
    ethnicity = models.CharField(
        "民族", max_length=12, choices=c.choices(c.ETHNICITY), blank=True, default=""
    )
    education = models.CharField(
        "文化程度", max_length=12, choices=c.choices(c.EDUCATION), blank=True, default=""
    )
    political_status = models.CharField(
        "政治面貌", max_length=16, choices=c.choices(c.POLITICAL_STATUS), blank=True, default=""
    )
    school_status = models.CharField(
        "在校生状况", max_length=24, choices=c.choices(c.SCHOOL_STATUS), blank=True, default=""
    )
    # health details encrypted at rest like the ID number (PII-2, ADR 0066): no filter on
    # them; bulk readers open them set-wise (core.fieldcrypt.open_tokens)
    health_status = EncryptedCharField(
        "健康状况", max_length=16, choices=c.choices(c.HEALTH_STATUS), blank=True, default=""
    )
    disability_grade = EncryptedIntegerField(
        "残疾等级", null=True, blank=True, min_value=1, max_value=4
    )
    labour_capacity = models.CharField(
        "劳动能力", max_length=12, choices=c.choices(c.LABOUR_CAPACITY), blank=True, default=""
    )
    work_status = models.CharField(
        "务工状况", max_length=12, choices=c.choices(c.WORK_STATUS), blank=True, default=""
    )
    work_months = models.PositiveSmallIntegerField("务工时间(月)", null=True, blank=True)
    basic_medical_insured = models.BooleanField("参加城乡居民基本医疗保险", null=True, blank=True)
    critical_illness_insured = models.BooleanField("参加大病保险", null=True, blank=True)
    pension_insured = models.BooleanField("参加城乡居民基本养老保险", null=True, blank=True)
    dibao = models.BooleanField("享受低保", null=True, blank=True)
    tekun = models.BooleanField("特困供养", null=True, blank=True)
    # set by the member actions (do_add_member, do_remove_member, do_close_household), not edited
    joined_on = models.DateField("加入本户日期", null=True, blank=True, editable=False)
    left_on = models.DateField("离开本户日期", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"
        ordering = ["household_id", "id"]
        indexes = [
            # name search from the start on PostgreSQL (see Household's indexes): live members
            # only, with their household, so a surname's members are read from the index alone
            models.Index(
                fields=["name"],
                name="member_name_like",
                opclasses=["varchar_pattern_ops"],
                include=["household"],
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["household", "relation"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_index"],
                condition=Q(deleted_at__isnull=True),
                name="member_id_index_live_unique",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(relation="head", deleted_at__isnull=True),
                name="member_one_head",
            ),
            models.CheckConstraint(condition=Q(sex__in=list(c.SEX)), name="member_sex_known"),
            models.CheckConstraint(
                condition=Q(work_months__isnull=True) | Q(work_months__lte=12),
                name="member_work_months_range",
            ),
            models.CheckConstraint(
                condition=Q(joined_on__isnull=True)
                | Q(left_on__isnull=True)
                | Q(left_on__gte=F("joined_on")),
                name="member_left_after_joining",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def id_index(id_number: str) -> str:
    """The blind index of an ID number (`Member.id_number_index`): exact lookups and the live
    uniqueness go through it, the number itself is encrypted (PII-2)."""
    return index_for(Member, "id_number", id_number)


def present_on(day: Any, prefix: str = "") -> Q:
    """Members of a household on `day` (use with `Member.all_objects`): joined by then and not
    yet left. A member taken off without a date of leaving (a correction, a deleted household)
    was never a member; one who left (dated) was, until that day."""
    p = prefix
    return (
        (Q(**{f"{p}deleted_at__isnull": True}) | Q(**{f"{p}left_on__isnull": False}))
        & (Q(**{f"{p}joined_on__isnull": True}) | Q(**{f"{p}joined_on__lte": day}))
        & (Q(**{f"{p}left_on__isnull": True}) | Q(**{f"{p}left_on__gt": day}))
    )


FIRST_INCOME_YEAR = 2000
INCOME_AMOUNTS = (
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "ecological_compensation",
    "dibao_payment",
    "tekun_payment",
    "pension_payment",
    "family_planning_payment",
    "other_transfer",
    "business_costs",
    "compliant_out_of_pocket",
)


def income_year_problem(year: int, this_year: int) -> str:
    """Why `year` cannot be an income year ("" when it can): income is recorded for years that
    have begun, from FIRST_INCOME_YEAR on."""
    if year > this_year:
        return f"收入年度 {year} 晚于今年（{this_year} 年），不能录入未来年度的收入"
    if year < FIRST_INCOME_YEAR:
        return f"收入年度应为 {FIRST_INCOME_YEAR} 年以后的四位年份"
    return ""


class IncomeRecord(DomainModel):
    """A household's income for one accounting year. Invariant: amounts >= 0; one live record a year."""

    writes_through_actions = True  # update/bulk_update only inside actions

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="incomes", verbose_name="所属户"
    )
    year = models.PositiveSmallIntegerField("年度")
    wage_income = money("工资性收入", default=Decimal(0))
    business_income = money("生产经营性收入", default=Decimal(0))
    property_income = money("财产性收入", default=Decimal(0))
    transfer_income = money("转移性收入", default=Decimal(0))
    ecological_compensation = money("生态补偿金", null=True, blank=True)
    dibao_payment = money("低保金", null=True, blank=True)
    tekun_payment = money("特困供养金", null=True, blank=True)
    pension_payment = money("养老金", null=True, blank=True)
    family_planning_payment = money("计划生育金", null=True, blank=True)
    other_transfer = money("其他转移性收入", null=True, blank=True)
    business_costs = money("生产经营性支出", default=Decimal(0))
    compliant_out_of_pocket = money("合规自付支出", null=True, blank=True)
    period_start = models.DateField("核算期开始", null=True, blank=True)
    period_end = models.DateField("核算期结束", null=True, blank=True)

    class Meta:
        verbose_name = "家庭收入"
        verbose_name_plural = "家庭收入"
        ordering = ["household_id", "year"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "year"],
                condition=Q(deleted_at__isnull=True),
                name="income_once_a_year",
            ),
            *_nonneg(*INCOME_AMOUNTS, table="income"),
        ]

    @property
    def net_income(self) -> Decimal:
        """家庭纯收入 = wage + business + property + transfer - business costs (derived, never typed)."""
        return (
            self.wage_income
            + self.business_income
            + self.property_income
            + self.transfer_income
            - self.business_costs
        )

    def per_capita_net_income(self, persons: int) -> Decimal | None:
        """年人均纯收入 = net income / household size (the members counted by the caller), to
        the fen; None for a household without members."""
        if not persons:
            return None
        return (self.net_income / persons).quantize(Decimal("0.01"))


class StatusChange(models.Model):
    """One entry of a household's poverty-status history. Invariant: append-only."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="status_history", verbose_name="户"
    )
    status_from = models.CharField(
        "原状态", max_length=20, choices=c.choices(c.POVERTY_STATUS), blank=True, default=""
    )
    status_to = models.CharField("新状态", max_length=20, choices=c.choices(c.POVERTY_STATUS))
    changed_on = models.DateField("变更日期")
    reason = models.CharField("原因", max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name="操作人",
    )
    actor_name = models.CharField("操作人账号", max_length=150, blank=True, default="")
    recorded_at = models.DateTimeField("记录时间", default=timezone.now)

    class Meta:
        verbose_name = "脱贫状态变更"
        verbose_name_plural = "脱贫状态变更"
        ordering = ["household_id", "changed_on", "id"]
        indexes = [
            models.Index(fields=["household", "changed_on"]),
            models.Index(fields=["changed_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.status_from} → {self.status_to} ({self.changed_on})"
