"""Shared fixtures: a small county with two townships of two villages, users of every role, households.

Data is set up through the real actions, as a county office would enter it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from jingzhun.registry.contact import luhn_check_digit
from jingzhun.registry.idcard import check_char

# Tests check behaviour, never wall-clock time: Hypothesis' per-example deadline (200 ms) fails
# examples on a loaded machine (CI shares its cores), so it is off for the whole suite.
hypothesis_settings.register_profile("jingzhun", deadline=None)
hypothesis_settings.load_profile("jingzhun")


# `--database-tests`: only the tests whose outcome can depend on the database, that is, the
# tests that use it (pytest-django's database fixtures or marker, Django's transaction test
# cases, PostgreSQL-only tests). .ci/run's PostgreSQL pass uses it: every other test (parsers,
# rule language, ID numbers, files in subprocesses on their own SQLite files) ran in the SQLite
# pass of the same command and would run the same code again. A test marked `single_database`
# uses the database only for its fixtures while what it tests does not depend on the engine (the
# readers' fuzz runs): it counts as not using it. A test marked `postgresql_pass` (the API fuzz,
# the Spark engine, the data migrations: minutes that would otherwise run twice) runs in the PostgreSQL pass only: it
# counts as using the database here, and the SQLite pass leaves it out (`-m "not postgresql_pass"`).
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests",
        action="store_true",
        help="run only the tests that use the database (CI's second database pass)",
    )


def uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("postgresql_pass"):
        return True
    if item.get_closest_marker("single_database"):
        return False
    if item.get_closest_marker("django_db") or item.get_closest_marker("postgres_only"):
        return True
    if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    cls = getattr(item, "cls", None)
    if cls is None:
        return False
    from django.test import TransactionTestCase

    return issubclass(cls, TransactionTestCase)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--database-tests"):
        return
    kept = [item for item in items if uses_database(item)]
    dropped = [item for item in items if not uses_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def card_number(body: str) -> str:
    """A bank card number: `body` completed with its Luhn check digit."""
    return body + luhn_check_digit(body)


def make_id(region: str, birth: str, seq: int) -> str:
    """A valid 18-character ID number for tests."""
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_char(first17)


COUNTY = "230231000000"
TOWNSHIPS = ["230231100000", "230231101000"]
VILLAGES = {
    "230231100000": ["230231100201", "230231100202"],
    "230231101000": ["230231101201", "230231101202"],
}


@dataclass
class World:
    users: dict[str, Any]
    households: dict[str, Any]  # village code -> household in it

    def user(self, name: str) -> Any:
        return self.users[name]


@pytest.fixture
def world(db: Any) -> World:
    """County 230231 with townships 100/101, villages 201/202 in each, one household per village.

    Users: county (whole county), township (township 100), village (village 100201),
    other_township (township 101), helper (paired with the household of village 100201 only),
    auditor (county, read-only). Passwords are 'Test-pass-2026'.
    """
    from jingzhun.access.models import HelperPairing, RegionGrant, User
    from jingzhun.regions.actions import RegionRow, do_load_regions
    from jingzhun.registry.actions import do_create_household

    rows = [RegionRow(1, "230000000000", "黑龙江省"), RegionRow(2, "230200000000", "齐齐哈尔市")]
    rows.append(RegionRow(3, COUNTY, "拜泉县", rural_population=10000, year=2019))
    n = 4
    for t_index, township in enumerate(TOWNSHIPS):
        rows.append(RegionRow(n, township, f"第{t_index + 1}镇"))
        n += 1
        for v_index, village in enumerate(VILLAGES[township]):
            rows.append(
                RegionRow(
                    n, village, f"第{t_index + 1}镇{v_index + 1}村", is_poor_village=v_index == 0
                )
            )
            n += 1
    do_load_regions(rows, actor=None, source="fixture")

    def user(username: str, role: str, region: str | None) -> Any:
        u = User.objects.create_user(username=username, password="Test-pass-2026", role=role)
        if region:
            RegionGrant.objects.create(user=u, region_id=region)
        return u

    users = {
        "county": user("county", "county", COUNTY),
        "township": user("township", "township", TOWNSHIPS[0]),
        "village": user("village", "village", VILLAGES[TOWNSHIPS[0]][0]),
        "other_township": user("other_township", "township", TOWNSHIPS[1]),
        "helper": user("helper", "helper", None),
        "auditor": user("auditor", "auditor", COUNTY),
    }
    households = {}
    seq = 1
    heads = {
        "230231100201": "张三",
        "230231100202": "李四",
        "230231101201": "王五",
        "230231101202": "赵六",
    }
    for township in TOWNSHIPS:
        for village in VILLAGES[township]:
            members = [
                {
                    "id_number": make_id("230231", "19700101", seq * 2 + 1),
                    "name": heads[village],
                    "relation": "head",
                    "health_status": "chronic",
                    "basic_medical_insured": True,
                },
                {
                    "id_number": make_id("230231", "20100601", seq * 2),
                    "name": heads[village][0] + "小",
                    "relation": "daughter",
                    "school_status": "primary",
                    "basic_medical_insured": True,
                },
            ]
            households[village] = do_create_household(
                f"H{village[-6:]}",
                village,
                {
                    "attribute": "general",
                    "main_cause": "illness",
                    "phone": f"1390000{seq:04d}",
                    "bank_account": card_number(f"6222020000000{seq:04d}"),
                    "identified_year": 2014,
                },
                members,
                actor=None,
            )
            seq += 1
    HelperPairing.objects.create(
        helper=users["helper"],
        household=households[VILLAGES[TOWNSHIPS[0]][0]],
        start_date=datetime.date(2016, 1, 1),
    )
    return World(users=users, households=households)


def pass_second_factor(client: Any, user: Any) -> None:
    """Mark a signed-in test client's session as having passed the second factor (AUTH-3).

    The account gets a confirmed TOTP device if it has none; the real code path is tested in
    access/tests/test_otp.py. Accounts that need no second factor are left alone.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from jingzhun.access.second_factor import needs_second_factor

    if not needs_second_factor(user):
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def signed_in(client: Any, user: Any) -> Any:
    """force_login plus the second factor: a client as a fully signed-in user."""
    client.force_login(user)
    pass_second_factor(client, user)
    return client


ADMIN_USERS = ("sysadmin", "secadmin", "auditadmin")


@pytest.fixture
def admins(world: World) -> World:
    """The world plus the three administrators, a department liaison and a verification team
    member (usernames = roles; the liaison is given the household of village 100202, the
    verifier that of village 101201), and a work-team member (驻村工作队员, granted village
    100201, read-only). Passwords are 'Test-pass-2026'."""
    from jingzhun.access.models import HouseholdGrant, RegionGrant, User

    for role in (*ADMIN_USERS, "liaison", "verifier"):
        world.users[role] = User.objects.create_user(
            username=role, password="Test-pass-2026", role=role
        )
    world.users["workteam"] = User.objects.create_user(
        username="workteam", password="Test-pass-2026", role="workteam"
    )
    RegionGrant.objects.create(user=world.users["workteam"], region_id=VILLAGES[TOWNSHIPS[0]][0])
    HouseholdGrant.objects.create(
        user=world.users["liaison"],
        household=world.households[VILLAGES[TOWNSHIPS[0]][1]],
        source="liaison_match",
        reference="民政-2026-01",
    )
    HouseholdGrant.objects.create(
        user=world.users["verifier"],
        household=world.households[VILLAGES[TOWNSHIPS[1]][0]],
        source="verification_sample",
        reference="抽样-2026-01",
    )
    return world
