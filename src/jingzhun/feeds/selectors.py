"""Scoped reads of the feeds app: the register, batches, roster rows and alerts.

- Alerts follow the household's scope (`access.scoping.household_filter`): a township sees only
  its households' alerts; liaisons and verifiers see none (they see households one by one).
- Roster rows: a liaison sees the rows of the feeds they answer for, nothing else; county staff
  see the matched rows of their households and the unmatched and invalid rows (no household).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Final

from django.db.models import Q, QuerySet

from jingzhun.access.scoping import household_filter

from .models import Alert, FeedBatch, FeedRow, FeedSource, LinkReview

DEADLINE_DAYS: Final = 15  # domain.md 3.6: first clue to entry within 15 days
ALERT_READERS: Final = frozenset({"county", "township", "village", "auditor"})


def sources_for(user: Any) -> QuerySet[FeedSource]:
    if user.role == "liaison":
        return FeedSource.objects.filter(liaison=user)
    if user.role in ("county", "auditor"):
        return FeedSource.objects.all()
    return FeedSource.objects.none()


def batches_for(user: Any) -> QuerySet[FeedBatch]:
    if user.role == "liaison":
        return FeedBatch.objects.filter(source__liaison=user).select_related("source")
    if user.role in ("county", "auditor"):
        return FeedBatch.objects.select_related("source")
    return FeedBatch.objects.none()


def batch_for(user: Any, batch_id: int) -> FeedBatch | None:
    return batches_for(user).filter(pk=batch_id).first()


def rows_for(user: Any, batch: FeedBatch | None = None) -> QuerySet[FeedRow]:
    """Roster rows the user may see (of one batch when given)."""
    rows = FeedRow.objects.select_related("batch__source", "household")
    if batch is not None:
        rows = rows.filter(batch=batch)
    if user.role == "liaison":
        return rows.filter(batch__source__liaison=user)
    if user.role in ("county", "auditor"):
        in_scope = household_filter(user, prefix="household__")
        return rows.filter(in_scope | Q(household__isnull=True))
    return rows.none()


def alerts_for(user: Any) -> QuerySet[Alert]:
    if user.role not in ALERT_READERS:
        return Alert.objects.none()
    return Alert.objects.filter(household_filter(user, prefix="household__")).select_related(
        "household", "case"
    )


def alert_for(user: Any, alert_id: int) -> Alert | None:
    return alerts_for(user).filter(pk=alert_id).first()


@dataclass(frozen=True)
class AlertAge:
    days: int  # since it was raised
    left: int  # days left of the 15-day limit (negative: overdue)
    overdue: bool


def age_of(alert: Alert, today: datetime.date | None = None) -> AlertAge:
    """An alert's age against the 15-day limit (the case's own due date when it has one)."""
    day = today or datetime.date.today()
    due = alert.raised_on + datetime.timedelta(days=DEADLINE_DAYS)
    if alert.case is not None and alert.case.due_on is not None:
        due = alert.case.due_on
    left = (due - day).days
    settled = alert.status in ("removed", "explained", "already_monitored") or (
        alert.case is not None and alert.case.closed_on is not None
    )
    return AlertAge((day - alert.raised_on).days, left, left < 0 and not settled)


REVIEW_READERS: Final = frozenset({"county", "township", "village", "auditor"})


def reviews_for(user: Any, status: str | None = "pending") -> QuerySet[LinkReview]:
    """Pairs of the probabilistic linker's review queue the user may see: a liaison those of
    the feeds they answer for, region staff those whose candidate household is in their region
    (a township only its own), auditors read the county's."""
    reviews = LinkReview.objects.select_related("source", "row", "member", "household__village")
    if status:
        reviews = reviews.filter(status=status)
    if user.role == "liaison":
        return reviews.filter(source__liaison=user)
    if user.role in REVIEW_READERS:
        return reviews.filter(household_filter(user, prefix="household__"))
    return reviews.none()


def review_for(user: Any, review_id: int) -> LinkReview | None:
    return reviews_for(user, status=None).filter(pk=review_id).first()
