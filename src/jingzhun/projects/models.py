"""Project bank and fund ledger (issue 23 items 1-2; ADR 0074).

Projects, their steps, postings (公告公示), funding plan and benefit links; the ledger's fund
sources, accounts and postings. Money is integer fen everywhere.

Invariants:
- `Posting` rows are append-only (no update, no delete; a correction is a reversal posting);
  each has a unique idempotency key, a positive amount and two different accounts of one county.
- `Account.balance_fen` is the sum of the account's postings (debits in, credits out); it changes
  only in the same transaction as the posting, under the account's row lock; a CHECK keeps every
  account but `receipts` at or above zero.
- The balances of one county sum to zero (double entry).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jingzhun.core.models import DomainModel, JobRow, LiveQuerySet

from . import lifecycle
from .choices import (
    ACCOUNT_KINDS,
    BENEFIT_GROUPS,
    BENEFIT_KINDS,
    POSTING_KINDS,
    POSTING_TYPES,
    PROJECT_KINDS,
    SOURCE_KINDS,
)


class Project(DomainModel):
    """A project of the project bank (项目库). Invariant: `state` moves only by the lifecycle's
    table (`do_move_project`); the place's county/township/village codes agree with `region`."""

    writes_through_actions = True

    name = models.CharField("项目名称", max_length=100)
    kind = models.CharField("项目类型", max_length=20, choices=list(PROJECT_KINDS.items()))
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="实施地点"
    )
    county_code = models.CharField("县级区划代码", max_length=12, db_index=True)
    township_code = models.CharField("乡镇区划代码", max_length=12, blank=True, default="")
    village_code = models.CharField("村级区划代码", max_length=12, blank=True, default="")
    year = models.PositiveSmallIntegerField("计划年度")
    budget_fen = models.BigIntegerField("投资预算(分)", default=0)
    state = models.CharField("状态", max_length=20, default=lifecycle.INITIAL)
    task = models.CharField("建设任务", max_length=300, blank=True, default="")
    targets = models.CharField("绩效目标", max_length=300, blank=True, default="")
    benefit_mechanism = models.CharField("联农带农机制", max_length=300, blank=True, default="")
    implementer = models.CharField("实施单位", max_length=100, blank=True, default="")
    responsible = models.CharField("责任人", max_length=50, blank=True, default="")
    start_date = models.DateField("计划开工日期", null=True, blank=True)
    end_date = models.DateField("计划完工日期", null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申报人",
    )

    class Meta:
        verbose_name = "项目"
        verbose_name_plural = "项目"
        ordering = ["-year", "pk"]
        indexes = [
            models.Index(fields=["county_code", "year"]),
            models.Index(fields=["township_code"]),
            models.Index(fields=["village_code"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(budget_fen__gte=0), name="project_budget_gte_0"),
            models.CheckConstraint(
                condition=Q(kind__in=list(PROJECT_KINDS)), name="project_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(state__in=list(lifecycle.STATES)), name="project_state_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_label(self) -> str:
        return PROJECT_KINDS.get(self.kind, self.kind)

    @property
    def state_label(self) -> str:
        return lifecycle.STATES.get(self.state, self.state)


class AppendOnlyQuerySet(models.QuerySet):
    """Rows of an append-only table: no update, no delete."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError(f"{self.model._meta.verbose_name}只能追加，不能修改。")

    def delete(self) -> Any:
        raise PermissionError(f"{self.model._meta.verbose_name}只能追加，不能删除。")


class AppendOnly(models.Model):
    objects = models.Manager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(f"{self._meta.verbose_name}只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{self._meta.verbose_name}只能追加，不能删除。")


class ProjectStep(AppendOnly):
    """One move of a project's lifecycle, as it was made."""

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="steps", verbose_name="项目"
    )
    move = models.CharField("步骤", max_length=20)
    from_state = models.CharField("原状态", max_length=20)
    to_state = models.CharField("新状态", max_length=20)
    reason = models.CharField("理由", max_length=200, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办理人",
    )
    at = models.DateTimeField("办理时间", default=timezone.now)

    class Meta:
        verbose_name = "项目流程记录"
        verbose_name_plural = "项目流程记录"
        ordering = ["project", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.move}"


class ProjectPosting(AppendOnly):
    """A public posting (公告公示) of a project's plan or result, for at least 10 days. The PDF
    is written from the project as it stood (`documents.posting_pdf`); its SHA-256 is kept."""

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="postings", verbose_name="项目"
    )
    kind = models.CharField("公告类型", max_length=10, choices=list(POSTING_TYPES.items()))
    start = models.DateField("公示开始日期")
    days = models.PositiveSmallIntegerField("公示天数")
    issuer = models.CharField("发布单位", max_length=100)
    pdf = models.BinaryField("公告 PDF")
    sha256 = models.CharField("SHA-256", max_length=64)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发布人",
    )
    posted_at = models.DateTimeField("发布时间", default=timezone.now)

    class Meta:
        verbose_name = "项目公告"
        verbose_name_plural = "项目公告"
        ordering = ["project", "start", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=10), name="project_posting_days_gte_10"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind} {self.start}"

    @property
    def kind_label(self) -> str:
        return POSTING_TYPES.get(self.kind, self.kind)

    @property
    def end(self) -> Any:
        import datetime

        return self.start + datetime.timedelta(days=self.days - 1)


