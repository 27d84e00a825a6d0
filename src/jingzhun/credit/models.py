"""Microcredit (扶贫小额信贷 / 脱贫人口小额信贷 / 帮扶小额信贷; issue 23 item 3).

Invariants:
- `Loan.outstanding_fen` is the amount less the principal repaid; it changes only in the same
  transaction as a `Repayment`, under the loan's row lock; CHECK 0 <= outstanding <= amount.
- A loan carries the policy version and the per-criterion eligibility trace it was granted on.
- `Repayment` rows are append-only, each with a unique idempotency key.
- At most one `Extension` per loan (unique).
- `RiskFund.balance_fen` is the sum of its postings, changed under its row lock; CHECK >= 0.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jingzhun.core.models import DomainModel, JobRow

from .choices import FUND_POSTING_KINDS, LOAN_STATUS, PURPOSES, REPAYMENT_SOURCES


def _user_fk(label: str, *, null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=null,
        blank=null,
        related_name="+",
        verbose_name=label,
    )


class Loan(DomainModel):
    """A microcredit loan to a household's member. Invariant: outstanding moves only with a
    repayment (row lock); the region codes are the household's."""

    writes_through_actions = True

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="loans", verbose_name="户"
    )
    borrower = models.ForeignKey(
        "registry.Member", on_delete=models.PROTECT, related_name="+", verbose_name="借款人"
    )
    county_code = models.CharField("县级区划代码", max_length=12)
    township_code = models.CharField("乡镇区划代码", max_length=12)
    village_code = models.CharField("村级区划代码", max_length=12)
    bank_name = models.CharField("贷款银行", max_length=50)
    contract_no = models.CharField("借据号", max_length=40)
    amount_fen = models.BigIntegerField("贷款金额(分)")
    rate_bp = models.PositiveIntegerField("年利率(基点)")
    term_months = models.PositiveSmallIntegerField("期限(月)")
    start_date = models.DateField("放款日期")
    end_date = models.DateField("到期日期")
    purpose = models.CharField("用途", max_length=20, choices=list(PURPOSES.items()))
    credit_rating = models.CharField("信用等级", max_length=4)
    subsidy_share_pct = models.PositiveSmallIntegerField("贴息比例(%)")
    status = models.CharField(
        "状态", max_length=12, choices=list(LOAN_STATUS.items()), default="active"
    )
    outstanding_fen = models.BigIntegerField("未还本金(分)")
    compensated_fen = models.BigIntegerField("风险补偿金代偿(分)", default=0)
    policy_version = models.CharField("政策版本", max_length=120)
    eligibility = models.JSONField("资格审查记录", default=list)
    warnings = models.JSONField("提示", default=list, blank=True)
    created_by = _user_fk("登记人")

    class Meta:
        verbose_name = "小额信贷"
        verbose_name_plural = "小额信贷"
        ordering = ["-start_date", "-pk"]
        indexes = [
            models.Index(fields=["county_code", "status"]),
            models.Index(fields=["township_code", "status"]),
            models.Index(fields=["village_code", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["county_code", "contract_no"],
                condition=Q(deleted_at__isnull=True),
                name="loan_contract_unique_in_county",
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0)
                & Q(outstanding_fen__gte=0)
                & Q(outstanding_fen__lte=F("amount_fen")),
                name="loan_outstanding_in_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(LOAN_STATUS)), name="loan_status_known"
            ),
        ]

    def __str__(self) -> str:
        return self.contract_no

    @property
    def status_label(self) -> str:
        return LOAN_STATUS.get(self.status, self.status)

    @property
    def purpose_label(self) -> str:
        return PURPOSES.get(self.purpose, self.purpose)

    @property
    def rate_pct(self) -> str:
        return f"{self.rate_bp / 100:.2f}"


class ScheduleRow(models.Model):
    """One due date of a loan's repayment plan (interest quarterly, principal at maturity)."""

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="schedule", verbose_name="贷款"
    )
    seq = models.PositiveSmallIntegerField("期次")
    due_date = models.DateField("应还日期")
    principal_fen = models.BigIntegerField("应还本金(分)", default=0)
    interest_fen = models.BigIntegerField("应付利息(分)", default=0)

    class Meta:
        verbose_name = "还款计划"
        verbose_name_plural = "还款计划"
        ordering = ["loan", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "seq"], name="schedule_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id}#{self.seq} {self.due_date}"


