"""Cases (identification, exit, monitoring, risk elimination, return, removal, natural change),
their steps, evidence, postings,
objections and the county-wide dynamic adjustment rounds that bundle them.

The allowed moves are defined in `transitions.py`; these tables only hold where a case stands and
what happened to it. Steps, evidence and objections are append-only history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jingzhun.core.models import DomainModel, StoredFile
from jingzhun.registry import choices as c

from .transitions import ALL_STATES, EVIDENCE_KINDS, FLOWS, KINDS, Flow
from .workdays import UNITS

ROUTES = {
    "self_report": "农户自主申报",
    "hotline": "12317 热线",
    "cadre_screening": "基层干部排查",
    "department_warning": "部门筛查预警",
}


class Round(DomainModel):
    """A dynamic adjustment round (动态调整批次) of one county with its period.

    Invariant: cases join only while the round is open; it closes only when none is still open.
    """

    county = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="县"
    )
    name = models.CharField("批次名称", max_length=100)
    period_start = models.DateField("开始日期")
    period_end = models.DateField("截止日期")
    closed_at = models.DateTimeField("结束时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="创建人",
    )

    class Meta:
        verbose_name = "动态调整批次"
        verbose_name_plural = "动态调整批次"
        ordering = ["-period_start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="round_period_ordered"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Case(DomainModel):
    """One household's identification, exit, monitoring or risk-elimination case.

    Invariant: `state` is one of its kind's states and only changes through a move of the
    transition table; at most one open case per household and kind.
    """

    kind = models.CharField("案件类型", max_length=20, choices=list(KINDS.items()))
    state = models.CharField("办理状态", max_length=20)
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="cases", verbose_name="户"
    )
    year = models.PositiveSmallIntegerField("年度")
    round = models.ForeignKey(
        Round,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name="动态调整批次",
    )
    # None only for a monitoring case the household opened itself on the public self-report
    # page (feeds.reports; no account submitted it)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="提交人",
    )
    opened_on = models.DateField("发现/申请日期")
    due_on = models.DateField("办理时限", null=True, blank=True)
    closed_on = models.DateField("办结日期", null=True, blank=True)
    summary = models.CharField("情况说明", max_length=500, blank=True, default="")
    # Monitoring identification: how the household was found, its category and risks.
    route = models.CharField(
        "发现方式", max_length=20, choices=list(ROUTES.items()), blank=True, default=""
    )
    monitoring_category = models.CharField(
        "监测类别",
        max_length=20,
        choices=c.choices(c.MONITORING_CATEGORY),
        blank=True,
        default="",
    )
    risk_types = models.JSONField("风险类型", default=list, blank=True)
    # Risk elimination: since when the household is monitored, the measures carried out, method.
    monitored_since = models.DateField("纳入监测日期", null=True, blank=True)
    measures = models.JSONField("已落实的帮扶措施", default=list, blank=True)
    elimination_method = models.CharField(
        "消除方式",
        max_length=16,
        choices=c.choices(c.ELIMINATION_METHOD),
        blank=True,
        default="",
    )
    # Natural change: the structured change applied on announcement (workflows.changes).
    change = models.JSONField("变更内容", default=dict, blank=True)
    # 三个核对、三个印证: {item: {"by": username, "at": iso time, "note": text}}
    checklist = models.JSONField("核查清单", default=dict, blank=True)
    # Exit: the assessment the approval relied on (set when the county approves). An assessment
    # is keyed by household, year, policy version and household data version (ADR 0022, 0032):
    # the case holds the household and the year, these the two versions.
    assessment_policy = models.ForeignKey(
        "assessments.PolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="脱贫标准判定所用政策版本",
    )
    assessment_household_version = models.PositiveIntegerField(
        "脱贫标准判定时的户数据版本", null=True, blank=True
    )

    @property
    def assessment(self) -> Any:
        """The household exit assessment the approval relied on, if any."""
        if self.assessment_policy_id is None or self.assessment_household_version is None:
            return None
        from jingzhun.assessments.models import Assessment

        return Assessment.objects.filter(
            household_id=self.household_id,
            year=self.year,
            policy_id=self.assessment_policy_id,
            household_version=self.assessment_household_version,
        ).first()

    class Meta:
        verbose_name = "案件"
        verbose_name_plural = "案件"
        ordering = ["-opened_on", "-id"]
        indexes = [
            models.Index(fields=["kind", "state"]),
            models.Index(fields=["due_on"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(KINDS)), name="case_kind_known"),
            models.CheckConstraint(
                condition=Q(
                    *[Q(kind=kind, state__in=list(flow.states)) for kind, flow in FLOWS.items()],
                    _connector=Q.OR,
                ),
                name="case_state_of_its_kind",
            ),
            models.UniqueConstraint(
                fields=["household", "kind"],
                condition=Q(closed_on__isnull=True, deleted_at__isnull=True),
                name="case_one_open_per_household_and_kind",
            ),
            models.CheckConstraint(
                condition=Q(submitted_by__isnull=False) | Q(kind="monitoring", route="self_report"),
                name="case_submitter_unless_self_report",
            ),
        ]

    def __str__(self) -> str:
        return f"{KINDS.get(self.kind, self.kind)} {self.household_id} ({self.state})"

    @property
    def flow(self) -> Flow:
        return FLOWS[self.kind]

    @property
    def state_label(self) -> str:
        return ALL_STATES.get((self.kind, self.state), self.state)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


class Step(models.Model):
    """One move made on a case: who, when, from and to which state, why. Append-only."""

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="steps", verbose_name="案件"
    )
    move = models.CharField("办理事项", max_length=20)
    label = models.CharField("事项名称", max_length=50)
    state_from = models.CharField("原状态", max_length=20, blank=True, default="")
    state_to = models.CharField("新状态", max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办理人",
    )
    actor_name = models.CharField("办理人账号", max_length=150)
    actor_role = models.CharField("办理人角色", max_length=16, blank=True, default="")
    at = models.DateTimeField("办理时间", default=timezone.now)
    reason = models.CharField("意见或理由", max_length=500, blank=True, default="")
    outcome = models.CharField("结果", max_length=200, blank=True, default="")

    class Meta:
        verbose_name = "办理记录"
        verbose_name_plural = "办理记录"
        ordering = ["case_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.move} {self.state_from} → {self.state_to}"


class Evidence(StoredFile):
    """A file (minutes, sign-in sheet, photo, signed agreement …) kept for a case.

    Invariant: append-only; the bytes live under VAR_DIR/evidence named by their SHA-256. Uploaded
    for the step in hand (`step` empty) and linked to the step when the move is made.
    """

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="evidence", verbose_name="案件"
    )
    step = models.ForeignKey(
        Step,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name="办理记录",
    )
    kind = models.CharField("材料类型", max_length=20, choices=list(EVIDENCE_KINDS.items()))
    # filename, content_type, size, sha256, uploaded_by, uploaded_at: core.models.StoredFile
    uploaded_by_name = models.CharField("上传人账号", max_length=150)

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["case_id", "uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.kind} {self.filename}"

    @property
    def kind_label(self) -> str:
        return EVIDENCE_KINDS.get(self.kind, self.kind)


class Posting(models.Model):
    """A posting (公示) of a case on the village board: start, length in days or working days.

    Invariant: `end` is computed from start, length and unit with the official holiday calendar;
    an objection closes the posting and sends the case back.
    """

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="postings", verbose_name="案件"
    )
    step = models.ForeignKey(
        Step, on_delete=models.PROTECT, related_name="+", verbose_name="办理记录"
    )
    stage = models.CharField("公示环节", max_length=20)
    start = models.DateField("公示开始")
    length = models.PositiveSmallIntegerField("公示期")
    unit = models.CharField("计日方式", max_length=16, choices=list(UNITS.items()))
    end = models.DateField("公示截止")
    objected = models.BooleanField("有异议", default=False)

    class Meta:
        verbose_name = "公示"
        verbose_name_plural = "公示"
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="posting_ordered")
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.start} – {self.end}"

    def ended(self, today: object) -> bool:
        return bool(today > self.end)  # type: ignore[operator]


class Objection(models.Model):
    """An objection raised during a posting; it sent the case back for re-checking. Append-only."""

    posting = models.ForeignKey(
        Posting, on_delete=models.PROTECT, related_name="objections", verbose_name="公示"
    )
    received_on = models.DateField("收到日期")
    content = models.CharField("异议内容", max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记录人",
    )
    recorded_at = models.DateTimeField("记录时间", default=timezone.now)

    class Meta:
        verbose_name = "公示异议"
        verbose_name_plural = "公示异议"
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return f"{self.posting_id}: {self.received_on}"
