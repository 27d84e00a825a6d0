"""Requests and grievances (诉求工单): 有事找书记, the 12317 hotline, 信访 and self-reports, with a
deadline by category from policy data, routing, reply, the requester's satisfaction, closure
and escalation. Issue 24 item 3; ADR 0077 (duty and tickets).

Every write is an action in tickets/actions.py; every read goes through tickets/selectors.py,
scoped by the ticket's region (the region grants).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jingzhun.core.fieldcrypt import EncryptedCharField
from jingzhun.core.models import DomainModel

from .choices import CATEGORIES, CHANNELS, ESCALATION_REASONS, OPEN, SATISFACTION, STATUSES


def _user(name: str, *, null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=null,
        blank=null,
        related_name="+",
        verbose_name=name,
    )


def _link(model: str, name: str) -> models.ForeignKey:
    return models.ForeignKey(
        model, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=name
    )


class Ticket(DomainModel):
    """A request or grievance. Invariants: its region lies in its county; `supervisor_code` is
    its region or an ancestor (escalation moves it one level up); status open → replied →
    closed only through tickets.actions, closed only with a reply and the requester's
    satisfaction; a clue of feeds becomes at most one ticket."""

    county_code = models.CharField("所属县", max_length=12, db_index=True)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="所在区域"
    )
    channel = models.CharField("渠道", max_length=12, choices=list(CHANNELS.items()))
    category = models.CharField("类别", max_length=12, choices=list(CATEGORIES.items()))
    household = _link("registry.Household", "关联农户")
    clue = models.OneToOneField(
        "feeds.Clue",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ticket",
        verbose_name="来源线索（申报或热线）",
    )
    requester_name = models.CharField("诉求人", max_length=50)
    requester_phone = EncryptedCharField("联系电话", max_length=20, blank=True, default="")
    content = models.TextField("诉求内容", max_length=2000)
    reference = models.CharField(
        "原始编号（热线工单、信访件）", max_length=40, blank=True, default=""
    )
    received_on = models.DateField("受理日期")
    received_by = _user("受理登记人", null=False)
    deadline = models.DateField("答复期限")
    deadline_basis = models.CharField("期限依据", max_length=300)
    policy_version = models.CharField("规则版本", max_length=60)
    routed_unit = models.CharField("承办单位", max_length=100, blank=True, default="")
    routed_to = _user("承办人")
    status = models.CharField("状态", max_length=10, choices=list(STATUSES.items()), default=OPEN)
    reply = models.TextField("答复内容", max_length=2000, blank=True, default="")
    replied_on = models.DateField("答复日期", null=True, blank=True)
    replied_by = _user("答复人")
    satisfaction = models.CharField(
        "诉求人评价", max_length=12, choices=list(SATISFACTION.items()), blank=True, default=""
    )
    satisfaction_by = _user("回访人")
    closed_on = models.DateField("办结日期", null=True, blank=True)
    closed_by = _user("办结人")
    supervisor_code = models.CharField("督办层级（区划代码）", max_length=12)
    escalations = models.PositiveSmallIntegerField("升级次数", default=0)
    repeat_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="repeats",
        verbose_name="重复诉求（前一工单）",
    )
    case = _link("workflows.Case", "监测识别案件")
    problem = _link("inspection.Problem", "督查问题")

    class Meta:
        verbose_name = "诉求工单"
        verbose_name_plural = "诉求工单"
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=list(CHANNELS)), name="ticket_channel_known"
            ),
            models.CheckConstraint(
                condition=Q(category__in=list(CATEGORIES)), name="ticket_category_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(STATUSES)), name="ticket_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | (~Q(reply="") & ~Q(satisfaction="")),
                name="ticket_closed_with_reply_and_satisfaction",
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_on__isnull=False)
                | (~Q(status="closed") & Q(closed_on__isnull=True)),
                name="ticket_closed_on_when_closed",
            ),
            models.CheckConstraint(
                condition=Q(deadline__gte=models.F("received_on")),
                name="ticket_deadline_after_received",
            ),
        ]
        indexes = [
            models.Index(fields=["county_code", "status", "deadline"]),
            models.Index(fields=["household", "category", "received_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.category_label}"

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel)

    @property
    def category_label(self) -> str:
        return CATEGORIES.get(self.category, self.category)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def satisfaction_label(self) -> str:
        return SATISFACTION.get(self.satisfaction, self.satisfaction)


class TicketEscalation(models.Model):
    """A ticket moved one level up, overdue or repeated. Invariant: append-only; one per ticket,
    reason and level (the escalation run is idempotent)."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="escalation_rows", verbose_name="工单"
    )
    reason = models.CharField("原因", max_length=10, choices=list(ESCALATION_REASONS.items()))
    from_code = models.CharField("原督办层级", max_length=12)
    to_code = models.CharField("升级后督办层级", max_length=12)
    escalated_on = models.DateField("升级日期")
    old_deadline = models.DateField("原答复期限")
    new_deadline = models.DateField("新答复期限")
    basis = models.CharField("依据", max_length=300)
    escalated_by = _user("操作人")

    class Meta:
        verbose_name = "工单升级督办"
        verbose_name_plural = "工单升级督办"
        ordering = ["escalated_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "reason", "to_code"], name="ticket_escalation_once_a_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.from_code} → {self.to_code}"

    @property
    def reason_label(self) -> str:
        return ESCALATION_REASONS.get(self.reason, self.reason)
