"""AUTHZ-3: the three administrators kept apart, a role × permission snapshot, and the account
actions of each administrator; AUTHZ-4: read-only roles never write."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import VILLAGES, World
from django.db import IntegrityError, transaction
from django.test import Client

from jingzhun.access import actions as a
from jingzhun.access.models import ROLE_LABELS, RegionGrant, User
from jingzhun.audit.actions import AuditQuery, do_search_audit_events
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden

GOLDEN = Path(__file__).parent / "role_permissions.json"


def test_an_account_cannot_hold_two_roles(world: World) -> None:
    # The role is one column with a CHECK constraint: a second administrator role cannot be
    # added beside the first, and a made-up combined role is refused by the database.
    assert User._meta.get_field("role").max_length == 16
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="both", role="sys+secadmin")
    user = User.objects.create(username="admin1", role="sysadmin")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(role="sys,auditadmin")


def _probe(action: Any) -> bool:
    """True when the role passes the action's permission check (a later refusal is fine)."""
    try:
        with transaction.atomic():
            action()
            raise _Rollback
    except Forbidden:
        return False
    except (DomainError, _Rollback):
        return True


class _Rollback(Exception):
    pass


def _permissions(world: World, role: str) -> dict[str, bool]:
    from jingzhun.access.models import UNMASKED_EXPORT_ROLES
    from jingzhun.access.second_factor import needs_second_factor
    from jingzhun.assistance.teams import do_create_work_team
    from jingzhun.exports.actions import EXPORT_ROLES, do_approve_unmasked_export
    from jingzhun.registry.actions import check_can_write
    from jingzhun.scoring.actions import do_publish_period
    from jingzhun.selfcheck.actions import do_create_selfcheck, do_save_survey

    # Roles that may hold it are given the unmasked-export permission: the snapshot then says
    # who, once granted, may approve another person's unmasked export (PII-4).
    actor = User.objects.create_user(
        username=f"probe-{role}",
        password="Probe-pass-2026",
        role=role,
        may_export_unmasked=role in UNMASKED_EXPORT_ROLES,
    )
    target = world.user("township")

    def registry_write() -> None:
        check_can_write(actor)
        raise DomainError("ok")

    return {
        "create_user": _probe(lambda: a.do_create_user("", "", actor=actor)),
        "disable_user": _probe(lambda: a.do_set_user_active(0, False, actor=actor)),
        "grant_role": _probe(lambda: a.do_set_role(0, "village", actor=actor)),
        "grant_region": _probe(lambda: a.do_grant_region(0, "", actor=actor)),
        "grant_households": _probe(lambda: a.do_grant_households(0, [], "", "", actor=actor)),
        "reset_otp": _probe(lambda: a.do_reset_otp(0, actor=actor, reason="")),
        "release_lock": _probe(lambda: a.do_release_lock(0, actor=actor)),
        "grant_unmasked_export": _probe(
            lambda: a.do_set_unmasked_export(target, True, actor=actor) and _raise()
        ),
        "read_audit_log": _probe(lambda: do_search_audit_events(AuditQuery(), actor=actor)),
        "write_registry": _probe(registry_write),
        "export": role in EXPORT_ROLES,
        "approve_unmasked_export": _probe(lambda: do_approve_unmasked_export(0, actor=actor)),
        "second_factor": needs_second_factor(actor),
        "manage_work_team": _probe(
            lambda: do_create_work_team("", "", date(2024, 1, 1), date(2026, 1, 1), actor=actor)
        ),
        "compute_publish_assessment": _probe(lambda: do_publish_period(0, actor=actor)),
        "start_exit_self_check": _probe(lambda: do_create_selfcheck("", 2019, actor=actor)),
        "enter_self_check_survey": _probe(
            lambda: do_save_survey(
                0, version=1, surveyed_on=date(2026, 1, 1), team="", answers={}, actor=actor
            )
        ),
    }


def _raise() -> None:
    raise DomainError("ok")


def test_role_permission_snapshot(world: World) -> None:
    """A change here is a change of who may do what: review it, then update the JSON file."""
    table = {role: _permissions(world, role) for role in ROLE_LABELS}
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert table == golden


