"""Responsibility and scheduling (issue 24 item 1): the command structure and responsibility
lists imported and edited, tasks with deadlines in working days, progress reports, escalation
of overdue tasks and missing reports (idempotent), refusals, scoping, the meeting brief. Dates
are fixed in 2026 and counted by hand from the State Council's 2026 notice (国办发明电〔2025〕7号:
25 Sep 中秋, 1-7 Oct 国庆, Sunday 20 Sep and Saturday 10 Oct worked)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World
from django.core.management import call_command
from django.utils import timezone

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.duty import selectors as sel
from jingzhun.duty.actions import (
    do_assign_task,
    do_complete_task,
    do_escalate_tasks,
    do_import_structure,
    do_remove_structure_row,
    do_report_progress,
    do_save_command_unit,
    do_save_responsibility,
)
from jingzhun.duty.brief import do_make_brief
from jingzhun.duty.models import CommandUnit, ProgressReport, Responsibility, Task, TaskEscalation
from jingzhun.duty.structure import read_structure, sample_for
from jingzhun.regions.models import Region

D = datetime.date
V1 = VILLAGES[TOWNSHIPS[0]][0]
V3 = VILLAGES[TOWNSHIPS[1]][0]


def on(monkeypatch: Any, day: datetime.date) -> None:
    """Make `day` the county's today for the actions."""
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: day)


def snapshot() -> tuple[int, ...]:
    return (
        Task.objects.count(),
        ProgressReport.objects.count(),
        TaskEscalation.objects.count(),
        CommandUnit.objects.count(),
        Responsibility.objects.count(),
        AuditEvent.objects.exclude(outcome="denied").count(),
    )


def _task(world: World, region: str = V1, **kw: Any) -> Task:
    values: dict[str, Any] = {
        "region_code": region,
        "title": "完成监测对象动态排查",
        "owner_unit": "第一镇人民政府",
        "owner_person": "刘某",
        "schedule": "weekly",
        "actor": world.user("township"),
    }
    values.update(kw)
    return do_assign_task(**values)


def test_deadline_and_report_in_working_days_escalation_idempotent_across_national_day(
    world: World, monkeypatch: Any
) -> None:
    on(monkeypatch, D(2026, 9, 21))  # Monday
    task = _task(world)
    # 20 working days from the 22nd: 25 Sep and 1-7 Oct off, Saturday 10 Oct worked → 26 Oct
    assert task.deadline == D(2026, 10, 26)
    assert "20 个工作日" in task.deadline_basis and "duty_rules" in task.deadline_basis
    # weekly: 5 working days (22, 23, 24, 28, 29 Sep; 25 Sep is 中秋)
    assert task.next_report_on == D(2026, 9, 29)
    assert task.supervisor_code == TOWNSHIPS[0]

    on(monkeypatch, D(2026, 9, 29))
    assert do_escalate_tasks(actor=None).escalated == []  # due today: not missing yet

    on(monkeypatch, D(2026, 9, 30))
    result = do_escalate_tasks(actor=None)
    assert result.escalated == [(task.pk, "missing_report")]
    task.refresh_from_db()
    assert task.supervisor_code == COUNTY and task.escalations == 1
    # 5 working days after 30 Sep: 1-7 Oct off → 8, 9, 10 (Saturday worked), 12, 13 Oct
    assert task.next_report_on == D(2026, 10, 13)
    assert task.deadline == D(2026, 10, 26)  # the deadline stands for a missing report
    row = TaskEscalation.objects.get(task=task)
    assert (row.reason, row.from_code, row.to_code) == ("missing_report", TOWNSHIPS[0], COUNTY)
    # idempotent: a second run the same day (the command too) escalates nothing more
    before = snapshot()
    assert do_escalate_tasks(actor=None).escalated == []
    call_command("duty", "escalate", "--on", "2026-09-30")
    assert snapshot() == before

    on(monkeypatch, D(2026, 10, 13))
    do_report_progress(task.pk, progress=60, text_="已排查 3 个村", actor=world.user("village"))
    task.refresh_from_db()
    assert task.progress == 60 and task.next_report_on == D(2026, 10, 20)

    on(monkeypatch, D(2026, 10, 27))  # deadline 26 Oct passed
    result = do_escalate_tasks(actor=None)
    assert result.escalated == [(task.pk, "overdue")]
    task.refresh_from_db()
    assert task.supervisor_code == "230200000000"
    assert task.deadline == D(2026, 11, 3)  # 28, 29, 30 Oct, 2, 3 Nov
    assert sel.task_figures(world.user("county"), D(2026, 10, 27)) == {
        "on_time": 1, "overdue": 0, "report_missing": 0, "done": 0,
    }  # fmt: skip
    assert AuditEvent.objects.filter(event="duty.task.escalate").count() == 2


