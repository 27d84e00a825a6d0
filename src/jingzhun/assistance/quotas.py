"""Pairing quotas (帮扶责任人结对户数上限) from the policy table `helper_quotas`.

The table is keyed by county (6 digits) and helper kind; a county without a row has no quota
configured (the page says so; ADR "assist-pairing"). The quota in effect on a pairing's start
date applies, and a refusal names the rule: the row's note, the file, its version and hash.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from jingzhun.policy.store import PolicyError, default_store

from .choices import HELPER_KINDS, QUOTA_TABLE


@dataclass(frozen=True)
class Quota:
    limit: int
    county: str  # 6 digits
    kind: str
    note: str  # the row's note, e.g. 县级领导每人包扶 8 户。
    path: str  # the policy file, relative to policies/
    version: str
    file_hash: str

    @property
    def rule(self) -> str:
        """The rule as shown in a refusal: what it says and where it is written."""
        said = (
            self.note or f"{HELPER_KINDS.get(self.kind, self.kind)}每人最多结对 {self.limit} 户。"
        )
        return (
            f"{said.rstrip('。')}（策略表 {QUOTA_TABLE}，文件 {self.path}，"
            f"版本 {self.version}，内容哈希 {self.file_hash[:12]}）"
        )


def quota_for(county_code: str, kind: str, on: datetime.date) -> Quota | None:
    """The quota of a helper of `kind` in the county (6 or 12 digits) on a day; None when the
    table has no row for them or no version of the table is in effect that day."""
    county = county_code[:6]
    store = default_store()
    try:
        found = store.lookup(QUOTA_TABLE, on=on, county=county, helper_kind=kind)
        if found is None or found.value is None:
            return None
        loaded = store.table_file(QUOTA_TABLE, on)
    except PolicyError:
        return None
    if found.row.key.get("county") is None or found.row.key.get("helper_kind") is None:
        return None  # a row that does not name both keys is not a quota of this county and kind
    return Quota(
        limit=int(found.value),
        county=county,
        kind=kind,
        note=found.row.note or "",
        path=loaded.path,
        version=loaded.doc.version,
        file_hash=loaded.hash,
    )
