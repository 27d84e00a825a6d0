"""The overview's and /api/stats' stored figures equal `jingzhun stats` (registry_stats) on the
demo county, for every year and every level (ADR 0065)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from jingzhun.access.models import User
from jingzhun.analytics.actions import do_refresh_indicators
from jingzhun.analytics.overview import stored_overview
from jingzhun.demo.actions import DemoSpec, do_generate_demo_county
from jingzhun.regions.models import Region
from jingzhun.registry.selectors import region_breakdown, registry_stats

pytestmark = pytest.mark.django_db(transaction=True)
COUNTY = "230231000000"


def test_stored_overview_equals_jingzhun_stats_on_the_demo_every_year_and_level() -> None:
    do_generate_demo_county(
        DemoSpec(county="230231", scale=0.05, seed=3, password="Demo-pass-2026")
    )
    result = do_refresh_indicators([COUNTY], actor=None)
    county_user = User.objects.get(username="county")
    townships = list(Region.objects.filter(parent_id=COUNTY).values_list("code", flat=True))
    assert townships and len(result.years) >= 7
    ordinary = monitored = 0
    for year in result.years:
        out = io.StringIO()
        call_command("stats", "--county", "230231", "--year", str(year), "--json", stdout=out)
        printed: dict[str, Any] = json.loads(out.getvalue())
        county = stored_overview(county_user, COUNTY, year)
        assert county.stats is not None
        assert {k: v for k, v in county.stats.as_dict().items() if k in printed} == printed, year
        assert county.stats == registry_stats(COUNTY, year)
        assert county.rows == region_breakdown(county_user, COUNTY, year), year
        for township in townships:
            below = stored_overview(county_user, township, year)
            assert below.stats == registry_stats(township, year), (township, year)
            assert below.rows == region_breakdown(county_user, township, year), (township, year)
        ordinary += printed["ordinary_households"]
        monitored += printed["monitored_households"] or 0
    # the demo exercises the figures added for the overview (ordinary and monitored households)
    assert ordinary and monitored
