"""Fixtures of the pairing tests: the shared world plus helper profiles and more households."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import VILLAGES, World, make_id

V1 = VILLAGES["230231100000"][0]
V2 = VILLAGES["230231100000"][1]
V3 = VILLAGES["230231101000"][0]
START = datetime.date(2024, 1, 1)  # work teams' term (issue 21 item 1)
END = datetime.date(2026, 1, 1)


def snapshot() -> dict[str, Any]:
    """Every row the pairing actions write, and the audit trail's length."""
    from jingzhun.access.models import HelperPairing
    from jingzhun.assistance.models import HelperProfile
    from jingzhun.audit.models import AuditEvent

    return {
        "pairings": list(HelperPairing.objects.order_by("pk").values()),
        "profiles": list(HelperProfile.all_objects.order_by("pk").values()),
        "events": AuditEvent.objects.count(),
    }


@pytest.fixture
def paired(world: World) -> World:
    """The world's helper registered as an other cadre (quota 6 in Baiquan), a second helper
    registered as a county leader (quota 8), a third without a profile, and 8 more registered
    households in village 230231100201 (codes P01..P08)."""
    from jingzhun.access.models import User
    from jingzhun.assistance.actions import do_save_helper_profile
    from jingzhun.registry.actions import do_create_household

    county = world.user("county")
    do_save_helper_profile(world.user("helper").pk, "县农业农村局", "other_cadre", actor=county)
    for name in ("helper2", "helper3"):
        world.users[name] = User.objects.create_user(
            username=name, password="Test-pass-2026", role="helper", display_name=f"帮扶{name[-1]}"
        )
    do_save_helper_profile(
        world.user("helper2").pk, "县委办", "county_leader", "副县长", actor=county
    )
    for i in range(1, 9):
        do_create_household(
            f"P{i:02d}",
            V1,
            {"attribute": "general", "identified_year": 2014},
            [
                {
                    "id_number": make_id("230231", "19650101", 100 + i),
                    "name": f"户主{i}",
                    "relation": "head",
                }
            ],
            actor=None,
        )
    return world


def extra(code: str) -> Any:
    from jingzhun.registry.models import Household

    return Household.objects.get(household_code=code)


def member_account(world: World, name: str = "team1", village: str = V1) -> Any:
    """A work-team member's account (role 驻村工作队员) granted the village."""
    from jingzhun.access.models import RegionGrant, User

    u = User.objects.create_user(
        username=name, password="Test-pass-2026", role="workteam", display_name=f"队员{name}"
    )
    RegionGrant.objects.create(user=u, region_id=village)
    world.users[name] = u
    return u


@pytest.fixture
def team(world: World) -> Any:
    """Village 100201's team (2024-2026) with a first secretary (with an account), a leader
    and a member."""
    from jingzhun.assistance.teams import do_create_work_team, do_post_team_member

    township = world.user("township")
    t = do_create_work_team(V1, "县委组织部、县农业农村局", START, END, actor=township)
    account = member_account(world)
    for name, role, user in (
        ("", "secretary", account.pk),
        ("刘队长", "leader", None),
        ("陈队员", "member", None),
    ):
        t.refresh_from_db()
        do_post_team_member(
            t.pk,
            name=name,
            sending_unit="县委组织部",
            role=role,
            start_date=START,
            term_end=END,
            user_id=user,
            expected_version=t.version,
            actor=township,
        )
    t.refresh_from_db()
    return t
