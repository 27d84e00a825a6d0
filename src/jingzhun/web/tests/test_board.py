"""The battle map's assistance figures (issue 21 item 6): each figure equals a plain count over
the fixture's rows, each link lists exactly the households (helpers, villages) it counts, a
village user sees only their village, and the queries do not grow with the rows."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jingzhun.assistance.tests.conftest import V1, V2, V3, extra, paired, team  # noqa: F401

from .conftest import body

COUNTY = "230231000000"
TOWNSHIP = "230231100000"


def _month() -> Any:
    from jingzhun.assistance.team_selectors import Month

    return Month.before(Month.of(timezone.localdate()))


@pytest.fixture
def assisted(paired: Any, team: Any) -> Any:  # noqa: F811
    """A small county as the demo shapes it: pairings up to and over nothing (helper at its
    quota of 6, helper2 under 8, helper3 without a profile), one monitored household, measures
    counting and not, visits in last month and before, check-ins of V1's team."""
    from jingzhun.assistance.actions import do_pair_helper
    from jingzhun.assistance.measures import do_decide_measure, do_propose_measure
    from jingzhun.assistance.teams import do_check_in
    from jingzhun.assistance.visits import VisitInput, do_record_visit
    from jingzhun.registry.actions import do_update_household

    w = paired
    county, township = w.user("county"), w.user("township")
    month = _month()
    start = month.first - datetime.timedelta(days=40)
    helper, helper2, helper3 = w.user("helper"), w.user("helper2"), w.user("helper3")
    for code in ("P01", "P02", "P03", "P04", "P05"):
        do_pair_helper(extra(code).pk, helper.pk, start, actor=county)
    do_pair_helper(extra("P06").pk, helper2.pk, start, actor=county)
    from jingzhun.access.models import HelperPairing

    # a pairing from before profiles (as the world's own): no rank category, so no quota
    HelperPairing.objects.create(helper=helper3, household=extra("P07"), start_date=start)
    do_pair_helper(w.households[V3].pk, helper2.pk, start, actor=county)
    lone = extra("P08")
    do_update_household(
        lone.pk, lone.version, {"monitoring_category": "edge"}, actor=county, by_workflow=True
    )

    def measure(code: str, kind: str, approve: bool = True) -> None:
        m = do_propose_measure(extra(code).pk, kind, start, actor=county)
        if approve:
            do_decide_measure(m.pk, True, actor=township)

    measure("P01", "industry")
    measure("P02", "industry")
    measure("P02", "employment")
    measure("P03", "medical_aid", approve=False)  # proposed only: does not count
    measure("P08", "training")
    for code, day in (("P01", 3), ("P01", 10), ("P02", 5), ("P03", -5)):
        h = extra(code)
        do_record_visit(
            VisitInput(
                client_id=str(uuid.uuid4()),
                household_id=h.pk,
                visited_on=month.first + datetime.timedelta(days=day),
                kind="home",
                household_version=h.version,
            ),
            actor=helper,
        )
    from jingzhun.assistance.models import TeamMember

    for m in TeamMember.objects.filter(team=team):
        days = 25 if m.role == "secretary" else 3
        for d in range(days):
            do_check_in(m.pk, month.first + datetime.timedelta(days=d), actor=township)
    return w


