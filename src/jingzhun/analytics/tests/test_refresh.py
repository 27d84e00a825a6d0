"""The indicator refresh against the real database: county figures equal `jingzhun stats`,
levels reconcile, a second refresh changes nothing, scoping, jobs and audit.

Data is committed (`transaction=True`): DuckDB reads the database over its own connection.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World
from django.utils import timezone

from jingzhun.analytics import selectors
from jingzhun.analytics.actions import do_refresh_indicators, request_refresh, run_pending
from jingzhun.analytics.models import RefreshJob, RegionFigures
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden, OutOfScope
from jingzhun.registry.actions import do_change_household_status, do_delete_household
from jingzhun.registry.selectors import region_breakdown, registry_stats

pytestmark = pytest.mark.django_db(transaction=True)
THIS_YEAR = timezone.localdate().year  # the fixture's households are registered today

STATS = {
    "registered_households": "registered_households",
    "registered_persons": "registered_persons",
    "exited_households": "exited_households",
    "exited_persons": "exited_persons",
    "remaining_households": "remaining_households",
    "remaining_persons": "remaining_persons",
}


def _history(world: World) -> None:
    """Some exits, a return and a deletion across 2018-2020."""
    county = world.user("county")
    h = world.households
    v = [VILLAGES[t][i] for t in TOWNSHIPS for i in (0, 1)]
    do_change_household_status(
        h[v[0]].pk, "exited_with_policy", datetime.date(2018, 11, 1), "验收", actor=county
    )
    do_change_household_status(
        h[v[1]].pk, "exited_no_policy", datetime.date(2019, 12, 31), "验收", actor=county
    )
    do_change_household_status(
        h[v[1]].pk, "returned", datetime.date(2020, 3, 1), "返贫", actor=county
    )
    do_change_household_status(
        h[v[2]].pk, "exited_with_policy", datetime.date(2020, 10, 1), "验收", actor=county
    )
    do_delete_household(h[v[3]].pk, "重复录入", actor=county)


def _rows() -> list[tuple[str, int, str, str, int, int | None]]:
    """Every stored figure as (indicator, year, region, dimension, numerator, denominator)."""
    return [
        (i, row.year, row.region_code, dim, n, d)
        for row in RegionFigures.objects.all()
        for i, dim, n, d in row.entries()
    ]


def _stored() -> dict[tuple[str, int, str, str], tuple[int, int | None]]:
    """Every stored figure, with the rows left out of sparse indicators put back (ADR 0027)."""
    from jingzhun.analytics.compute import fill_missing
    from jingzhun.analytics.indicators import load_indicators

    return fill_missing(
        {(i, y, r, dim): (n, d) for i, y, r, dim, n, d in _rows()}, load_indicators()
    )


def _value(region: str, year: int, indicator: str) -> tuple[int, int | None]:
    return _stored()[(indicator, year, region, "")]


def test_county_figures_equal_registry_stats_every_year(world: World) -> None:
    _history(world)
    result = do_refresh_indicators([COUNTY], actor=world.user("county"))
    assert result.households == 3  # the deleted one is gone
    assert result.years[0] == 2014 and result.current_year == THIS_YEAR
    assert result.years == list(range(2014, THIS_YEAR + 1))
    for year in result.years:
        stats = registry_stats(COUNTY, year)
        for indicator, field in STATS.items():
            assert _value(COUNTY, year, indicator)[0] == getattr(stats, field), (indicator, year)
        n, d = _value(COUNTY, year, "poverty_incidence")
        assert n == stats.remaining_persons and d == stats.rural_population
        for row in region_breakdown(None, COUNTY, year):
            assert (
                _value(row.region.code, year, "remaining_persons")[0] == row.stats.remaining_persons
            )
            assert (
                _value(row.region.code, year, "registered_households")[0]
                == row.stats.registered_households
            )
    # only 2019 has a population figure (the county's own): the other years have no rate
    assert _value(COUNTY, 2019, "poverty_incidence")[1] == 10000
    assert _value(COUNTY, 2018, "poverty_incidence")[1] is None
    assert _value(COUNTY, 2018, "exited_households") == (1, None)  # backdated exit before entry


def test_levels_reconcile_and_refresh_is_idempotent(world: World) -> None:
    _history(world)
    do_refresh_indicators([COUNTY], actor=None)
    first = sorted((r, y, i, dim, n, d) for i, y, r, dim, n, d in _rows())
    assert RegionFigures.objects.count() == len({(r, y) for r, y, *_rest in first})
    do_refresh_indicators([COUNTY], actor=None)
    second = sorted((r, y, i, dim, n, d) for i, y, r, dim, n, d in _rows())
    assert first == second and first
    by_key = {(r, y, i, d): n for r, y, i, d, n, _den in first}
    parents = {v: t for t in TOWNSHIPS for v in VILLAGES[t]} | {t: COUNTY for t in TOWNSHIPS}
    sums: dict[tuple[str, int, str, str], int] = {}
    for (region, year, ind, dim), n in by_key.items():
        if region in parents:
            key = (parents[region], year, ind, dim)
            sums[key] = sums.get(key, 0) + n
    assert sums
    for key, total in sums.items():
        assert by_key[key] == total, key


def test_scoping_of_figures(world: World) -> None:
    do_refresh_indicators(None, actor=None)
    township = world.user("township")
    own = selectors.figures(township, TOWNSHIPS[0], THIS_YEAR)
    assert own[("registered_households", "")] == (2, None)
    with pytest.raises(OutOfScope):
        selectors.figures(township, COUNTY, THIS_YEAR)
    with pytest.raises(OutOfScope):
        selectors.dashboard_scope(township, TOWNSHIPS[1])
    with pytest.raises(OutOfScope):
        selectors.dashboard_scope(world.user("helper"), None)
    scope = selectors.dashboard_scope(township, None)
    assert scope.region.code == TOWNSHIPS[0]
    assert [c.code for c in scope.children] == VILLAGES[TOWNSHIPS[0]]


def test_refusals(world: World) -> None:
    with pytest.raises(Forbidden):
        do_refresh_indicators([COUNTY], actor=world.user("helper"))
    with pytest.raises(Forbidden):
        do_refresh_indicators(["230230000000"], actor=world.user("township"))
    assert not RegionFigures.objects.exists()


def test_job_runs_with_progress_and_audit(world: World) -> None:
    job = request_refresh([VILLAGES[TOWNSHIPS[0]][0]], actor=world.user("village"), reason="导入")
    again = request_refresh([COUNTY], actor=world.user("county"))
    assert again.pk == job.pk and job.counties == COUNTY  # coalesced, whole county
    before = AuditEvent.objects.filter(event="analytics.indicators.refresh").count()
    [done] = run_pending()
    assert done.status == RefreshJob.DONE and done.progress == 100 and done.rows > 0
    assert set(done.seconds) >= {"read", "compute", "store"}
    assert AuditEvent.objects.filter(event="analytics.indicators.refresh").count() == before + 1
    assert selectors.latest_job(world.user("township")) == done
    assert _value(COUNTY, THIS_YEAR, "registered_households") == (4, None)


def test_data_version_finds_the_job_the_dashboard_shows(world: World) -> None:
    """data_version's job (one query with the refresh time) is the newest of the last 20 jobs
    touching the user's counties, unless it is done: what latest_job finds, minus done jobs."""
    county, other = world.user("county"), world.user("other_township")
    RefreshJob.objects.all().delete()  # the fixture's registrations each requested a refresh

    def shown(user: Any, region: str) -> int | None:
        found = selectors.data_version(user, region).open_job
        latest = selectors.latest_job(user)
        assert found == (latest.pk if latest and latest.status != RefreshJob.DONE else None)
        return found

    assert shown(county, COUNTY) is None
    mine = request_refresh([COUNTY], actor=county)
    assert shown(county, COUNTY) == mine.pk and shown(other, TOWNSHIPS[1]) == mine.pk
    RefreshJob.objects.create(counties="230230000000")  # newer, another county's: passed over
    assert shown(county, COUNTY) == mine.pk
    RefreshJob.objects.filter(pk=mine.pk).update(status=RefreshJob.FAILED)
    assert shown(county, COUNTY) == mine.pk  # a failed job stays on the page
    RefreshJob.objects.filter(pk=mine.pk).update(status=RefreshJob.DONE)
    assert shown(county, COUNTY) is None  # done: the page shows the refresh time instead
    several = RefreshJob.objects.create(counties=f"230230000000,{COUNTY}")
    assert shown(county, COUNTY) == several.pk
    everyone = RefreshJob.objects.create(counties="", status=RefreshJob.RUNNING)
    assert shown(other, TOWNSHIPS[1]) == everyone.pk
    for _ in range(selectors.JOBS_LOOKED_AT):
        RefreshJob.objects.create(counties="230230000000")
    assert shown(county, COUNTY) is None  # only the newest jobs are looked at
    with pytest.raises(OutOfScope):
        selectors.data_version(other, COUNTY)


