"""Reads of stored assessments; callers pass households they already obtained through a scope."""

from __future__ import annotations

from jingzhun.registry.models import Household

from .models import Assessment


def latest_assessment(household: Household, standard: str = "household_exit") -> Assessment | None:
    """The household's most recent decision for a standard (latest year, then latest run)."""
    return (
        Assessment.objects.filter(household=household, standard=standard)
        .order_by("-year", "-created_at", "-id")
        .first()
    )
