"""The number of SQL queries of each main page and API list, for each role that uses it (issue 26).

The fixture has several households, pairings, measures and cases in the village user's village,
so a page that asks the database once per row gets a different count: the counts are pinned,
and a second check adds more rows and expects the same count. benchmarks/pages.py (B12) measures
the same pages at county scale; the target is at most 30 queries a page.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from conftest import VILLAGES, World, make_id
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

V1 = VILLAGES["230231100000"][0]
QUERY_TARGET = 30


def _add_rows(world: World, n: int, start: int) -> None:
    """n more households in village V1, each paired with the helper, with a measure and an open
    identification case (so lists have several rows of each kind)."""
    from jingzhun.access.models import HelperPairing
    from jingzhun.assistance.measures import do_propose_measure
    from jingzhun.registry.actions import do_create_household
    from jingzhun.workflows.actions import CaseDetails, do_open_case

    village = world.user("village")
    for i in range(start, start + n):
        household = do_create_household(
            f"HQ{i:04d}",
            V1,
            {"attribute": "general", "main_cause": "illness", "identified_year": 2014},
            [
                {"id_number": make_id("230231", "19800101", 500 + i * 2), "name": f"孙{i}",
                 "relation": "head"},
                {"id_number": make_id("230231", "20120101", 501 + i * 2), "name": f"孙小{i}",
                 "relation": "son", "school_status": "primary"},
            ],
            actor=None,
        )  # fmt: skip
        HelperPairing.objects.create(
            helper=world.user("helper"), household=household, start_date=datetime.date(2020, 1, 1)
        )
        do_propose_measure(
            household.pk,
            "industry",
            datetime.date(2026, 3, 1),
            amount="1000",
            actor=world.user("helper"),
        )
        ordinary = do_create_household(
            f"HO{i:04d}",
            V1,
            {"poverty_status": "not_registered"},
            [{"id_number": make_id("230231", "19850101", 700 + i), "name": f"周{i}",
              "relation": "head"}],
            actor=None,
        )  # fmt: skip
        do_open_case(ordinary.pk, "identification", CaseDetails(), actor=village)


ROUTES: list[tuple[str, str]] = [
    # web pages
    ("helper", "/"),
    *[(r, "/households/") for r in ("county", "township", "village", "auditor", "helper")],
    ("county", "/households/?status=remaining&township=230231100000"),
    ("county", "/households/?after=H100201"),  # a keyset page (core.paging)
    *[(r, "/households/{household}/") for r in ("county", "village", "auditor", "helper")],
    *[(r, "/cases/") for r in ("county", "township", "village")],
    *[(r, "/postings/") for r in ("county", "village")],
    *[(r, "/pairings/") for r in ("county", "village")],
    ("county", "/pairings/unpaired/"),
    ("county", "/pairings/helpers/"),
    *[(r, "/measures/") for r in ("county", "village")],
    ("county", "/measures/without/"),
    ("county", "/teams/"),
    ("helper", "/visits/"),
    # API lists
    *[(r, "/api/households") for r in ("county", "village", "helper")],
    ("county", "/api/households/{household}"),
    ("helper", "/api/stats"),
    ("county", "/api/cases"),
    ("county", "/api/postings"),
    ("county", "/api/pairings"),
    ("county", "/api/pairings/unpaired"),
    ("county", "/api/helpers"),
    ("county", "/api/measures"),
    ("county", "/api/teams"),
]

EXPECTED: dict[tuple[str, str], int] = {
    ("auditor", "/"): 14,
    ("county", "/"): 15,
    ("helper", "/"): 6,
    ("township", "/"): 14,
    ("village", "/"): 14,
    ("county", "/?region=230231100000"): 15,
    ("county", "/api/cases"): 5,
    ("county", "/api/helpers"): 6,
    ("county", "/api/households"): 6,
    ("helper", "/api/households"): 4,
    ("village", "/api/households"): 5,
    ("county", "/api/households/{household}"): 7,
    ("county", "/api/measures"): 6,
    ("county", "/api/pairings"): 6,
    ("county", "/api/pairings/unpaired"): 8,  # +2: counted apart (count_without)
    ("county", "/api/postings"): 5,
    ("county", "/api/stats"): 12,
    ("helper", "/api/stats"): 14,
    ("township", "/api/stats"): 11,
    ("county", "/api/teams"): 8,
    ("county", "/cases/"): 6,
    ("township", "/cases/"): 5,  # no case on its tab: the cases are not fetched
    ("village", "/cases/"): 6,
    ("county", "/dashboard/"): 7,
    ("township", "/dashboard/"): 6,
    ("auditor", "/households/"): 7,
    ("county", "/households/"): 8,
    ("helper", "/households/"): 4,
    ("township", "/households/"): 7,
    ("village", "/households/"): 7,
    ("county", "/households/?status=remaining&township=230231100000"): 8,
    ("county", "/households/?after=H100201"): 8,
    ("auditor", "/households/{household}/"): 19,  # +1 asset income; layer facts: 3
    ("county", "/households/{household}/"): 20,  # +1 asset income; layer facts: 3
    ("helper", "/households/{household}/"): 17,  # +1 asset income; layer facts: 3
    ("village", "/households/{household}/"): 19,  # +1 asset income; layer facts: 3
    ("county", "/measures/"): 15,  # +2: counted apart (+2 more with counting measures)
    ("village", "/measures/"): 14,  # +2: counted apart (+2 more with counting measures)
    ("county", "/measures/without/"): 8,  # +1: counted apart (+1 with counting measures)
    ("county", "/pairings/"): 9,
    ("village", "/pairings/"): 8,
    ("county", "/pairings/helpers/"): 8,
    ("county", "/pairings/unpaired/"): 10,  # +2: counted apart
    ("county", "/postings/"): 6,
    ("village", "/postings/"): 5,
    ("county", "/teams/"): 9,
    ("helper", "/visits/"): 6,
}


def _count(client: Client, path: str) -> int:
    client.get(path)  # the first request: session and caches as in steady use
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries)


@pytest.fixture
def busy(world: World) -> World:
    _add_rows(world, 3, 0)
    return world


@pytest.mark.parametrize(("role", "path"), ROUTES, ids=[f"{r}:{p}" for r, p in ROUTES])
def test_page_query_count_is_pinned_and_does_not_grow_with_rows(
    busy: World, client_for: Callable[[str], Client], role: str, path: str
) -> None:
    url = path.format(household=busy.households[V1].pk)
    client = client_for(role)
    n = _count(client, url)
    assert n <= QUERY_TARGET, (role, path, n)
    assert n == EXPECTED[(role, path)], f"{role} {path}: {n} queries"
    # three more households, pairings, measures and cases: the same number of queries
    _add_rows(busy, 3, 10)
    assert _count(client, url) == n, (role, path)


# The overview, the battle map and /api/stats read stored figures: committed data and a refresh
# (DuckDB reads the database over its own connection).
STORED_ROUTES = [
    *[(r, "/") for r in ("county", "township", "village", "auditor")],
    ("county", "/?region=230231100000"),
    *[(r, "/dashboard/") for r in ("county", "township")],
    *[(r, "/api/stats") for r in ("county", "township")],
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("role", "path"), STORED_ROUTES, ids=[f"{r}:{p}" for r, p in STORED_ROUTES]
)
def test_stored_figure_pages_query_count_is_pinned(
    busy: World, client_for: Callable[[str], Client], role: str, path: str
) -> None:
    from jingzhun.analytics.actions import do_refresh_indicators

    do_refresh_indicators(None, actor=None)
    client = client_for(role)
    n = _count(client, path)
    assert n <= QUERY_TARGET, (role, path, n)
    assert n == EXPECTED[(role, path)], f"{role} {path}: {n} queries"
    _add_rows(busy, 3, 10)
    do_refresh_indicators(None, actor=None)
    assert _count(client, path) == n, (role, path)
