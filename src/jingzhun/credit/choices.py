"""Code tables of the microcredit app (pure Python)."""

from __future__ import annotations

from typing import Final

LOAN_STATUS: Final = {
    "active": "正常",
    "extended": "已展期",
    "overdue": "逾期",
    "repaid": "已结清",
    "written_off": "已代偿核销",
}
OPEN_STATUSES: Final = ("active", "extended", "overdue")

# 信用等级 of the bank's rating (评级授信) and its rank (policy: min_credit_rank).
CREDIT_RATINGS: Final = {"AAA": 4, "AA": 3, "A": 2, "B": 1}

# Productive uses only (户借户用户还: no housing, marriage, consumption, no passing to a company).
PURPOSES: Final = {
    "planting": "种植业",
    "breeding": "养殖业",
    "processing": "农产品加工",
    "commerce": "商贸流通",
    "services": "乡村服务业",
    "other_production": "其他生产经营",
}

REPAYMENT_SOURCES: Final = {"manual": "手工登记", "statement": "银行对账单"}
FUND_POSTING_KINDS: Final = {"deposit": "注入补偿金", "payout": "代偿支出"}

# Who does what (AGENTS.md role rules): county and township staff write loans and repayments,
# the county keeps the risk-compensation fund and imports bank statements; village staff,
# auditors, helpers (their paired households) and work-team members read.
LOAN_WRITERS: Final = frozenset({"county", "township"})
FUND_WRITERS: Final = frozenset({"county"})
STATEMENT_WRITERS: Final = frozenset({"county"})
LOAN_READERS: Final = frozenset({"county", "township", "village", "auditor", "helper", "workteam"})
FUND_READERS: Final = frozenset({"county", "auditor"})
