"""总览: figures of the user's scope, per township or village, against an independent count.

The page reads the stored year-end figures (ADR 0065): the fixtures refresh them, on
committed data (`transaction=True`: the refresh reads the database through DuckDB)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.analytics.actions import do_refresh_indicators, run_pending
from jingzhun.analytics.models import RefreshJob
from jingzhun.audit.actions import OUT_OF_SCOPE
from jingzhun.audit.models import AuditEvent
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household, Member
from jingzhun.registry.selectors import region_breakdown, registry_stats

from .conftest import body

pytestmark = pytest.mark.django_db(transaction=True)

COUNTY, T1, T2 = "230231000000", "230231100000", "230231101000"
V1 = "230231100201"


@pytest.fixture
def exited_world(world: Any) -> Any:
    """The world with village 100202's household exited today, and this year's rural population."""
    from jingzhun.regions.actions import RegionRow, do_load_regions
    from jingzhun.registry.actions import do_change_household_status

    year = timezone.localdate().year
    do_load_regions(
        [
            RegionRow(1, T1, "第1镇", rural_population=400, year=year),
            RegionRow(2, T2, "第2镇", rural_population=600, year=year),
        ],
        actor=None,
        source="test",
    )
    household = world.households["230231100202"]
    do_change_household_status(
        household.pk,
        "exited_with_policy",
        timezone.localdate(),
        "达到退出标准",
        actor=world.user("county"),
    )
    do_refresh_indicators(None, actor=None)
    RefreshJob.objects.all().delete()  # the fixture's own requests: computed just now
    return world


def oracle(**where: Any) -> dict[str, int]:
    """Counts from current statuses (all statuses in the fixture changed today), not the SQL."""
    households = Household.objects.filter(**where)
    out = {}
    for key, statuses in [
        ("registered", c.REGISTERED_STATUSES),
        ("exited", c.EXITED_STATUSES),
        ("remaining", c.REMAINING_STATUSES),
    ]:
        chosen = households.filter(poverty_status__in=statuses)
        out[f"{key}_households"] = chosen.count()
        out[f"{key}_persons"] = Member.objects.filter(household__in=chosen).count()
    return out


def figure(html: str, status: str, region_filter: str = "") -> int:
    """The household count the overview links to the list for a status group (figures section)."""
    match = re.search(
        rf'href="/households/\?{re.escape(region_filter)}status={status}">([\d,]+)</a>', html
    )
    assert match, f"no figure for {region_filter}{status}"
    return int(match.group(1).replace(",", ""))


def test_county_overview_shows_the_county_figures(exited_world: Any, client_for: Any) -> None:
    # Given a county where one of four households exited this year
    expected = oracle(county_code=COUNTY)
    assert expected == {
        "registered_households": 4,
        "registered_persons": 8,
        "exited_households": 1,
        "exited_persons": 2,
        "remaining_households": 3,
        "remaining_persons": 6,
    }
    # When the county user opens the overview (the default year is the latest with data)
    response = client_for("county").get("/")
    html = body(response)
    # Then it shows the county's figures for this year
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "拜泉县" in html
    assert f'<option value="{timezone.localdate().year}" selected>' in html
    assert figure(html, "registered") == expected["registered_households"]
    assert figure(html, "exited") == expected["exited_households"]
    assert figure(html, "remaining") == expected["remaining_households"]
    assert "8 人" in html and "2 人" in html and "6 人" in html
    # 6 remaining persons of 1,000 rural residents (400 + 600, summed from the townships)
    assert "0.60%" in html
    assert "1,000" in html


def test_county_overview_has_one_row_per_township_linking_to_the_list(
    exited_world: Any, client_for: Any
) -> None:
    html = body(client_for("county").get("/"))
    table = html[html.index('id="breakdown"') :]
    assert "第1镇" in table and "第2镇" in table
    for township in (T1, T2):
        expected = oracle(township_code=township)
        assert (
            figure(table, "registered", f"township={township}&amp;")
            == expected["registered_households"]
        )
        assert figure(table, "exited", f"township={township}&amp;") == expected["exited_households"]
        assert (
            figure(table, "remaining", f"township={township}&amp;")
            == expected["remaining_households"]
        )
    # township 1: 1 of 2 households exited, 2 remaining persons of 400 = 0.50%
    assert "0.50%" in table


def test_breakdown_rows_equal_registry_stats_of_each_child(exited_world: Any) -> None:
    # The one-query breakdown must agree with registry_stats run per township and per village.
    year = timezone.localdate().year
    county_user = exited_world.user("county")
    for parent in (COUNTY, T1, T2):
        rows = region_breakdown(county_user, parent, year)
        assert rows
        for row in rows:
            assert row.stats == registry_stats(row.region.code, year, user=county_user)
    for past in (2019, year - 1):
        for row in region_breakdown(county_user, COUNTY, past):
            assert row.stats == registry_stats(row.region.code, past, user=county_user)


def test_an_earlier_year_counts_the_status_at_that_year_end(
    exited_world: Any, client_for: Any
) -> None:
    # Given statuses that were all recorded this year, 2019 has no registered households yet
    response = client_for("county").get("/?year=2019")
    html = body(response)
    assert response.status_code == 200
    assert '<option value="2019" selected>' in html
    assert figure(html, "registered") == 0
    # and the county's 2019 rural population (10,000, from the fixture) with a 0.00% incidence
    assert "10,000" in html and "0.00%" in html


def test_township_user_sees_only_their_township_with_a_row_per_village(
    exited_world: Any, client_for: Any
) -> None:
    html = body(client_for("township").get("/"))
    expected = oracle(township_code=T1)
    assert (
        figure(html, "registered", f"township={T1}&amp;") == expected["registered_households"] == 2
    )
    assert figure(html, "exited", f"township={T1}&amp;") == 1
    table = html[html.index('id="breakdown"') :]
    assert "第1镇1村" in table and "第1镇2村" in table
    assert "第2镇" not in html
    assert figure(table, "registered", f"village={V1}&amp;") == 1


def test_village_user_sees_their_village(exited_world: Any, client_for: Any) -> None:
    html = body(client_for("village").get("/"))
    assert figure(html, "registered", f"village={V1}&amp;") == 1
    assert figure(html, "remaining", f"village={V1}&amp;") == 1
    assert 'id="breakdown"' not in html


def test_helper_sees_their_home_page_of_paired_households(
    exited_world: Any, client_for: Any
) -> None:
    # a helper's home is their households (issue 21), not the county's figures
    html = body(client_for("helper").get("/"))
    assert "我的帮扶户" in html and "H100201" in html
    assert "H100202" not in html and "H101201" not in html
    assert "贫困发生率" not in html


def test_county_user_can_open_a_township(exited_world: Any, client_for: Any) -> None:
    html = body(client_for("county").get(f"/?region={T2}"))
    assert figure(html, "registered", f"township={T2}&amp;") == 2
    assert "第2镇1村" in html
    assert "拜泉县" in html  # the breadcrumb leads back to the county


@pytest.mark.parametrize("region", [T2, COUNTY, "230232000000", "000000000000", "230231999000"])
def test_township_user_gets_404_for_a_region_outside_their_township(
    exited_world: Any, client_for: Any, region: str
) -> None:
    client = client_for("township")
    events = AuditEvent.objects.count()
    response = client.get(f"/?region={region}")
    assert response.status_code == 404
    assert "第2镇1村" not in body(response)
    # the only event is the denied attempt (AUDIT-1)
    assert list(AuditEvent.objects.values_list("event", flat=True)[events:]) == [OUT_OF_SCOPE]


def test_a_bad_year_falls_back_to_the_default(exited_world: Any, client_for: Any) -> None:
    response = client_for("county").get("/?year=1999")
    assert response.status_code == 200
    assert f'<option value="{timezone.localdate().year}" selected>' in body(response)


def test_overview_in_english(exited_world: Any, client_for: Any) -> None:
    client = client_for("county")
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = body(client.get("/"))
    assert "Overview" in html and "Poverty incidence" in html
    assert "总览" not in html
    assert figure(html, "registered") == 4


def test_year_options_run_from_this_year_back_to_2014(world: Any, client_for: Any) -> None:
    html = body(client_for("county").get("/"))
    years = [int(y) for y in re.findall(r'<option value="(\d{4})"', html)]
    assert years == list(range(timezone.localdate().year, 2013, -1))


def test_a_user_without_grants_sees_a_notice_and_no_households(world: Any) -> None:
    from django.test import Client

    from jingzhun.access.models import User

    User.objects.create_user(username="newcomer", password="Test-pass-2026", role="township")
    client = Client()
    client.post("/login/", {"username": "newcomer", "password": "Test-pass-2026"})
    html = body(client.get("/"))
    assert "您的账号尚未授权任何区域" in html
    assert 'id="breakdown"' not in html
    listing = body(client.get("/households/"))
    assert "共 0 户" in listing and "H100201" not in listing


def test_auditor_sees_the_county_figures(exited_world: Any, client_for: Any) -> None:
    html = body(client_for("auditor").get("/"))
    assert figure(html, "registered") == 4 and figure(html, "exited") == 1
    assert "审计查阅人员" in html


def test_the_overview_shows_ordinary_and_monitored_households_apart(
    exited_world: Any, client_for: Any
) -> None:
    """Issue 19 item 4: ordinary rural households (未建档立卡) and monitored households are shown
    beside the registered figures, never inside them."""
    from conftest import make_id

    from jingzhun.registry.actions import do_create_household

    members = [
        {"id_number": make_id("230231", "19750101", 701 + i), "name": f"钱{i}", "relation": rel}
        for i, rel in enumerate(("head", "spouse", "son"))
    ]
    do_create_household(
        "H900001",
        "230231100201",
        {"poverty_status": "not_registered", "monitoring_category": "edge"},
        members,
        actor=None,
    )
    run_pending()  # the refresh the registration requested
    html = body(client_for("county").get("/"))

    def shown(name: str) -> str:
        match = re.search(rf'data-figure="{name}">([^<]*)<', html)
        assert match, name
        return match.group(1).strip()

    stats = registry_stats(COUNTY, timezone.localdate().year)
    assert stats.ordinary_households == 1 and stats.ordinary_persons == 3
    assert shown("ordinary") == "1"
    assert "3 人" in html
    assert shown("monitored") == str(stats.monitored_households)
    assert figure(html, "registered") == 4  # the ordinary household is not registered


def test_the_overview_says_when_figures_were_computed_and_when_a_refresh_is_pending(
    exited_world: Any, client_for: Any
) -> None:
    from jingzhun.registry.actions import do_change_household_status

    client = client_for("county")
    html = body(client.get("/"))
    assert "指标计算于" in html and 'data-refresh="pending"' not in html
    assert figure(html, "exited") == 1
    # a registry write requests a refresh: until it ran the page shows the stored figures and
    # says a refresh is pending
    household = exited_world.households["230231100201"]
    do_change_household_status(
        household.pk, "exited_no_policy", timezone.localdate(), "验收", actor=None
    )
    job = RefreshJob.objects.get()
    assert job.status == RefreshJob.QUEUED and job.counties == COUNTY
    html = body(client.get("/"))
    assert 'data-refresh="pending"' in html and figure(html, "exited") == 1
    run_pending()
    html = body(client.get("/"))
    assert 'data-refresh="pending"' not in html and figure(html, "exited") == 2


def test_figures_never_computed_are_said_so(world: Any, client_for: Any) -> None:
    RefreshJob.objects.all().delete()
    html = body(client_for("county").get("/"))
    assert 'id="not-computed"' in html and "尚未计算" in html
    assert 'id="breakdown"' not in html


def test_the_default_year_is_this_year_when_computed(exited_world: Any, client_for: Any) -> None:
    # statuses of the fixture all changed today; earlier years are computed too (2014 onwards)
    from jingzhun.analytics.overview import default_year

    year = timezone.localdate().year
    assert default_year(exited_world.user("county"), COUNTY) == year
    html = body(client_for("county").get("/"))
    assert f'<option value="{year}" selected>' in html
