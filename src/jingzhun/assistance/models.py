"""Precise assistance (精准帮扶, issue 21): the helpers' profiles.

The pairings themselves (`access.models.HelperPairing`) stay in `access`: they are the helpers'
scope, which `access.scoping` alone decides (ADR "assist-pairing"). This app owns what is written
about them: the helper's unit and rank (the quota rule's key), and the pairing actions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jingzhun.core.models import DomainModel

from .choices import HELPER_KINDS, TEAM_ROLES


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


# Work teams (issue 21 item 1) ------------------------------------------------------------------


class WorkTeam(DomainModel):
    """A village work team (驻村工作队) for one term. Invariant: one live team per village
    (ended_on empty); the term ends after it starts."""

    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="work_teams", verbose_name="村"
    )
    sending_units = models.CharField("派出单位", max_length=200)
    term_start = models.DateField("任期开始日期")
    term_end = models.DateField("任期结束日期")
    ended_on = models.DateField("撤队日期", null=True, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "驻村工作队"
        verbose_name_plural = "驻村工作队"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__gt=models.F("term_start")),
                name="work_team_term_ordered",
            ),
            models.UniqueConstraint(
                fields=["village"],
                condition=models.Q(ended_on__isnull=True, deleted_at__isnull=True),
                name="work_team_one_live_per_village",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.sending_units}"


class TeamMember(DomainModel):
    """A member of a work team for a term. Invariant: the term ends after it starts; one serving
    first secretary (第一书记) per team; a member ended by rotation keeps the handover note."""

    team = models.ForeignKey(
        WorkTeam, on_delete=models.PROTECT, related_name="members", verbose_name="驻村工作队"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="team_memberships",
        verbose_name="账号",
    )
    name = models.CharField("姓名", max_length=50)
    sending_unit = models.CharField("派出单位", max_length=100)
    role = models.CharField("队内职务", max_length=16, choices=list(TEAM_ROLES.items()))
    start_date = models.DateField("任期开始日期")
    term_end = models.DateField("任期结束日期")
    ended_on = models.DateField("离任日期", null=True, blank=True)
    handover_note = models.TextField("交接说明", blank=True, default="")
    successor = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="predecessors",
        verbose_name="接任人",
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "驻村工作队员"
        verbose_name_plural = "驻村工作队员"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__gt=models.F("start_date")),
                name="team_member_term_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=list(TEAM_ROLES)), name="team_member_role_known"
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=models.Q(
                    role="secretary", ended_on__isnull=True, deleted_at__isnull=True
                ),
                name="team_one_serving_secretary",
            ),
            models.UniqueConstraint(
                fields=["team", "user"],
                condition=models.Q(
                    ended_on__isnull=True, deleted_at__isnull=True, user__isnull=False
                ),
                name="team_member_account_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.role}"

    @property
    def role_label(self) -> str:
        return TEAM_ROLES.get(self.role, self.role)


class TeamCheckIn(models.Model):
    """A day a member was in the village (驻村打卡). Append-only; one per member per day."""

    member = models.ForeignKey(
        TeamMember, on_delete=models.PROTECT, related_name="check_ins", verbose_name="队员"
    )
    day = models.DateField("在村日期")
    note = models.CharField("备注", max_length=200, blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记人",
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "驻村打卡"
        verbose_name_plural = "驻村打卡"
        constraints = [
            models.UniqueConstraint(fields=["member", "day"], name="team_check_in_once_a_day"),
        ]
        indexes = [models.Index(fields=["day"], name="team_check_in_day")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.day}"
