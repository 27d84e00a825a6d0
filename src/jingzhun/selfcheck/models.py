"""The sampled exit self-check (退出自查, 三率一度; issue 24 item 6; ADR 0078):
a self-check of a county and year with its seed and design, the job that draws its sample, and
the sampled households with their survey answers. Written only by selfcheck.actions; read
through selfcheck.selectors (scoped by region grants)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jingzhun.core.models import DomainModel, JobRow

from .choices import GROUPS, STRATA


def _user(name: str) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=name,
    )


class SelfCheck(DomainModel):
    """One self-check of a county for a year. Invariant: `seed` and the policy file fixed at
    creation reproduce the sample; `design` is written once, by the draw job."""

    county = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="县"
    )
    year = models.PositiveSmallIntegerField("年度")
    title = models.CharField("名称", max_length=200)
    seed = models.BigIntegerField("随机种子")
    policy_file = models.CharField("抽样规则文件", max_length=200)
    policy_hash = models.CharField("抽样规则内容哈希", max_length=64)
    plan = models.JSONField("抽样规模", default=dict)
    design = models.JSONField("抽样设计", default=dict, blank=True)
    inspection = models.ForeignKey(
        "inspection.Inspection",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="对应督查（发现问题登记处）",
    )
    created_by = _user("创建人")
    # closing the survey (调查结束): no survey is entered or corrected afterwards, on the web or
    # from the offline field page (a queued survey then comes back as a conflict)
    closed_on = models.DateField("调查结束日期", null=True, blank=True)
    closed_by = _user("结束调查人")

    class Meta:
        verbose_name = "退出自查"
        verbose_name_plural = "退出自查"
        constraints = [
            models.CheckConstraint(condition=models.Q(seed__gte=0), name="selfcheck_seed_positive")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def drawn(self) -> bool:
        return bool(self.design)

    @property
    def closed(self) -> bool:
        return self.closed_on is not None


class DrawJob(JobRow):
    """Drawing a self-check's sample on the task queue (core.jobs), with its progress."""

    selfcheck = models.ForeignKey(
        SelfCheck, on_delete=models.PROTECT, related_name="jobs", verbose_name="退出自查"
    )
    requested_by = _user("申请人")
    done = models.PositiveIntegerField("已处理村数", default=0)
    total = models.PositiveIntegerField("村数", default=0)
    households = models.PositiveIntegerField("抽中户数", default=0)

    class Meta:
        verbose_name = "抽样任务"
        verbose_name_plural = "抽样任务"


class SampledHousehold(DomainModel):
    """A household of the sample, its design weight and its survey (入户调查). Invariant: one row
    per self-check and household; the group and weight are those of the draw; a finding
    (wrongly exited, missed, complaint) is registered as an inspection problem, linked here."""

    selfcheck = models.ForeignKey(
        SelfCheck, on_delete=models.PROTECT, related_name="households", verbose_name="退出自查"
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", verbose_name="农户"
    )
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="村"
    )
    stratum = models.CharField("村层", max_length=12, choices=list(STRATA.items()))
    group = models.CharField("户类别", max_length=12, choices=list(GROUPS.items()))
    persons = models.PositiveSmallIntegerField("抽样时人数")
    weight = models.FloatField("设计权数")
    # the survey (两不愁三保障, income, wrong exit / missed, approval)
    surveyed_on = models.DateField("调查日期", null=True, blank=True)
    team = models.CharField("核查组", max_length=50, blank=True, default="")
    food_clothing_secure = models.BooleanField("不愁吃、不愁穿", null=True, blank=True)
    education_secure = models.BooleanField("义务教育有保障", null=True, blank=True)
    medical_secure = models.BooleanField("基本医疗有保障", null=True, blank=True)
    housing_secure = models.BooleanField("住房安全有保障", null=True, blank=True)
    water_secure = models.BooleanField("饮水安全有保障", null=True, blank=True)
    income_per_capita_fen = models.BigIntegerField("人均纯收入（分）", null=True, blank=True)
    wrongly_exited_persons = models.PositiveSmallIntegerField("错退人数", default=0)
    missed_persons = models.PositiveSmallIntegerField("漏评人数", default=0)
    approves = models.BooleanField("认可帮扶和退出工作", null=True, blank=True)
    complaint = models.CharField("意见或投诉", max_length=500, blank=True, default="")
    surveyed_by = _user("录入人")
    finding_problem = models.ForeignKey(
        "inspection.Problem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="错退/漏评问题",
    )
    complaint_problem = models.ForeignKey(
        "inspection.Problem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="意见投诉问题",
    )

    class Meta:
        verbose_name = "抽样户"
        verbose_name_plural = "抽样户"
        constraints = [
            models.UniqueConstraint(
                fields=["selfcheck", "household"], name="selfcheck_household_once"
            ),
            models.CheckConstraint(condition=models.Q(weight__gt=0), name="selfcheck_weight_pos"),
            models.CheckConstraint(
                condition=models.Q(wrongly_exited_persons=0) | models.Q(group="exited"),
                name="selfcheck_wrong_exit_only_exited",
            ),
            models.CheckConstraint(
                condition=models.Q(missed_persons=0) | models.Q(group="ordinary"),
                name="selfcheck_missed_only_ordinary",
            ),
        ]
        indexes = [models.Index(fields=["selfcheck", "village", "group"])]

    def __str__(self) -> str:
        return f"{self.selfcheck_id}:{self.household_id}"

    @property
    def surveyed(self) -> bool:
        return self.surveyed_on is not None

    @property
    def group_label(self) -> str:
        return GROUPS.get(self.group, self.group)


class SurveySync(models.Model):
    """A survey sent from the offline field page, once per client-generated id (ADR
    "fieldsurvey-offline"): a replayed id is answered "duplicate" and writes nothing. Written only
    by selfcheck.sync.do_sync_surveys, in the same transaction as the survey it saved."""

    client_id = models.UUIDField("客户端编号", unique=True)
    sampled = models.ForeignKey(
        SampledHousehold, on_delete=models.PROTECT, related_name="+", verbose_name="抽样户"
    )
    synced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="同步人"
    )
    synced_at = models.DateTimeField("同步时间", auto_now_add=True)
    version = models.PositiveIntegerField("保存后的版本")

    class Meta:
        verbose_name = "离线调查同步记录"
        verbose_name_plural = "离线调查同步记录"

    def __str__(self) -> str:
        return str(self.client_id)
