"""Inspections and rectification (issue 24 item 2): deadlines in working days, overdue problems
escalated one level at a time, verification by someone other than the submitter, closure,
accountability, scoping. Dates are fixed in 2026 (the expected deadlines are counted by hand
from the State Council's 2026 notice, 国办发明电〔2025〕7号)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World, signed_in
from django.db import IntegrityError, transaction

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.inspection import selectors as sel
from jingzhun.inspection.actions import (
    do_close_problem,
    do_escalate_overdue,
    do_record_accountability,
    do_record_inspection,
    do_record_problem,
    do_submit_rectification,
    do_verify_rectification,
)
from jingzhun.inspection.models import Escalation, Problem, Rectification, Verification

D = datetime.date
V1 = VILLAGES[TOWNSHIPS[0]][0]  # township 100's first village
V3 = VILLAGES[TOWNSHIPS[1]][0]  # township 101's first village
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _var_dir(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def inspection(world: World) -> Any:
    return do_record_inspection(
        kind="unannounced",
        title="2026 年第三季度暗访",
        region_code=COUNTY,
        organiser="县脱贫攻坚指挥部督查组",
        started_on=D(2026, 9, 21),
        actor=world.user("county"),
    )


def _problem(world: World, inspection: Any, *, village: str = V1, **kw: Any) -> Problem:
    values: dict[str, Any] = {
        "category": "assistance",
        "description": "帮扶手册记录与实际走访不符",
        "region_code": village,
        "household_id": world.households[village].pk,
        "responsible_unit": "第一镇人民政府",
        "responsible_person": "刘某",
        "found_on": D(2026, 9, 21),
        "actor": world.user("county"),
    }
    values.update(kw)
    return do_record_problem(inspection.pk, **values)


def _rectify(problem: Problem, user: Any) -> Rectification:
    return do_submit_rectification(
        problem.pk, "已补走访并更新手册", [("走访记录.pdf", PDF)], actor=user
    )


def test_default_deadline_counts_working_days_across_national_day(
    world: World, inspection: Any
) -> None:
    # found Monday 21 Sep 2026; 20 working days from the 22nd: 25 Sep (中秋) and 1-7 Oct off,
    # Saturday 10 Oct worked → Monday 26 Oct (weekdays alone would give 19 Oct)
    problem = _problem(world, inspection)
    assert problem.deadline == D(2026, 10, 26)
    assert "20 个工作日" in problem.deadline_basis and "inspection_rules" in problem.deadline_basis
    assert problem.supervisor_code == TOWNSHIPS[0]  # a village's problem: its township
    given = _problem(world, inspection, deadline=D(2026, 10, 1))
    assert given.deadline == D(2026, 10, 1) and given.deadline_basis == "督查组指定"


def test_overdue_problem_escalates_one_level_per_run(world: World, inspection: Any) -> None:
    problem = _problem(world, inspection)
    waiting = _problem(world, inspection)
    _rectify(waiting, world.user("village"))  # submitted in time: waits for its check, not overdue

    assert do_escalate_overdue(on=D(2026, 10, 26), actor=None).escalated == []  # due that day
    first = do_escalate_overdue(on=D(2026, 10, 27), actor=None)
    assert first.escalated == [problem.pk]
    problem.refresh_from_db()
    # township → county; 10 working days after Tuesday 27 Oct: Tuesday 10 Nov
    assert (problem.supervisor_code, problem.deadline, problem.escalations) == (
        COUNTY,
        D(2026, 11, 10),
        1,
    )
    assert do_escalate_overdue(on=D(2026, 10, 28), actor=None).escalated == []  # not overdue now
    do_escalate_overdue(on=D(2026, 11, 11), actor=None)
    problem.refresh_from_db()
    assert (problem.supervisor_code, problem.deadline) == ("230200000000", D(2026, 11, 25))
    do_escalate_overdue(on=D(2026, 11, 26), actor=None)
    problem.refresh_from_db()
    assert problem.supervisor_code == "230000000000" and problem.escalations == 3
    top = do_escalate_overdue(on=D(2026, 12, 11), actor=None)
    assert top.escalated == [] and top.at_top == [problem.pk]
    rows = list(Escalation.objects.filter(problem=problem).order_by("pk"))
    assert [(e.from_code, e.to_code) for e in rows] == [
        (TOWNSHIPS[0], COUNTY),
        (COUNTY, "230200000000"),
        ("230200000000", "230000000000"),
    ]
    assert rows[0].old_deadline == D(2026, 10, 26)
    waiting.refresh_from_db()
    assert waiting.escalations == 0 and waiting.supervisor_code == TOWNSHIPS[0]
    assert sel.problem_list(world.user("county"), listed=True).count() == 1


def test_escalated_problem_is_verified_and_closed_by_the_level_above(
    world: World, inspection: Any
) -> None:
    problem = _problem(world, inspection)
    do_escalate_overdue(on=D(2026, 10, 27), actor=None)  # now the county's
    _rectify(problem, world.user("village"))
    with pytest.raises(Forbidden, match="督办"):
        do_verify_rectification(problem.pk, True, "已核实", actor=world.user("township"))
    do_verify_rectification(problem.pk, True, "已核实", actor=world.user("county"))
    with pytest.raises(Forbidden):
        do_close_problem(problem.pk, actor=world.user("township"))
    closed = do_close_problem(problem.pk, actor=world.user("county"))
    assert closed.status == "closed" and closed.closed_on is not None


def test_a_year_the_calendar_lacks_leaves_the_problem_and_says_why(
    world: World, inspection: Any
) -> None:
    problem = _problem(world, inspection, deadline=D(2026, 12, 1))
    result = do_escalate_overdue(on=D(2026, 12, 20), actor=None)
    assert result.escalated == [] and "2027" in result.refused[problem.pk]
    problem.refresh_from_db()
    assert problem.escalations == 0 and problem.supervisor_code == TOWNSHIPS[0]
    assert not Escalation.objects.exists()


def test_the_submitter_may_not_verify(world: World, inspection: Any) -> None:
    problem = _problem(world, inspection)
    _rectify(problem, world.user("township"))
    events = AuditEvent.objects.count()
    with pytest.raises(Forbidden, match="提交人"):
        do_verify_rectification(problem.pk, True, "已整改", actor=world.user("township"))
    assert not Verification.objects.exists() and AuditEvent.objects.count() == events
    problem.refresh_from_db()
    assert problem.status == "submitted"
    # and the database refuses such a row too
    rect = Rectification.objects.get(problem=problem)
    with pytest.raises(IntegrityError), transaction.atomic():
        Verification.objects.create(
            rectification=rect,
            passed=True,
            note="x",
            verified_by=world.user("township"),
            submitted_by=world.user("township"),
        )


def test_failed_verification_returns_it_then_another_round_closes_it(
    world: World, inspection: Any
) -> None:
    problem = _problem(world, inspection)
    _rectify(problem, world.user("village"))
    do_verify_rectification(problem.pk, False, "手册仍缺 8 月记录", actor=world.user("township"))
    problem.refresh_from_db()
    assert problem.status == "open"
    with pytest.raises(DomainError, match="核验通过后"):
        do_close_problem(problem.pk, actor=world.user("township"))
    _rectify(problem, world.user("village"))
    do_verify_rectification(problem.pk, True, "已补齐", actor=world.user("township"))
    do_close_problem(problem.pk, actor=world.user("township"))
    problem.refresh_from_db()
    assert problem.status == "closed"
    assert Verification.objects.filter(rectification__problem=problem).count() == 2


def test_stale_version_refused(world: World, inspection: Any) -> None:
    problem = _problem(world, inspection)
    with pytest.raises(StaleVersion):
        do_submit_rectification(
            problem.pk, "x", [("a.pdf", PDF)], actor=world.user("village"), expected_version=9
        )
    assert not Rectification.objects.exists()


@pytest.mark.parametrize(
    ("who", "error"),
    [("other_township", OutOfScope), ("auditor", Forbidden), ("helper", Forbidden)],
)
def test_refused_rectification_writes_nothing(
    world: World, inspection: Any, who: str, error: type[Exception]
) -> None:
    problem = _problem(world, inspection)
    events = AuditEvent.objects.count()
    with pytest.raises(error):
        _rectify(problem, world.user(who))
    assert not Rectification.objects.exists() and AuditEvent.objects.count() == events


def test_rectification_needs_evidence(world: World, inspection: Any) -> None:
    problem = _problem(world, inspection)
    with pytest.raises(DomainError, match="佐证材料"):
        do_submit_rectification(problem.pk, "已整改", [], actor=world.user("village"))
    with pytest.raises(DomainError, match="只接受"):
        do_submit_rectification(
            problem.pk, "已整改", [("a.txt", b"hello")], actor=world.user("village")
        )
    assert not Rectification.objects.exists()


def test_problem_must_name_a_household_or_unit_in_its_region(world: World, inspection: Any) -> None:
    with pytest.raises(DomainError, match="农户，或填写涉及的单位"):
        _problem(world, inspection, household_id=None)
    with pytest.raises(DomainError, match="不在问题所在区域"):
        _problem(world, inspection, household_id=world.households[V3].pk)
    with pytest.raises(OutOfScope):
        _problem(
            world,
            inspection,
            village=V3,
            household_id=None,
            unit="村委会",
            actor=world.user("township"),
        )
    assert not Problem.objects.exists()


def test_scoping_of_reads(world: World, inspection: Any) -> None:
    mine = _problem(world, inspection)
    other = _problem(world, inspection, village=V3, household_id=None, unit="第二镇一村村委会")
    assert set(sel.problems_for(world.user("township"))) == {mine}
    assert set(sel.problems_for(world.user("other_township"))) == {other}
    assert set(sel.problems_for(world.user("village"))) == {mine}
    assert set(sel.problems_for(world.user("county"))) == {mine, other}
    assert not sel.problems_for(world.user("helper")).exists()
    with pytest.raises(OutOfScope):
        sel.problem_for(world.user("other_township"), mine.pk)
    # the county's inspection is listed to the township through its problem
    assert list(sel.inspections_for(world.user("township"))) == [inspection]


def test_accountability_links_problems_of_the_scope(world: World, inspection: Any) -> None:
    problem = _problem(world, inspection)
    values = {
        "person_name": "刘某",
        "position": "副镇长",
        "unit": "第一镇人民政府",
        "measure": "criticism",
        "decided_on": D(2026, 11, 30),
        "authority": "县纪委监委",
    }
    with pytest.raises(Forbidden):
        do_record_accountability([problem.pk], values, actor=world.user("township"))
    with pytest.raises(OutOfScope):
        do_record_accountability([problem.pk + 1000], values, actor=world.user("county"))
    row = do_record_accountability([problem.pk], values, actor=world.user("county"))
    assert list(row.problems.all()) == [problem]
    assert sel.problem_history(problem)["accountabilities"] == [row]


def test_pages_scoped_and_the_submitter_refused_on_the_page(
    world: World, inspection: Any, client: Any
) -> None:
    problem = _problem(world, inspection)
    signed_in(client, world.user("other_township"))
    assert client.get(f"/problems/{problem.pk}/").status_code == 404
    assert f"problem-{problem.pk}" not in client.get("/problems/").content.decode()
    client.logout()
    signed_in(client, world.user("township"))
    with open_pdf() as f:
        response = client.post(
            f"/problems/{problem.pk}/rectify/",
            {"version": problem.version, "description": "已整改", "file": f},
        )
    assert response.status_code == 302
    problem.refresh_from_db()
    response = client.post(
        f"/problems/{problem.pk}/verify/",
        {"version": problem.version, "passed": "1", "note": "好"},
    )
    assert response.status_code == 403 and "提交人" in response.content.decode()
    evidence = Rectification.objects.get(problem=problem).evidence.get()
    assert client.get(f"/problems/evidence/{evidence.pk}/").status_code == 200
    client.logout()
    signed_in(client, world.user("other_township"))
    assert client.get(f"/problems/evidence/{evidence.pk}/").status_code == 404


class open_pdf:
    def __enter__(self) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return SimpleUploadedFile("整改.pdf", PDF, content_type="application/pdf")

    def __exit__(self, *exc: Any) -> None:
        return None