def _plain(user: Any, region: str) -> dict[str, set[int]]:
    """The households behind each figure, counted one by one in Python."""
    from jingzhun.access.models import HelperPairing
    from jingzhun.assistance.models import Measure, Visit
    from jingzhun.registry import choices as c
    from jingzhun.registry.selectors import households_for

    month = _month()
    day = min(month.last, timezone.localdate())
    from jingzhun.regions.codes import prefix as region_prefix

    prefix = region_prefix(region)
    figures: dict[str, set[int]] = {}
    for h in households_for(user):
        if not h.village_id.startswith(prefix):
            continue
        groups = []
        if h.poverty_status in c.REGISTERED_STATUSES:
            groups.append("registered")
        if h.monitoring_category and h.poverty_status not in c.CLOSED_STATUSES:
            groups.append("monitored")
        is_paired = any(
            p.start_date <= day and (p.end_date is None or p.end_date >= day)
            for p in HelperPairing.objects.filter(household=h)
        )
        measured = any(
            m.status in ("approved", "in_progress", "completed")
            for m in Measure.objects.filter(household=h)
        )
        visited = any(
            month.first <= v.visited_on <= month.last for v in Visit.objects.filter(household=h)
        )
        for g in groups:
            figures.setdefault(f"total:{g}", set()).add(h.pk)
            figures.setdefault(f"{'paired' if is_paired else 'unpaired'}:{g}", set()).add(h.pk)
            if not measured:
                figures.setdefault(f"without_measures:{g}", set()).add(h.pk)
        if is_paired:
            figures.setdefault("paired", set()).add(h.pk)
            figures.setdefault("visited" if visited else "not_visited", set()).add(h.pk)
    return figures


@pytest.mark.parametrize(
    ("user", "region"), [("county", COUNTY), ("township", TOWNSHIP), ("village", V1)]
)
def test_figures_equal_plain_counts(assisted: Any, user: str, region: str) -> None:
    from jingzhun.assistance.board import HOUSEHOLD_FIGURES, assistance_board

    reader = assisted.user(user)
    data = assistance_board(reader, region)
    plain = _plain(reader, region)
    for key in HOUSEHOLD_FIGURES:
        assert data.households[key] == len(plain.get(key, set())), key


def test_figures_of_the_county(assisted: Any) -> None:
    from jingzhun.assistance.board import assistance_board

    data = assistance_board(assisted.user("county"), COUNTY)
    h = data.households
    # 12 registered (4 of the world, P01-P08), P08 also monitored
    assert h["total:registered"] == 12 and h["total:monitored"] == 1
    # paired: world's V1 household, P01-P07, V3's household
    assert h["paired:registered"] == 9 and h["unpaired:registered"] == 3
    assert h["unpaired:monitored"] == 1
    assert h["without_measures:registered"] == 12 - 3  # P01, P02, P08 have counting measures
    assert h["without_measures:monitored"] == 0
    assert data.visits == 3 and h["visited"] == 2 and h["not_visited"] == 7
    assert data.visits_per_household == pytest.approx(3 / 9)
    kinds = {b.code: (b.households, b.measures) for b in data.by_kind}
    assert kinds == {"industry": (2, 2), "employment": (1, 1), "training": (1, 1)}
    departments = {b.code: (b.households, b.measures) for b in data.by_department}
    assert departments == {"agriculture": (2, 2), "human_resources": (2, 2)}
    # helper: 6 households = quota 6 (at); helper2: 2 of 8 (under); helper3: no profile
    assert data.helpers == {"helpers": 3, "over": 0, "at": 1, "under": 1, "no_quota": 1}
    assert data.team_figures["without_team"] == 3
    assert data.team_figures["below_attendance"] == 1  # two members with 3 days of 20
    assert data.serving_members == 3 and data.check_in_days == 25 + 3 + 3


def test_links_list_exactly_the_households(assisted: Any, client_for: Any) -> None:
    client = client_for("county")
    html = body(client.get(f"/dashboard/assistance/?region={COUNTY}"))
    links = re.findall(r'data-figure="([^"]+)" href="([^"]+)">([0-9,]+)<', html)
    assert len(links) > 15
    plain = _plain(assisted.user("county"), COUNTY)
    for figure, href, shown in links:
        page = body(client.get(href.replace("&amp;", "&")))
        n = int(shown.replace(",", ""))
        if "of=households" in href:
            listed = {int(x) for x in re.findall(r'data-household="(\d+)"', page)}
            assert len(listed) == n, figure
            if figure in plain or n == 0:
                assert listed == plain.get(figure, set()), figure
        elif "of=helpers" in href:
            assert len(re.findall(r'data-helper="(\d+)"', page)) == n, figure
        else:
            assert len(re.findall(r'data-village="(\d+)"', page)) == n, figure


