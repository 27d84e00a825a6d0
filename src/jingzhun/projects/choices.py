"""Code tables of the project bank and the fund ledger (issue 23 items 1-2; domain.md 6)."""

from __future__ import annotations

from typing import Final

PROJECT_KINDS: Final = {
    "industry": "产业发展",
    "infrastructure": "基础设施",
    "employment": "就业帮扶",
    "education": "教育",
    "health": "健康",
    "housing": "住房安全",
    "relocation": "易地搬迁后续扶持",
    "water": "饮水安全",
    "other": "其他",
}

# Where the money comes from (domain.md 6, issue 23 item 2).
SOURCE_KINDS: Final = {
    "central": "中央财政衔接资金",
    "provincial": "省级财政资金",
    "city": "市级财政资金",
    "county": "县级财政资金",
    "integrated": "统筹整合涉农资金",
    "east_west": "东西部协作资金",
    "designated": "定点帮扶资金",
    "donation": "社会捐赠资金",
}

# How a household benefits from a project (联农带农).
BENEFIT_KINDS: Final = {
    "wages": "务工工资",
    "dividend": "入股分红",
    "purchase": "产品收购",
    "land_rent": "土地流转租金",
    "subsidy": "到户补助",
    "other": "其他",
}
# The household's group when it was linked: registered (建档立卡), monitored or ordinary.
BENEFIT_GROUPS: Final = {
    "registered": "脱贫户（建档立卡户）",
    "monitored": "监测对象",
    "ordinary": "一般农户",
}

# Ledger accounts: `receipts` is the other side of money received from above (its balance is
# minus what came in); `source` the unallocated money of one fund source; `project` the money
# of one fund source allocated to one project and not yet paid; `spent` what was paid out.
ACCOUNT_KINDS: Final = {
    "receipts": "资金拨入",
    "source": "资金来源（未分配）",
    "project": "项目资金（已下达未支付）",
    "spent": "已支付",
}
POSTING_KINDS: Final = {
    "receipt": "资金到账",
    "allocation": "资金下达到项目",
    "disbursement": "资金支付",
    "reversal": "冲正",
}
POSTING_SIDES: Final = {
    # kind: (credit account kind = money from, debit account kind = money to)
    "receipt": ("receipts", "source"),
    "allocation": ("source", "project"),
    "disbursement": ("project", "spent"),
}

POSTING_TYPES: Final = {"plan": "项目计划公告", "result": "项目实施结果公告"}
MIN_POSTING_DAYS: Final = 10  # postings of funds and projects last at least 10 days (domain.md 6)

# Roles: who reads and who writes.
PROJECT_READERS: Final = frozenset({"county", "township", "village", "auditor"})
PROJECT_PROPOSERS: Final = frozenset({"county", "township", "village"})
FUND_READERS: Final = frozenset({"county", "township", "auditor"})
FUND_WRITERS: Final = frozenset({"county"})  # receipts, allocations, reversals, imports
DISBURSERS: Final = frozenset({"county", "township"})  # township: its own township's projects
