"""Pages and API of tasks and tickets (issue 24 items 1, 3, 8): a user's flow on the pages,
another region's ids 404 (page and API), refusals shown in Chinese with nothing written, the
battle map's governance section and the lists behind its figures."""

from __future__ import annotations

import datetime
from typing import Any

from conftest import COUNTY, TOWNSHIPS, VILLAGES, World, signed_in

from jingzhun.audit.models import AuditEvent
from jingzhun.duty.tests.test_duty import _task, on
from jingzhun.tickets.models import Ticket
from jingzhun.tickets.tests.test_tickets import _ticket

D = datetime.date
V1 = VILLAGES[TOWNSHIPS[0]][0]
V3 = VILLAGES[TOWNSHIPS[1]][0]


def test_ticket_flow_on_pages_and_scoping(world: World, client: Any, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    signed_in(client, world.user("village"))
    page = client.get("/tickets/")
    assert page.status_code == 200 and "登记诉求" in page.content.decode()
    response = client.post("/tickets/", {
        "channel": "secretary", "category": "hardship", "region": V1,
        "household_code": world.households[V1].household_code, "requester_name": "张三",
        "requester_phone": "13900001111", "content": "家中老人住院", "received_on": "2026-09-21",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get()
    detail = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "2026-09-29" in detail and "13900001111" not in detail and "139****1111" in detail
    # closing without a reply: the village may not close at all; the township is refused in Chinese
    client.logout()
    signed_in(client, world.user("township"))
    before = (Ticket.objects.get().version, AuditEvent.objects.filter(outcome="success").count())
    refused = client.post(f"/tickets/{ticket.pk}/close/", {"version": ticket.version})
    assert refused.status_code == 400 and "尚未答复" in refused.content.decode()
    assert (
        Ticket.objects.get().version,
        AuditEvent.objects.filter(outcome="success").count(),
    ) == before
    assert (
        client.post(
            f"/tickets/{ticket.pk}/reply/", {"version": ticket.version, "reply": "已救助"}
        ).status_code
        == 302
    )
    ticket.refresh_from_db()
    refused = client.post(
        f"/tickets/{ticket.pk}/satisfaction/",
        {"version": ticket.version, "satisfaction": "satisfied"},
    )
    assert refused.status_code == 403
    client.logout()
    signed_in(client, world.user("other_township"))
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 404
    assert (
        client.post(
            f"/tickets/{ticket.pk}/reply/", {"version": ticket.version, "reply": "x"}
        ).status_code
        == 404
    )
    assert f"ticket-{ticket.pk}" not in client.get("/tickets/").content.decode()
    client.logout()
    signed_in(client, world.user("helper"))
    assert client.get("/tickets/").status_code == 404


def test_task_pages_brief_and_board(world: World, client: Any, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    task = _task(world)
    theirs = _task(world, region=V3, actor=world.user("other_township"))
    _ticket(world)
    signed_in(client, world.user("township"))
    listed = client.get("/duty/").content.decode()
    assert f"task-{task.pk}" in listed and f"task-{theirs.pk}" not in listed
    assert client.get(f"/duty/tasks/{theirs.pk}/").status_code == 404
    past = client.post("/duty/", {"region": V1, "title": "t", "owner_unit": "u", "owner_person": "p",
                                  "schedule": "weekly", "deadline": "2026-09-01"})  # fmt: skip
    assert past.status_code == 400 and "早于今天" in past.content.decode()
    ok = client.post(
        f"/duty/tasks/{task.pk}/report/", {"version": task.version, "progress": 30, "text": "进展"}
    )
    assert ok.status_code == 302
    stale = client.post(f"/duty/tasks/{task.pk}/complete/", {"version": task.version})
    assert stale.status_code == 409
    brief = client.get(f"/duty/brief/?region={TOWNSHIPS[0]}&meeting_on=2026-09-30")
    assert brief.status_code == 200 and brief.content.startswith(b"%PDF")
    assert client.get(f"/duty/brief/?region={TOWNSHIPS[1]}").status_code == 404
    on(monkeypatch, D(2026, 10, 27))
    board = client.get(f"/dashboard/governance/?region={TOWNSHIPS[0]}").content.decode()
    assert 'data-figure="task-overdue"' in board
    overdue = client.get("/duty/?figure=overdue").content.decode()
    assert f"task-{task.pk}" in overdue
    old = client.get("/tickets/?band=d31_90").content.decode()
    assert "ticket-" in old
    assert client.get("/dashboard/governance/problems/?band=d0_7").status_code == 200
    client.logout()
    signed_in(client, world.user("county"))
    assert client.get("/duty/structure/").status_code == 200
    assert COUNTY


def test_api_lists_scoped(world: World, client: Any, monkeypatch: Any) -> None:
    on(monkeypatch, D(2026, 9, 21))
    mine = _ticket(world)
    _ticket(world, user="other_township", village=V3)
    task = _task(world)
    signed_in(client, world.user("township"))
    assert [t["id"] for t in client.get("/api/tickets").json()] == [mine.pk]
    row = client.get(f"/api/tickets/{mine.pk}").json()
    assert row["requester_phone"] == "139****1111"
    assert [t["id"] for t in client.get("/api/duty/tasks").json()] == [task.pk]
    client.logout()
    signed_in(client, world.user("other_township"))
    assert client.get(f"/api/tickets/{mine.pk}").status_code == 404
    assert client.get(f"/api/duty/tasks/{task.pk}").status_code == 404
