"""Two approvers acting at once on real PostgreSQL connections produce exactly one decision.

Each thread holds its own database connection and transaction; both read the same case version,
wait at a barrier, then approve. The row lock (select_for_update) makes the second wait for the
first to commit; it then sees the new version and is refused with StaleVersion (HTTP 409).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import StaleVersion
from jingzhun.workflows.actions import (
    CaseDetails,
    do_move_case,
    do_open_case,
    do_tick_checklist_item,
)
from jingzhun.workflows.models import Case, Step
from jingzhun.workflows.transitions import FLOWS

from .conftest import walk

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="real concurrent connections need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def _race(work: Any, actors: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(actors))
    results: list[Any] = [None] * len(actors)

    def run(i: int, actor: Any) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(actor)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_county_approvers_at_once_make_one_decision(
    world: Any, applicant: Any, second_county: Any
) -> None:
    actors = {r: world.user(r) for r in ("village", "township", "county")}
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    path = FLOWS["identification"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    # tick the checklist now, so both approvers start from the same version
    case = Case.objects.get(pk=case.pk)
    for item in FLOWS["identification"].move("approve").checklist:  # type: ignore[union-attr]
        case = do_tick_checklist_item(case.pk, item, "已核实", case.version, actor=actors["county"])
    version = case.version
    events_before = AuditEvent.objects.filter(event="workflows.case.approve").count()

    results = _race(
        lambda actor: do_move_case(case.pk, "approve", version, actor=actor),
        [actors["county"], second_county],
    )

    wins = [r for r in results if isinstance(r, Case)]
    stale = [r for r in results if isinstance(r, StaleVersion)]
    assert len(wins) == 1 and len(stale) == 1, results
    case = Case.objects.get(pk=case.pk)
    assert case.state == "approved" and case.version == version + 1
    assert Step.objects.filter(case=case, move="approve").count() == 1
    approve_events = AuditEvent.objects.filter(event="workflows.case.approve").count()
    assert approve_events == events_before + 1


def test_two_checklist_edits_from_one_version_keep_one(world: Any, applicant: Any) -> None:
    village = world.user("village")
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=village)
    version = case.version
    results = _race(
        lambda item: do_tick_checklist_item(case.pk, item, "核实", version, actor=village),
        ["corroborate_neighbours", "corroborate_archive"],
    )
    assert sum(isinstance(r, Case) for r in results) == 1
    assert sum(isinstance(r, StaleVersion) for r in results) == 1
    case = Case.objects.get(pk=case.pk)
    assert len(case.checklist) == 1 and case.version == version + 1
