"""The one place that decides which households and regions an account may see.

Every selector (pages, API, exports, statistics) filters through these functions; a write
re-checks with `check_household_in_scope` inside its transaction.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .models import HOUSEHOLD_GRANT_ROLES, REGION_ROLES

PER_HOUSEHOLD_ROLES = frozenset({"helper"}) | HOUSEHOLD_GRANT_ROLES


def granted_codes(user: Any) -> list[str]:
    """Codes of the regions granted to the user (empty for helpers and administrators)."""
    if not getattr(user, "is_authenticated", False) or user.role not in REGION_ROLES:
        return []
    cached = getattr(user, "_granted_codes", None)
    if cached is None:
        cached = sorted(user.grants.values_list("region_id", flat=True))
        user._granted_codes = cached
    return list(cached)


def household_filter(user: Any, *, prefix: str = "") -> Q:
    """A Q over Household that admits exactly the user's households; matches nothing when none."""
    nothing = Q(pk__in=[])
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return nothing
    if user.role == "helper":
        today = timezone.localdate()
        return Q(
            **{
                f"{prefix}pairings__helper": user,
                f"{prefix}pairings__start_date__lte": today,
            }
        ) & (
            Q(**{f"{prefix}pairings__end_date__isnull": True})
            | Q(**{f"{prefix}pairings__end_date__gte": today})
        )
    if user.role in HOUSEHOLD_GRANT_ROLES:
        # A liaison or a verification team member: only the households given to them, one by one.
        today = timezone.localdate()
        return Q(**{f"{prefix}household_grants__user": user}) & (
            Q(**{f"{prefix}household_grants__end_date__isnull": True})
            | Q(**{f"{prefix}household_grants__end_date__gte": today})
        )
    q = nothing
    for code in granted_codes(user):
        level = codes.level_of(code)
        if level == "county":
            q |= Q(**{f"{prefix}county_code": code})
        elif level == "township":
            q |= Q(**{f"{prefix}township_code": code})
        elif level == "village":
            q |= Q(**{f"{prefix}village_id": code})
        else:  # province or prefecture: all counties below (a foreign key has no startswith)
            q |= Q(**{f"{prefix}county_code__startswith": codes.prefix(code)})
    return q


def village_prefixes(user: Any) -> list[str] | None:
    """For set-based reads (DuckDB): the village-code prefixes of the user's scope.

    None means the whole registry (no user: a command run by the operator of the server); an
    empty list means nothing. Helpers see single households, not regions, so they get nothing.
    """
    if user is None:
        return None
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return [codes.prefix(code) for code in granted_codes(user)]


def sees_single_households(user: Any) -> bool:
    """Helpers, liaisons and verification teams see households one by one, not regions."""
    return getattr(user, "role", "") in PER_HOUSEHOLD_ROLES


def scope_households(user: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
    """Restrict a Household queryset to the user's scope."""
    filtered = qs.filter(household_filter(user))
    return filtered.distinct() if sees_single_households(user) else filtered


def scope_by_household(user: Any, qs: QuerySet[Any], *, via: str = "household") -> QuerySet[Any]:
    """Restrict rows that belong to a household (the foreign key `via`) to the user's live
    households. Region roles: a join on the household's region codes, which the planner serves
    from the household's indexes (`household_id IN (subquery)` over a county's households planned
    badly: 200 ms for one household's measures, issue 26). Helpers, liaisons and verifiers: a
    subquery of their few households (a join through pairings or grants could repeat rows)."""
    if sees_single_households(user) or not getattr(user, "is_authenticated", False):
        household_model = qs.model._meta.get_field(via).related_model
        households = scope_households(user, household_model.objects.all())
        return qs.filter(**{f"{via}__in": households.order_by().values("pk")})
    return qs.filter(
        household_filter(user, prefix=f"{via}__"), **{f"{via}__deleted_at__isnull": True}
    )


def region_filter(user: Any) -> Q:
    """A Q over Region admitting the user's granted subtrees and the ancestors they need for context."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    q = Q(pk__in=[])
    for code in granted_codes(user):
        q |= Q(code__startswith=codes.prefix(code))
    return q


def can_see_region(user: Any, code: str) -> bool:
    return any(code.startswith(codes.prefix(granted)) for granted in granted_codes(user))


def check_household_in_scope(user: Any, household: Any) -> None:
    """Raise OutOfScope unless the user may touch this household (re-check inside writes)."""
    model = type(household)
    if not scope_households(user, model.all_objects.filter(pk=household.pk)).exists():
        raise OutOfScope("未找到该户，或您无权访问。")


def check_region_in_scope(user: Any, code: str) -> None:
    if not can_see_region(user, code):
        raise OutOfScope("未找到该区划，或您无权访问。")