def test_breakdowns_and_coverage(world: World) -> None:
    do_refresh_indicators([COUNTY], actor=None)
    stored = RegionFigures.objects.get(region_code=COUNTY, year=THIS_YEAR).parsed()
    assert {dim: n for dim, (n, _d) in stored["households_by_cause"].items()} == {"illness": 4}
    # every member in the fixture has basic medical insurance; only the current year is computed
    assert _value(COUNTY, THIS_YEAR, "medical_insurance_coverage") == (8, 8)
    assert not [
        row for row in _rows() if row[0] == "medical_insurance_coverage" and row[1] == THIS_YEAR - 1
    ]
    assert _value(COUNTY, THIS_YEAR, "pairing_coverage") == (1, 4)


def test_orm_path_agrees_with_duckdb(world: World) -> None:
    """The definitions executed twice (DuckDB in bulk, ORM per indicator) give the same figures."""
    from jingzhun.access.models import HelperPairing
    from jingzhun.analytics.indicators import load_indicators
    from jingzhun.analytics.orm import compute_county
    from jingzhun.registry.actions import do_update_household, do_update_member

    _history(world)
    county = world.user("county")
    h = world.households[VILLAGES[TOWNSHIPS[1]][0]]
    h.refresh_from_db()
    do_update_household(
        h.pk, h.version,
        {"house_safety_grade": "B", "monitoring_category": "edge", "risk_status": "not_eliminated",
         "main_cause": "disability", "attribute": "dibao"},
        actor=county, by_workflow=True,
    )  # fmt: skip
    member = h.members.order_by("id").first()
    assert member is not None
    do_update_member(member.pk, member.version, {"pension_insured": True}, actor=county)
    HelperPairing.objects.create(
        helper=world.user("helper"), household=h, start_date=datetime.date(2020, 1, 1)
    )
    result = do_refresh_indicators([COUNTY], actor=None)
    defs = [d for d in load_indicators() if d.grain != "criterion"]
    orm = compute_county(COUNTY, defs, result.years, result.current_year)
    stored = {
        key: figure
        for key, figure in _stored().items()
        if key[0] not in ("exit_criterion_pass_rate", "exit_all_pass_rate")
        and key[2][4:6] != "00"  # the county and below: the roll-up above is test_province's
    }
    assert stored and orm == stored


