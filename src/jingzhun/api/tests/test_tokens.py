"""API tokens: issued once, stored as a hash, audited, revocable from the command line."""

from __future__ import annotations

import datetime
import hashlib
from io import StringIO

import pytest
import time_machine
from conftest import World
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from jingzhun.access.actions import do_issue_api_token, do_revoke_api_token, token_prefix
from jingzhun.access.models import ApiToken
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def issue_by_command(username: str, *extra: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", "issue", username, *extra, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_issue_stores_only_a_hash_and_audits(world: World) -> None:
    county = world.user("county")
    events = AuditEvent.objects.count()

    raw = do_issue_api_token(county, "统计接口", actor=county)

    row = ApiToken.objects.get(user=county)
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert (
        row.prefix == token_prefix(raw)
        and raw.startswith(row.prefix)
        and len(raw) > len(row.prefix) + 30
    )
    assert all(raw not in str(value) for value in ApiToken.objects.values().get(pk=row.pk).values())
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.get(event="access.api_token.issue")
    assert (event.actor_name, event.object_id, event.diff["prefix"]) == (
        "county",
        str(row.pk),
        row.prefix,
    )
    assert raw not in str(event.diff)


def test_issued_by_command_the_token_works_until_revoked(world: World) -> None:
    raw, note = issue_by_command("Township", "--name", "报表")  # usernames are case-insensitive
    prefix = token_prefix(raw)
    assert prefix in note and raw not in note
    assert bearer(raw).get("/api/households").json()["count"] == 2

    out = StringIO()
    call_command("token", "revoke", prefix, stdout=out)

    assert "已吊销" in out.getvalue()
    assert bearer(raw).get("/api/households").status_code == 401
    assert (
        AuditEvent.objects.filter(
            event="access.api_token.revoke", object_id=str(ApiToken.objects.get().pk)
        ).count()
        == 1
    )
    listing = StringIO()
    call_command("token", "list", stdout=listing)
    assert (
        prefix in listing.getvalue()
        and "已吊销" in listing.getvalue()
        and raw not in listing.getvalue()
    )


def test_revoking_twice_or_an_unknown_prefix_fails_and_writes_nothing(world: World) -> None:
    raw, _ = issue_by_command("county")
    call_command("token", "revoke", token_prefix(raw), stdout=StringIO())
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError, match="已于"):
        call_command("token", "revoke", token_prefix(raw), stdout=StringIO())
    with pytest.raises(CommandError, match="未找到"):
        call_command("token", "revoke", "jz_nothing", stdout=StringIO())
    assert AuditEvent.objects.count() == events


def test_unknown_or_inactive_users_get_no_token(world: World) -> None:
    with pytest.raises(CommandError, match="不存在"):
        issue_by_command("nobody")
    type(world.user("village")).objects.filter(username="village").update(is_active=False)
    with pytest.raises(CommandError, match="已停用"):
        issue_by_command("village")
    assert ApiToken.objects.count() == 0


def test_a_user_cannot_manage_another_users_tokens(world: World) -> None:
    county, village = world.user("county"), world.user("village")
    raw = do_issue_api_token(county, actor=county)
    events = AuditEvent.objects.count()

    with pytest.raises(Forbidden):
        do_issue_api_token(county, actor=village)
    with pytest.raises(Forbidden):
        do_revoke_api_token(token_prefix(raw), actor=village)

    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1
    assert AuditEvent.objects.count() == events
    assert bearer(raw).get("/api/households").status_code == 200


def test_a_token_name_is_limited(world: World) -> None:
    county = world.user("county")
    with pytest.raises(DomainError):
        do_issue_api_token(county, "x" * 101, actor=county)
    assert ApiToken.objects.count() == 0


def test_a_token_expires_after_ninety_days(world: World) -> None:
    county = world.user("county")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        raw = do_issue_api_token(county, actor=county)
    row = ApiToken.objects.get(user=county)
    assert row.expires_at == start + datetime.timedelta(days=90)
    with time_machine.travel(start + datetime.timedelta(days=89), tick=False):
        assert bearer(raw).get("/api/households").status_code == 200
    with time_machine.travel(start + datetime.timedelta(days=90, seconds=1), tick=False):
        assert bearer(raw).get("/api/households").status_code == 401
        listing = StringIO()
        call_command("token", "list", stdout=listing)
        assert "已过期" in listing.getvalue()
