"""Precise assistance (精准帮扶, issue 21): the helpers' profiles.

The pairings themselves (`access.models.HelperPairing`) stay in `access`: they are the helpers'
scope, which `access.scoping` alone decides (ADR "assist-pairing"). This app owns what is written
about them: the helper's unit and rank (the quota rule's key), and the pairing actions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jingzhun.core.models import DomainModel

from .choices import HELPER_KINDS


class HelperProfile(DomainModel):
    """A helper (帮扶责任人): their unit and rank category. Invariant: one live profile per account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="helper_profile",
        verbose_name="帮扶责任人",
    )
    unit = models.CharField("工作单位", max_length=100)
    kind = models.CharField("职级类别", max_length=20, choices=list(HELPER_KINDS.items()))
    title = models.CharField("职务", max_length=50, blank=True, default="")

    class Meta:
        verbose_name = "帮扶责任人"
        verbose_name_plural = "帮扶责任人"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=list(HELPER_KINDS)), name="helper_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.unit}"

    @property
    def kind_label(self) -> str:
        return HELPER_KINDS.get(self.kind, self.kind)
