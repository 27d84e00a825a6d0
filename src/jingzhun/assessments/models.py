"""Stored decisions: one household judged against one standard for one year, per policy version."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Assessment(models.Model):
    """A decision with its inputs and trace. Invariant: append-only; one per household, year,
    standard and policy version (re-running the same version changes nothing)."""

    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name="户",
    )
    year = models.PositiveSmallIntegerField("评估年度")
    standard = models.CharField("标准", max_length=40)
    province = models.CharField("省份", max_length=2, blank=True, default="")
    policy_version = models.CharField("政策版本（内容哈希）", max_length=64)
    policy_files = models.JSONField("政策文件", default=list)
    reference_date = models.DateField("参考日期")
    passed = models.BooleanField("通过")
    failed = models.JSONField("未通过的标准", default=list)
    unknown = models.JSONField("未知的标准", default=list)
    criteria = models.JSONField("逐项判定依据", default=list)
    facts = models.JSONField("输入数据快照（已脱敏）", default=dict)
    run_id = models.CharField("批次", max_length=32, db_index=True)
    created_at = models.DateTimeField("判定时间", default=timezone.now)

    class Meta:
        verbose_name = "标准判定"
        verbose_name_plural = "标准判定"
        ordering = ["household_id", "-year", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "year", "standard", "policy_version"],
                name="assessment_once_per_policy_version",
            )
        ]
        indexes = [models.Index(fields=["standard", "year", "passed"])]

    def __str__(self) -> str:
        return f"{self.household_id} {self.standard} {self.year}: {'通过' if self.passed else '未通过'}"
