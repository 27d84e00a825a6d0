"""The points rules in effect (policies/tables/points_rules.yaml, policy kind `points_rules`).

A province's own file (jurisdiction = its 2-digit code) replaces the national one; the newest
file in effect on the day wins. Every earning and rating stores the file's version and hash.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from jingzhun.policy.schema import PointsItem, PointsRulesFile, StarCriterion
from jingzhun.policy.store import LoadedFile, PolicyError, default_store

RULES_ID = "points_rules"


@dataclass(frozen=True)
class Rules:
    file: LoadedFile
    doc: PointsRulesFile

    @property
    def version(self) -> str:
        return f"{self.doc.version}#{self.file.hash[:12]}"

    @property
    def cited(self) -> str:
        """How a refusal names the rule's file."""
        return f"{self.file.path}（版本 {self.doc.version}）"

    def item(self, code: str) -> PointsItem | None:
        return next((i for i in self.doc.items if i.code == code), None)

    def criterion(self, code: str) -> StarCriterion | None:
        return next((c for c in self.doc.star_criteria if c.code == code), None)


def rules_for(county_code: str, on: datetime.date) -> Rules:
    """The rules for a county on a day (the province's file, else the national one)."""
    files = [
        f
        for f in default_store().list_files()
        if isinstance(f.doc, PointsRulesFile) and f.doc.id == RULES_ID and f.in_effect(on)
    ]
    own = [f for f in files if f.doc.jurisdiction == county_code[:2]]
    chosen = own or [f for f in files if f.doc.jurisdiction == "national"]
    if not chosen:
        raise PolicyError(f"找不到积分规则 {RULES_ID}（{on:%Y-%m-%d} 生效）")
    found = max(chosen, key=lambda f: f.doc.effective_from)
    assert isinstance(found.doc, PointsRulesFile)
    return Rules(found, found.doc)
