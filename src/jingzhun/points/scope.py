"""Who sees which shops, balances and ratings (built on `access.scoping`).

County, township and village staff and auditors read the shops of their regions and the points
and ratings of their households; helpers, liaisons, verifiers and work-team members read none.
Out of scope is `OutOfScope` (404).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from jingzhun.access.scoping import granted_codes
from jingzhun.regions import codes

from .choices import POINTS_READERS

SHOP_NOT_FOUND = "未找到该爱心超市，或您无权访问。"
HOUSEHOLD_NOT_FOUND = "未找到该户，或您无权访问。"


def reads_points(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "role", "") in POINTS_READERS
    )


def place_filter(user: Any, *, prefix: str = "") -> Q:
    """A Q over rows with county_code/township_code/village_code (shops): the user's places.

    A township user also sees a village's shop of the township; a village user the village's
    shop and the shop of its township (the township's shop serves the village's households)."""
    nothing = Q(pk__in=[])
    if not reads_points(user):
        return nothing
    q = nothing
    for code in granted_codes(user):
        level = codes.level_of(code)
        if level == "county":
            q |= Q(**{f"{prefix}county_code": code})
        elif level == "township":
            q |= Q(**{f"{prefix}township_code": code})
        elif level == "village":
            q |= Q(**{f"{prefix}village_code": code})
            q |= Q(
                **{f"{prefix}village_code": "", f"{prefix}township_code": codes.township_of(code)}
            )
        else:
            q |= Q(**{f"{prefix}county_code__startswith": codes.prefix(code)})
    return q


def code_filter(user: Any, field: str) -> Q:
    """A Q admitting rows whose region code `field` lies in the user's regions."""
    q = Q(pk__in=[])
    if not reads_points(user):
        return q
    for code in granted_codes(user):
        q |= Q(**{f"{field}__startswith": codes.prefix(code)})
    return q
