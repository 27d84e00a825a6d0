"""The inbox sorts open cases in Python (selectors.inbox, issue 26): it must select exactly what
the plain query rule (`_todo_filter`) selects, for every role, kind, state, submitter and
deadline, and keep the deadline order."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from conftest import TOWNSHIPS, VILLAGES, make_id

from jingzhun.workflows.models import Case
from jingzhun.workflows.selectors import INBOX_TABS, _todo_filter, cases_for, inbox
from jingzhun.workflows.transitions import FLOWS

from .conftest import VILLAGE

pytestmark = pytest.mark.django_db
ROLES = ("village", "township", "county", "auditor", "helper")


def _every_kind_and_state(world: Any) -> None:
    """Cases in every state of every flow (twice: two submitters, a past, future or no
    deadline, a few closed), each on its own household (one open case a household and kind),
    in the village user's village and another township's: written directly, as the rule reads
    only these fields."""
    from jingzhun.registry.actions import do_create_household

    today = datetime.date(2026, 12, 7)
    submitters = [world.user(r) for r in ("village", "township", "county")]
    dues = [None, today - datetime.timedelta(days=3), today + datetime.timedelta(days=3)]
    villages = [VILLAGE, VILLAGES[TOWNSHIPS[1]][0]]
    cases = []
    n = 0
    for kind, flow in FLOWS.items():
        for state, copy in itertools.product(flow.states, (0, 1)):
            n += 1
            household = do_create_household(
                f"IB{n}",
                villages[n % 2 if copy else 0],
                {"poverty_status": "exited_with_policy", "identified_year": 2014},
                [
                    {
                        "id_number": make_id("230231", "19800101", 500 + n),
                        "name": f"户主{n}",
                        "relation": "head",
                    }
                ],
                actor=None,
            )
            cases.append(
                Case(
                    kind=kind,
                    state=state,
                    household=household,
                    year=2026,
                    submitted_by=submitters[(n + copy) % 3],
                    opened_on=today - datetime.timedelta(days=n % 11),
                    due_on=dues[n % 3],
                    closed_on=today if n % 9 == 0 else None,
                )
            )
    Case.objects.bulk_create(cases)


@pytest.mark.parametrize("role", ROLES)
def test_the_inbox_selects_what_the_query_rule_selects(world: Any, role: str) -> None:
    _every_kind_and_state(world)
    user = world.user(role)
    today = datetime.date(2026, 12, 7)
    open_cases = cases_for(user).filter(closed_on__isnull=True)
    order = ("due_on", "opened_on", "id")
    todo = open_cases.filter(_todo_filter(user))
    expected = {
        "todo": list(todo.order_by(*order).values_list("pk", flat=True)),
        "waiting": list(
            open_cases.exclude(pk__in=todo.values("pk"))
            .order_by(*order)
            .values_list("pk", flat=True)
        ),
        "overdue": list(
            open_cases.filter(due_on__lt=today).order_by(*order).values_list("pk", flat=True)
        ),
    }
    if role in ("village", "township", "county"):
        assert expected["todo"] and expected["waiting"] and expected["overdue"]
    box = inbox(user, today=today)
    for tab in INBOX_TABS:
        assert [c.pk for c in getattr(box, tab)] == expected[tab], tab
        assert box.counts[tab] == len(expected[tab]), tab
    # a limit cuts each list, not the counts; only the asked tabs are filled
    cut = inbox(user, today=today, limit=5, tabs=("waiting",))
    assert [c.pk for c in cut.waiting] == expected["waiting"][:5]
    assert cut.todo == [] and cut.overdue == []
    assert cut.counts == box.counts
