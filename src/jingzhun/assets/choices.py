"""Code tables of project assets and their income (issue 23 item 4; domain.md 6)."""

from __future__ import annotations

from typing import Final

ASSET_KINDS: Final = {
    "solar": "光伏电站",
    "equity": "合作社（企业）股权",
    "workshop": "扶贫车间（厂房）",
    "livestock": "牲畜",
    "road": "道路桥梁",
    "water": "水利（饮水）设施",
    "greenhouse": "温室大棚",
    "other": "其他",
}
# 国办函〔2021〕51号: operating, public-welfare or household assets.
ASSET_CATEGORIES: Final = {
    "operating": "经营性资产",
    "public": "公益性资产",
    "household": "到户类资产",
}
OWNER_KINDS: Final = {"collective": "村集体", "household": "农户"}
ASSET_STATES: Final = {
    "in_use": "在用",
    "idle": "闲置",
    "damaged": "损毁",
    "disposed": "已处置",
}

# The uses of a distribution plan (差异化分配). `labour` in the rules table = public_job + works.
USES: Final = {
    "public_job": "公益岗位工资",
    "reward": "奖励补助",
    "works": "小型公益事业",
    "retention": "村集体留存",
}
# Uses a household may be paid under (a job, labour on small works, or a reward: never a
# plain hand-out); each names the household income item it becomes (domain.md 2.4: job wages
# and labour pay are wage income, rewards and subsidies transfer income, item other_transfer).
HOUSEHOLD_USES: Final = {
    "public_job": "wage_income",
    "works": "wage_income",
    "reward": "other_transfer",
}
INCOME_FIELD_LABELS: Final = {"wage_income": "工资性收入", "other_transfer": "转移性收入（其他）"}

PLAN_STATES: Final = {
    "draft": "草拟",
    "approved": "已审批",
    "posted": "已公示",
    "paid": "已支付",
}
RULES_TABLE: Final = "asset_income_rules"

# Roles: who reads and who writes.
ASSET_READERS: Final = frozenset({"county", "township", "village", "auditor"})
ASSET_WRITERS: Final = frozenset({"county", "township", "village"})  # register, income, drafts
APPROVERS: Final = frozenset({"county", "township"})  # approve, post, pay
CONFIRMERS: Final = frozenset({"county"})  # 确权
