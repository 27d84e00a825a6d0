"""The indicator refresh against the real database: county figures equal `jingzhun stats`,
levels reconcile, a second refresh changes nothing, scoping, jobs and audit.

Data is committed (`transaction=True`): DuckDB reads the database over its own connection.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World

from jingzhun.analytics import selectors
from jingzhun.analytics.actions import do_refresh_indicators, request_refresh, run_pending
from jingzhun.analytics.models import IndicatorValue, RefreshJob
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden, OutOfScope
from jingzhun.registry.actions import do_change_household_status, do_delete_household
from jingzhun.registry.selectors import region_breakdown, registry_stats

pytestmark = pytest.mark.django_db(transaction=True)
THIS_YEAR = datetime.date.today().year  # the fixture's households are registered today

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


def _value(region: str, year: int, indicator: str) -> tuple[int, int | None]:
    row = IndicatorValue.objects.get(
        region_code=region, year=year, indicator=indicator, dimension=""
    )
    return row.numerator, row.denominator


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
    first = sorted(
        IndicatorValue.objects.values_list(
            "region_code", "year", "indicator", "dimension", "numerator", "denominator"
        )
    )
    do_refresh_indicators([COUNTY], actor=None)
    second = sorted(
        IndicatorValue.objects.values_list(
            "region_code", "year", "indicator", "dimension", "numerator", "denominator"
        )
    )
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
    assert not IndicatorValue.objects.exists()


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


def test_breakdowns_and_coverage(world: World) -> None:
    do_refresh_indicators([COUNTY], actor=None)
    rows: Any = IndicatorValue.objects.filter(
        region_code=COUNTY, year=THIS_YEAR, indicator="households_by_cause"
    )
    assert {r.dimension: r.numerator for r in rows} == {"illness": 4}
    # every member in the fixture has basic medical insurance; only the current year is computed
    assert _value(COUNTY, THIS_YEAR, "medical_insurance_coverage") == (8, 8)
    assert not IndicatorValue.objects.filter(
        indicator="medical_insurance_coverage", year=THIS_YEAR - 1
    ).exists()
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
        actor=county,
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
        (i, y, r, dim): (n, den)
        for i, y, r, dim, n, den in IndicatorValue.objects.exclude(
            indicator__in=["exit_criterion_pass_rate", "exit_all_pass_rate"]
        ).values_list("indicator", "year", "region_code", "dimension", "numerator", "denominator")
    }
    assert stored and orm == stored
