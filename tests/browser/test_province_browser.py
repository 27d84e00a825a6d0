"""The provincial battle map in Chromium: a province user's dashboard renders the province's
counties on the map (real outlines, not blank), and drills down province → prefecture (table) →
county (map) → township (map, 示意) → village (table), the numbers at every level equal to the
registry's counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.browser.test_browser import (  # noqa: F401 - fixtures
    _allow_sync_orm_beside_playwright,
    _log_in,
    _screenshot,
    browser_page,
)
from tests.browser.test_dashboard_browser import _check_figures, _map_not_blank

pytestmark = pytest.mark.browser


def _click_shape(page: Any, code: str) -> None:
    """Click a point inside a region's stored shape (a Polygon or a MultiPolygon)."""
    import shapely.geometry

    from jingzhun.analytics.models import RegionShape

    point = shapely.geometry.shape(RegionShape.objects.get(region_id=code).geometry)
    inner = point.representative_point()
    page.locator("#map").scroll_into_view_if_needed()
    x, y = page.evaluate(
        "([lon, lat]) => echarts.getInstanceByDom(document.getElementById('map'))"
        ".convertToPixel({seriesIndex: 0}, [lon, lat])",
        [inner.x, inner.y],
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def _rendered(page: Any) -> None:
    page.wait_for_selector("#map[data-rendered='1']")
    page.wait_for_timeout(300)  # the canvas paints on the next frame


def test_province_map_renders_and_drills_down(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from conftest import COUNTY

    from jingzhun.analytics.actions import do_generate_demo_shapes, do_refresh_indicators
    from jingzhun.analytics.tests.test_province import (
        LINDIAN,
        PROVINCE,
        QIQIHAR,
        YIAN,
        add_counties,
    )

    add_counties(world)
    do_refresh_indicators(None, actor=None)
    for county in (COUNTY, YIAN, LINDIAN):
        do_generate_demo_shapes(county, actor=None)
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    _log_in(page, "province")
    # Given the province user's battle map
    page.goto(f"{live_server.url}/dashboard/")
    _rendered(page)
    assert page.locator("#region-name").inner_text() == "黑龙江省"
    year = int(page.locator("#id_year").input_value())
    _check_figures(page, PROVINCE, year)
    _map_not_blank(page, tmp_path)
    assert page.locator("#map-illustrative").count() == 0  # counties: real outlines
    _screenshot(page, tmp_path, "dashboard_province")
    # When they open a prefecture from the table
    page.click(f"#children tr[data-region='{QIQIHAR}'] a.drill")
    page.wait_for_url(f"**/dashboard/?region={QIQIHAR}*")
    _rendered(page)
    assert page.locator("#region-name").inner_text() == "齐齐哈尔市"
    _check_figures(page, QIQIHAR, year)
    # and a county on its map
    _click_shape(page, COUNTY)
    page.wait_for_url(f"**/dashboard/?region={COUNTY}*")
    _rendered(page)
    assert page.locator("#region-name").inner_text() == "拜泉县"
    _check_figures(page, COUNTY, year)
    assert page.locator("#map-illustrative").count() == 1  # its townships are illustrative
    # and a township on the county's map, then a village in its table
    township = "230231101000"
    _click_shape(page, township)
    page.wait_for_url(f"**/dashboard/?region={township}*")
    _rendered(page)
    _check_figures(page, township, year)
    village = "230231101202"
    page.click(f"#children tr[data-region='{village}'] a.drill")
    page.wait_for_url(f"**/dashboard/?region={village}*")
    # Then each level's numbers are the registry's, and the path leads back to the province
    _check_figures(page, village, year)
    assert [a.inner_text() for a in page.locator(".crumbs a").all()] == [
        "黑龙江省",
        "齐齐哈尔市",
        "拜泉县",
        "第2镇",
    ]
    _screenshot(page, tmp_path, "dashboard_province_village")
