"""The battle map in Chromium: the dashboard loads, the map renders (a screenshot of it is not
blank), a click on the map drills down to a township, a click in its table to a village, and the
numbers shown equal the registry's counts at every step."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.browser.test_browser import (  # noqa: F401 - fixtures
    PASSWORD,
    _allow_sync_orm_beside_playwright,
    _log_in,
    _png_pixels,
    _screenshot,
    browser_page,
)

pytestmark = pytest.mark.browser

COUNTY = "230231000000"


def _map_not_blank(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "map.png"
    page.locator("#map").screenshot(path=str(path))
    width, _height, rows = _png_pixels(path)
    channels = len(rows[0]) // width
    sampled = Counter(row[x : x + 3] for row in rows[::4] for x in range(0, len(row), channels * 4))
    top_share = sampled.most_common(1)[0][1] / sum(sampled.values())
    assert len(sampled) > 12, "the map has almost no distinct colours"
    assert top_share < 0.9, "the map is nearly all one colour"


def _figure(page: Any, indicator: str) -> int:
    return int(page.locator(f".figure [data-indicator={indicator}]").get_attribute("data-value"))


def _check_figures(page: Any, code: str, year: int) -> None:
    from jingzhun.registry.selectors import registry_stats

    stats = registry_stats(code, year)
    for name in (
        "registered_households",
        "registered_persons",
        "exited_households",
        "remaining_persons",
    ):
        assert _figure(page, name) == getattr(stats, name), (code, name)


def _click_region(page: Any, code: str) -> None:
    """Click the middle of a region's shape on the map (ECharts converts lon/lat to pixels)."""
    from jingzhun.analytics.geo import area_centroid
    from jingzhun.analytics.models import RegionShape

    ring = RegionShape.objects.get(region_id=code).geometry["coordinates"][0]
    _a, (lon, lat) = area_centroid([(x, y) for x, y in ring[:-1]])
    x, y = page.evaluate(
        "([lon, lat]) => echarts.getInstanceByDom(document.getElementById('map'))"
        ".convertToPixel({seriesIndex: 0}, [lon, lat])",
        [lon, lat],
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_dashboard_map_drill_down_and_numbers(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from jingzhun.analytics.actions import do_generate_demo_shapes, do_refresh_indicators

    do_refresh_indicators(None, actor=None)
    do_generate_demo_shapes(COUNTY, actor=None)
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    _log_in(page, "county")  # with the second factor county staff need (AUTH-3)
    # Given the county dashboard
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#map[data-rendered='1']")
    page.wait_for_selector("#trend[data-rendered='1']")
    page.wait_for_timeout(300)  # the canvas paints on the next frame
    year = int(page.locator("#id_year").input_value())
    assert page.locator("#region-name").inner_text() == "拜泉县"
    _check_figures(page, COUNTY, year)
    _map_not_blank(page, tmp_path)
    _screenshot(page, tmp_path, "dashboard_county")
    # When they click a township on the map
    township = "230231101000"
    _click_region(page, township)
    page.wait_for_url(f"**/dashboard/?region={township}*")
    page.wait_for_selector("#map[data-rendered='1']")
    assert page.locator("#region-name").inner_text() == "第2镇"
    _check_figures(page, township, year)
    # and then a village in the township's table
    village = "230231101202"
    page.click(f"#children tr[data-region='{village}'] a.drill")
    page.wait_for_url(f"**/dashboard/?region={village}*")
    # Then the village's page shows its own counts, as the registry has them
    assert page.locator("#region-name").inner_text() == "第2镇2村"
    _check_figures(page, village, year)
    assert [a.inner_text() for a in page.locator(".crumbs a").all()] == ["拜泉县", "第2镇"]
    _screenshot(page, tmp_path, "dashboard_village")
