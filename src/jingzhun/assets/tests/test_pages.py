"""The asset pages and API as a user uses them: scoped, refusals shown in Chinese."""

from __future__ import annotations

import datetime
from typing import Any

from conftest import signed_in
from django.test import Client

from jingzhun.assets.models import AssetIncome, DistributionPlan

from .conftest import VILLAGE, new_asset, posted_plan, receive, today


def test_pages_walk_the_plan_from_income_to_payment(world: Any) -> None:
    asset = new_asset(world)
    village = signed_in(Client(), world.user("village"))
    response = village.get("/assets/")
    assert response.status_code == 200 and "第1镇1村光伏电站" in response.content.decode()
    response = village.post(
        f"/assets/{asset.pk}/",
        {"form": "income", "received_on": today().isoformat(), "amount": "10000", "voucher": "电-1", "key": "k1"},
    )  # fmt: skip
    assert response.status_code == 302 and AssetIncome.objects.count() == 1
    response = village.post(
        f"/assets/{asset.pk}/",
        {"form": "plan", "year": today().year, "title": "方案", "public_job": "12000"},
    )
    assert response.status_code == 400 and "超过了资产" in response.content.decode()
    response = village.post(
        f"/assets/{asset.pk}/",
        {"form": "plan", "year": today().year, "title": "方案", "public_job": "9000", "retention": "1000"},
    )  # fmt: skip
    plan = DistributionPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assets/plans/{plan.pk}/"
    household = world.households[VILLAGE]
    response = village.post(
        f"/assets/plans/{plan.pk}/",
        {"form": "payment", "household_code": household.household_code, "use": "public_job",
         "amount": "9000", "basis": "保洁员公益岗位"},
    )  # fmt: skip
    assert response.status_code == 302
    page = village.get(f"/assets/plans/{plan.pk}/").content.decode()
    assert (
        "保洁员公益岗位" in page and "审批通过" not in page
    )  # the village drafts, does not approve
    township = signed_in(Client(), world.user("township"))
    response = township.post(
        f"/assets/plans/{plan.pk}/", {"form": "pay", "paid_on": today().isoformat()}
    )
    assert response.status_code == 400 and "尚未审批" in response.content.decode()
    assert (
        township.post(
            f"/assets/plans/{plan.pk}/", {"form": "approve", "version": plan.version + 1}
        ).status_code
        == 302
    )
    start = (today() - datetime.timedelta(days=7)).isoformat()
    assert (
        township.post(f"/assets/plans/{plan.pk}/", {"form": "post", "start": start}).status_code
        == 302
    )
    pdf = township.get(f"/assets/plans/{plan.pk}/posting.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert (
        township.post(
            f"/assets/plans/{plan.pk}/", {"form": "pay", "paid_on": today().isoformat()}
        ).status_code
        == 302
    )
    card = village.get(f"/households/{household.pk}/").content.decode()
    assert 'id="asset-income"' in card and "保洁员公益岗位" in card
    board = township.get("/dashboard/assets/", {"region": "230231100000"}, HTTP_HX_REQUEST="true")
    text = board.content.decode()
    assert board.status_code == 200 and "10,000.00" in text and "9,000.00" in text
    reached = township.get("/assets/payments/", {"year": today().year, "of": "households"})
    assert household.household_code in reached.content.decode()


def test_other_region_and_roles_get_404(world: Any) -> None:
    asset = new_asset(world)
    receive(world, asset, 10_000)
    plan = posted_plan(world, asset)
    other = signed_in(Client(), world.user("other_township"))
    for url in (
        f"/assets/{asset.pk}/",
        f"/assets/plans/{plan.pk}/",
        f"/assets/plans/{plan.pk}/posting.pdf",
    ):
        assert other.get(url).status_code == 404
    assert other.post(f"/assets/plans/{plan.pk}/", {"form": "pay"}).status_code == 404
    helper = signed_in(Client(), world.user("helper"))
    assert helper.get("/assets/").status_code == 404
    assert "第1镇1村光伏电站" not in other.get("/assets/").content.decode()
    auditor = signed_in(Client(), world.user("auditor"))
    assert auditor.get(f"/assets/plans/{plan.pk}/").status_code == 200
    assert (
        auditor.post(
            f"/assets/plans/{plan.pk}/", {"form": "pay", "paid_on": today().isoformat()}
        ).status_code
        == 403
    )
    api = other.get("/api/assets")
    assert api.status_code == 200 and api.json()["total"] == 0
    assert other.get(f"/api/assets/{asset.pk}").status_code == 404
    mine = signed_in(Client(), world.user("county")).get("/api/assets").json()
    assert [a["id"] for a in mine["rows"]] == [asset.pk]


def test_each_battle_map_figure_equals_its_list(world: Any) -> None:
    import re

    from django.db.models import Sum

    from jingzhun.assets.selectors import figures, incomes_for, payments_for, reached_households

    from .conftest import YUAN

    asset = new_asset(world)
    receive(world, asset, 10_000)
    receive(world, asset, 2_500, voucher="电费结算-2")
    plan = posted_plan(world, asset)
    from jingzhun.assets.actions import do_pay_plan

    do_pay_plan(plan.pk, today(), "p", actor=world.user("county"))
    county = world.user("county")
    year = today().year
    for region in ("230231000000", "230231100000", VILLAGE, "230231101000"):
        f = figures(county, region, year)
        assert f.received_fen == (
            incomes_for(county, year=year, region=region).aggregate(s=Sum("amount_fen"))["s"] or 0
        )
        assert f.distributed_fen == sum(
            p.amount_fen for p in payments_for(county, year=year, region=region)
        )
        assert f.households == len(reached_households(county, year=year, region=region))
    f = figures(county, "230231000000", year)
    assert (f.received_fen, f.distributed_fen, f.households) == (12_500 * YUAN, 8_000 * YUAN, 1)
    assert figures(county, "230231101000", year).received_fen == 0  # the other township has none
    # the fragment links each figure to its list
    client = signed_in(Client(), county)
    html = client.get(
        "/dashboard/assets/", {"region": "230231000000"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    links = dict(re.findall(r'data-figure="(\w+)" href="([^"]+)"', html))
    assert set(links) == {"received", "distributed", "households"}
    listed = client.get(links["households"].replace("&amp;", "&")).content.decode()
    assert world.households[VILLAGE].household_code in listed
    listed = client.get(links["received"].replace("&amp;", "&")).content.decode()
    assert "电费结算-2" in listed
