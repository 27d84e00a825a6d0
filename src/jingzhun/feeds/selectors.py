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

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from jingzhun.access.scoping import household_filter
from jingzhun.regions import codes

from .models import ALERT_KIND, Alert, FeedBatch, FeedRow, FeedSource, LinkReview

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
    day = today or timezone.localdate()
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


# --- the screening report and the battle map's alert figures (issue 22 item 6) -----------------

ALERT_FIGURES: Final = {
    "open_red_lines": "未处理红线",
    "open_warnings": "办理中预警（15 天内）",
    "due_soon": "3 天内到期",
    "overdue": "已超 15 天时限",
    "settled": "已办结或已处理",
}
SOON_DAYS: Final = 3


def region_q(code: str, prefix: str = "household__") -> Q:
    """Households (through `prefix`) in the region `code` (county, township or village)."""
    level = codes.level_of(code)
    if level == "village":
        return Q(**{f"{prefix}village_id": code})
    if level == "township":
        return Q(**{f"{prefix}township_code": code})
    if level == "county":
        return Q(**{f"{prefix}county_code": code})
    return Q(**{f"{prefix}county_code__startswith": codes.prefix(code)})


def _settled_q() -> Q:
    return Q(status__in=["removed", "explained", "already_monitored"]) | Q(
        case__closed_on__isnull=False
    )


def _due_before_q(day: datetime.date) -> Q:
    """The alert's deadline (its case's due date, else raised + 15 days) is before `day`."""
    with_due = Q(case__isnull=False, case__due_on__isnull=False)
    return (with_due & Q(case__due_on__lt=day)) | (
        ~with_due & Q(raised_on__lt=day - datetime.timedelta(days=DEADLINE_DAYS))
    )


def alert_figure_q(figure: str, today: datetime.date) -> Q:
    """The condition of one figure of ALERT_FIGURES (the count and its list use the same)."""
    settled = _settled_q()
    if figure == "settled":
        return settled
    if figure == "open_red_lines":
        return Q(kind="red_line", status="open")
    if figure == "overdue":
        return ~settled & _due_before_q(today)
    if figure == "due_soon":
        soon = today + datetime.timedelta(days=SOON_DAYS + 1)
        return ~settled & ~_due_before_q(today) & _due_before_q(soon)
    if figure == "open_warnings":
        return Q(kind="warning") & ~settled & ~_due_before_q(today)
    raise KeyError(figure)


def alert_figures(
    user: Any, region: str | None = None, today: datetime.date | None = None
) -> dict[str, int]:
    """Each figure of ALERT_FIGURES for the user's alerts (in `region` when given), counted in
    one aggregate."""
    day = today or timezone.localdate()
    found = alerts_for(user)
    if region:
        found = found.filter(region_q(region))
    return found.aggregate(
        **{key: Count("pk", filter=alert_figure_q(key, day)) for key in ALERT_FIGURES}
    )


@dataclass(frozen=True)
class ScreeningReport:
    since: datetime.date
    by_rule_village: list[dict[str, Any]]  # rule, title, kind, village, village_name, n
    rows_by_source: list[dict[str, Any]]  # source code/name, batch, status counts
    review_queue: int
    figures: dict[str, int]


def screening_report(
    user: Any, since: datetime.date, today: datetime.date | None = None
) -> ScreeningReport:
    """New alerts by rule and village since `since`, matched and unmatched roster rows per
    source and batch, the review queue's size and the alert figures, all within the user's
    scope."""
    new = (
        alerts_for(user)
        .filter(raised_on__gte=since)
        .values("rule", "title", "kind", "household__village_id", "household__village__name")
        .annotate(n=Count("pk"))
        .order_by("rule", "household__village_id")
    )
    by_rule_village = [
        {
            "rule": r["rule"],
            "title": r["title"],
            "kind": r["kind"],
            "kind_label": ALERT_KIND.get(r["kind"], r["kind"]),
            "village": r["household__village_id"],
            "village_name": r["household__village__name"],
            "n": r["n"],
        }
        for r in new
    ]
    counted = (
        rows_for(user)
        .values("batch_id", "batch__source__code", "batch__source__name", "status")
        .annotate(n=Count("pk"))
        .order_by("batch__source__code", "-batch_id")
    )
    per_batch: dict[int, dict[str, Any]] = {}
    for r in counted:
        entry = per_batch.setdefault(
            r["batch_id"],
            {
                "batch": r["batch_id"],
                "source": r["batch__source__code"],
                "name": r["batch__source__name"],
                **{status: 0 for status in ("matched", "unmatched", "invalid", "review")},
            },
        )
        entry[r["status"]] = r["n"]
    return ScreeningReport(
        since=since,
        by_rule_village=by_rule_village,
        rows_by_source=list(per_batch.values()),
        review_queue=reviews_for(user).count(),
        figures=alert_figures(user, today=today),
    )
