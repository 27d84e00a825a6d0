"""Scoped reads of tickets: a ticket is visible to the accounts whose region grants contain its
region (county, township, village staff, auditors, work teams). Helpers, liaisons,
verification teams and the administrators see none."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .choices import AGE_BANDS, CLOSED, OPEN
from .models import Ticket, TicketEscalation

READERS = frozenset({"county", "township", "village", "auditor", "workteam"})


def region_q(user: Any, field: str) -> Q:
    """Rows whose `field` (a region code) lies in one of the user's granted regions; nothing
    for roles that read no region lists."""
    q = Q(pk__in=[])
    if getattr(user, "role", "") not in READERS:
        return q
    for code in granted_codes(user):
        q |= Q(**{f"{field}__startswith": codes.prefix(code)})
    return q


def tickets_for(user: Any) -> QuerySet[Ticket]:
    return Ticket.objects.filter(region_q(user, "region__code")).select_related(
        "region", "household", "routed_to"
    )


def ticket_for(user: Any, ticket_id: int) -> Ticket:
    found = tickets_for(user).filter(pk=ticket_id).first()
    if found is None:
        raise OutOfScope("未找到该工单，或您无权访问。")
    return found


def overdue_q(on: datetime.date) -> Q:
    """Tickets not yet replied to after their deadline."""
    return Q(status=OPEN, deadline__lt=on)


def age_band_q(band: str, on: datetime.date, field: str) -> Q:
    """Rows whose date `field` (received or found) lies in an age band as of `on`."""
    day = datetime.timedelta(days=1)
    bounds = {"d0_7": (0, 7), "d8_30": (8, 30), "d31_90": (31, 90), "d90": (91, None)}
    if band not in bounds:
        raise OutOfScope("未知的时段。")
    low, high = bounds[band]
    q = Q(**{f"{field}__lte": on - low * day})
    if high is not None:
        q &= Q(**{f"{field}__gte": on - high * day})
    return q


def ticket_list(
    user: Any,
    *,
    status: str = "",
    overdue_on: datetime.date | None = None,
    band: str = "",
    unit: str | None = None,
    region: str = "",
    on: datetime.date | None = None,
) -> QuerySet[Ticket]:
    found = tickets_for(user)
    if region:
        found = found.filter(region__code__startswith=codes.prefix(region))
    if status == "unclosed":
        found = found.exclude(status=CLOSED)
    elif status:
        found = found.filter(status=status)
    if overdue_on is not None:
        found = found.filter(overdue_q(overdue_on))
    if band and on is not None:
        found = found.exclude(status=CLOSED).filter(age_band_q(band, on, "received_on"))
    if unit is not None:
        found = found.exclude(status=CLOSED).filter(routed_unit=unit)
    return found.order_by("status", "deadline", "pk")


def counts(user: Any, on: datetime.date, region: str = "") -> dict[str, int]:
    found = tickets_for(user)
    if region:
        found = found.filter(region__code__startswith=codes.prefix(region))
    counted = found.aggregate(
        unclosed=Count("pk", filter=~Q(status=CLOSED)),
        overdue=Count("pk", filter=overdue_q(on)),
        repeated=Count("pk", filter=Q(repeat_of__isnull=False) & ~Q(status=CLOSED)),
        closed=Count("pk", filter=Q(status=CLOSED)),
        **{
            band: Count("pk", filter=~Q(status=CLOSED) & age_band_q(band, on, "received_on"))
            for band in AGE_BANDS
        },
    )
    return {k: int(v or 0) for k, v in counted.items()}


def by_unit(user: Any, region: str = "") -> list[dict[str, Any]]:
    """Open tickets per routed unit ("" = not yet routed), most first."""
    found = tickets_for(user).exclude(status=CLOSED)
    if region:
        found = found.filter(region__code__startswith=codes.prefix(region))
    rows = found.order_by().values("routed_unit").annotate(n=Count("pk"))
    return [dict(row) for row in rows.order_by("-n", "routed_unit")]


def escalations_of(ticket: Ticket) -> list[TicketEscalation]:
    return list(TicketEscalation.objects.filter(ticket=ticket))
