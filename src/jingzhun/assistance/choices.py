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
