"""Reads for the demo command: is there registry data already, which demo accounts exist."""

from __future__ import annotations

from jingzhun.access.models import User
from jingzhun.registry.models import Household

from .actions import DEMO_USERNAMES


def has_registry_data() -> bool:
    """True when any household (live or soft-deleted) exists: generation would refuse."""
    return Household.all_objects.exists()


def existing_demo_accounts() -> list[User]:
    return list(
        User.objects.filter(username__in=DEMO_USERNAMES)
        .prefetch_related("grants__region")
        .order_by("id")
    )
