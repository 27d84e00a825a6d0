"""Department liaisons and verification teams see only the households given to them, on pages,
in the API and in statistics; a grant is given by the security administrator and audited."""

from __future__ import annotations

import datetime

import pytest
from conftest import VILLAGES, World, signed_in
from django.test import Client
from django.utils import timezone

from jingzhun.access.actions import do_grant_households
from jingzhun.access.models import HouseholdGrant
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.registry.selectors import household_for, households_for

V100_2 = VILLAGES["230231100000"][1]
V101_1 = VILLAGES["230231101000"][0]


@pytest.mark.parametrize(("name", "village"), [("liaison", V100_2), ("verifier", V101_1)])
def test_they_see_exactly_their_households(admins: World, name: str, village: str) -> None:
    user = admins.user(name)
    mine = admins.households[village]
    assert [h.pk for h in households_for(user)] == [mine.pk]
    for other_village, other in admins.households.items():
        if other_village != village:
            with pytest.raises(OutOfScope):
                household_for(user, other.pk)
    client = signed_in(Client(), user)
    assert client.get(f"/households/{mine.pk}/").status_code == 200
    other = admins.households[VILLAGES["230231100000"][0]]
    assert client.get(f"/households/{other.pk}/").status_code == 404
    api = client.get("/api/households").json()
    assert [row["id"] for row in api["items"]] == [mine.pk]


def test_an_expired_grant_shows_nothing(admins: World) -> None:
    HouseholdGrant.objects.filter(user=admins.user("verifier")).update(
        end_date=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert not households_for(admins.user("verifier")).exists()


def test_the_security_admin_gives_a_sample_and_it_is_audited(admins: World) -> None:
    ids = [admins.households[v].pk for v in VILLAGES["230231101000"]]
    given = do_grant_households(
        admins.user("verifier").pk,
        ids,
        "verification_sample",
        "抽样-2026-02",
        actor=admins.user("secadmin"),
    )
    assert given == 2
    assert households_for(admins.user("verifier")).count() == 2
    event = AuditEvent.objects.get(event="access.household.grant")
    assert event.diff["households"] == 2 and event.actor_name == "secadmin"


def test_households_are_given_only_by_the_security_admin_and_only_to_these_roles(
    admins: World,
) -> None:
    ids = [admins.households[V101_1].pk]
    with pytest.raises(Forbidden):
        do_grant_households(
            admins.user("liaison").pk, ids, "liaison_match", "x", actor=admins.user("sysadmin")
        )
    with pytest.raises(DomainError):
        do_grant_households(
            admins.user("helper").pk, ids, "liaison_match", "x", actor=admins.user("secadmin")
        )
    with pytest.raises(DomainError):  # a liaison's grants come from their upload, not a sample
        do_grant_households(
            admins.user("liaison").pk,
            ids,
            "verification_sample",
            "x",
            actor=admins.user("secadmin"),
        )
    assert HouseholdGrant.objects.count() == 2


def test_they_cannot_write(admins: World) -> None:
    household = admins.households[V100_2]
    client = signed_in(Client(), admins.user("liaison"))
    response = client.patch(
        f"/api/households/{household.pk}",
        data={"version": household.version, "changes": {"food_secure": False}},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "无权修改" in response.json()["detail"]
