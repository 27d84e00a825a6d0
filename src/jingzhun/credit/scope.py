"""Who sees which loans (built on `access.scoping`).

Loans belong to households: county, township and village staff see the loans of their region's
households, auditors their county's, helpers those of their paired households, work-team members
their village's (all read-only but county and township staff). The risk-compensation fund and the
bank statements are the county's (county staff; auditors read). Out of scope is `OutOfScope`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from jingzhun.access.scoping import granted_codes, scope_by_household
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .choices import FUND_READERS, LOAN_READERS

NOT_FOUND = "未找到该笔贷款，或您无权访问。"


def reads_loans(user: Any) -> bool:
    return bool(getattr(user, "is_active", False)) and getattr(user, "role", "") in LOAN_READERS


def scope_loans(user: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
    if not reads_loans(user):
        return qs.none()
    return scope_by_household(user, qs)


def counties_of(user: Any) -> list[str]:
    """The counties whose fund and statements the user reads (county staff and auditors)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if user.role not in FUND_READERS:
        return []
    return [c for c in granted_codes(user) if codes.level_of(c) == "county"]


def check_county(user: Any, county_code: str) -> None:
    if county_code not in counties_of(user):
        raise OutOfScope("未找到该县的小额信贷台账，或您无权访问。")
