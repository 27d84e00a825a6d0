"""PII-4: an unmasked export needs a request with a reason, approved by a second authorised
person with scope over the export, valid once and for a limited time; audited both ways."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction

from jingzhun.access.models import RegionGrant, User
from jingzhun.audit.actions import verify_chain
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.exports.actions import (
    do_approve_unmasked_export,
    do_export_card,
    do_export_roster,
    do_refuse_unmasked_export,
    do_request_unmasked_export,
    requests_to_decide,
)
from jingzhun.exports.models import UnmaskedExportRequest
from jingzhun.registry.models import Member
from jingzhun.registry.selectors import HouseholdFilters

from .conftest import permit

TOWNSHIP = "230231100000"


@pytest.fixture
def people(world: Any) -> dict[str, Any]:
    """township (township 100) asks; county and a second township user of 100 may approve;
    other_township (101) holds the permission but not the scope; village lacks the permission."""
    second = User.objects.create_user(username="township2", role="township")
    RegionGrant.objects.create(user=second, region_id=TOWNSHIP)
    names = ["township", "county", "other_township"]
    return {
        **{n: permit(world.user(n)) for n in names},
        "township2": permit(second),
        "village": world.user("village"),
    }


def ask(actor: Any, kind: str = "roster", **kwargs: Any) -> UnmaskedExportRequest:
    kwargs.setdefault("region_code", TOWNSHIP)
    return do_request_unmasked_export(kind, "低保比对核查银行账号", actor=actor, **kwargs)


def roster(actor: Any, approval: int | None) -> bytes:
    out = io.BytesIO()
    do_export_roster(
        HouseholdFilters(), out, actor=actor, unmasked=True, approval=approval, fmt="csv"
    )
    return out.getvalue()


def test_an_unmasked_export_without_an_approval_is_refused_and_audited(people: Any) -> None:
    township = people["township"]
    with pytest.raises(Forbidden, match="批准"):
        roster(township, None)
    pending = ask(township)
    with pytest.raises(Forbidden, match="待审批"):
        roster(township, pending.pk)
    refusals = AuditEvent.objects.filter(event="exports.roster.refuse", outcome="refused")
    assert refusals.count() == 2
    assert not AuditEvent.objects.filter(event="exports.roster.export").exists()


def test_a_second_person_approves_and_the_export_is_limited_to_the_region_once(
    people: Any,
) -> None:
    township = people["township"]
    request = ask(township)
    approved = do_approve_unmasked_export(request.pk, actor=people["township2"], note="同意")
    assert approved.state == "approved" and approved.approver == people["township2"]
    assert approved.expires_at - approved.decided_at == datetime.timedelta(hours=24)
    data = roster(township, request.pk)
    ids_in_township = Member.objects.filter(household__township_code=TOWNSHIP)
    assert all(i.encode() in data for i in [m.id_number for m in ids_in_township])
    request.refresh_from_db()
    assert request.state == "used" and request.used_at is not None
    events = list(
        AuditEvent.objects.filter(event__startswith="exports.").values_list("event", flat=True)
    )
    assert events == [
        "exports.unmasked_request.create",
        "exports.unmasked_request.approve",
        "exports.unmasked_request.use",
        "exports.roster.export",
    ]
    assert AuditEvent.objects.get(event="exports.roster.export").diff["approval"] == request.pk
    with pytest.raises(Forbidden, match="已使用"):
        roster(township, request.pk)
    assert verify_chain() is None


def test_a_county_user_with_a_township_approval_gets_only_that_township(people: Any) -> None:
    county = people["county"]
    request = ask(county, region_code=TOWNSHIP)
    do_approve_unmasked_export(request.pk, actor=people["township2"])
    data = roster(county, request.pk)
    own = Member.objects.filter(household__township_code=TOWNSHIP)
    other = Member.objects.filter(household__township_code="230231101000")
    assert own.exists() and other.exists()
    assert all(i.encode() in data for i in [m.id_number for m in own])
    assert not any(i.encode() in data for i in [m.id_number for m in other])


def test_who_may_approve(people: Any) -> None:
    township = people["township"]
    request = ask(township)
    before = UnmaskedExportRequest.objects.get(pk=request.pk).state
    with pytest.raises(Forbidden, match="不能审批自己"):
        do_approve_unmasked_export(request.pk, actor=township)
    with pytest.raises(Forbidden):
        do_approve_unmasked_export(request.pk, actor=people["village"])  # no permission
    with pytest.raises(OutOfScope):
        do_approve_unmasked_export(request.pk, actor=people["other_township"])  # no scope
    assert UnmaskedExportRequest.objects.get(pk=request.pk).state == before == "requested"
    refused = AuditEvent.objects.filter(event="exports.unmasked_request.approve", outcome="refused")
    assert refused.count() == 3
    assert requests_to_decide(people["other_township"]).count() == 0
    assert list(requests_to_decide(people["county"])) == [request]
    # the database refuses an approver who is the requester, whatever the code does
    with pytest.raises(IntegrityError), transaction.atomic():
        UnmaskedExportRequest.objects.filter(pk=request.pk).update(approver=township)


def test_a_refused_request_cannot_be_used_and_refusing_needs_a_reason(people: Any) -> None:
    township = people["township"]
    request = ask(township)
    with pytest.raises(DomainError, match="原因"):
        do_refuse_unmasked_export(request.pk, actor=people["county"], note=" ")
    do_refuse_unmasked_export(request.pk, actor=people["county"], note="理由不充分")
    assert AuditEvent.objects.filter(event="exports.unmasked_request.refuse").count() == 1
    with pytest.raises(DomainError, match="已驳回"):
        do_approve_unmasked_export(request.pk, actor=people["township2"])
    with pytest.raises(Forbidden, match="已驳回"):
        roster(township, request.pk)


def test_an_approval_expires(people: Any) -> None:
    township = people["township"]
    request = ask(township)
    do_approve_unmasked_export(request.pk, actor=people["county"])
    with (
        time_machine.travel(datetime.timedelta(hours=25), tick=False),
        pytest.raises(Forbidden, match="已过期"),
    ):
        roster(township, request.pk)
    assert UnmaskedExportRequest.objects.get(pk=request.pk).state == "approved"


def test_requests_need_the_permission_a_reason_and_scope(people: Any, world: Any) -> None:
    with pytest.raises(Forbidden):
        ask(people["village"])
    assert AuditEvent.objects.filter(
        event="exports.unmasked_request.create", outcome="refused"
    ).exists()
    with pytest.raises(DomainError, match="理由"):
        do_request_unmasked_export("roster", "看看", actor=people["township"], region_code=TOWNSHIP)
    with pytest.raises(OutOfScope):
        ask(people["township"], region_code="230231101000")
    assert not UnmaskedExportRequest.objects.exists()


def test_a_card_approval_is_for_one_household(people: Any, world: Any) -> None:
    township = people["township"]
    first, second = (world.households[v] for v in ("230231100201", "230231100202"))
    request = ask(township, "card", region_code="", household_id=first.pk)
    do_approve_unmasked_export(request.pk, actor=people["county"])
    with pytest.raises(Forbidden, match="这一户"):
        do_export_card(
            second.pk, "pdf", io.BytesIO(), actor=township, unmasked=True, approval=request.pk
        )
    with pytest.raises(Forbidden, match="批准的是明白卡"):
        roster(township, request.pk)
    summary = do_export_card(
        first.pk, "pdf", io.BytesIO(), actor=township, unmasked=True, approval=request.pk
    )
    assert summary.masked is False