class StatementImport(JobRow):
    """A bank's monthly statement imported on the task queue to reconcile repayments."""

    county_code = models.CharField("县级区划代码", max_length=12)
    bank_name = models.CharField("银行", max_length=50)
    filename = models.CharField("文件名", max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    created_by = _user_fk("上传人")
    rows_total = models.PositiveIntegerField("总行数", default=0)
    rows_done = models.PositiveIntegerField("已处理行数", default=0)
    posted = models.PositiveIntegerField("新入账", default=0)
    already = models.PositiveIntegerField("已入账(重复)", default=0)
    unmatched = models.PositiveIntegerField("未匹配或不符", default=0)
    report = models.JSONField("对账报告", default=list, blank=True)

    class Meta:
        verbose_name = "银行对账单导入"
        verbose_name_plural = "银行对账单导入"
        ordering = ["-pk"]


class Repayment(models.Model):
    """A repayment of principal and interest. Invariant: append-only; unique key."""

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="repayments", verbose_name="贷款"
    )
    key = models.CharField("幂等键", max_length=64, unique=True)
    paid_on = models.DateField("还款日期")
    principal_fen = models.BigIntegerField("本金(分)", default=0)
    interest_fen = models.BigIntegerField("利息(分)", default=0)
    subsidy_fen = models.BigIntegerField("财政贴息(分)", default=0)
    overdue = models.BooleanField("逾期还款", default=False)
    source = models.CharField(
        "来源", max_length=12, choices=list(REPAYMENT_SOURCES.items()), default="manual"
    )
    statement = models.ForeignKey(
        StatementImport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="repayments",
        verbose_name="对账单",
    )
    statement_row = models.PositiveIntegerField("对账单行号", null=True, blank=True)
    recorded_by = _user_fk("登记人")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "还款"
        verbose_name_plural = "还款"
        ordering = ["paid_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(principal_fen__gte=0)
                & Q(interest_fen__gte=0)
                & Q(subsidy_fen__gte=0)
                & Q(subsidy_fen__lte=F("interest_fen"))
                & (Q(principal_fen__gt=0) | Q(interest_fen__gt=0)),
                name="repayment_amounts_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.paid_on} {self.principal_fen}+{self.interest_fen}"


class Extension(models.Model):
    """展期: a loan's maturity moved once, by rule. Invariant: at most one per loan."""

    loan = models.OneToOneField(
        Loan, on_delete=models.PROTECT, related_name="extension", verbose_name="贷款"
    )
    old_end_date = models.DateField("原到期日期")
    new_end_date = models.DateField("展期后到期日期")
    reason = models.CharField("展期原因", max_length=200)
    policy_version = models.CharField("政策版本", max_length=120)
    extended_by = _user_fk("办理人")
    extended_at = models.DateTimeField("办理时间", auto_now_add=True)

    class Meta:
        verbose_name = "展期"
        verbose_name_plural = "展期"

    def __str__(self) -> str:
        return f"{self.loan_id}: {self.old_end_date} → {self.new_end_date}"


class RiskFund(models.Model):
    """A county's risk-compensation fund (风险补偿金). Invariant: balance >= 0, moved only with a
    posting under the row lock."""

    county_code = models.CharField("县级区划代码", max_length=12, unique=True)
    balance_fen = models.BigIntegerField("余额(分)", default=0)

    class Meta:
        verbose_name = "风险补偿金"
        verbose_name_plural = "风险补偿金"
        constraints = [
            models.CheckConstraint(condition=Q(balance_fen__gte=0), name="risk_fund_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.county_code}: {self.balance_fen}"


class FundPosting(models.Model):
    """A deposit into or a payout from a county's risk-compensation fund. Append-only."""

    fund = models.ForeignKey(
        RiskFund, on_delete=models.PROTECT, related_name="postings", verbose_name="风险补偿金"
    )
    kind = models.CharField("类别", max_length=10, choices=list(FUND_POSTING_KINDS.items()))
    key = models.CharField("幂等键", max_length=64, unique=True)
    amount_fen = models.BigIntegerField("金额(分)")
    balance_after_fen = models.BigIntegerField("余额(分)")
    loan = models.ForeignKey(
        Loan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="compensations",
        verbose_name="代偿贷款",
    )
    on_date = models.DateField("业务日期")
    memo = models.CharField("摘要", max_length=200, blank=True, default="")
    posted_by = _user_fk("经办人")
    posted_at = models.DateTimeField("记账时间", auto_now_add=True)

    class Meta:
        verbose_name = "风险补偿金收支"
        verbose_name_plural = "风险补偿金收支"
        ordering = ["-on_date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="fund_posting_positive"),
            models.UniqueConstraint(
                fields=["loan"], condition=Q(kind="payout"), name="one_payout_per_loan"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_fen}"

    @property
    def kind_label(self) -> str:
        return FUND_POSTING_KINDS.get(self.kind, self.kind)
