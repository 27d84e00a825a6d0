"""Scoped reads of cases, postings and rounds, and the inbox of a user's role.

A case is visible exactly when its household is (access.scoping); a round when its county is
within, or contains, one of the user's granted regions.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from jingzhun.access.scoping import granted_codes, household_filter
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from .models import Case, Evidence, Posting, Round
from .transitions import FLOWS, FORWARD, KINDS


def cases_for(user: Any) -> QuerySet[Case]:
    qs = Case.objects.filter(household_filter(user, prefix="household__"))
    if getattr(user, "role", "") == "helper":
        qs = qs.distinct()
    return qs.select_related("household", "household__village", "submitted_by", "round")


def case_for(user: Any, case_id: int) -> Case:
    case = cases_for(user).filter(pk=case_id).first()
    if case is None:
        raise OutOfScope("未找到该案件，或您无权访问。")
    return case


def evidence_for(user: Any, evidence_id: int) -> Evidence:
    item = (
        Evidence.objects.filter(pk=evidence_id, case__in=cases_for(user).values("pk"))
        .select_related("case")
        .first()
    )
    if item is None:
        raise OutOfScope("未找到该材料，或您无权访问。")
    return item


def postings_for(user: Any) -> QuerySet[Posting]:
    return (
        Posting.objects.filter(case__in=cases_for(user).values("pk"))
        .select_related("case", "case__household", "case__household__village")
        .order_by("-start", "-id")
    )


def rounds_for(user: Any) -> QuerySet[Round]:
    q = Q(pk__in=[])
    for code in granted_codes(user):
        county = codes.county_of(code) if codes.level_of(code) != "province" else None
        if county:
            q |= Q(county_id=county)
        else:
            q |= Q(county_id__startswith=codes.prefix(code))
    return Round.objects.filter(q).select_related("county")


def round_for(user: Any, round_id: int) -> Round:
    found = rounds_for(user).filter(pk=round_id).first()
    if found is None:
        raise OutOfScope("未找到该批次，或您无权访问。")
    return found


def _todo_filter(user: Any) -> Q:
    """Open cases the user's role can move forward now (not those they submitted, where the move
    needs a second person)."""
    role = getattr(user, "role", "")
    q = Q(pk__in=[])
    for kind, flow in FLOWS.items():
        for move in flow.moves:
            if move.sort != FORWARD or role not in move.roles:
                continue
            here = Q(kind=kind, state__in=move.sources)
            if move.second_person:
                here &= ~Q(submitted_by=user)
            q |= here
    return q


@dataclass
class Inbox:
    """A user's cases: to do (their move), waiting on others, overdue (past the deadline)."""

    todo: list[Case] = field(default_factory=list)
    waiting: list[Case] = field(default_factory=list)
    overdue: list[Case] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def inbox(user: Any, *, today: datetime.date, limit: int = 200) -> Inbox:
    open_cases = cases_for(user).filter(closed_on__isnull=True)
    todo = open_cases.filter(_todo_filter(user))
    waiting = open_cases.exclude(pk__in=todo.values("pk"))
    overdue = open_cases.filter(due_on__lt=today)
    order = ("due_on", "opened_on", "id")
    return Inbox(
        todo=list(todo.order_by(*order)[:limit]),
        waiting=list(waiting.order_by(*order)[:limit]),
        overdue=list(overdue.order_by(*order)[:limit]),
        counts={"todo": todo.count(), "waiting": waiting.count(), "overdue": overdue.count()},
    )


@dataclass
class RoundCounts:
    """Cases of a round per kind and state, in table order: (kind, label, states, kind total)."""

    rows: list[tuple[str, str, list[tuple[str, str, int]], int]]
    total: int
    open: int
    overdue: int


def round_counts(user: Any, round_: Round, *, today: datetime.date) -> RoundCounts:
    cases = cases_for(user).filter(round=round_)
    counts = Counter(cases.values_list("kind", "state"))
    rows = []
    for kind, flow in FLOWS.items():
        states = [
            (state, label, counts.get((kind, state), 0)) for state, label in flow.states.items()
        ]
        rows.append((kind, KINDS[kind], states, sum(n for _s, _l, n in states)))
    return RoundCounts(
        rows=rows,
        total=sum(counts.values()),
        open=cases.filter(closed_on__isnull=True).count(),
        overdue=cases.filter(closed_on__isnull=True, due_on__lt=today).count(),
    )
