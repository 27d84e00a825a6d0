"""Requests and grievances (issue 24 item 3): deadlines by category from ticket_rules in working
days (信访 in calendar days), repeated tickets escalated on arrival, overdue ones by the run,
reply → satisfaction by the recorder → closure, refusals, scoping, a clue becoming a ticket, a
ticket opening a monitoring case or an inspection problem. Dates fixed in 2026 (国办发明电〔2025〕7号)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.duty.tests.test_duty import on
from jingzhun.feeds.models import Clue
from jingzhun.tickets import selectors as sel
from jingzhun.tickets.actions import (
    Intake,
    do_close_ticket,
    do_create_ticket,
    do_create_ticket_from_clue,
    do_escalate_tickets,
    do_open_case_from_ticket,
    do_open_problem_from_ticket,
    do_record_satisfaction,
    do_reply_ticket,
    do_route_ticket,
)
from jingzhun.tickets.models import Ticket, TicketEscalation

D = datetime.date
V1 = VILLAGES[TOWNSHIPS[0]][0]
V3 = VILLAGES[TOWNSHIPS[1]][0]


def snapshot() -> tuple[int, ...]:
    return (
        Ticket.objects.count(),
        TicketEscalation.objects.count(),
        sum(t.version for t in Ticket.objects.all()),
        AuditEvent.objects.exclude(outcome="denied").count(),
    )


def _ticket(world: World, *, user: str = "village", day: datetime.date = D(2026, 9, 21),
            village: str = V1, **kw: Any) -> Ticket:  # fmt: skip
    values: dict[str, Any] = {
        "channel": "secretary",
        "category": "hardship",
        "requester_name": "张三",
        "content": "家中老人住院，医疗费用负担重",
        "received_on": day,
        "household_id": world.households[village].pk,
        "requester_phone": "13900001111",
    }
    values.update(kw)
    return do_create_ticket(Intake(**values), actor=world.user(user))


def test_deadline_overdue_escalation_across_national_day(world: World, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    ticket = _ticket(world)
    # hardship: 5 working days from the 22nd (22, 23, 24, 28, 29 Sep; 25 Sep is 中秋)
    assert ticket.deadline == D(2026, 9, 29)
    assert "ticket_rules" in ticket.deadline_basis and ticket.policy_version.startswith(
        "ticket_rules@"
    )
    assert ticket.supervisor_code == TOWNSHIPS[0] and ticket.repeat_of is None
    petition = _ticket(world, channel="petition", category="policy", household_id=None,
                       region_code=V1)  # fmt: skip
    assert petition.deadline == D(2026, 11, 20)  # 信访工作条例: 60 calendar days
    assert "60 天" in petition.deadline_basis

    on(monkeypatch, D(2026, 9, 30))
    result = do_escalate_tickets(actor=None)
    assert result.escalated == [ticket.pk]
    ticket.refresh_from_db()
    assert ticket.supervisor_code == COUNTY
    assert ticket.deadline == D(2026, 10, 13)  # 8, 9, 10 (Saturday worked), 12, 13 Oct
    before = snapshot()
    assert do_escalate_tickets(actor=None).escalated == []  # idempotent
    assert snapshot() == before
    assert sel.counts(world.user("county"), D(2026, 10, 14))["overdue"] == 1


def test_repeated_ticket_escalates_on_arrival(world: World, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 10, 12))
    first = _ticket(world, day=D(2026, 9, 21))
    other = _ticket(world, day=D(2026, 9, 21), category="policy")
    second = _ticket(world, day=D(2026, 10, 12))
    assert second.repeat_of_id == first.pk and other.repeat_of_id is None
    assert second.supervisor_code == COUNTY and second.escalations == 1
    row = TicketEscalation.objects.get(ticket=second)
    assert row.reason == "repeat" and row.to_code == COUNTY
    # outside the 30-day window: not a repeat
    on(monkeypatch, D(2026, 12, 1))
    later = _ticket(world, day=D(2026, 12, 1), household_id=world.households[V1].pk)
    assert later.repeat_of_id is None
    assert sel.counts(world.user("county"), D(2026, 12, 1))["repeated"] == 1


def test_reply_satisfaction_close_and_refusals(world: World, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    ticket = _ticket(world)  # recorded by the village
    before = snapshot()
    with pytest.raises(DomainError, match="尚未答复"):
        do_close_ticket(ticket.pk, actor=world.user("township"))
    with pytest.raises(DomainError, match="答复后才能回访"):
        do_record_satisfaction(ticket.pk, "satisfied", actor=world.user("village"))
    with pytest.raises(DomainError, match="受理日期不能晚于今天"):
        _ticket(world, day=D(2026, 9, 22))
    with pytest.raises(Forbidden):
        do_route_ticket(ticket.pk, "第一镇民政办", actor=world.user("village"))
    with pytest.raises(OutOfScope):
        do_reply_ticket(ticket.pk, "x", actor=world.user("other_township"))
    with pytest.raises(DomainError, match="不能办理该区域"):
        do_route_ticket(ticket.pk, "第一镇民政办", user_id=world.user("other_township").pk,
                        actor=world.user("township"))  # fmt: skip
    assert snapshot() == before
    ticket = do_route_ticket(ticket.pk, "第一镇民政办", user_id=world.user("village").pk,
                             actor=world.user("township"))  # fmt: skip
    ticket = do_reply_ticket(ticket.pk, "已协调临时救助 2000 元", actor=world.user("township"))
    before = snapshot()
    with pytest.raises(Forbidden, match="受理登记人"):
        do_record_satisfaction(ticket.pk, "satisfied", actor=world.user("township"))
    with pytest.raises(DomainError, match="尚未回访"):
        do_close_ticket(ticket.pk, actor=world.user("township"))
    with pytest.raises(StaleVersion):
        do_record_satisfaction(
            ticket.pk, "satisfied", expected_version=1, actor=world.user("village")
        )
    assert snapshot() == before
    ticket = do_record_satisfaction(ticket.pk, "unsatisfied", actor=world.user("village"))
    assert ticket.status == "open"  # back for another reply
    ticket = do_reply_ticket(
        ticket.pk, "已再次入户核实并纳入临时救助", actor=world.user("township")
    )
    ticket = do_record_satisfaction(ticket.pk, "satisfied", actor=world.user("village"))
    with pytest.raises(Forbidden):
        do_close_ticket(ticket.pk, actor=world.user("village"))
    closed = do_close_ticket(ticket.pk, actor=world.user("township"))
    assert closed.status == "closed" and closed.closed_on == D(2026, 9, 21)
    events = set(AuditEvent.objects.filter(object_type="ticket").values_list("event", flat=True))
    assert {"tickets.ticket.create", "tickets.ticket.reply", "tickets.ticket.close"} <= events
    diff = AuditEvent.objects.get(event="tickets.ticket.create").diff
    assert "13900001111" not in str(diff)  # the phone is masked in the audit trail


def test_scoping(world: World, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    mine = _ticket(world)
    theirs = _ticket(world, user="other_township", village=V3)
    assert set(sel.tickets_for(world.user("township"))) == {mine}
    assert set(sel.tickets_for(world.user("county"))) == {mine, theirs}
    assert not sel.tickets_for(world.user("helper")).exists()
    with pytest.raises(OutOfScope):
        sel.ticket_for(world.user("township"), theirs.pk)
    with pytest.raises(OutOfScope):  # another township's household
        _ticket(world, user="township", village=V3)


def test_clue_becomes_ticket_once(world: World, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    household = world.households[V1]
    clue = Clue.objects.create(
        route="hotline", village_id=V1, township_code=TOWNSHIPS[0], county_code=COUNTY,
        name="张三", id_index="0" * 64, id_masked="2302**********0013", difficulty="因病住院花费大",
        household=household, status="unconfirmed", received_on=D(2026, 9, 18), call_ref="R-1",
        received_by=world.user("village"),
    )  # fmt: skip
    with pytest.raises(OutOfScope):
        do_create_ticket_from_clue(clue.pk, "hardship", actor=world.user("other_township"))
    ticket = do_create_ticket_from_clue(clue.pk, "hardship", actor=world.user("village"))
    assert (ticket.channel, ticket.household_id, ticket.clue_id) == (
        "hotline",
        household.pk,
        clue.pk,
    )
    assert ticket.content == "因病住院花费大" and ticket.reference == "R-1"
    with pytest.raises(DomainError, match="已转为"):
        do_create_ticket_from_clue(clue.pk, "hardship", actor=world.user("village"))


def test_ticket_opens_case_and_problem(world: World, monkeypatch: Any) -> None:
    from jingzhun.inspection.actions import do_record_inspection

    on(monkeypatch, D(2026, 9, 21))
    ticket = _ticket(world, channel="hotline")
    with pytest.raises(OutOfScope):
        do_open_case_from_ticket(
            ticket.pk, "sudden_hardship", ("illness",), actor=world.user("other_township")
        )
    case = do_open_case_from_ticket(
        ticket.pk, "sudden_hardship", ("illness",), actor=world.user("village")
    )
    assert case.kind == "monitoring" and case.route == "hotline"
    assert f"诉求工单 {ticket.pk}" in case.summary
    ticket.refresh_from_db()
    assert ticket.case_id == case.pk
    with pytest.raises(DomainError, match="已发起过"):
        do_open_case_from_ticket(ticket.pk, "edge", ("illness",), actor=world.user("village"))
    no_household = _ticket(world, household_id=None, region_code=V1, category="conduct")
    with pytest.raises(DomainError, match="没有关联农户"):
        do_open_case_from_ticket(no_household.pk, "edge", ("illness",), actor=world.user("village"))

    inspection = do_record_inspection(
        kind="routine", title="诉求转督查", region_code=COUNTY, organiser="县督查组",
        started_on=D(2026, 9, 21), actor=world.user("county"),
    )  # fmt: skip
    with pytest.raises(Forbidden):  # inspection's own rule: villages do not record problems
        do_open_problem_from_ticket(no_household.pk, inspection.pk, category="conduct",
                                    responsible_unit="第1镇", responsible_person="刘某",
                                    actor=world.user("village"))  # fmt: skip
    problem = do_open_problem_from_ticket(
        no_household.pk, inspection.pk, category="conduct", responsible_unit="第1镇",
        responsible_person="刘某", actor=world.user("county"),
    )  # fmt: skip
    assert problem.region_id == V1 and problem.unit == "第1镇1村"
    no_household.refresh_from_db()
    assert no_household.problem_id == problem.pk
