"""Assessment (考核, issue 24 item 4; ADR scoring): a county's period under a scheme, the jobs
that compute it, and each unit's score with its trace.

Every write is an action in scoring/actions.py; reads go through scoring/selectors.py (scoped:
the county sees everything of its periods, an assessed unit its own card and, when the scheme
publishes the ranking, the published ranking).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jingzhun.core.models import DomainModel, JobRow

PERIOD_KINDS = {"month": "月度", "quarter": "季度", "year": "年度"}
BANDS = {"red": "红榜", "black": "黑榜"}


class ScorePeriod(DomainModel):
    """One county, scheme and period (2026Q3). Invariant: written only by scoring.actions;
    `published_job` is a finished job of this period; once published, a new computation needs
    a recorded correction (the job's `correction`)."""

    county_code = models.CharField("县（区划代码）", max_length=12)
    scheme_id = models.CharField("考核方案", max_length=60)
    unit_kind = models.CharField("考核对象", max_length=16)
    kind = models.CharField("考核周期类型", max_length=8, choices=list(PERIOD_KINDS.items()))
    label = models.CharField("考核周期", max_length=10)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")
    latest_job = models.ForeignKey(
        "ScoringJob",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="最近一次计算",
    )
    published_job = models.ForeignKey(
        "ScoringJob",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="已发布的计算",
    )
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发布人",
    )

    class Meta:
        verbose_name = "考核周期"
        verbose_name_plural = "考核周期"
        constraints = [
            models.UniqueConstraint(
                fields=["county_code", "scheme_id", "label"],
                condition=models.Q(deleted_at__isnull=True),
                name="score_period_once",
            ),
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="score_period_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(published_job__isnull=True, published_at__isnull=True)
                | models.Q(published_job__isnull=False, published_at__isnull=False),
                name="score_period_published_with_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county_code} {self.scheme_id} {self.label}"

    @property
    def published(self) -> bool:
        return self.published_job_id is not None


class ScoringJob(JobRow):
    """One computation of a period under one version of its scheme, run by `jingzhun worker`.
    Invariant: its scores are written only when it finishes, all at once; `correction` is given
    when the period had been published before it was requested."""

    period = models.ForeignKey(
        ScorePeriod, on_delete=models.PROTECT, related_name="jobs", verbose_name="考核周期"
    )
    scheme_version = models.CharField("方案版本", max_length=40)
    scheme_hash = models.CharField("方案内容哈希", max_length=64)
    scheme_path = models.CharField("方案文件", max_length=200)
    correction = models.CharField("更正说明", max_length=500, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    step = models.CharField("当前步骤", max_length=100, blank=True, default="")
    progress = models.PositiveSmallIntegerField("进度(%)", default=0)
    units = models.PositiveIntegerField("考核对象数", default=0)

    class Meta:
        verbose_name = "考核计算任务"
        verbose_name_plural = "考核计算任务"

    def __str__(self) -> str:
        return f"{self.period_id} #{self.pk} {self.status}"


class UnitScore(models.Model):
    """A unit's score in one computation. Invariant: append-only, written once by its job;
    `score` equals the sum of the points in `trace` (each rounded to 0.01)."""

    job = models.ForeignKey(
        ScoringJob, on_delete=models.PROTECT, related_name="scores", verbose_name="计算任务"
    )
    unit_kind = models.CharField("考核对象类型", max_length=16)
    unit_key = models.CharField("考核对象", max_length=40)
    unit_label = models.CharField("名称", max_length=200)
    region_code = models.CharField("所在区划", max_length=12)
    score = models.DecimalField("得分", max_digits=8, decimal_places=2)
    rank = models.PositiveIntegerField("名次")
    band = models.CharField(
        "榜单", max_length=8, blank=True, default="", choices=list(BANDS.items())
    )
    trace = models.JSONField("得分明细", default=list)

    class Meta:
        verbose_name = "考核得分"
        verbose_name_plural = "考核得分"
        constraints = [
            models.UniqueConstraint(fields=["job", "unit_key"], name="unit_score_once_a_job"),
            models.CheckConstraint(
                condition=models.Q(band__in=["", *BANDS]), name="unit_score_band_known"
            ),
        ]
        indexes = [models.Index(fields=["job", "rank"])]

    def __str__(self) -> str:
        return f"{self.unit_label} {self.score}"