class FundSource(DomainModel):
    """A fund source of a county and year (e.g. 2026 中央财政衔接资金, 文号 …)."""

    writes_through_actions = True

    county_code = models.CharField("县级区划代码", max_length=12)
    year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("资金类别", max_length=20, choices=list(SOURCE_KINDS.items()))
    name = models.CharField("资金名称", max_length=100)
    document = models.CharField("文号", max_length=100, blank=True, default="")

    class Meta:
        verbose_name = "资金来源"
        verbose_name_plural = "资金来源"
        ordering = ["county_code", "-year", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["county_code", "year", "name"],
                condition=Q(deleted_at__isnull=True),
                name="fund_source_unique_live",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=list(SOURCE_KINDS)), name="fund_source_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"

    @property
    def kind_label(self) -> str:
        return SOURCE_KINDS.get(self.kind, self.kind)


class ProjectFunding(DomainModel):
    """How much of a project's budget one fund source is to pay (the funding plan). Allocations
    from the source to the project never exceed it."""

    writes_through_actions = True

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="funding", verbose_name="项目"
    )
    source = models.ForeignKey(
        FundSource, on_delete=models.PROTECT, related_name="funding", verbose_name="资金来源"
    )
    planned_fen = models.BigIntegerField("计划金额(分)")

    class Meta:
        verbose_name = "项目资金计划"
        verbose_name_plural = "项目资金计划"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source"],
                condition=Q(deleted_at__isnull=True),
                name="project_funding_unique_live",
            ),
            models.CheckConstraint(condition=Q(planned_fen__gt=0), name="project_funding_gt_0"),
        ]


class BenefitLink(DomainModel):
    """A household benefiting from a project (联农带农): how and how much in a year."""

    writes_through_actions = True

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="benefits", verbose_name="项目"
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="project_benefits",
        verbose_name="受益农户",
    )
    kind = models.CharField("带动方式", max_length=20, choices=list(BENEFIT_KINDS.items()))
    group = models.CharField("农户类别", max_length=20, choices=list(BENEFIT_GROUPS.items()))
    year = models.PositiveSmallIntegerField("年度")
    amount_fen = models.BigIntegerField("受益金额(分)", default=0)
    note = models.CharField("说明", max_length=200, blank=True, default="")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="登记人",
    )

    class Meta:
        verbose_name = "联农带农受益农户"
        verbose_name_plural = "联农带农受益农户"
        ordering = ["project", "household", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "household", "kind", "year"],
                condition=Q(deleted_at__isnull=True),
                name="benefit_link_unique_live",
            ),
            models.CheckConstraint(condition=Q(amount_fen__gte=0), name="benefit_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(kind__in=list(BENEFIT_KINDS)), name="benefit_kind_known"
            ),
        ]

    @property
    def kind_label(self) -> str:
        return BENEFIT_KINDS.get(self.kind, self.kind)

    @property
    def group_label(self) -> str:
        return BENEFIT_GROUPS.get(self.group, self.group)


class AccountQuerySet(LiveQuerySet):
    """Accounts are never deleted; their balance changes only inside ledger actions."""