def test_kind_list_shows_households_with_a_counting_measure(assisted: Any) -> None:
    from jingzhun.assistance.board import figure_households

    listed = figure_households(assisted.user("county"), COUNTY, "kind:industry", _month())
    assert sorted(h.household_code for h in listed) == ["P01", "P02"]
    listed = figure_households(assisted.user("county"), COUNTY, "kind:medical_aid", _month())
    assert list(listed) == []  # only proposed


def test_a_village_user_sees_only_their_village(assisted: Any, client_for: Any) -> None:
    client = client_for("village")
    html = body(client.get("/dashboard/assistance/"))
    assert f'data-region="{V1}"' in html
    assert client.get(f"/dashboard/assistance/?region={COUNTY}").status_code == 404
    assert client.get(f"/dashboard/assistance/?region={V2}").status_code == 404
    assert (
        client.get(
            f"/dashboard/assistance/list/?region={V2}&of=households&figure=unpaired:registered"
        ).status_code
        == 404
    )
    page = body(
        client.get(f"/dashboard/assistance/list/?region={V1}&of=households&figure=total:registered")
    )
    from jingzhun.registry.models import Household

    listed = {int(x) for x in re.findall(r'data-household="(\d+)"', page)}
    assert listed == set(Household.objects.filter(village_id=V1).values_list("pk", flat=True))
    assert client_for("helper").get("/dashboard/assistance/").status_code == 404
    assert (
        client_for("other_township").get(f"/dashboard/assistance/?region={V1}").status_code == 404
    )


def test_unknown_figures_are_not_found(assisted: Any, client_for: Any) -> None:
    client = client_for("county")
    base = f"/dashboard/assistance/list/?region={COUNTY}"
    assert client.get(base + "&of=households&figure=nonsense").status_code == 404
    assert client.get(base + "&of=helpers&figure=paired").status_code == 404
    assert client.get(base + "&of=cats&figure=paired").status_code == 404


def test_the_battle_map_loads_the_section(assisted: Any, client_for: Any) -> None:
    html = body(client_for("county").get("/dashboard/"))
    assert 'hx-get="/dashboard/assistance/?region=230231000000"' in html
    fragment = body(
        client_for("county").get(
            "/dashboard/assistance/?region=230231000000", HTTP_HX_REQUEST="true"
        )
    )
    assert "<html" not in fragment and 'id="assistance-figures"' in fragment


def test_queries_do_not_grow_with_the_rows(assisted: Any, client_for: Any) -> None:
    from conftest import make_id

    from jingzhun.assistance.actions import do_pair_helper
    from jingzhun.assistance.visits import VisitInput, do_record_visit
    from jingzhun.registry.actions import do_create_household
    from jingzhun.registry.models import Household

    client = client_for("county")
    url = f"/dashboard/assistance/?region={COUNTY}"
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    county, month = assisted.user("county"), _month()
    for i in range(5):
        do_create_household(
            f"Q{i:02d}",
            V2,
            {"attribute": "general", "identified_year": 2014},
            [
                {
                    "id_number": make_id("230231", "19660101", 300 + i),
                    "name": f"户{i}",
                    "relation": "head",
                }
            ],
            actor=None,
        )
        h = Household.objects.get(household_code=f"Q{i:02d}")
        do_pair_helper(h.pk, assisted.user("helper2").pk, month.first, actor=county)
        h.refresh_from_db()
        do_record_visit(
            VisitInput(str(uuid.uuid4()), h.pk, month.first, "home", h.version),
            actor=assisted.user("helper2"),
        )
    assert count() == before
    assert before <= 20
