"""Administrative divisions (行政区划) as a tree keyed by 12-digit codes, with yearly rural population."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .codes import LEVEL_LABELS


class Region(models.Model):
    """A division. Invariant: `level` and `parent` agree with the code (see codes.py)."""

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("级别", max_length=12, choices=list(LEVEL_LABELS.items()))
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_western = models.BooleanField("西部省份", default=False)
    is_poor_village = models.BooleanField("贫困村", default=False)
    is_deep_poverty = models.BooleanField("深度贫困", default=False)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "code"]), models.Index(fields=["level"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=list(LEVEL_LABELS)), name="region_level_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class RegionPopulation(models.Model):
    """Rural registered population (农村户籍人口) of a region in a year: the incidence denominator."""

    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="populations", verbose_name="区划"
    )
    year = models.PositiveSmallIntegerField("年度")
    rural_population = models.PositiveIntegerField("农村户籍人口")

    class Meta:
        verbose_name = "农村人口"
        verbose_name_plural = "农村人口"
        constraints = [
            models.UniqueConstraint(fields=["region", "year"], name="region_population_once_a_year")
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.year}: {self.rural_population}"
