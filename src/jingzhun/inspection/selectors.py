"""Scoped reads of inspections and problems: a problem is visible to the accounts whose region
grants contain its region (county, township, village staff, auditors, work teams); an inspection
to those who see its region or one of its problems. Helpers, liaisons, verification teams and
the administrators see none."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from jingzhun.access.scoping import granted_codes
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .choices import OPEN, RUNNING
from .models import Accountability, Escalation, Inspection, Problem, Rectification


def _region_q(user: Any, field: str) -> Q:
    q = Q(pk__in=[])
    for code in granted_codes(user):
        q |= Q(**{f"{field}__startswith": codes.prefix(code)})
    return q


def problems_for(user: Any) -> QuerySet[Problem]:
    return Problem.objects.filter(_region_q(user, "region__code")).select_related(
        "inspection", "region", "household"
    )


def inspections_for(user: Any) -> QuerySet[Inspection]:
    visible = problems_for(user).values("inspection_id")
    return (
        Inspection.objects.filter(_region_q(user, "region__code") | Q(pk__in=visible))
        .select_related("region")
        .annotate(
            # only the problems the user sees: another township's count is not theirs to know
            problem_count=Count(
                "problems", filter=_region_q(user, "problems__region__code"), distinct=True
            ),
        )
        .order_by("-started_on", "-pk")
    )


def inspection_for(user: Any, inspection_id: int) -> Inspection:
    found = inspections_for(user).filter(pk=inspection_id).first()
    if found is None:
        raise OutOfScope("未找到该督查，或您无权访问。")
    return found


def problem_for(user: Any, problem_id: int) -> Problem:
    found = problems_for(user).filter(pk=problem_id).first()
    if found is None:
        raise OutOfScope("未找到该问题，或您无权访问。")
    return found


def overdue_q(on: datetime.date) -> Q:
    """Problems whose deadline has passed while they are still being rectified."""
    return Q(status__in=RUNNING, deadline__lt=on)


def problem_list(
    user: Any,
    *,
    status: str = "",
    overdue_on: datetime.date | None = None,
    listed: bool = False,
    inspection_id: int | None = None,
) -> QuerySet[Problem]:
    found = problems_for(user)
    if status:
        found = found.filter(status=status)
    if overdue_on is not None:
        found = found.filter(overdue_q(overdue_on))
    if listed:
        found = found.filter(escalations__gt=0)
    if inspection_id is not None:
        found = found.filter(inspection_id=inspection_id)
    return found.order_by("deadline", "pk")


def problem_history(problem: Problem) -> dict[str, Any]:
    """A visible problem's rectifications (with evidence and verifications), escalations and
    accountability records."""
    rectifications = list(
        Rectification.objects.filter(problem=problem)
        .select_related("submitted_by")
        .prefetch_related("evidence", "verifications__verified_by")
        .order_by("submitted_at", "pk")
    )
    return {
        "rectifications": rectifications,
        "escalations": list(
            Escalation.objects.filter(problem=problem).order_by("escalated_on", "pk")
        ),
        "accountabilities": list(
            Accountability.objects.filter(problems=problem).order_by("decided_on", "pk")
        ),
    }


def evidence_for(user: Any, evidence_id: int) -> Any:
    from .models import RectificationEvidence

    found = (
        RectificationEvidence.objects.filter(pk=evidence_id)
        .select_related("rectification__problem")
        .first()
    )
    if found is None or not problems_for(user).filter(pk=found.rectification.problem_id).exists():
        raise OutOfScope("未找到该文件，或您无权访问。")
    return found


def counts(user: Any, on: datetime.date) -> dict[str, int]:
    """Open, overdue, listed (挂牌督办) and closed problems in the user's scope, in one query."""
    found = problems_for(user).aggregate(
        open=Count("pk", filter=~Q(status="closed")),
        overdue=Count("pk", filter=overdue_q(on)),
        listed=Count("pk", filter=Q(escalations__gt=0) & ~Q(status="closed")),
        closed=Count("pk", filter=Q(status="closed")),
    )
    return {k: int(v or 0) for k, v in found.items()}


__all__ = [
    "OPEN",
    "counts",
    "evidence_for",
    "inspection_for",
    "inspections_for",
    "overdue_q",
    "problem_for",
    "problem_history",
    "problem_list",
    "problems_for",
]