def test_zero_figures_are_left_out_and_read_as_zero(world: World) -> None:
    """Sparse indicators store no row equal to their missing figure (ADR 0027); the anchor has a
    row for every region and year; the selectors read a left-out row as that figure."""
    from jingzhun.analytics.compute import ANCHOR, missing_figure, sparse
    from jingzhun.analytics.indicators import load_indicators

    _history(world)
    result = do_refresh_indicators([COUNTY], actor=None)
    defs = {d.id: d for d in load_indicators()}
    rows = _rows()
    regions = {COUNTY, *TOWNSHIPS, *(v for t in TOWNSHIPS for v in VILLAGES[t])}
    regions |= {"230000000000", "230200000000"}  # the province and prefecture (rolled up)
    anchors = {(y, r) for i, y, r, _dim, _n, _d in rows if i == ANCHOR}
    assert anchors == {(y, r) for y in result.years for r in regions}
    assert not [
        row
        for row in rows
        if sparse(defs[row[0]]) and (row[4], row[5]) == missing_figure(defs[row[0]])
    ]
    # nobody had exited by the end of 2014: no row, and the page reads zero
    assert not [row for row in rows if row[0] == "exited_households" and row[1] == 2014]
    county = world.user("county")
    assert selectors.figures(county, COUNTY, 2014)[("exited_households", "")] == (0, None)
    assert selectors.figures(county, COUNTY, 2014)[("exit_rate", "")] == (0, 0)
    kids = selectors.child_figures(county, [], 2014, ["exited_households"])
    assert kids == {}
    scope = selectors.dashboard_scope(county, COUNTY)
    kids = selectors.child_figures(county, scope.children, 2014, ["exited_households"])
    assert {k: v["exited_households"] for k, v in kids.items()} == {t: (0, None) for t in TOWNSHIPS}
    series = selectors.trend(county, COUNTY, ["exited_households"])
    assert series["exited_households"][2014] == (0, None)
    assert series["exited_households"][2018] == (1, None)


