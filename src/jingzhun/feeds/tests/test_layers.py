"""The 2026 layers (issue 22 item 5): derived by the province's rules (policy data), civil
affairs the authority for 低保 and 特困, the same layer on the card as in the battle map's count,
set-wise over a region, scoped."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import COUNTY, VILLAGES, World, signed_in
from django.test import Client

from jingzhun.core.models import action_writes
from jingzhun.feeds import actions, layers
from jingzhun.policy.store import PolicyStore, default_root, load_file
from jingzhun.registry.actions import do_update_household
from jingzhun.registry.models import Household, Member

from .conftest import csv_bytes, head_id

V1, V2 = VILLAGES["230231100000"]
V3, V4 = VILLAGES["230231101000"]
TODAY = datetime.date(2026, 12, 7)


def _set(world: World, village: str, **changes: Any) -> None:
    h = Household.objects.get(pk=world.households[village].pk)
    do_update_household(h.pk, h.version, changes, actor=world.user("county"), by_workflow=True)


def _working_head(world: World, village: str) -> None:
    with action_writes():
        Member.objects.filter(household_id=world.households[village].pk, relation="head").update(
            labour_capacity="ordinary"
        )


@pytest.fixture
def layered(feeds_world: World) -> World:
    """V1 特困 in the registry, no labour → 重点救助; V2 特困 in the registry but civil affairs
    says 低保 (the authority), a working head → 低保救助; V3 monitored, working head → 潜在风险;
    V4 registered with a working head → 发展支持; the ordinary X household → no layer."""
    w = feeds_world
    _set(w, V1, attribute="tekun")
    _set(w, V2, attribute="tekun")
    _working_head(w, V2)
    _set(w, V3, monitoring_category="edge", risk_status="not_eliminated")
    _working_head(w, V3)
    _working_head(w, V4)
    county = w.user("county")
    submitted = actions.do_submit_roster(
        "civil_affairs",
        "民政.csv",
        csv_bytes([["身份证号", "姓名", "救助类别"], [head_id(2), "李四", "农村低保"]]),
        actor=county,
        origin="upload",
    )
    assert submitted.created
    actions.run_pending()
    return w


EXPECTED = {V1: "key_relief", V2: "minimum_living", V3: "potential_risk", V4: "development"}


def test_each_household_gets_the_layer_of_the_rules(layered: World) -> None:
    found = {
        v: layers.household_layer(Household.objects.get(pk=h.pk), TODAY).code
        for v, h in layered.households.items()
    }
    assert found == {**EXPECTED, "x": ""}
    # the card's one-row path (layer_of) and the set-wise expression give the same layer
    setwise = dict(
        layers.with_layers(Household.objects.all(), COUNTY[:2], TODAY).values_list("pk", "layer")
    )
    assert {v: setwise[h.pk] for v, h in layered.households.items()} == found
    # civil affairs is the authority: V2's registry attribute 特困 does not make it 重点救助
    assert layers.household_layer(layered.households[V2], TODAY).basis.startswith(
        "低保、特困以民政"
    )
    assert "建档立卡属性" in layers.household_layer(layered.households[V1], TODAY).basis


def test_the_cards_facts_are_the_set_wise_facts(layered: World) -> None:
    """The card reads each fact of one household with small queries (household_facts, issue 26);
    the set-wise conditions of `facts` give the same truth for every fact and household, also
    with an open department warning."""
    from django.db.models import BooleanField, ExpressionWrapper

    from jingzhun.feeds.models import Alert

    warned = layered.households[V4]
    Alert.objects.create(
        household=warned,
        rule="test",
        title="测试预警",
        kind="warning",
        source="civil_affairs",
        status="open",
        raised_on=TODAY,
        policy="test.yaml",
    )
    conditions = layers.facts(TODAY)
    setwise = {
        row["pk"]: row
        for row in Household.objects.annotate(
            **{
                f"fact_{n}": ExpressionWrapper(q, output_field=BooleanField())
                for n, q in conditions.items()
            }
        ).values("pk", *(f"fact_{n}" for n in conditions))
    }
    for household in Household.objects.all():
        holds, _named = layers.household_facts(household, TODAY)
        assert set(holds) == set(conditions)
        expected = {n: bool(setwise[household.pk][f"fact_{n}"]) for n in conditions}
        assert holds == expected, household.household_code


def test_counts_are_set_wise_and_scoped_and_agree_with_the_lists(layered: World) -> None:
    county = layered.user("county")
    counts = layers.layer_counts(county, COUNTY, TODAY)
    assert counts == {
        "key_relief": 1,
        "minimum_living": 1,
        "potential_risk": 1,
        "development": 1,
        "": 1,
    }
    township = layered.user("township")  # township 100: V1 and V2 only
    mine = layers.layer_counts(township, COUNTY, TODAY)
    assert (mine["key_relief"], mine["minimum_living"], mine["potential_risk"]) == (1, 1, 0)
    for code, n in counts.items():
        assert layers.layer_households(county, COUNTY, code, TODAY).count() == n


def test_the_card_and_the_battle_map_show_the_layer(layered: World) -> None:
    client = signed_in(Client(), layered.user("county"))
    card = client.get(f"/households/{layered.households[V2].pk}/").content.decode()
    assert 'data-layer="minimum_living"' in card and "低保救助" in card
    fragment = client.get(f"/dashboard/screening/?region={COUNTY}").content.decode()
    link = re.search(r'data-figure="layer-key_relief" href="([^"]+)">(\d+)<', fragment)
    assert link is not None and link.group(2) == "1"
    listed = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert layered.households[V1].household_code in listed
    assert layered.households[V2].household_code not in listed
    # a village cadre's battle map counts only the own village
    village = signed_in(Client(), layered.user("village"))
    own = village.get(f"/dashboard/screening/?region={V1}").content.decode()
    assert re.search(r'data-figure="layer-minimum_living" href="[^"]+">0<', own)


def test_a_provinces_own_rules_take_precedence(
    layered: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = (default_root() / "tables" / "assistance_layers.yaml").read_text(encoding="utf-8")
    provincial = shipped.replace("jurisdiction: national", 'jurisdiction: "23"').replace(
        'version: "2026-12-07"', 'version: "2026-12-07-hlj"'
    )
    # Heilongjiang (23) in this test: 低保 households are 重点救助 as well
    provincial = provincial.replace("      - [tekun]\n", "      - [tekun]\n      - [dibao]\n", 1)
    path = tmp_path / "assistance_layers-23.yaml"
    path.write_text(provincial, encoding="utf-8")
    store = PolicyStore([*PolicyStore.load().list_files(), load_file(path)])
    monkeypatch.setattr(layers, "default_store", lambda: store)
    found = layers.household_layer(layered.households[V2], TODAY)
    assert (found.code, "assistance_layers-23.yaml" in found.cited) == ("key_relief", True)