class Account(models.Model):
    """A ledger account of one county: `receipts` and `spent` once per county, `source` once per
    fund source, `project` once per project and fund source. Its balance is kept with each
    posting (debit +, credit −) under the row lock."""

    writes_through_actions = True

    county_code = models.CharField("县级区划代码", max_length=12)
    kind = models.CharField("账户类别", max_length=10, choices=list(ACCOUNT_KINDS.items()))
    source = models.ForeignKey(
        FundSource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name="资金来源",
    )
    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name="项目",
    )
    balance_fen = models.BigIntegerField("余额(分)", default=0)
    created_at = models.DateTimeField("开立时间", default=timezone.now)

    objects = models.Manager.from_queryset(AccountQuerySet)()

    class Meta:
        verbose_name = "资金账户"
        verbose_name_plural = "资金账户"
        ordering = ["county_code", "kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="receipts") | Q(balance_fen__gte=0),
                name="account_balance_never_negative",
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=["receipts", "spent"]) & Q(source__isnull=True))
                | (Q(kind="source") & Q(source__isnull=False) & Q(project__isnull=True))
                | (Q(kind="project") & Q(source__isnull=False) & Q(project__isnull=False)),
                name="account_kind_shape",
            ),
            models.UniqueConstraint(
                fields=["county_code", "kind"],
                condition=Q(kind__in=["receipts", "spent"]),
                name="account_county_unique",
            ),
            models.UniqueConstraint(
                fields=["source"], condition=Q(kind="source"), name="account_source_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "source"],
                condition=Q(kind="project"),
                name="account_project_source_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county_code} {self.kind} {self.pk}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("资金账户不能删除。")

    @property
    def kind_label(self) -> str:
        return ACCOUNT_KINDS.get(self.kind, self.kind)


class PostingBatch(AppendOnly):
    """A bulk import of postings (a year of a county's disbursements): keyed by the file's
    SHA-256, so importing it again writes nothing."""

    county_code = models.CharField("县级区划代码", max_length=12)
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    filename = models.CharField("文件名", max_length=200, blank=True, default="")
    rows = models.PositiveIntegerField("笔数")
    total_fen = models.BigIntegerField("金额合计(分)")
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="导入人",
    )
    at = models.DateTimeField("导入时间", default=timezone.now)

    class Meta:
        verbose_name = "记账导入批次"
        verbose_name_plural = "记账导入批次"

    def __str__(self) -> str:
        return f"{self.county_code} {self.sha256[:12]}"


class Posting(AppendOnly):
    """One double entry: `amount_fen` from `credit` to `debit`. Append-only; a correction is a
    reversal (`reverses`: the posting it undoes; each posting is reversed at most once)."""

    county_code = models.CharField("县级区划代码", max_length=12)
    key = models.CharField("幂等键", max_length=64, unique=True)
    kind = models.CharField("记账类型", max_length=15, choices=list(POSTING_KINDS.items()))
    amount_fen = models.BigIntegerField("金额(分)")
    debit = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="debits", verbose_name="借方(转入)"
    )
    credit = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credits", verbose_name="贷方(转出)"
    )
    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="postings_of_funds",
        verbose_name="项目",
        db_index=False,
    )
    on_date = models.DateField("业务日期")
    voucher = models.CharField("凭证号", max_length=50, blank=True, default="")
    payee = models.CharField("收款人", max_length=100, blank=True, default="")
    memo = models.CharField("摘要", max_length=200, blank=True, default="")
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name="冲正的记账",
    )
    batch = models.ForeignKey(
        PostingBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="postings",
        verbose_name="导入批次",
        db_index=False,
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记账人",
    )
    posted_at = models.DateTimeField("记账时间", default=timezone.now)

    class Meta:
        verbose_name = "记账凭证"
        verbose_name_plural = "记账凭证"
        ordering = ["pk"]
        indexes = [models.Index(fields=["project", "kind"], name="posting_project_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="posting_amount_gt_0"),
            models.CheckConstraint(
                condition=~Q(debit=models.F("credit")), name="posting_two_accounts"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=list(POSTING_KINDS)), name="posting_kind_known"
            ),
            models.CheckConstraint(
                condition=~Q(kind="disbursement") | (~Q(voucher="") & ~Q(payee="")),
                name="disbursement_voucher_payee",
            ),
            models.UniqueConstraint(
                fields=["county_code", "voucher"],
                condition=Q(kind="disbursement"),
                name="disbursement_voucher_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.kind} {self.amount_fen}"

    @property
    def kind_label(self) -> str:
        return POSTING_KINDS.get(self.kind, self.kind)


class PostingImport(JobRow):
    """A file of postings uploaded for import (ADR 0075): the job row (core.jobs) that a worker
    runs with `jobs.run_import`, reading the file and posting it with `do_import_postings` in one
    transaction. Its `step` and `rows_total` show the progress; `batch` is the posting batch it
    wrote (or the batch that had already imported the same rows, with `repeated`)."""

    STEPS = [
        ("queued", "排队中"),
        ("reading", "读取文件"),
        ("posting", "核对余额并记账"),
        ("done", "完成"),
    ]

    county_code = models.CharField("县级区划代码", max_length=12)
    filename = models.CharField("文件名", max_length=200, blank=True, default="")
    size = models.PositiveIntegerField("大小(字节)", default=0)
    sha256 = models.CharField("文件 SHA-256", max_length=64)
    step = models.CharField("步骤", max_length=10, choices=STEPS, default="queued")
    rows_total = models.PositiveIntegerField("笔数", default=0)
    batch = models.ForeignKey(
        PostingBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记账导入批次",
    )
    repeated = models.BooleanField("此前已导入", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="提交人"
    )

    class Meta:
        verbose_name = "记账文件导入任务"
        verbose_name_plural = "记账文件导入任务"
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s for s, _label in JobRow.STATUSES]),
                name="posting_import_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county_code} #{self.pk}"
