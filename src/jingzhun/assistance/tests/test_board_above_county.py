"""The battle map's assistance (pairings, visits, teams, helper load, measures) and screening
(alerts, layers) sections above the county (issue 25 item 3; ADR "province-assistance-screening"):
a province and a prefecture reader (the existing read-only `auditor` role with a province or
prefecture grant, ADR 0083) see them, every figure of a prefecture is the sum of its counties'
and the province's the sum of its prefectures', and nobody sees a level above their grant."""

from __future__ import annotations

import datetime
import uuid
from collections import Counter
from typing import Any

import pytest
from conftest import COUNTY, World, signed_in
from django.utils import timezone

from jingzhun.access.models import HelperPairing
from jingzhun.analytics.tests.test_province import (
    DAQING,
    JINPING,
    LINDIAN,
    OTHER_PROVINCE,
    PROVINCE,
    QIQIHAR,
    YIAN,
    add_counties,
)
from jingzhun.assistance import board
from jingzhun.assistance.models import Visit
from jingzhun.assistance.team_selectors import Month
from jingzhun.core.errors import OutOfScope
from jingzhun.feeds import layers
from jingzhun.feeds import selectors as feeds
from jingzhun.feeds.models import Alert
from jingzhun.registry.models import Household

CHILDREN = {PROVINCE: [QIQIHAR, DAQING], QIQIHAR: [COUNTY, YIAN], DAQING: [LINDIAN]}


def _activity(world: World) -> None:
    """The fixture's helper also paired in Yi'an (a helper across two counties), visits in the
    month shown, and alerts of every kind in three counties (one in another province)."""
    today = timezone.localdate()
    helper = world.user("helper")
    yian = Household.objects.filter(county_code=YIAN).order_by("pk")
    HelperPairing.objects.create(
        helper=helper, household=yian[0], start_date=datetime.date(2020, 1, 1)
    )
    month = Month.before(Month.of(today))
    for household in (world.households[next(iter(world.households))], yian[0], yian[0]):
        if not HelperPairing.objects.filter(household=household).exists():
            continue
        Visit.objects.create(
            helper=helper,
            household=household,
            visited_on=month.first,
            kind="home",
            client_id=uuid.uuid4(),
            household_version=household.version,
        )
    specs = [
        (COUNTY, "red_line", "open", 2),
        (YIAN, "warning", "open", 20),
        (YIAN, "warning", "open", 13),
        (LINDIAN, "red_line", "removed", 1),
        (LINDIAN, "warning", "open", 5),
        (JINPING, "red_line", "open", 1),
    ]
    for n, (county, kind, status, age) in enumerate(specs):
        found = list(Household.objects.filter(county_code=county).order_by("pk"))
        household = found[n % len(found)]
        Alert.objects.create(
            household=household,
            rule=f"rule{n}",
            title="测试规则",
            kind=kind,
            source="test",
            status=status,
            raised_on=today - datetime.timedelta(days=age),
            policy="test.yaml",
        )


def _assistance(user: Any, code: str) -> Counter[str]:
    data = board.assistance_board(user, code)
    figures: Counter[str] = Counter()
    figures.update({f"household:{k}": v for k, v in data.households.items()})
    figures.update({f"helper:{k}": v for k, v in data.helpers.items()})
    figures.update({f"team:{k}": v for k, v in data.team_figures.items()})
    figures["visits"] = data.visits
    figures["villages"] = len(data.teams.rows)
    figures["with_team"] = data.teams.with_team
    for b in data.by_kind:
        figures[f"kind:{b.code}:households"] += b.households
        figures[f"kind:{b.code}:measures"] += b.measures
    for b in data.by_department:
        figures[f"department:{b.code}:households"] += b.households
    return figures


def _screening(user: Any, code: str) -> Counter[str]:
    today = timezone.localdate()
    figures: Counter[str] = Counter()
    figures.update({f"alert:{k}": v for k, v in feeds.alert_figures(user, code, today).items()})
    figures.update({f"layer:{k}": v for k, v in layers.layer_counts(user, code, today).items()})
    return figures


