"""The points routes of the API and the pages, by role: reads scoped, writes through the
actions, refusals as Chinese sentences with their status."""

from __future__ import annotations

import json
from typing import Any

from conftest import signed_in
from django.test import Client

from jingzhun.points.models import PointsEntry, StarRating

from .conftest import OTHER_VILLAGE, household, today


def client(world: Any, name: str) -> Client:
    return signed_in(Client(), world.user(name))


def post(c: Client, url: str, data: dict[str, Any]) -> Any:
    return c.post(url, json.dumps(data), content_type="application/json")


def test_api_earn_redeem_and_refusals(world: Any, shop: Any, goods: Any) -> None:
    h = household(world).pk
    village = client(world, "village")
    day = today().isoformat()
    for n in range(4):
        r = post(village, "/api/points/earnings",
                 {"household_id": h, "item": "volunteer", "on_date": day, "key": f"e{n}"})  # fmt: skip
        assert r.status_code == 201, r.content
    r = post(village, "/api/points/redemptions", {
        "shop_id": shop.pk, "goods_id": goods.pk, "household_id": h, "quantity": 2,
        "on_date": day, "key": "x"})  # fmt: skip
    assert r.status_code == 400 and "积分不足" in r.json()["detail"]
    r = post(village, "/api/points/redemptions", {
        "shop_id": shop.pk, "goods_id": goods.pk, "household_id": h, "quantity": 1,
        "on_date": day, "key": "y"})  # fmt: skip
    assert r.status_code == 201 and r.json()["points"] == -10
    r = post(village, "/api/points/earnings",
             {"household_id": h, "item": "meeting", "on_date": day, "key": "e0"})  # fmt: skip
    assert r.status_code == 409 and "幂等键" in r.json()["detail"]
    balance = village.get(f"/api/points/households/{h}").json()
    assert balance["balance"] == 2 and len(balance["entries"]) == 5
    assert client(world, "other_township").get(f"/api/points/households/{h}").status_code == 404
    assert client(world, "helper").get(f"/api/points/households/{h}").status_code == 404
    assert client(world, "other_township").get("/api/points/shops").json() == []
    shops = client(world, "auditor").get("/api/points/shops").json()
    assert shops[0]["goods"][0]["stock"] == 4
    r = post(client(world, "auditor"), "/api/points/earnings",
             {"household_id": h, "item": "volunteer", "on_date": day, "key": "a"})  # fmt: skip
    assert r.status_code == 403
    r = post(village, "/api/points/ratings", {"household_id": h, "year": today().year,
             "stars": {"hygiene": 1, "civility": 1, "filial": 1, "lawful": 1, "self_reliance": 1}})  # fmt: skip
    assert r.status_code == 200 and r.json()["full"] is True
    listed = village.get(f"/api/points/ratings?year={today().year}&full=true").json()
    assert listed["total"] == 1


def test_pages_earn_redeem_rate_and_scope(world: Any, shop: Any, goods: Any) -> None:
    h = household(world)
    c = client(world, "village")
    assert c.get("/points/").status_code == 200
    page = c.get(f"/points/households/{h.pk}/")
    assert page.status_code == 200 and "积分余额" in page.content.decode()
    for n in range(4):
        r = c.post(
            f"/points/households/{h.pk}/", {"form": "earn", "item": "volunteer", "key": f"p{n}"}
        )
        assert r.status_code == 302
    r = c.post(f"/points/households/{h.pk}/",
               {"form": "redeem", "goods": f"{shop.pk}:{goods.pk}", "quantity": "2", "key": "pr"})  # fmt: skip
    assert r.status_code == 400 and "积分不足" in r.content.decode()
    r = c.post(f"/points/households/{h.pk}/",
               {"form": "redeem", "goods": f"{shop.pk}:{goods.pk}", "quantity": "1", "key": "pr"})  # fmt: skip
    assert r.status_code == 302
    assert PointsEntry.objects.filter(household=h, kind="redeem").count() == 1
    stars = {f"star_{k}": "1" for k in ("hygiene", "civility", "filial", "lawful", "self_reliance")}
    r = c.post(f"/points/households/{h.pk}/", {"form": "rate", "year": str(today().year), **stars})
    assert r.status_code == 302 and StarRating.objects.get(household=h).full
    card = c.get(f"/points/households/{h.pk}/card/")
    assert card.status_code == 200 and "五星户" in card.content.decode()
    ratings = c.get(f"/points/ratings/?year={today().year}&full=1")
    assert ratings.status_code == 200 and h.household_code in ratings.content.decode()
    r = c.post(
        "/points/ratings/", {"form": "post", "village": h.village_id, "year": str(today().year)}
    )
    assert r.status_code == 302 and StarRating.objects.get(household=h).state == "posted"
    shop_page = c.get(f"/points/shops/{shop.pk}/")
    assert shop_page.status_code == 200 and "洗衣粉" in shop_page.content.decode()
    # another township: 404 for the household, the shop and the card
    other = client(world, "other_township")
    assert other.get(f"/points/households/{h.pk}/").status_code == 404
    assert other.get(f"/points/shops/{shop.pk}/").status_code == 404
    assert other.get(f"/points/households/{h.pk}/card/").status_code == 404
    # the village cadre cannot see a household of the neighbouring village
    assert c.get(f"/points/households/{household(world, OTHER_VILLAGE).pk}/").status_code == 404
    # the auditor reads but cannot write
    auditor = client(world, "auditor")
    assert auditor.get(f"/points/households/{h.pk}/").status_code == 200
    r = auditor.post(
        f"/points/households/{h.pk}/", {"form": "earn", "item": "volunteer", "key": "au"}
    )
    assert r.status_code == 403
    # township staff open a shop and stock it through the pages
    town = client(world, "township")
    r = town.post("/points/", {"form": "shop", "region": "230231100202", "name": "2村爱心超市"})
    assert r.status_code == 302
    r = town.post(
        f"/points/shops/{shop.pk}/", {"form": "restock", "goods": str(goods.pk), "quantity": "-99"}
    )
    assert r.status_code == 400 and "库存不足" in r.content.decode()
