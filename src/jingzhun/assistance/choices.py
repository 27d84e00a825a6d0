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
