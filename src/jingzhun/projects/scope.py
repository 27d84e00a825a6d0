"""Who sees which projects and which parts of the ledger (built on `access.scoping`).

A project belongs to a place: the county, a township or a village. County staff and auditors
see their county's projects and its whole ledger; township staff the projects of their township
(and their accounts); village staff the projects of their village (no ledger). Helpers, liaisons,
verifiers and work-team members see none. Out of scope is `OutOfScope` (404).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .choices import FUND_READERS, PROJECT_READERS

NOT_FOUND = "未找到该项目，或您无权访问。"


def project_filter(user: Any, *, prefix: str = "") -> Q:
    """A Q over Project admitting exactly the user's projects (nothing for other roles)."""
    nothing = Q(pk__in=[])
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return nothing
    if user.role not in PROJECT_READERS:
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
        else:
            q |= Q(**{f"{prefix}county_code__startswith": codes.prefix(code)})
    return q


def counties_of(user: Any) -> list[str]:
    """The counties whose whole ledger the user reads (county staff and auditors)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if user.role not in {"county", "auditor"}:
        return []
    return [c for c in granted_codes(user) if codes.level_of(c) == "county"]


def sees_ledger(user: Any) -> bool:
    return getattr(user, "role", "") in FUND_READERS and bool(getattr(user, "is_active", False))


def check_county(user: Any, county_code: str) -> None:
    """The user reads (and, with the role, writes) this county's whole ledger."""
    if county_code not in counties_of(user):
        raise OutOfScope("未找到该县的资金账，或您无权访问。")


def check_project(user: Any, project: Any) -> None:
    from .models import Project

    if not Project.objects.filter(project_filter(user), pk=project.pk).exists():
        raise OutOfScope(NOT_FOUND)


def place_in_scope(user: Any, region_code: str) -> bool:
    """The user may propose a project at this place (a region of their grants)."""
    return any(region_code.startswith(codes.prefix(g)) for g in granted_codes(user))