def test_refusals_write_nothing(world: World, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    before = snapshot()
    with pytest.raises(DomainError, match="早于今天") as exc:
        _task(world, deadline=D(2026, 9, 18))
    assert exc.value.field == "deadline"
    with pytest.raises(DomainError, match="调度频次"):
        _task(world, schedule="daily")
    with pytest.raises(Forbidden, match="无权交办"):
        _task(world, actor=world.user("village"))
    with pytest.raises(OutOfScope):
        _task(world, region=V3)  # another township's village
    with pytest.raises(Forbidden):
        do_save_command_unit(COUNTY, {"kind": "squad", "name": "x", "leader_name": "y"},
                             actor=world.user("township"))  # fmt: skip
    with pytest.raises(DomainError, match="应为乡级"):
        do_save_command_unit(
            COUNTY, {"kind": "township_leader", "name": "x", "leader_name": "y", "region": V1},
            actor=world.user("county"),
        )  # fmt: skip
    assert snapshot() == before

    task = _task(world)
    do_report_progress(task.pk, progress=50, text_="a", actor=world.user("village"))
    before = snapshot()
    on(monkeypatch, D(2026, 9, 22))
    with pytest.raises(DomainError, match="不能低于"):
        do_report_progress(task.pk, progress=10, text_="b", actor=world.user("village"))
    on(monkeypatch, D(2026, 9, 21))
    with pytest.raises(DomainError, match="今天已报送"):
        do_report_progress(task.pk, progress=60, text_="b", actor=world.user("village"))
    assert snapshot() == before
    with pytest.raises(StaleVersion):
        do_report_progress(task.pk, progress=90, text_="c", expected_version=99,
                           actor=world.user("township"))  # fmt: skip
    with pytest.raises(Forbidden, match="无权确认任务完成"):
        do_complete_task(task.pk, actor=world.user("village"))
    with pytest.raises(OutOfScope):
        do_complete_task(task.pk, actor=world.user("other_township"))
    done = do_complete_task(task.pk, actor=world.user("township"))
    assert done.status == "done" and done.progress == 100 and done.done_on == D(2026, 9, 21)
    with pytest.raises(DomainError, match="已完成"):
        do_report_progress(task.pk, progress=100, text_="d", actor=world.user("village"))


def test_scoping_of_tasks(world: World, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    mine = _task(world)
    theirs = _task(world, region=V3, actor=world.user("other_township"))
    assert set(sel.tasks_for(world.user("township"))) == {mine}
    assert set(sel.tasks_for(world.user("county"))) == {mine, theirs}
    assert set(sel.tasks_for(world.user("helper"))) == set()
    with pytest.raises(OutOfScope):
        sel.task_for(world.user("township"), theirs.pk)
    with pytest.raises(OutOfScope):
        do_report_progress(theirs.pk, progress=5, text_="x", actor=world.user("village"))
    # the county's escalation button reaches its scope only; the township has none
    with pytest.raises(Forbidden):
        do_escalate_tasks(actor=world.user("township"))


def test_structure_import_edit_and_sample(world: World, monkeypatch: Any) -> None:
    regions = {r.code: r for r in Region.objects.filter(code__in=[COUNTY, TOWNSHIPS[0], V1])}
    data = sample_for(regions[COUNTY], regions[TOWNSHIPS[0]], regions[V1])
    units, items = read_structure("structure.yaml", data)
    county = world.user("county")
    result = do_import_structure(COUNTY, units, items, source="structure.yaml", actor=county)
    assert result.units == 6 and result.responsibilities == 10
    leader = CommandUnit.objects.get(kind="township_leader")
    assert leader.region_id == TOWNSHIPS[0] and leader.name == "第1镇包乡领导"
    assert CommandUnit.objects.get(kind="headquarters").name == "拜泉县脱贫攻坚（巩固衔接）指挥部"
    # again: the same rows, kept (a task's unit stays)
    on(monkeypatch, D(2026, 9, 21))
    squad = CommandUnit.objects.get(name="产业就业专班")
    task = _task(world, region=COUNTY, command_unit_id=squad.pk, actor=county)
    do_import_structure(COUNTY, units, items, source="structure.yaml", actor=county)
    assert CommandUnit.objects.filter(pk=squad.pk).exists()
    assert CommandUnit.objects.count() == 6 and Responsibility.objects.count() == 10
    # a file without the squad leading an open task is refused, nothing written
    before = snapshot()
    with pytest.raises(DomainError, match="牵头未完成"):
        do_import_structure(COUNTY, [u for u in units if u["name"] != "产业就业专班"], items,
                            source="x.yaml", actor=county)  # fmt: skip
    bad = [*units, {"kind": "village_leader", "name": "错", "leader_name": "某", "region": V3[:6]}]
    with pytest.raises(DomainError, match="指挥体系第 7 行"):
        do_import_structure(COUNTY, bad, items, source="x.yaml", actor=county)
    with pytest.raises(DomainError, match="牵头未完成"):
        do_remove_structure_row("unit", squad.pk, actor=county)
    assert snapshot() == before
    assert task.command_unit_id == squad.pk
    # edits with the version
    item = Responsibility.objects.order_by("pk").first()
    assert item is not None
    changed = do_save_responsibility(
        COUNTY, {"level": "county", "department": item.department, "item": "新的责任事项"},
        item_id=item.pk, expected_version=item.version, actor=county,
    )  # fmt: skip
    assert changed.version == item.version + 1
    with pytest.raises(StaleVersion):
        do_save_responsibility(
            COUNTY, {"level": "county", "department": "x", "item": "y"},
            item_id=item.pk, expected_version=item.version, actor=county,
        )  # fmt: skip
    do_remove_structure_row("responsibility", item.pk, actor=county)
    assert not Responsibility.objects.filter(pk=item.pk).exists()
    assert (
        sel.units_for(world.user("village")).count() == 6
    )  # the county's structure is public to it
    assert sel.units_for(world.user("helper")).count() == 0


def test_brief_pdf(world: World, monkeypatch: Any) -> None:
    from jingzhun.exports.tests.conftest import pdf_text

    on(monkeypatch, D(2026, 9, 21))
    _task(world, title="完成监测对象动态排查")
    data = do_make_brief(COUNTY, D(2026, 9, 30), actor=world.user("county"))
    text = pdf_text(data)
    assert "调度会简报" in text and "完成监测对象动态排查" in text
    assert "未按期报送进展" in text
    assert AuditEvent.objects.filter(event="duty.brief.create").count() == 1
    with pytest.raises(OutOfScope):
        do_make_brief(COUNTY, None, actor=world.user("helper"))
    other = do_make_brief(TOWNSHIPS[1], D(2026, 9, 30), actor=world.user("other_township"))
    assert "完成监测对象动态排查" not in pdf_text(other)