def test_year_end_persons_follow_dated_membership_in_both_paths(world: World) -> None:
    """A member who left in 2020 is in 2019's persons only; a child born in 2020 in 2020's only
    (ADR 0055): the stored figures, `registry_stats` and the ORM baseline
    agree."""
    from conftest import make_id

    from jingzhun.analytics.indicators import load_indicators
    from jingzhun.analytics.orm import compute_county
    from jingzhun.registry.actions import do_add_member, do_remove_member

    left, born = VILLAGES[TOWNSHIPS[0]]
    for village in (left, born):
        do_change_household_status(
            world.households[village].pk,
            "not_exited",
            datetime.date(2015, 3, 1),
            "建档",
            actor=None,
        )
    daughter = world.households[left].members.get(relation="daughter")
    do_remove_member(daughter.pk, "迁出", actor=None, left_on=datetime.date(2020, 6, 1))
    baby = {
        "id_number": make_id("230231", "20200301", 77),
        "name": "李小宝",
        "relation": "grandchild",
    }
    do_add_member(
        world.households[born].pk, baby, "出生", actor=None, joined_on=datetime.date(2020, 3, 1)
    )
    result = do_refresh_indicators([COUNTY], actor=None)

    persons = {
        (village, year): _value(village, year, "registered_persons")[0]
        for village in (left, born)
        for year in (2019, 2020)
    }
    assert persons == {(left, 2019): 2, (left, 2020): 1, (born, 2019): 2, (born, 2020): 3}
    for (village, year), n in persons.items():
        assert registry_stats(village, year).registered_persons == n
    # members counted at the current year end: the daughter is gone, the baby is there
    assert _value(COUNTY, THIS_YEAR, "medical_insurance_coverage")[1] == 8
    defs = [d for d in load_indicators() if d.grain != "criterion"]
    orm = compute_county(COUNTY, defs, result.years, result.current_year)
    stored = {
        key: figure
        for key, figure in _stored().items()
        if key[0] not in ("exit_criterion_pass_rate", "exit_all_pass_rate")
        and key[2][4:6] != "00"  # the county and below: the roll-up above is test_province's
    }
    assert stored and orm == stored
