"""The battle map's money section: every figure it shows equals the sum or count of the list
behind it, the lists are scoped, and the queries do not grow with the rows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import signed_in
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jingzhun.points import board as points_board
from jingzhun.points.actions import (
    do_earn_points,
    do_rate_household,
    do_redeem_points,
    do_reverse_points_entry,
)
from jingzhun.projects import board as money_board
from jingzhun.projects.actions import do_link_benefit
from jingzhun.projects.ledger import do_allocate_funds, do_disburse_funds, do_reverse_posting
from jingzhun.projects.models import Posting
from jingzhun.projects.tests.conftest import YUAN, approve, plan_project

from .conftest import OTHER_VILLAGE, VILLAGE, household, last_month, today

pytestmark = pytest.mark.django_db

COUNTY = "230231000000"
TOWNSHIP = "230231100000"
FIGURE = re.compile(r'data-figure="([^"]+)" data-value="(-?\d+)"')


def _money(world: Any, source: Any) -> None:
    county = world.user("county")
    project = approve(world, plan_project(world, source, budget_fen=5_000 * YUAN))
    do_allocate_funds(project.pk, source.pk, 4_000 * YUAN, today(), key="a1", actor=county)
    do_disburse_funds(
        project.pk,
        source.pk,
        1_000 * YUAN,
        today(),
        key="d1",
        voucher="V1",
        payee="甲",
        actor=county,
    )
    paid = do_disburse_funds(
        project.pk,
        source.pk,
        500 * YUAN,
        today(),
        key="d2",
        voucher="V2",
        payee="乙",
        actor=county,
    )
    do_reverse_posting(paid.pk, "重复支付", key="r-d2", actor=county)
    for village, kind in ((VILLAGE, "wages"), (VILLAGE, "dividend"), (OTHER_VILLAGE, "wages")):
        do_link_benefit(
            project.pk,
            household(world, village).pk,
            kind,
            today().year,
            300 * YUAN,
            actor=county,
        )


def _points(world: Any) -> None:
    from jingzhun.points.actions import do_add_goods, do_create_shop, do_restock_goods

    town = world.user("township")
    shop = do_create_shop(VILLAGE, "村爱心超市", actor=town)
    goods = do_restock_goods(do_add_goods(shop.pk, "食用油", 9, actor=town).pk, 9, actor=town)
    h = household(world)
    entries = [
        do_earn_points(h.pk, "volunteer", today(), key=f"g{n}", actor=town) for n in range(8)
    ]
    do_reverse_points_entry(entries[0].pk, "误登", key="rv2", actor=town)
    do_earn_points(h.pk, "public_labour", last_month(), key="pl", actor=town)  # pending
    redeemed = do_redeem_points(shop.pk, goods.pk, h.pk, 1, today(), key="r1", actor=town)
    do_redeem_points(shop.pk, goods.pk, h.pk, 1, today(), key="r2", actor=town)
    do_reverse_points_entry(redeemed.pk, "退货", key="rv1", actor=town)
    stars = {"hygiene": 1, "civility": 1, "filial": 1, "lawful": 1, "self_reliance": 1}
    do_rate_household(h.pk, today().year, stars, actor=town)
    do_rate_household(
        household(world, OTHER_VILLAGE).pk, today().year, {**stars, "lawful": 0}, actor=town
    )


def test_the_figures_by_hand(world: Any, funded_source: Any) -> None:
    _money(world, funded_source)
    _points(world)
    county = world.user("county")
    data = money_board.money_board(county, COUNTY)
    assert [(r.kind, r.allocated_fen, r.disbursed_fen) for r in data.funds] == [
        ("central", 4_000 * YUAN, 1_000 * YUAN)
    ]
    assert data.rate == 25.0
    assert data.project_total == 1 and data.projects == {"approved": {"industry": 1, "all": 1}}
    assert data.benefit_households == 2 and data.benefits[0].households == 2
    p = points_board.points_board(county, COUNTY, today().year)
    # 8 volunteer days (24) less one reversed (3); 2 x 9 redeemed less one returned;
    # the pending labour point lies in last month (counted in the year unless December→January)
    assert (p.issued, p.redeemed, p.rated, p.full) == (21, 9, 2, 1)
    assert p.pending == (2 if last_month().year == today().year else 0)
    # the village's cadre sees neither the ledger nor other villages' households
    village = world.user("village")
    assert not money_board.money_board(village, VILLAGE).ledger
    assert points_board.points_board(village, VILLAGE, today().year).rated == 1


def test_every_shown_figure_equals_its_list(world: Any, funded_source: Any, client: Any) -> None:
    _money(world, funded_source)
    _points(world)
    for user, region in (
        ("county", COUNTY),
        ("county", TOWNSHIP),
        ("township", TOWNSHIP),
        ("auditor", COUNTY),
        ("village", VILLAGE),
    ):
        c = signed_in(client, world.user(user))
        page = c.get(f"/dashboard/money/?region={region}", HTTP_HX_REQUEST="true")
        assert page.status_code == 200
        shown = FIGURE.findall(page.content.decode())
        assert shown, (user, region)
        for figure, value in shown:
            listed = c.get(f"/dashboard/money/list/?region={region}&figure={figure}")
            assert listed.status_code == 200, (user, figure)
            total = re.search(r'data-total="(-?\d+)"', listed.content.decode())
            assert total and int(total.group(1)) == int(value), (user, region, figure)
            if figure.startswith(("projects:", "stars:")):
                rows = listed.content.decode().count("<tr><td>")
                assert rows == int(value), (user, figure)
        if user == "county":
            assert 'data-figure="funds:allocated:central"' in page.content.decode()
        if user == "village":
            assert "funds:" not in page.content.decode()
        c.logout()


def test_the_fund_list_sums_to_the_figure_with_reversals_negative(
    world: Any, funded_source: Any
) -> None:
    _money(world, funded_source)
    county = world.user("county")
    rows = list(money_board.figure_rows(county, COUNTY, "funds:disbursed:central"))
    assert sorted(r.signed_fen for r in rows) == [-500 * YUAN, 500 * YUAN, 1_000 * YUAN]
    assert money_board.figure_value(county, COUNTY, "funds:disbursed:all") == 1_000 * YUAN
    assert Posting.objects.filter(kind="reversal").count() == 1


def test_lists_are_scoped(world: Any, funded_source: Any, client: Any) -> None:
    _money(world, funded_source)
    _points(world)
    other = signed_in(client, world.user("other_township"))
    # another region's figures: 404, not 403
    assert other.get(f"/dashboard/money/?region={TOWNSHIP}").status_code == 404
    assert (
        other.get(f"/dashboard/money/list/?region={VILLAGE}&figure=points:issued").status_code
        == 404
    )
    # in its own township the county project's benefits of township 100 do not appear
    own = other.get("/dashboard/money/list/?region=230231101000&figure=benefit:all")
    assert own.status_code == 200 and 'data-total="0"' in own.content.decode()
    other.logout()
    village = signed_in(client, world.user("village"))
    assert (
        village.get(
            f"/dashboard/money/list/?region={VILLAGE}&figure=funds:allocated:all"
        ).status_code
        == 404
    )
    assert (
        village.get(f"/dashboard/money/list/?region={VILLAGE}&figure=nonsense").status_code == 404
    )
    village.logout()
    helper = signed_in(client, world.user("helper"))
    assert helper.get(f"/dashboard/money/?region={COUNTY}").status_code == 404


def test_the_section_queries_do_not_grow_with_rows(
    world: Any, funded_source: Any, client: Any
) -> None:
    _money(world, funded_source)
    _points(world)
    c = signed_in(client, world.user("county"))
    c.get(f"/dashboard/money/?region={COUNTY}", HTTP_HX_REQUEST="true")  # session warmed up
    with CaptureQueriesContext(connection) as first:
        c.get(f"/dashboard/money/?region={COUNTY}", HTTP_HX_REQUEST="true")
    county = world.user("county")
    second = approve(world, plan_project(world, funded_source, budget_fen=1_000 * YUAN))
    do_allocate_funds(
        second.pk, funded_source.pk, 800 * YUAN, timezone.localdate(), key="a2", actor=county
    )
    do_link_benefit(
        second.pk, household(world, "230231101201").pk, "wages", today().year, 1, actor=county
    )
    do_earn_points(household(world, OTHER_VILLAGE).pk, "volunteer", today(), key="x", actor=county)
    with CaptureQueriesContext(connection) as more:
        c.get(f"/dashboard/money/?region={COUNTY}", HTTP_HX_REQUEST="true")
    assert len(more) == len(first)
