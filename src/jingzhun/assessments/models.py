"""Stored decisions: households judged against a standard for a year, per policy version.

A run (`AssessmentRun`) judges many households at once, either in bulk (DuckDB over the registry,
with the inputs kept as a Parquet snapshot) or one by one (per-household evaluator, with the inputs
and the full trace kept on each row). Each decision (`Assessment`) is one compact row, so that a
province's ten million households can be stored in seconds; `AssessmentSummary` holds a run's
counts per village and criterion for the overview (ADR 0011).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from jingzhun.core.models import DomainModel, JobRow

from .fields import CriterionIdsField


class PolicyVersion(models.Model):
    """A resolved standard as it was applied. Invariant: append-only; one row per content hash."""

    standard = models.CharField("标准", max_length=40)
    version = models.CharField("政策版本（内容哈希）", max_length=64, unique=True)
    province = models.CharField("适用省份", max_length=2, blank=True, default="")
    title = models.CharField("标题", max_length=200, blank=True, default="")
    files = models.JSONField("政策文件", default=list)
    criteria = models.JSONField("判定项", default=list)  # [{"id", "label", "kind"}] in order
    created_at = models.DateTimeField("首次使用时间", default=timezone.now)

    class Meta:
        verbose_name = "政策版本"
        verbose_name_plural = "政策版本"

    def __str__(self) -> str:
        return f"{self.standard}@{self.version[:12]}"


class AssessmentRun(models.Model):
    """One judging of many households. Invariant: append-only; counts are filled when it ends."""

    BULK, PER_HOUSEHOLD, PER_REGION = "bulk", "per_household", "per_region"
    METHODS = [(BULK, "批量（DuckDB）"), (PER_HOUSEHOLD, "逐户"), (PER_REGION, "逐村、县")]

    id = models.CharField("批次", max_length=32, primary_key=True)
    standard = models.CharField("标准", max_length=40)
    year = models.PositiveSmallIntegerField("评估年度")
    method = models.CharField("方式", max_length=16, choices=METHODS)
    source = models.CharField("数据来源", max_length=16)  # sqlite / postgresql / parquet / orm
    # A text field: a user granted many villages has many prefixes.
    scope = models.TextField("范围（村代码前缀，逗号分隔；空为全部）", blank=True, default="")
    snapshot = models.CharField("输入快照（相对数据目录）", max_length=200, blank=True, default="")
    snapshot_sha256 = models.CharField("快照哈希", max_length=64, blank=True, default="")
    households = models.PositiveIntegerField("判定户数", default=0)
    created = models.PositiveIntegerField("新增判定", default=0)
    unchanged = models.PositiveIntegerField("已有相同版本", default=0)
    passed = models.PositiveIntegerField("通过户数", default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    actor_name = models.CharField("操作人账号", max_length=150, blank=True, default="")
    started_at = models.DateTimeField("开始时间", default=timezone.now)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "判定批次"
        verbose_name_plural = "判定批次"
        indexes = [models.Index(fields=["standard", "year", "finished_at"])]

    def __str__(self) -> str:
        return f"{self.standard} {self.year} {self.id[:8]}"


class Assessment(models.Model):
    """A household's decision. Invariant: append-only; one per household, year, policy version
    and household data version (re-running the same policy version on unchanged data changes
    nothing; after the household, a member or its income changed, the household is judged again
    and the earlier decision is kept). `criteria` and `facts` are kept on the row by the
    per-household path; bulk rows leave them null and are replayed from the run's snapshot.

    The key is (household, year, policy version, household version) itself: no surrogate id, so
    a bulk COPY of ten million rows maintains one index, not two (ADR 0022, ADR 0032)."""

    pk = models.CompositePrimaryKey("household_id", "year", "policy_id", "household_version")
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name="户",
        db_index=False,  # the unique constraint's leading column serves lookups by household
        # No database FK (ADR 0011): PostgreSQL checks one with a trigger per inserted row,
        # 30 s of a 37 s store of a million decisions. Households are never hard-deleted
        # (DomainModel) and the bulk path takes the ids from the registry it has just read.
        db_constraint=False,
    )
    year = models.PositiveSmallIntegerField("评估年度")
    policy = models.ForeignKey(
        PolicyVersion,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name="政策版本",
        db_index=False,
        db_constraint=False,  # append-only parent, created in the same transaction
    )
    # Household.version when the inputs were read: it moves with every change to the household,
    # its members or its incomes (registry.actions), so a decision on changed data gets its own
    # row (ADR 0032). Rows made before this column existed carry 0 (stale for every household).
    household_version = models.PositiveIntegerField("判定时的户数据版本", default=0)
    run = models.ForeignKey(
        AssessmentRun,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name="批次",
        db_index=False,
        db_constraint=False,  # append-only parent, created in the same transaction
    )
    passed = models.BooleanField("通过")
    # space-separated criterion ids ("" for none), a list in Python (ADR 0043)
    failed = CriterionIdsField("未通过的标准", default=list)
    unknown = CriterionIdsField("未知的标准", default=list)
    criteria = models.JSONField("逐项判定依据", null=True, blank=True)
    facts = models.JSONField("输入数据快照（已脱敏）", null=True, blank=True)
    # db_default: the bulk COPY leaves the column out (the transaction's time)
    created_at = models.DateTimeField("判定时间", default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = "标准判定"
        verbose_name_plural = "标准判定"

    def __str__(self) -> str:
        return f"{self.household_id} {self.year}: {'通过' if self.passed else '未通过'}"


class AssessmentSummary(models.Model):
    """A run's counts for one village. Invariant: written once with its run; households =
    passed + not passed; `criteria` maps criterion id -> [households, passed, failed, unknown]
    (a province's run has about 100,000 villages: one row each, not one per criterion)."""

    run = models.ForeignKey(
        AssessmentRun, on_delete=models.PROTECT, related_name="summaries", verbose_name="批次"
    )
    village_code = models.CharField("村", max_length=12)
    households = models.PositiveIntegerField("户数")
    passed = models.PositiveIntegerField("全部达标户数")
    criteria = models.JSONField("各项户数", default=dict)

    class Meta:
        verbose_name = "判定汇总"
        verbose_name_plural = "判定汇总"
        constraints = [
            models.UniqueConstraint(fields=["run", "village_code"], name="summary_once_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.village_code}: {self.passed}/{self.households}"


class ReassessJob(JobRow):
    """A request to judge some households again for a year after their income changed, under
    the standards they were judged by for that year (assessments.jobs). Run once, after the
    requesting transaction commits, by a worker thread or `jingzhun assess --pending`."""

    year = models.PositiveSmallIntegerField("评估年度")
    households = models.TextField("户（id，逗号分隔）")
    reason = models.CharField("原因", max_length=100, blank=True, default="")
    standards = models.CharField("重新判定的标准", max_length=200, blank=True, default="")
    actor_name = models.CharField("发起人账号", max_length=150, blank=True, default="")

    class Meta:
        verbose_name = "重新判定任务"
        verbose_name_plural = "重新判定任务"

    def __str__(self) -> str:
        return f"{self.year}: {self.households[:40]} ({self.status})"

    def household_ids(self) -> list[int]:
        return [int(v) for v in self.households.split(",") if v]


class VillageConditions(DomainModel):
    """A village's own conditions for a year, the local conditions of village exit (domain.md
    3.3: roads, clinic, broadband, collective income …). Invariant: one live row per village and
    year; a condition left empty is unknown (the criterion reading it is unknown, never passed);
    written only by assessments.actions.do_save_village_conditions."""

    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="村"
    )
    year = models.PositiveSmallIntegerField("年度")
    hardened_road = models.BooleanField("通村公路已硬化", null=True, blank=True)
    safe_water = models.BooleanField("饮水安全达标", null=True, blank=True)
    power = models.BooleanField("生产生活用电有保障", null=True, blank=True)
    broadcast_tv = models.BooleanField("广播电视户户通", null=True, blank=True)
    culture_center = models.BooleanField("有综合性文化服务中心", null=True, blank=True)
    clinic = models.BooleanField("有标准化卫生室和合格村医", null=True, blank=True)
    broadband = models.BooleanField("通宽带", null=True, blank=True)
    collective_income = models.DecimalField(
        "村集体经济收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    note = models.CharField("说明", max_length=200, blank=True, default="")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="填报人",
    )

    class Meta:
        verbose_name = "村退出条件"
        verbose_name_plural = "村退出条件"
        constraints = [
            models.UniqueConstraint(
                fields=["village", "year"],
                condition=models.Q(deleted_at__isnull=True),
                name="village_conditions_once_a_year",
            ),
            models.CheckConstraint(
                condition=models.Q(collective_income__isnull=True)
                | models.Q(collective_income__gte=0),
                name="village_conditions_income_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.year}"


class RegionAssessment(models.Model):
    """A village's or county's exit decision (village_exit, county_exit). Invariant:
    append-only; one per region, year, policy version and input facts (`facts_sha256`): running
    the same policy on the same facts again adds nothing, changed facts (a new status, a
    condition entered) add a decision and keep the earlier one. Facts and the per-criterion trace
    are kept on the row (a county has a few hundred villages: no snapshot needed)."""

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="区划"
    )
    level = models.CharField("级别", max_length=12)  # village / county
    standard = models.CharField("标准", max_length=40)
    year = models.PositiveSmallIntegerField("评估年度")
    policy = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, related_name="+", verbose_name="政策版本"
    )
    run = models.ForeignKey(
        AssessmentRun, on_delete=models.PROTECT, related_name="+", verbose_name="批次"
    )
    facts_sha256 = models.CharField("输入数据哈希", max_length=64)
    passed = models.BooleanField("通过")
    failed = CriterionIdsField("未通过的标准", default=list)
    unknown = CriterionIdsField("未知的标准", default=list)
    criteria = models.JSONField("逐项判定依据")
    facts = models.JSONField("输入数据")
    created_at = models.DateTimeField("判定时间", default=timezone.now)

    class Meta:
        verbose_name = "村、县退出判定"
        verbose_name_plural = "村、县退出判定"
        constraints = [
            models.UniqueConstraint(
                fields=["region", "year", "policy", "facts_sha256"],
                name="region_assessment_once_per_facts",
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=["village", "county"]),
                name="region_assessment_level_known",
            ),
        ]
        indexes = [models.Index(fields=["standard", "year", "region", "created_at"])]

    def __str__(self) -> str:
        return (
            f"{self.standard} {self.region_id} {self.year}: {'通过' if self.passed else '未通过'}"
        )
