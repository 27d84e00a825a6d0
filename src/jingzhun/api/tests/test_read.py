"""Reading through the API: authentication, scoping, masking, ID search by POST, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COUNTY, World, make_id
from django.test import Client
from stdnum.cn import ric

from jingzhun.access.actions import do_issue_api_token
from jingzhun.access.models import User
from jingzhun.api.api import api
from jingzhun.registry.models import Household, Member

from .conftest import T100, T101, V100_1, V101_1, V101_2, VISIBLE_VILLAGES, expected_ids

Make = Callable[..., Client]

ROUTES = [
    ("get", "/api/regions"),
    ("get", f"/api/regions/{COUNTY}"),
    ("get", "/api/households"),
    ("post", "/api/households/search"),
    ("get", "/api/households/{hid}"),
    ("patch", "/api/households/{hid}"),
    ("get", "/api/households/{hid}/members"),
    ("get", "/api/households/{hid}/incomes/2019"),
    ("put", "/api/households/{hid}/incomes/2019"),
    ("get", "/api/members/{mid}"),
    ("patch", "/api/members/{mid}"),
    ("get", "/api/stats"),
    # workflows (api/workflows.py)
    ("get", "/api/cases"),
    ("get", "/api/cases/1"),
    ("post", "/api/cases"),
    ("post", "/api/cases/1/moves"),
    ("post", "/api/cases/1/checklist"),
    ("post", "/api/cases/1/evidence"),
    ("get", "/api/postings"),
    ("get", "/api/rounds"),
    ("get", "/api/rounds/1"),
    ("post", "/api/cases/1/assessment"),
    ("post", "/api/rounds"),
    ("post", "/api/rounds/1/close"),
    # helper pairing (api/assistance.py)
    ("get", "/api/pairings"),
    ("post", "/api/pairings"),
    ("get", "/api/pairings/unpaired"),
    ("get", "/api/pairings/1"),
    ("post", "/api/pairings/1/end"),
    ("get", "/api/helpers"),
    # work teams (api/teams.py)
    ("get", "/api/teams"),
    ("get", "/api/teams/230231100201"),
    ("post", "/api/teams/members/1/check-ins"),
    # household plans and measures (api/measures.py)
    ("get", "/api/households/{hid}/measures"),
    ("post", "/api/households/{hid}/measures"),
    ("get", "/api/measures"),
    ("get", "/api/measures/1"),
    ("post", "/api/measures/1/decide"),
    ("post", "/api/measures/1/progress"),
    ("get", "/api/liaisons"),
    ("put", "/api/liaisons/1/department"),
    # department feeds: a machine push of roster rows (api/feeds.py)
    ("post", "/api/feeds/medical_spending/batches"),
    # inspections and rectification (api/inspection.py)
    ("get", "/api/inspections"),
    ("post", "/api/inspections"),
    ("post", "/api/inspections/1/problems"),
    ("get", "/api/problems"),
    ("post", "/api/problems/escalate"),
    ("get", "/api/problems/1"),
    ("post", "/api/problems/1/verifications"),
    ("post", "/api/problems/1/close"),
    # project bank and fund ledger (api/projects.py)
    ("get", "/api/projects"),
    ("post", "/api/projects"),
    ("get", "/api/projects/1"),
    ("post", "/api/projects/1/moves"),
    ("put", "/api/projects/1/funding/1"),
    ("post", "/api/projects/1/postings"),
    ("post", "/api/projects/1/benefits"),
    ("get", "/api/funds/sources"),
    ("post", "/api/funds/sources"),
    ("post", "/api/funds/receipts"),
    ("post", "/api/funds/allocations"),
    ("post", "/api/funds/disbursements"),
    ("post", "/api/funds/postings/1/reversal"),
    ("get", "/api/funds/reconciliation"),
    # assessment (api/scoring.py)
    ("get", "/api/scoring/schemes"),
    ("get", "/api/scoring/periods"),
    ("post", "/api/scoring/periods"),
    ("get", "/api/scoring/periods/1"),
    ("post", "/api/scoring/periods/1/publish"),
    ("get", "/api/scoring/scores/1"),
    # scheduled tasks and tickets (api/governance.py)
    ("get", "/api/duty/tasks"),
    ("get", "/api/duty/tasks/1"),
    ("post", "/api/duty/tasks/1/reports"),
    ("get", "/api/tickets"),
    ("get", "/api/tickets/1"),
    ("post", "/api/tickets/1/reply"),
    # microcredit (api/credit.py)
    ("get", "/api/credit/loans"),
    ("get", "/api/credit/loans/1"),
    ("post", "/api/credit/loans/1/repayments"),
    ("get", "/api/credit/overdue"),
    ("get", "/api/credit/figures"),
    # project assets and their income (api/assets.py)
    ("get", "/api/assets"),
    ("get", "/api/assets/1"),
    ("post", "/api/assets/1/incomes"),
    ("get", "/api/asset-incomes"),
    ("get", "/api/asset-plans"),
    ("get", "/api/asset-plans/1"),
    ("get", "/api/asset-payments"),
    # points shops and star ratings (api/points.py)
    ("get", "/api/points/shops"),
    ("get", "/api/points/households/1"),
    ("post", "/api/points/earnings"),
    ("post", "/api/points/redemptions"),
    ("post", "/api/points/entries/1/reversal"),
    ("get", "/api/points/ratings"),
    ("post", "/api/points/ratings"),
]


def call(client: Client, method: str, path: str, body: Any = None) -> Any:
    if method == "get":
        return client.get(path)
    return getattr(client, method)(
        path, data=json.dumps(body or {}), content_type="application/json"
    )


def ids(response: Any) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_gets_401_in_chinese_on_every_route(world: World, method: str, path: str) -> None:
    household = world.households[V100_1]
    before = Household.objects.values().get(pk=household.pk)
    url = path.format(hid=household.pk, mid=household.members.first().pk)
    body = {"version": 1, "changes": {"group_name": "一组"}} if method == "patch" else {}

    response = call(Client(), method, url, body)

    assert response.status_code == 401
    assert "登录" in response.json()["detail"]
    assert Household.objects.values().get(pk=household.pk) == before


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_administrator_gets_403_in_chinese_on_every_route(
    world: World, method: str, path: str
) -> None:
    household = world.households[V100_1]
    before = Household.objects.values().get(pk=household.pk)
    url = path.format(hid=household.pk, mid=household.members.first().pk)
    body = {"version": 1, "changes": {"group_name": "一组"}} if method == "patch" else {}
    admin = User.objects.create_user(username="secadmin", password="x", role="secadmin")
    token = do_issue_api_token(admin, "tests", actor=admin)

    response = call(Client(headers={"Authorization": f"Bearer {token}"}), method, url, body)

    assert response.status_code == 403  # AUTHZ-3; documented on every operation (see below)
    assert "管理员" in response.json()["detail"]
    assert Household.objects.values().get(pk=household.pk) == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer jz_not-a-real-token",
        "Basic Y291bnR5OlRlc3QtcGFzcy0yMDI2",
        "Bearer " + "x" * 5000,
    ],
)
def test_a_wrong_or_malformed_authorization_header_gets_401(world: World, header: str) -> None:
    response = Client(headers={"Authorization": header}).get("/api/households")
    assert response.status_code == 401


def test_an_inactive_account_is_refused_through_session_and_token(
    world: World, session_client: Make, token_client: Make
) -> None:
    by_session, by_token = session_client("county"), token_client("county")
    assert by_session.get("/api/households").status_code == 200
    assert by_token.get("/api/households").status_code == 200

    type(world.user("county")).objects.filter(username="county").update(is_active=False)

    assert by_session.get("/api/households").status_code == 401
    assert by_token.get("/api/households").status_code == 401


def test_a_session_write_without_csrf_token_is_refused_but_a_token_write_needs_none(
    world: World, session_client: Make, token_client: Make
) -> None:
    household = world.households[V100_1]
    before = Household.objects.values().get(pk=household.pk)
    body = {"version": household.version, "changes": {"group_name": "一组"}}

    refused = call(
        session_client("village", enforce_csrf_checks=True),
        "patch",
        f"/api/households/{household.pk}",
        body,
    )

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert Household.objects.values().get(pk=household.pk) == before

    accepted = call(
        token_client("village", enforce_csrf_checks=True),
        "patch",
        f"/api/households/{household.pk}",
        body,
    )
    assert accepted.status_code == 200
    assert accepted.json()["group_name"] == "一组"


# --- scoping: lists ------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_VILLAGES))
def test_each_role_lists_exactly_its_households(
    world: World, session_client: Make, username: str
) -> None:
    response = session_client(username).get("/api/households")

    assert response.status_code == 200
    assert ids(response) == expected_ids(world, username)
    # The independent oracle: count households directly by the villages the user covers.
    oracle = Household.objects.filter(village_id__in=VISIBLE_VILLAGES[username]).count()
    assert response.json()["count"] == oracle


def test_expected_sizes_per_role(world: World, session_client: Make) -> None:
    counts = {u: session_client(u).get("/api/households").json()["count"] for u in VISIBLE_VILLAGES}
    assert counts == {
        "county": 4,
        "auditor": 4,
        "township": 2,
        "other_township": 2,
        "village": 1,
        "helper": 1,
    }


def test_other_township_sees_the_other_townships_households(
    world: World, session_client: Make
) -> None:
    response = session_client("other_township").get("/api/households")
    assert ids(response) == {world.households[V101_1].pk, world.households[V101_2].pk}


def test_token_and_session_see_the_same_households(
    world: World, session_client: Make, token_client: Make
) -> None:
    assert ids(token_client("township").get("/api/households")) == ids(
        session_client("township").get("/api/households")
    )


def test_filters_and_pagination(world: World, session_client: Make) -> None:
    client = session_client("county")

    assert ids(client.get(f"/api/households?township={T101}")) == {
        world.households[V101_1].pk,
        world.households[V101_2].pk,
    }
    assert ids(client.get(f"/api/households?village={V101_1}")) == {world.households[V101_1].pk}
    assert client.get("/api/households?status=exited_with_policy").json()["count"] == 0
    assert client.get("/api/households?cause=illness&attribute=general").json()["count"] == 4
    assert ids(client.get("/api/households?q=王五")) == {world.households[V101_1].pk}
    page = client.get("/api/households?limit=3&offset=2").json()
    assert (
        page["count"] == 4 and len(page["items"]) == 2 and (page["limit"], page["offset"]) == (3, 2)
    )
    # A filter cannot widen the scope.
    assert session_client("township").get(f"/api/households?township={T101}").json()["count"] == 0


def test_pages_after_a_household_code(world: World, session_client: Make) -> None:
    client = session_client("county")
    every = client.get("/api/households").json()
    codes = [h["household_code"] for h in every["items"]]
    assert codes == sorted(codes) and every["next_after"] == ""
    # Given a first page of 3 of the county's 4 households
    first = client.get("/api/households?limit=3").json()
    assert [h["household_code"] for h in first["items"]] == codes[:3]
    assert first["next_after"] == codes[2]
    # When the next page is asked for after its last code (GET and POST search alike)
    second = client.get(f"/api/households?limit=3&after={first['next_after']}").json()
    searched = client.post(
        "/api/households/search",
        json.dumps({"limit": 3, "after": first["next_after"]}),
        content_type="application/json",
    ).json()
    # Then the rest follows, the count stays the county's, and no page follows it
    for page in (second, searched):
        assert [h["household_code"] for h in page["items"]] == codes[3:]
        assert page["count"] == 4 and page["next_after"] == ""
    # after and offset together are refused, naming offset
    refused = client.get(f"/api/households?after={codes[0]}&offset=1")
    assert refused.status_code == 400 and "offset" in refused.content.decode()


# --- scoping: details are 404 outside the scope ----------------------------------------------


@pytest.mark.parametrize("username", sorted(VISIBLE_VILLAGES))
def test_out_of_scope_households_and_members_are_404(
    world: World, session_client: Make, username: str
) -> None:
    client = session_client(username)
    for village, household in world.households.items():
        member = household.members.first()
        urls = [
            f"/api/households/{household.pk}",
            f"/api/households/{household.pk}/members",
            f"/api/members/{member.pk}",
        ]
        for url in urls:
            response = client.get(url)
            if village in VISIBLE_VILLAGES[username]:
                assert response.status_code == 200, url
            else:
                assert response.status_code == 404, url
                assert "未找到" in response.json()["detail"]


def test_unknown_ids_are_404_like_out_of_scope_ones(world: World, session_client: Make) -> None:
    client = session_client("county")
    missing = max(Household.all_objects.values_list("pk", flat=True)) + 100
    assert client.get(f"/api/households/{missing}").status_code == 404
    assert (
        client.get(
            f"/api/members/{max(Member.all_objects.values_list('pk', flat=True)) + 100}"
        ).status_code
        == 404
    )


def test_detail_carries_members_and_labels(world: World, session_client: Make) -> None:
    household = world.households[V100_1]
    body = session_client("village").get(f"/api/households/{household.pk}").json()

    assert body["household_code"] == household.household_code
    assert body["poverty_status"] == "not_exited" and body["poverty_status_label"] == "未脱贫"
    assert body["attribute_label"] == "一般贫困户" and body["main_cause_label"] == "因病"
    assert {m["name"] for m in body["members"]} == set(
        household.members.values_list("name", flat=True)
    )
    head = next(m for m in body["members"] if m["relation"] == "head")
    assert head["relation_label"] == "户主"
    assert head["health_status"] == "***"
    assert "disability_grade" not in head
    assert body["incomes"] == []


# --- regions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("county", {COUNTY, T100, T101, *VISIBLE_VILLAGES["county"]}),
        ("township", {T100, *VISIBLE_VILLAGES["township"]}),
        ("other_township", {T101, *VISIBLE_VILLAGES["other_township"]}),
        ("village", {V100_1}),
        ("helper", {V100_1}),
    ],
)
def test_regions_are_the_granted_subtrees_or_the_helpers_villages(
    world: World, session_client: Make, username: str, expected: set[str]
) -> None:
    client = session_client(username)
    body = client.get("/api/regions").json()

    assert {r["code"] for r in body["items"]} == expected
    assert body["count"] == len(expected)
    for code in [COUNTY, T100, T101, *VISIBLE_VILLAGES["county"]]:
        assert client.get(f"/api/regions/{code}").status_code == (200 if code in expected else 404)


def test_region_filters(world: World, session_client: Make) -> None:
    client = session_client("county")
    children = client.get(f"/api/regions?parent={T100}").json()["items"]
    assert [r["code"] for r in children] == sorted(VISIBLE_VILLAGES["township"])
    townships = client.get("/api/regions?level=township").json()["items"]
    assert [(r["code"], r["level_label"]) for r in townships] == [(T100, "乡级"), (T101, "乡级")]


# --- ID search goes by POST; GET refuses IDs; nothing leaks unmasked ---------------------------


def full_values(world: World) -> list[str]:
    values = []
    for household in world.households.values():
        values += [household.phone, household.bank_account]
        values += list([m.id_number for m in household.members.all()])
    return values


def assert_no_sensitive_values(world: World, text: str) -> None:
    for value in full_values(world):
        assert value not in text
    for candidate in re.findall(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])", text):
        assert not ric.is_valid(candidate), candidate
    assert "chronic" not in text and "长期慢性病" not in text  # the fixture heads' health status


def test_search_by_full_id_number_uses_post_and_finds_the_household(
    world: World, session_client: Make
) -> None:
    target = world.households[V101_1]
    id_number = target.members.get(relation="head").id_number

    response = call(session_client("county"), "post", "/api/households/search", {"q": id_number})

    assert response.status_code == 200
    assert ids(response) == {target.pk}
    assert_no_sensitive_values(world, response.content.decode())
    # Out of scope, the same ID finds nothing.
    other = call(session_client("township"), "post", "/api/households/search", {"q": id_number})
    assert other.json()["count"] == 0


@pytest.mark.parametrize(
    "q",
    [
        make_id("230231", "19700101", 7),
        " ".join([make_id("230231", "19700101", 7)[:6], make_id("230231", "19700101", 7)[6:]]),
        "230231197001010",  # 15 digits: an old-style ID number
        "6222020000000001",  # a bank account
    ],
)
def test_get_with_an_id_number_in_the_url_is_refused(
    world: World, session_client: Make, q: str
) -> None:
    response = session_client("county").get("/api/households", {"q": q})

    assert response.status_code == 400
    assert "POST /api/households/search" in response.json()["detail"]


def test_no_response_body_contains_an_unmasked_value(world: World, session_client: Make) -> None:
    for username in VISIBLE_VILLAGES:
        client = session_client(username)
        bodies = [client.get("/api/households").content, client.get("/api/stats").content]
        for household in world.households.values():
            bodies.append(client.get(f"/api/households/{household.pk}").content)
            bodies.append(client.get(f"/api/households/{household.pk}/members").content)
            for member in household.members.all():
                bodies.append(client.get(f"/api/members/{member.pk}").content)
                bodies.append(
                    call(client, "post", "/api/households/search", {"q": member.id_number}).content
                )
        for body in bodies:
            assert_no_sensitive_values(world, body.decode())


def test_masked_forms_are_the_documented_ones(world: World, session_client: Make) -> None:
    household = world.households[V100_1]
    body = session_client("county").get(f"/api/households/{household.pk}").json()
    head = household.members.get(relation="head")

    assert body["phone"] == household.phone[:3] + "****" + household.phone[-4:]
    assert body["bank_account"] == "****" + household.bank_account[-4:]
    shown = next(m for m in body["members"] if m["id"] == head.pk)["id_number"]
    assert shown == head.id_number[:6] + "*" * 8 + head.id_number[-4:]


# --- statistics ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # stored figures: the refresh reads committed data
def test_stats_default_to_the_first_grant_and_count_what_the_user_may_see(
    world: World, session_client: Make
) -> None:
    from jingzhun.analytics.actions import do_refresh_indicators

    do_refresh_indicators(None, actor=None)
    county = session_client("county").get("/api/stats").json()
    township = session_client("township").get("/api/stats").json()
    helper = session_client("helper").get("/api/stats").json()

    assert (county["region_code"], county["registered_households"], county["scope"]) == (
        COUNTY,
        4,
        "region",
    )
    assert county["registered_persons"] == Member.objects.count()
    assert county["computed_at"] and county["refresh_pending"] is True  # the fixture's writes
    assert (township["region_code"], township["registered_households"]) == (T100, 2)
    assert (helper["scope"], helper["registered_households"], helper["poverty_incidence"]) == (
        "paired",
        1,
        None,
    )


@pytest.mark.django_db(transaction=True)
def test_stats_of_a_region_out_of_scope_are_404(world: World, session_client: Make) -> None:
    from jingzhun.analytics.actions import do_refresh_indicators

    do_refresh_indicators(None, actor=None)
    assert session_client("other_township").get(f"/api/stats?region={T100}").status_code == 404
    assert session_client("helper").get(f"/api/stats?region={T101}").status_code == 404
    assert session_client("county").get("/api/stats?region=230231999000").status_code == 404
    # figures are computed from 2014 (the registry's first year): before, none are stored
    assert (
        session_client("county")
        .get(f"/api/stats?region={T100}&year=2014")
        .json()["registered_households"]
        == 0
    )
    before = session_client("county").get(f"/api/stats?region={T100}&year=2010")
    assert before.status_code == 404 and "尚未计算" in before.json()["detail"]


# --- bad input is a 4xx, never a 500 -------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/households?limit=501",
        "/api/households?limit=0",
        "/api/households?offset=-1",
        "/api/households?status=nonsense",
        "/api/households?township=abc",
        "/api/households?q=%00",
        "/api/households/abc",
        f"/api/households/{2**64}",
        "/api/households/0",
        "/api/members/-1",
        "/api/regions/abc",
        "/api/regions?level=planet",
        "/api/stats?year=99999",
        "/api/stats?region=12",
    ],
)
def test_invalid_parameters_are_422(world: World, session_client: Make, url: str) -> None:
    assert session_client("county").get(url).status_code == 422


def test_malformed_json_body_is_a_client_error(world: World, session_client: Make) -> None:
    response = session_client("county").post(
        "/api/households/search", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "请求体无法解析" in response.json()["detail"]


# --- documentation -------------------------------------------------------------------------


def test_docs_and_schema_load_and_every_operation_declares_a_policy(world: World) -> None:
    docs = Client().get("/api/docs")
    schema = Client().get("/api/openapi.json")

    assert docs.status_code == 200
    assert not re.search(
        rb"""(src|href)=["']?(https?:)?//""", docs.content
    )  # no CDN on an intranet
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    operations = [op for ops in paths.values() for op in ops.values()]
    assert len(operations) == len(ROUTES)
    assert all(op.get("x-jingzhun-policy") == "authenticated" for op in operations)
    # Every route may answer 401 (not signed in) and 403 (an administrator, a session write without
    # its CSRF token): the document says so, as the API fuzz (test_fuzz.py) checks of each answer.
    assert all({"401", "403"} <= set(op["responses"]) for op in operations)
    assert schema.json()["info"]["title"] == "精准 Jingzhun API"


def test_the_public_schema_is_built_once_per_process(monkeypatch: Any) -> None:
    # Building it costs the better part of a second of CPU and needs no sign-in: it must not be
    # rebuilt per request (a cheap way to keep the workers busy).
    import ninja.main

    built: list[str] = []
    real = ninja.main.get_schema

    def counting(**kwargs: Any) -> Any:
        built.append(kwargs["path_prefix"])
        return real(**kwargs)

    monkeypatch.setattr(ninja.main, "get_schema", counting)
    api.__dict__.pop("_jingzhun_schemas", None)
    first = Client().get("/api/openapi.json")
    again = Client().get("/api/openapi.json")
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert built == ["/api/"]
