"""Precise assistance (精准帮扶, issue 21): the helpers' profiles.

The pairings themselves (`access.models.HelperPairing`) stay in `access`: they are the helpers'
scope, which `access.scoping` alone decides (ADR "assist-pairing"). This app owns what is written
about them: the helper's unit and rank (the quota rule's key), and the pairing actions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jingzhun.core.models import DomainModel, StoredFile

from .choices import HELPER_KINDS, TEAM_ROLES, VISIT_CHANGES, VISIT_KINDS


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


# Visits (issue 21 item 4) ---------------------------------------------------------------------


class Visit(models.Model):
    """One visit (走访, 帮扶日志) of a helper to a paired household. Append-only: a visit is a
    record of what was seen that day; it is never edited (a correction is a further visit).

    `client_id` is made by the phone (or the page) when the visit is recorded, so a retried sync
    stores it once (unique). `household_version` is the household's version the helper saw,
    for the conflict rule of ADR "visits-offline"."""

    helper = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name="帮扶责任人",
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="visits", verbose_name="户"
    )
    visited_on = models.DateField("走访日期")
    kind = models.CharField("走访方式", max_length=10, choices=list(VISIT_KINDS.items()))
    notes = models.TextField("走访记录", max_length=2000, blank=True, default="")
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    # [{"kind": one of VISIT_CHANGES, "note": "..."}]
    changes = models.JSONField("发现的变化", default=list, blank=True)
    client_id = models.UUIDField("客户端编号", unique=True)
    household_version = models.PositiveIntegerField("记录时所见户版本")
    recorded_at = models.DateTimeField("录入时间", default=timezone.now)
    case = models.ForeignKey(
        "workflows.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name="由此发起的监测案件",
    )

    class Meta:
        verbose_name = "走访记录"
        verbose_name_plural = "走访记录"
        indexes = [models.Index(fields=["household", "-visited_on"], name="visit_household_day")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=list(VISIT_KINDS)), name="visit_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.visited_on}"

    @property
    def kind_label(self) -> str:
        return VISIT_KINDS.get(self.kind, self.kind)

    @property
    def change_labels(self) -> list[str]:
        return [VISIT_CHANGES.get(c.get("kind", ""), "") for c in self.changes]


class VisitPhoto(StoredFile):
    """A photo of a visit: JPG or PNG by its bytes, kept once per content like evidence
    (uploaded_by: the helper; uploaded_at: when the visit was stored)."""

    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, related_name="photos", verbose_name="走访记录"
    )

    class Meta:
        verbose_name = "走访照片"
        verbose_name_plural = "走访照片"

    def __str__(self) -> str:
        return f"{self.visit_id} {self.filename}"


# Household plans and measures (issue 21 item 3) ---------------------------------------------
# A household's plan (一户一策) is its measures of a year; coverage is computed from them by
# assistance.selectors, never stored. Kinds and departments are codes of the policy catalogue
# policies/tables/measure_kinds.yaml (assistance.catalogue), checked by the actions.

from .choices import MEASURE_STATUS  # noqa: E402


class Measure(DomainModel):
    """One assistance measure of a household. Invariants: amount ≥ 0, end ≥ start, an approved
    (or later) measure names its approver, a completed one its completion date."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="measures", verbose_name="户"
    )
    year = models.PositiveSmallIntegerField("计划年度")
    kind = models.CharField("措施类型", max_length=40)
    department = models.CharField("责任部门", max_length=40)
    description = models.CharField("措施内容", max_length=200, blank=True, default="")
    amount = models.DecimalField("金额(元)", max_digits=12, decimal_places=2, null=True, blank=True)
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=list(MEASURE_STATUS.items()), default="proposed"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="提出人",
    )
    proposer_role = models.CharField("提出方", max_length=16)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审批人",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True, default="")
    completed_on = models.DateField("完成日期", null=True, blank=True)

    class Meta:
        verbose_name = "帮扶措施"
        verbose_name_plural = "帮扶措施"
        indexes = [
            models.Index(fields=["household", "year"], name="measure_household_year"),
            models.Index(fields=["status", "kind"], name="measure_status_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="measure_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="measure_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=list(MEASURE_STATUS)), name="measure_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["proposed", "cancelled"])
                | models.Q(decided_at__isnull=False),
                name="measure_decided_names_approver",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="completed") | models.Q(completed_on__isnull=False),
                name="measure_completed_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.kind} {self.status}"

    @property
    def status_label(self) -> str:
        return MEASURE_STATUS.get(self.status, self.status)


class MeasureEvidence(StoredFile):
    """A file kept for a measure (agreement, receipt, photo). Invariant: append-only; the bytes
    live under VAR_DIR/evidence named by their SHA-256 (core.stored_files, the same checks)."""

    measure = models.ForeignKey(
        Measure, on_delete=models.PROTECT, related_name="evidence", verbose_name="帮扶措施"
    )

    class Meta:
        verbose_name = "措施佐证材料"
        verbose_name_plural = "措施佐证材料"

    def __str__(self) -> str:
        return f"{self.measure_id} {self.filename}"


class LiaisonDepartment(models.Model):
    """The department (a code of the measure catalogue) a department liaison (行业部门联络员)
    speaks for: they see the measures of that department's kinds. Invariant: one per account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="liaison_department",
        verbose_name="联络员",
    )
    department = models.CharField("所属部门", max_length=40)

    class Meta:
        verbose_name = "联络员所属部门"
        verbose_name_plural = "联络员所属部门"

    def __str__(self) -> str:
        return f"{self.user_id} {self.department}"