def test_the_system_admin_creates_and_disables_accounts_but_grants_nothing(admins: World) -> None:
    sysadmin = admins.user("sysadmin")
    user = a.do_create_user("newcomer", "Grain-store-77", "新同事", actor=sysadmin)
    assert user.role == "unassigned" and user.check_password("Grain-store-77")
    with pytest.raises(Forbidden):
        a.do_set_role(user.pk, "county", actor=sysadmin)
    a.do_set_user_active(user.pk, False, actor=sysadmin, reason="调离")
    assert not User.objects.get(pk=user.pk).is_active
    with pytest.raises(Forbidden):
        a.do_set_user_active(sysadmin.pk, False, actor=sysadmin)
    events = list(
        AuditEvent.objects.filter(event__startswith="access.user.").values_list(
            "event", "actor_name"
        )
    )
    assert events == [("access.user.create", "sysadmin"), ("access.user.disable", "sysadmin")]


def test_the_security_admin_grants_but_cannot_create_or_read_the_audit_log(admins: World) -> None:
    secadmin = admins.user("secadmin")
    user = a.do_create_user("newcomer", "Grain-store-77", actor=admins.user("sysadmin"))
    with pytest.raises(Forbidden):
        a.do_create_user("another", "Grain-store-77", actor=secadmin)
    with pytest.raises(Forbidden):
        do_search_audit_events(AuditQuery(), actor=secadmin)
    a.do_set_role(user.pk, "township", actor=secadmin, reason="乡镇新任")
    a.do_grant_region(user.pk, "230231101000", actor=secadmin)
    assert list(RegionGrant.objects.filter(user=user).values_list("region_id", flat=True)) == [
        "230231101000"
    ]
    with pytest.raises(Forbidden):
        a.do_set_role(secadmin.pk, "sysadmin", actor=secadmin)  # never one's own role
    # changing the role withdraws the old role's grants
    a.do_set_role(user.pk, "helper", actor=secadmin)
    assert not RegionGrant.objects.filter(user=user).exists()
    events = AuditEvent.objects.filter(event__in=["access.role.set", "access.region.grant"])
    assert events.count() == 3 and set(events.values_list("actor_name", flat=True)) == {"secadmin"}


def test_the_audit_admin_only_reads_the_audit_log(admins: World) -> None:
    auditadmin = admins.user("auditadmin")
    for probe in (
        lambda: a.do_create_user("x", "Grain-store-77", actor=auditadmin),
        lambda: a.do_set_role(admins.user("township").pk, "county", actor=auditadmin),
        lambda: a.do_release_lock(1, actor=auditadmin),
    ):
        with pytest.raises(Forbidden):
            probe()
    rows = do_search_audit_events(AuditQuery(event="access."), actor=auditadmin)
    assert all(r.event.startswith("access.") for r in rows)
    query = AuditEvent.objects.filter(event="audit.query").latest("id")
    assert query.actor_name == "auditadmin" and query.diff["query"] == {"event": "access."}


@pytest.mark.parametrize("name", ["sysadmin", "secadmin", "auditadmin"])
def test_administrators_see_no_household_data_anywhere(admins: World, name: str) -> None:
    import io

    from jingzhun.assessments.selectors import criterion_counts
    from jingzhun.exports.actions import do_export_roster, export_households
    from jingzhun.registry.models import Household
    from jingzhun.registry.selectors import (
        HouseholdFilters,
        households_for,
        overview_roots,
        visible_regions,
    )

    user = admins.user(name)
    assert not households_for(user).exists()
    assert overview_roots(user) == [] and not visible_regions(user).exists()
    assert criterion_counts(user, "household_exit", 2019)[0] == []
    assert not export_households(user, HouseholdFilters()).exists()
    with pytest.raises(Forbidden):
        do_export_roster(HouseholdFilters(), io.BytesIO(), actor=user)
    assert Household.objects.count() == 4  # the data exists; they just do not see it


def test_administrators_are_refused_by_pages_and_api(admins: World) -> None:
    from conftest import signed_in

    household = admins.households[VILLAGES["230231100000"][0]]
    for name in ("sysadmin", "secadmin", "auditadmin"):
        client = signed_in(Client(), admins.user(name))
        for path in (
            "/",
            "/households/",
            f"/households/{household.pk}/",
            "/api/households",
            "/api/stats",
        ):
            assert client.get(path).status_code == 403, (name, path)
