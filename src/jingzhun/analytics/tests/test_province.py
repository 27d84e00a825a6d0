"""Above the county (issue 25 items 3-5): real outlines of the seed counties, figures of
prefectures and provinces recomputed from their counties (counts summed, rates from the summed
numerators and denominators, never averaged), and who may open which level.

Data is committed (`transaction=True`): DuckDB reads the database over its own connection.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import COUNTY, World, make_id, signed_in
from django.utils import timezone

from jingzhun.analytics import outlines, selectors
from jingzhun.analytics.actions import do_generate_demo_shapes, do_refresh_indicators
from jingzhun.analytics.indicators import load_indicators
from jingzhun.analytics.models import RegionFigures, RegionShape
from jingzhun.core.errors import OutOfScope

PROVINCE = "230000000000"
QIQIHAR = "230200000000"
DAQING = "230600000000"
YIAN = "230223000000"
LINDIAN = "230623000000"
OTHER_PROVINCE = "520000000000"
JINPING = "522628000000"
SEEDS = {
    "230231": "拜泉县",
    "230623": "林甸县",
    "230223": "依安县",
    "522628": "锦屏县",
    "150522": "科尔沁左翼后旗",
}
THIS_YEAR = timezone.localdate().year  # the fixture's households are registered today


def add_counties(world: World) -> dict[str, Any]:
    """Yi'an (Qiqihar, beside the fixture's Baiquan) and Lindian (Daqing) with a township, a
    village and households each, and Jinping in another province; a province and a prefecture
    user (read-only, as the demo's). Different rural populations, so that averaging the
    counties' rates would give another number than the recomputed one."""
    from jingzhun.access.models import RegionGrant, User
    from jingzhun.regions.actions import RegionRow, do_load_regions
    from jingzhun.registry.actions import do_change_household_status, do_create_household

    rows = [RegionRow(1, DAQING, "大庆市"), RegionRow(2, OTHER_PROVINCE, "贵州省")]
    rows.append(RegionRow(3, "522600000000", "黔东南苗族侗族自治州"))
    n = 4
    for county, name, population in (
        (YIAN, "依安县", 40000),
        (LINDIAN, "林甸县", 3000),
        (JINPING, "锦屏县", 20000),
    ):
        rows.append(RegionRow(n, county, name, rural_population=population, year=THIS_YEAR))
        rows.append(RegionRow(n + 1, county[:6] + "100000", name[:2] + "镇"))
        rows.append(RegionRow(n + 2, county[:6] + "100201", name[:2] + "村"))
        n += 3
    rows.append(RegionRow(n, COUNTY, "拜泉县", rural_population=10000, year=THIS_YEAR))
    do_load_regions(rows, actor=None, source="fixture")
    made = {}
    seq = 50
    for county, households, exits in ((YIAN, 3, 1), (LINDIAN, 2, 0), (JINPING, 1, 0)):
        village = county[:6] + "100201"
        for i in range(households):
            made[(county, i)] = do_create_household(
                f"H{county[:6]}{i}",
                village,
                {"attribute": "general", "main_cause": "illness", "identified_year": 2014},
                [
                    {
                        "id_number": make_id(county[:6], "19700101", seq * 2 + 1),
                        "name": f"户主{seq}",
                        "relation": "head",
                    },
                    {
                        "id_number": make_id(county[:6], "19720101", seq * 2),
                        "name": f"配偶{seq}",
                        "relation": "spouse",
                    },
                ],
                actor=None,
            )
            seq += 1
        for i in range(exits):
            do_change_household_status(
                made[(county, i)].pk,
                "exited_with_policy",
                timezone.localdate(),
                "验收",
                actor=None,
            )
    users = {}
    for username, region in (("province", PROVINCE), ("prefecture", QIQIHAR)):
        users[username] = User.objects.create_user(
            username=username, password="Test-pass-2026", role="auditor"
        )
        RegionGrant.objects.create(user=users[username], region_id=region)
    return users


def _figures(code: str, year: int) -> dict[str, Any]:
    row = RegionFigures.objects.filter(region_code=code, year=year).first()
    return row.parsed() if row is not None else {}


@pytest.mark.parametrize("code", sorted(SEEDS))
def test_seed_counties_have_real_outlines(code: str) -> None:
    """The package has the five seed counties, named as domain.md 9 names them; the stored
    outline is a small valid MultiPolygon."""
    import shapely.geometry

    full = code + "000000"
    assert outlines.known(full)
    assert outlines.name(full) == SEEDS[code]
    geometry = outlines.outline(full)
    assert geometry is not None and geometry["type"] == "MultiPolygon"
    shape = shapely.geometry.shape(geometry)
    assert shape.is_valid and shape.area > 0.05  # square degrees: a county, not a speck
    assert len(str(geometry)) < 20_000  # simplified for pages
    assert outlines.known(code[:4] + "0" * 8) and outlines.known(code[:2] + "0" * 10)


def test_counties_in_lists_counties_not_urban_districts() -> None:
    listed = dict(outlines.counties_in("2302"))
    assert listed["230231"] == "拜泉县" and listed["230281"] == "讷河市"
    assert "230202" not in listed  # 龙沙区, an urban district


@pytest.mark.django_db(transaction=True)
def test_shapes_real_outline_and_illustrative_children(world: World) -> None:
    import shapely.geometry

    made = do_generate_demo_shapes(COUNTY, actor=None)
    shapes = {s.region_id: s for s in RegionShape.objects.all()}
    assert made == len(shapes) == 1 + 2 + 4 + 2  # county, townships, villages, prefecture, province
    assert shapes[COUNTY].source == RegionShape.PACKAGE
    assert shapes[COUNTY].geometry == outlines.outline(COUNTY)
    assert shapes[PROVINCE].source == shapes[QIQIHAR].source == RegionShape.PACKAGE
    county = shapely.geometry.shape(shapes[COUNTY].geometry).buffer(1e-3)
    for code in ("230231100000", "230231100201", "230231101202"):
        assert shapes[code].source == RegionShape.DEMO
        assert county.contains(shapely.geometry.shape(shapes[code].geometry)), code
    user = world.user("county")
    regions = list(selectors.dashboard_scope(user, COUNTY).children)
    features = selectors.shapes(user, regions)["features"]
    assert features and all(f["properties"]["illustrative"] for f in features)
    assert not selectors.shapes(user, [selectors.dashboard_scope(user, COUNTY).region])["features"][
        0
    ]["properties"]["illustrative"]


@pytest.mark.django_db(transaction=True)
def test_province_and_prefecture_figures_recomputed_from_counties(world: World) -> None:
    add_counties(world)
    do_refresh_indicators(None, actor=None)
    defs = {d.id: d for d in load_indicators()}
    counties = {PROVINCE: [COUNTY, YIAN, LINDIAN], QIQIHAR: [COUNTY, YIAN], DAQING: [LINDIAN]}
    years = sorted(
        RegionFigures.objects.filter(region_code=PROVINCE).values_list("year", flat=True)
    )
    assert THIS_YEAR in years
    for above, below in counties.items():
        assert RegionFigures.objects.get(region_code=above, year=THIS_YEAR).level in (
            "province",
            "prefecture",
        )
        for year in years:
            top = _figures(above, year)
            parts = [_figures(c, year) for c in below]
            keys = {(i, dim) for p in parts for i, dims in p.items() for dim in dims}
            assert keys == {(i, dim) for i, dims in top.items() for dim in dims}
            for indicator, dim in keys:
                cells = [p[indicator][dim] for p in parts if dim in p.get(indicator, {})]
                dens = [d for _n, d in cells if d is not None]
                assert top[indicator][dim] == [
                    sum(n for n, _d in cells),
                    sum(dens) if dens else None,
                ], (above, year, indicator, dim)
    # Jinping is another province's: not in Heilongjiang's figures
    assert _figures(PROVINCE, THIS_YEAR)["registered_households"][""][0] == 4 + 3 + 2
    assert _figures(OTHER_PROVINCE, THIS_YEAR)["registered_households"][""][0] == 1
    # a rate is recomputed from the sums, not averaged: remaining persons over rural population
    incidence = defs["poverty_incidence"]
    county_rates = [
        incidence.value(*_figures(c, THIS_YEAR)["poverty_incidence"][""])
        for c in counties[PROVINCE]
    ]
    n, d = _figures(PROVINCE, THIS_YEAR)["poverty_incidence"][""]
    assert (n, d) == (8 + 4 + 4, 10000 + 40000 + 3000)
    assert incidence.value(n, d) == pytest.approx(100 * 16 / 53000)
    assert incidence.value(n, d) != pytest.approx(sum(county_rates) / len(county_rates))


@pytest.mark.django_db(transaction=True)
def test_own_population_of_a_province_replaces_the_sum(world: World) -> None:
    from jingzhun.regions.models import RegionPopulation

    add_counties(world)
    RegionPopulation.objects.create(region_id=PROVINCE, year=THIS_YEAR, rural_population=60000)
    do_refresh_indicators(None, actor=None)
    do_refresh_indicators([YIAN], actor=None)  # one county refreshed: the province is redone
    assert _figures(PROVINCE, THIS_YEAR)["poverty_incidence"][""][1] == 60000
    assert _figures(QIQIHAR, THIS_YEAR)["poverty_incidence"][""][1] == 50000


@pytest.mark.django_db(transaction=True)
def test_scoping_above_the_county(world: World) -> None:
    users = add_counties(world)
    do_refresh_indicators(None, actor=None)
    province, prefecture, county = users["province"], users["prefecture"], world.user("county")
    scope = selectors.dashboard_scope(province, None)
    assert scope.region.code == PROVINCE
    assert [c.code for c in scope.children] == [QIQIHAR, DAQING]
    assert [c.code for c in selectors.counties_below(province, PROVINCE)] == [
        YIAN,
        COUNTY,
        LINDIAN,
    ]
    assert [c.code for c in selectors.counties_below(prefecture, QIQIHAR)] == [YIAN, COUNTY]
    for user, code in (
        (county, PROVINCE),
        (county, QIQIHAR),
        (prefecture, PROVINCE),
        (prefecture, DAQING),
        (prefecture, LINDIAN),
        (province, OTHER_PROVINCE),
        (province, JINPING),
    ):
        with pytest.raises(OutOfScope):
            selectors.dashboard_scope(user, code)
        with pytest.raises(OutOfScope):
            selectors.figures(user, code, THIS_YEAR)


@pytest.mark.django_db(transaction=True)
def test_pages_above_the_county(world: World, client: Any) -> None:
    from jingzhun.registry.models import Household

    users = add_counties(world)
    do_refresh_indicators(None, actor=None)
    for code in (COUNTY, YIAN, LINDIAN):
        do_generate_demo_shapes(code, actor=None)
    signed_in(client, users["province"])
    page = client.get("/dashboard/")
    assert page.status_code == 200
    body = page.content.decode()
    assert (
        "黑龙江省" in body and "分市（地区）统计" in body and 'data-region="230600000000"' in body
    )
    # the province's map: its three counties, real outlines (nothing illustrative)
    for code in (COUNTY, YIAN, LINDIAN):
        assert f'"name": "{code}"' in body
    assert "map-illustrative" not in body
    assert client.get(f"/dashboard/?region={QIQIHAR}").status_code == 200
    township = client.get(f"/dashboard/?region={LINDIAN[:6]}100000")
    assert township.status_code == 200 and "map-illustrative" in township.content.decode()
    assert client.get(f"/dashboard/?region={OTHER_PROVINCE}").status_code == 404
    assert client.get(f"/dashboard/?region={JINPING}").status_code == 404
    listed = client.get("/households/")
    assert listed.status_code == 200
    for h in Household.objects.exclude(county_code=JINPING):
        assert h.household_code in listed.content.decode()
    jinping = Household.objects.get(county_code=JINPING)
    assert jinping.household_code not in listed.content.decode()
    assert client.get(f"/households/{jinping.pk}/").status_code == 404
    client.logout()
    signed_in(client, users["prefecture"])
    assert client.get(f"/dashboard/?region={PROVINCE}").status_code == 404
    assert client.get(f"/dashboard/?region={LINDIAN}").status_code == 404
    assert client.get("/dashboard/").status_code == 200
    client.logout()
    signed_in(client, world.user("county"))
    assert client.get(f"/dashboard/?region={PROVINCE}").status_code == 404
    assert client.get(f"/dashboard/?region={QIQIHAR}").status_code == 404
