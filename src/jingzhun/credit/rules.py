"""Microcredit rules from the policy table `microcredit` (policies/tables/microcredit*.yaml).

`check_eligibility` judges one application against the version in effect on the start date and
returns a per-criterion trace (id, Chinese label, outcome passed/failed/warning, detail, source)
and the version (file, version, content hash). A loan stores both. Nothing here writes.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from django.db.models import Sum

from jingzhun.core.errors import DomainError
from jingzhun.policy.store import PolicyError, default_store
from jingzhun.projects.money import yuan
from jingzhun.registry.choices import CLOSED_STATUSES, REGISTERED_STATUSES
from jingzhun.registry.masking import age_on

from .choices import CREDIT_RATINGS, OPEN_STATUSES

TABLE: Final = "microcredit"


@dataclass(frozen=True)
class Policy:
    """The microcredit table in effect on a date (and for a province and year)."""

    on: datetime.date
    province: str
    path: str
    version: str
    hash: str

    @property
    def cite(self) -> str:
        return f"{TABLE} {self.version}（文件 {self.path}，内容哈希 {self.hash[:12]}）"

    def value(self, rule: str) -> Decimal:
        store = default_store()
        found = store.lookup(
            TABLE, on=self.on, rule=rule, province=self.province, year=str(self.on.year)
        )
        if found is None or found.value is None:
            raise DomainError(f"小额信贷政策表 {self.path} 缺少规则 {rule}。")
        return found.value

    def source(self, rule: str) -> str:
        found = default_store().lookup(
            TABLE, on=self.on, rule=rule, province=self.province, year=str(self.on.year)
        )
        return found.source.title if found is not None else ""

    def number(self, rule: str) -> int:
        return int(self.value(rule))


def policy_on(on: datetime.date, county_code: str = "") -> Policy:
    try:
        loaded = default_store().table_file(TABLE, on)
    except PolicyError as exc:
        raise DomainError(
            f"{on} 没有生效的小额信贷政策表（{TABLE}）。", field="start_date"
        ) from exc
    return Policy(
        on=on,
        province=county_code[:2],
        path=loaded.path,
        version=loaded.doc.version,
        hash=loaded.hash,
    )


def rate_cap_bp(policy: Policy, term_months: int) -> int:
    """The annual rate cap in basis points for a term (1-year or 5-year reference rate)."""
    short = term_months <= policy.number("short_term_months")
    pct = policy.value("rate_cap_short_pct" if short else "rate_cap_long_pct")
    return int(pct * 100)


@dataclass(frozen=True)
class Application:
    household: Any
    borrower: Any
    amount_fen: int
    term_months: int
    rate_bp: int
    start_date: datetime.date
    credit_rating: str


@dataclass
class Judgement:
    policy: Policy
    trace: list[dict[str, Any]] = field(default_factory=list)

    def add(self, cid: str, label: str, outcome: str, detail: str, rule: str) -> None:
        self.trace.append(
            {
                "id": cid,
                "label": label,
                "outcome": outcome,
                "detail": detail,
                "source": self.policy.source(rule),
            }
        )

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.trace if c["outcome"] == "failed"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [c for c in self.trace if c["outcome"] == "warning"]

    @property
    def eligible(self) -> bool:
        return not self.failed

    @property
    def version(self) -> str:
        return f"{TABLE}@{self.policy.version}#{self.policy.hash[:12]}"


def _group(household: Any, policy: Policy) -> tuple[bool, str]:
    status = household.poverty_status
    if status in CLOSED_STATUSES:
        return False, f"该户已{household.get_poverty_status_display()}，不能贷款"
    monitored = bool(household.monitoring_category)
    registered = status in REGISTERED_STATUSES
    if registered and policy.number("eligible_registered"):
        return True, f"建档立卡户（{household.get_poverty_status_display()}）"
    if monitored and policy.number("eligible_monitored"):
        return True, f"监测对象（{household.get_monitoring_category_display()}）"
    if not registered and not monitored and policy.number("eligible_ordinary"):
        return True, "一般农户（本版本政策允许）"
    what = (
        "建档立卡户"
        if registered
        else ("监测对象" if monitored else "一般农户（非建档立卡、非监测对象）")
    )
    return False, f"该户为{what}，不在本版本政策支持范围内"


def check_eligibility(app: Application, *, exclude_loan: int | None = None) -> Judgement:
    """Judge an application; every criterion is in the trace whatever the others give."""
    from .models import Loan, RiskFund

    policy = policy_on(app.start_date, app.household.county_code)
    j = Judgement(policy)
    ok, detail = _group(app.household, policy)
    j.add(
        "household_group",
        "建档立卡户或监测对象",
        "passed" if ok else "failed",
        detail,
        "eligible_registered",
    )

    borrower = app.borrower
    live_member = (
        borrower is not None
        and borrower.household_id == app.household.pk
        and borrower.deleted_at is None
        and getattr(borrower, "left_on", None) is None
    )
    j.add(
        "borrower_member",
        "借款人为本户成员",
        "passed" if live_member else "failed",
        f"借款人 {borrower.name}" if live_member else "借款人不是该户的在册成员",
        "eligible_registered",
    )
    if live_member:
        age = age_on(borrower.birth_date, app.start_date)
        low, high = policy.number("min_age"), policy.number("max_age")
        in_range = low <= age <= high
        blocks = bool(policy.number("age_blocks"))
        j.add(
            "borrower_age",
            f"借款人年龄 {low}—{high} 周岁",
            "passed" if in_range else ("failed" if blocks else "warning"),
            f"放款日 {age} 周岁"
            + (
                ""
                if in_range
                else "（原则上不符合，由银行审慎决定）"
                if not blocks
                else "（不符合）"
            ),
            "min_age",
        )
    rank = CREDIT_RATINGS.get(app.credit_rating, 0)
    need = policy.number("min_credit_rank")
    j.add(
        "credit_rating",
        "经评级授信",
        "passed" if rank >= need else "failed",
        f"信用等级 {app.credit_rating}" if rank else "未评级授信或等级无效",
        "min_credit_rank",
    )
    max_fen = policy.number("max_amount_yuan") * 100
    j.add(
        "amount",
        f"贷款金额不超过 {yuan(max_fen)} 元",
        "passed" if 0 < app.amount_fen <= max_fen else "failed",
        f"申请 {yuan(app.amount_fen)} 元",
        "max_amount_yuan",
    )
    others = Loan.objects.filter(household=app.household, status__in=OPEN_STATUSES)
    if exclude_loan is not None:
        others = others.exclude(pk=exclude_loan)
    owed = int(others.aggregate(s=Sum("outstanding_fen"))["s"] or 0)
    j.add(
        "household_total",
        f"该户未还余额合计不超过 {yuan(max_fen)} 元",
        "passed" if owed + app.amount_fen <= max_fen else "failed",
        f"已有未还本金 {yuan(owed)} 元，加本笔 {yuan(owed + app.amount_fen)} 元",
        "max_amount_yuan",
    )
    max_term = policy.number("max_term_months")
    j.add(
        "term",
        f"期限不超过 {max_term} 个月",
        "passed" if 0 < app.term_months <= max_term else "failed",
        f"申请 {app.term_months} 个月",
        "max_term_months",
    )
    cap = rate_cap_bp(policy, app.term_months)
    j.add(
        "rate",
        f"年利率不超过同期限参考利率 {cap / 100:.2f}%",
        "passed" if 0 <= app.rate_bp <= cap else "failed",
        f"合同年利率 {app.rate_bp / 100:.2f}%",
        "rate_cap_short_pct"
        if app.term_months <= policy.number("short_term_months")
        else "rate_cap_long_pct",
    )
    fund = RiskFund.objects.filter(county_code=app.household.county_code).first()
    balance = fund.balance_fen if fund else 0
    leverage = policy.number("fund_leverage_max")
    lent = int(
        Loan.objects.filter(
            county_code=app.household.county_code, status__in=OPEN_STATUSES
        ).aggregate(s=Sum("outstanding_fen"))["s"]
        or 0
    )
    j.add(
        "fund_leverage",
        f"全县贷款余额不超过风险补偿金的 {leverage} 倍",
        "passed" if lent + app.amount_fen <= leverage * balance else "failed",
        f"补偿金 {yuan(balance)} 元，贷款余额加本笔 {yuan(lent + app.amount_fen)} 元",
        "fund_leverage_max",
    )
    return j