def test_children_add_up_to_their_parent(world: World) -> None:
    users = add_counties(world)
    _activity(world)
    province = users["province"]
    for compute in (_assistance, _screening):
        for parent, children in CHILDREN.items():
            total: Counter[str] = Counter()
            for child in children:
                total.update(compute(province, child))
            top = compute(province, parent)
            keys = set(top) | set(total)
            assert {k: top[k] for k in keys} == {k: total[k] for k in keys}, (compute, parent)
    # the figures are not all zero: the sums above say something
    top = _assistance(province, PROVINCE)
    assert top["household:paired"] == 2 and top["visits"] == 3
    assert top["helper:helpers"] == 2  # one helper, paired in two counties: once per county
    alerts = _screening(province, PROVINCE)
    # Baiquan's open red line; Jinping's (another province) is not counted
    assert alerts["alert:open_red_lines"] == 1 and alerts["alert:overdue"] == 1
    assert alerts["alert:settled"] == 1
    assert alerts["alert:due_soon"] == 1  # 13 days old: 2 days left
    # the lists behind a figure above the county: the same households and helpers
    month = Month.before(Month.of(timezone.localdate()))
    listed = board.figure_households(province, PROVINCE, "paired", month)
    assert listed.count() == 2
    helpers = board.figure_helpers(province, QIQIHAR, "helpers", month)
    assert [h.helper.username for h in helpers] == ["helper", "helper"]


def test_scope_above_the_county(world: World) -> None:
    users = add_counties(world)
    county, prefecture = world.user("county"), users["prefecture"]
    for user, code in (
        (county, PROVINCE),
        (county, QIQIHAR),
        (prefecture, PROVINCE),
        (prefecture, DAQING),
        (prefecture, LINDIAN),
        (users["province"], OTHER_PROVINCE),
        (users["province"], JINPING),
    ):
        with pytest.raises(OutOfScope):
            board.assistance_board(user, code)
    assert board.assistance_board(prefecture, QIQIHAR).region == QIQIHAR


def test_pages_above_the_county(world: World, client: Any) -> None:
    users = add_counties(world)
    _activity(world)
    signed_in(client, users["province"])
    hx = {"HTTP_HX_REQUEST": "true"}
    for code in (PROVINCE, QIQIHAR, DAQING):
        page = client.get(f"/dashboard/assistance/?region={code}", **hx)
        assert page.status_code == 200, code
        text = page.content.decode()
        assert f'data-region="{code}"' in text and "结对覆盖与帮扶措施" in text
        assert "按县合计" in text  # the helper rule above the county is said on the page
        screening = client.get(f"/dashboard/screening/?region={code}", **hx)
        assert screening.status_code == 200 and "部门筛查预警" in screening.content.decode()
    listing = client.get(
        f"/dashboard/assistance/list/?region={PROVINCE}&of=households&figure=paired"
    )
    assert listing.status_code == 200
    assert client.get(f"/dashboard/assistance/?region={OTHER_PROVINCE}", **hx).status_code == 404
    # the province reader is read-only: no refresh, no pairing
    assert client.post("/dashboard/refresh/", {"region": PROVINCE}).status_code == 403
    signed_in(client, users["prefecture"])
    assert client.get(f"/dashboard/assistance/?region={PROVINCE}", **hx).status_code == 404
    assert client.get(f"/dashboard/screening/?region={PROVINCE}", **hx).status_code == 404
    assert client.get(f"/dashboard/assistance/?region={QIQIHAR}", **hx).status_code == 200
    signed_in(client, world.user("county"))
    assert client.get(f"/dashboard/assistance/?region={QIQIHAR}", **hx).status_code == 404
    county = client.get(f"/dashboard/assistance/?region={COUNTY}", **hx).content.decode()
    assert "按县合计" not in county


@pytest.mark.single_database
def test_loans_of_a_province_or_prefecture_are_its_counties() -> None:
    """The assistance section's microcredit figures (credit.selectors) above the county: a
    province or prefecture code selects its counties' loans, not the loans of a county whose
    code it is (none)."""
    from jingzhun.credit.models import Loan
    from jingzhun.credit.selectors import _region

    for code, prefix in ((PROVINCE, "23"), (QIQIHAR, "2302")):
        sql = str(_region(Loan.objects.all(), code).query)
        assert f"LIKE {prefix}%" in sql.replace("'", ""), sql
    assert f"= {COUNTY}" in str(_region(Loan.objects.all(), COUNTY).query).replace("'", "")
