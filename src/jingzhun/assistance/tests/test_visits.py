"""Visits (issue 21 items 4, 5, 8): recording, bad input (nothing written), idempotent set-wise
sync, the conflict rule, scope, visits due from the policy table, a monitoring case from a visit."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from conftest import TOWNSHIPS, VILLAGES, World
from django.utils import timezone

from jingzhun.assistance.visits import (
    Photo,
    VisitInput,
    do_open_case_from_visit,
    do_record_visit,
    do_sync_visits,
    frequency_for,
    visits_due,
)
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope

MINE = VILLAGES[TOWNSHIPS[0]][0]
OTHER_REGION = VILLAGES[TOWNSHIPS[1]][0]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def snapshot() -> dict[str, Any]:
    from jingzhun.assistance.models import Visit, VisitPhoto
    from jingzhun.audit.models import AuditEvent
    from jingzhun.workflows.models import Case

    return {
        "visits": list(Visit.objects.order_by("pk").values()),
        "photos": VisitPhoto.objects.count(),
        "cases": Case.objects.count(),
        "events": AuditEvent.objects.count(),
    }


def visit(household: Any, **kw: Any) -> VisitInput:
    values: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "household_id": household.pk,
        "visited_on": timezone.localdate() - datetime.timedelta(days=1),
        "kind": "home",
        "household_version": household.version,
        "notes": "家中老人身体尚好。",
    }
    values.update(kw)
    return VisitInput(**values)


def test_a_helper_records_a_visit_with_photo_location_and_changes(world: World) -> None:
    from jingzhun.audit.models import AuditEvent

    helper, household = world.user("helper"), world.households[MINE]
    made = do_record_visit(
        visit(
            household,
            changes=[{"kind": "illness", "note": "户主住院"}],
            latitude="47.601234",
            longitude="126.101234",
            photos=[Photo("门前.JPG", JPG)],
        ),
        actor=helper,
    )
    assert made.helper == helper and made.household_id == household.pk
    assert made.changes == [{"kind": "illness", "note": "户主住院"}]
    assert str(made.latitude) == "47.601234"
    assert [p.content_type for p in made.photos.all()] == ["image/jpeg"]
    assert [p.uploaded_by_id for p in made.photos.all()] == [helper.pk]
    event = AuditEvent.objects.order_by("-pk").first()
    assert event.event == "assistance.visit.record" and event.object_id == str(made.pk)
    # the same form sent again (same client id) stores nothing twice
    again = do_record_visit(visit(household, client_id=str(made.client_id)), actor=helper)
    assert again.pk == made.pk


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"visited_on": timezone.localdate() + datetime.timedelta(days=1)},
            "visited_on",
            "晚于今天",
        ),
        ({"visited_on": "2024-02-30"}, "visited_on", "走访日期“2024-02-30”无效"),
        ({"kind": "walk"}, "kind", "走访方式“walk”无效"),
        ({"changes": [{"kind": "wealth"}]}, "changes", "变化类型“wealth”无效"),
        ({"latitude": "95", "longitude": "120"}, "location", "纬度应在 -90 到 90 之间"),
        ({"latitude": "45"}, "location", "须同时有纬度和经度"),
        (
            {"photos": [Photo("photo.jpg", b"%PDF-1.4 not a photo")]},
            "photos",
            "“photo.jpg”不是图片",
        ),
        ({"photos": [Photo("big.png", PNG + b"\x00" * (5 * 1024 * 1024))]}, "photos", "过大"),
        ({"client_id": "abc"}, "client_id", "客户端编号"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_nothing_is_written(
    world: World, change: dict[str, Any], field: str, words: str
) -> None:
    before = snapshot()
    with pytest.raises(DomainError) as caught:
        do_record_visit(visit(world.households[MINE], **change), actor=world.user("helper"))
    assert caught.value.field == field
    assert words in caught.value.message
    assert snapshot() == before


def test_a_household_of_another_region_or_not_paired_is_refused(world: World) -> None:
    before = snapshot()
    with pytest.raises(OutOfScope, match="不是您的结对帮扶户"):
        do_record_visit(visit(world.households[OTHER_REGION]), actor=world.user("helper"))
    with pytest.raises(Forbidden, match="只有帮扶责任人"):
        do_record_visit(visit(world.households[MINE]), actor=world.user("village"))
    result = do_sync_visits([visit(world.households[OTHER_REGION])], actor=world.user("helper"))
    assert [o.status for o in result.outcomes] == ["refused"]
    assert "不是您的结对帮扶户" in result.outcomes[0].message
    assert snapshot() == before


def test_sync_stores_each_visit_once_even_when_the_batch_is_sent_twice(world: World) -> None:
    from jingzhun.assistance.models import Visit

    helper, household = world.user("helper"), world.households[MINE]
    batch = [visit(household), visit(household, kind="phone"), visit(household)]
    bad = visit(household, visited_on=timezone.localdate() + datetime.timedelta(days=3))
    first = do_sync_visits([*batch, bad], actor=helper)
    assert [o.status for o in first.outcomes] == ["stored", "stored", "stored", "refused"]
    assert "晚于今天" in first.outcomes[3].message
    assert Visit.objects.count() == 3
    second = do_sync_visits(batch, actor=helper)
    assert [o.status for o in second.outcomes] == ["duplicate"] * 3
    assert [o.visit_id for o in second.outcomes] == [o.visit_id for o in first.outcomes[:3]]
    # one client id twice in one batch is stored once too
    twice = visit(household)
    third = do_sync_visits([twice, twice], actor=helper)
    assert [o.status for o in third.outcomes] == ["stored", "duplicate"]
    assert Visit.objects.count() == 4


def test_a_change_seen_on_an_older_version_is_a_conflict_not_an_overwrite(world: World) -> None:
    from jingzhun.assistance.models import Visit
    from jingzhun.registry.actions import do_update_household
    from jingzhun.registry.models import Household

    helper, household = world.user("helper"), world.households[MINE]
    seen = household.version
    do_update_household(household.pk, seen, {"phone": "13900009999"}, actor=world.user("village"))
    now = Household.objects.get(pk=household.pk).version
    assert now != seen
    with_change = visit(
        household, household_version=seen, changes=[{"kind": "income", "note": "打工收入减少"}]
    )
    plain = visit(household, household_version=seen)
    result = do_sync_visits([with_change, plain], actor=helper)
    assert [o.status for o in result.outcomes] == ["conflict", "stored"]
    assert f"版本 {seen} 之后已被修改（现为版本 {now}）" in result.outcomes[0].message
    assert result.outcomes[0].household_version == now
    assert not Visit.objects.filter(client_id=with_change.client_id).exists()
    # the helper resolves it: sends it again having seen the current version
    with_change.household_version = now
    resolved = do_sync_visits([with_change], actor=helper)
    assert [o.status for o in resolved.outcomes] == ["stored"]
    assert Visit.objects.get(client_id=with_change.client_id).household_version == now


def test_visits_due_follow_the_policy_table(world: World) -> None:
    from jingzhun.registry.models import Household

    household = Household.objects.get(pk=world.households[MINE].pk)
    today = timezone.localdate()
    rule = frequency_for(household.county_code, False, today)
    assert rule is not None and rule.days == 92 and "假设的本地规则" in rule.note
    assert rule.path.endswith("visit_frequency.yaml")
    monthly = frequency_for(household.county_code, True, today)
    assert monthly is not None and monthly.days == 31
    since = {household.pk: datetime.date(2016, 1, 1)}
    due = visits_due([household], since, today)[household.pk]
    assert due.last_visit is None and due.due_on == datetime.date(2016, 4, 2)
    assert due.overdue(today)
    day = today - datetime.timedelta(days=10)
    do_record_visit(visit(household, visited_on=day), actor=world.user("helper"))
    due = visits_due([household], since, today)[household.pk]
    assert due.last_visit == day and due.due_on == day + datetime.timedelta(days=92)
    assert not due.due(today)
    household.monitoring_category = "edge"  # a monitored household: monthly
    due = visits_due([household], since, today)[household.pk]
    assert due.due_on == day + datetime.timedelta(days=31)


def test_a_change_on_a_visit_opens_the_monitoring_case(world: World) -> None:
    from jingzhun.audit.models import AuditEvent
    from jingzhun.workflows.transitions import FLOWS

    household = world.households[MINE]
    made = do_record_visit(
        visit(household, changes=[{"kind": "disaster", "note": "房屋受损"}], notes="暴雨。"),
        actor=world.user("helper"),
    )
    with pytest.raises(Forbidden):  # the workflow's openers decide: not the helper
        do_open_case_from_visit(made.pk, actor=world.user("helper"), monitoring_category="edge")
    before = snapshot()
    with pytest.raises(OutOfScope):
        do_open_case_from_visit(
            made.pk, actor=world.user("other_township"), monitoring_category="edge"
        )
    assert snapshot() == before
    case = do_open_case_from_visit(
        made.pk, actor=world.user("village"), monitoring_category="sudden_hardship"
    )
    assert case.kind == "monitoring" and case.route == "cadre_screening"
    assert case.risk_types == ["disaster"]
    assert "受灾：房屋受损" in case.summary and "暴雨。" in case.summary
    deadline = FLOWS["monitoring"].deadline_days
    assert deadline is not None
    assert case.due_on == case.opened_on + datetime.timedelta(days=deadline)
    made.refresh_from_db()
    assert made.case_id == case.pk
    assert AuditEvent.objects.filter(event="assistance.visit.open_case").count() == 1
    with pytest.raises(DomainError, match="已发起过"):
        do_open_case_from_visit(made.pk, actor=world.user("village"), monitoring_category="edge")
