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
    needs a second person). The same rule as `_is_todo`, as a query condition."""
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


def _todo_moves(user: Any) -> dict[tuple[str, str], bool]:
    """(kind, state) -> whether every forward move from there needs a second person: the open
    cases the user's role can move forward now, as `_todo_filter` selects them."""
    role = getattr(user, "role", "")
    moves: dict[tuple[str, str], bool] = {}
    for kind, flow in FLOWS.items():
        for move in flow.moves:
            if move.sort != FORWARD or role not in move.roles:
                continue
            for state in move.sources:
                key = (kind, state)
                moves[key] = moves.get(key, True) and move.second_person
    return moves


@dataclass
class Inbox:
    """A user's cases: to do (their move), waiting on others, overdue (past the deadline)."""

    todo: list[Case] = field(default_factory=list)
    waiting: list[Case] = field(default_factory=list)
    overdue: list[Case] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


INBOX_TABS = ("todo", "waiting", "overdue")


def inbox(
    user: Any, *, today: datetime.date, limit: int = 200, tabs: tuple[str, ...] = INBOX_TABS
) -> Inbox:
    """The user's open cases sorted into the three tabs, each in deadline order (at most `limit`
    cases a tab), with every tab's count; only the lists of `tabs` are filled.

    Two queries: the open cases' kind, state, submitter and deadline (sorted here by the flows'
    rule, `_todo_moves`), then the cases listed. The same sets as filtering by `_todo_filter`,
    without compiling that condition (one OR term per kind and move) for each list and count:
    about 20 ms of CPU a request (issue 26, B12)."""
    moves = _todo_moves(user)
    order = ("due_on", "opened_on", "id")
    open_cases = cases_for(user).filter(closed_on__isnull=True)
    rows = open_cases.order_by(*order).values_list(
        "pk", "kind", "state", "submitted_by_id", "due_on"
    )
    listed: dict[str, list[int]] = {tab: [] for tab in INBOX_TABS}
    for pk, kind, state, submitter, due_on in rows:
        second_only = moves.get((kind, state))
        todo = second_only is not None and not (second_only and submitter == user.pk)
        listed["todo" if todo else "waiting"].append(pk)
        if due_on is not None and due_on < today:
            listed["overdue"].append(pk)
    shown = {pk for tab in tabs for pk in listed[tab][:limit]}
    by_pk = {c.pk: c for c in cases_for(user).filter(pk__in=shown)} if shown else {}
    lists = {
        tab: [by_pk[pk] for pk in listed[tab][:limit]] if tab in tabs else [] for tab in INBOX_TABS
    }
    return Inbox(
        todo=lists["todo"],
        waiting=lists["waiting"],
        overdue=lists["overdue"],
        counts={tab: len(pks) for tab, pks in listed.items()},
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
