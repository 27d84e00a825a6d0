"""Code tables of precise assistance (精准帮扶). Pure data, no Django.

`HELPER_KINDS` are the rank categories the quota table `policies/tables/helper_quotas.yaml` is
keyed by (`helper_kind`): a county adds a category by adding its label here and rows there.
"""

from __future__ import annotations

from typing import Final

HELPER_KINDS: Final = {
    "county_leader": "县级领导干部",
    "other_cadre": "其他干部",
}
# The two lists of households without a current helper (issue 21 item 2).
UNPAIRED_GROUPS: Final = {
    "registered": "建档立卡户",
    "monitored": "监测对象",
}
QUOTA_TABLE: Final = "helper_quotas"
# Work teams (驻村工作队, issue 21 item 1): a member's role in the team. One first secretary
# per village at a time (a partial unique constraint on the team's serving members).
TEAM_ROLES: Final = {
    "leader": "队长",
    "secretary": "第一书记",
    "member": "队员",
}
TEAM_RULES_TABLE: Final = "work_team_rules"

# Visits (走访, issue 21 item 4): the kinds of visit and the changes a helper may note.
VISIT_KINDS: Final = {
    "home": "入户走访",
    "phone": "电话回访",
    "other": "其他方式",
}
# A change seen on a visit, with the risk type of a monitoring case it may open (registry
# choices RISK_TYPE): the one-click case from a visit carries it.
VISIT_CHANGES: Final = {
    "income": "收入变化",
    "illness": "家庭成员患病",
    "schooling": "子女就学变化",
    "housing": "住房安全变化",
    "disaster": "受灾",
}
CHANGE_RISK: Final = {
    "income": "income_drop",
    "illness": "illness",
    "schooling": "schooling",
    "housing": "housing",
    "disaster": "disaster",
}
VISIT_FREQUENCY_TABLE: Final = "visit_frequency"

# Household plans and measures (issue 21 item 3). The kinds themselves are policy data
# (policies/tables/measure_kinds.yaml, assistance.catalogue); these are the workflow's states.
MEASURE_STATUS: Final = {
    "proposed": "待审批",
    "approved": "已批准",
    "in_progress": "实施中",
    "completed": "已完成",
    "cancelled": "已取消",
    "refused": "未批准",
}
OPEN_MEASURE_STATUSES: Final = frozenset({"proposed", "approved", "in_progress"})
# Who may propose a measure, and who approves it (the township; the county above it).
MEASURE_PROPOSER_ROLES: Final = frozenset({"helper", "village", "township", "county"})
MEASURE_APPROVER_ROLES: Final = frozenset({"township", "county"})
