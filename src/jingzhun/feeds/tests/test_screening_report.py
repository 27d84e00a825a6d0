"""The screening report and the battle map's alert figures (issue 22 item 6): new alerts by rule
and village, rows per source, the review queue, the age against the 15-day limit; every figure
links to a list of as many alerts; a township sees only its own; `screen --province`."""

from __future__ import annotations

import datetime
import io
import json
import re

from conftest import COUNTY, World, signed_in
from django.core.management import call_command
from django.test import Client

from jingzhun.core.models import action_writes
from jingzhun.feeds import actions, selectors
from jingzhun.feeds.models import Alert

from .conftest import csv_bytes, head_id, medical_roster


def _screened(world: World) -> None:
    actions.do_submit_roster(
        "medical_spending", "m.csv", medical_roster(), actor=world.user("medic")
    )
    actions.do_submit_roster(
        "vehicles",
        "v.csv",
        csv_bytes([["身份证号", "姓名"], [head_id(1), "张三"], [head_id(4), "赵六"]]),
        actor=world.user("police"),
    )
    actions.run_pending()
    actions.do_screen_county(COUNTY, actor=world.user("county"))


def _figures(html: str) -> dict[str, tuple[str, int]]:
    return {
        key: (href.replace("&amp;", "&"), int(n))
        for key, href, n in re.findall(r'data-figure="([^"]+)" href="([^"]+)">(\d+)<', html)
    }


def _listed(client: Client, href: str) -> int:
    return len(re.findall(r'<tr id="alert-\d+"', client.get(href).content.decode()))


def test_report_figures_link_to_lists_of_as_many_alerts(feeds_world: World) -> None:
    _screened(feeds_world)
    # one warning's case is 20 days old: overdue against the 15-day limit
    old = Alert.objects.filter(kind="warning").order_by("pk").first()
    assert old is not None and old.case is not None
    with action_writes():
        Alert.objects.filter(pk=old.pk).update(
            raised_on=old.raised_on - datetime.timedelta(days=20)
        )
        type(old.case).objects.filter(pk=old.case.pk).update(
            due_on=old.raised_on - datetime.timedelta(days=5)
        )
    client = signed_in(Client(), feeds_world.user("county"))
    page = client.get("/alerts/report/?since=2000-01-01").content.decode()
    figures = _figures(page)
    assert figures["alerts-overdue"][1] == 1
    assert figures["alerts-open_red_lines"][1] == Alert.objects.filter(kind="red_line").count()
    assert "review-queue" in figures
    assert any(key.startswith("rows-") and key.endswith("-matched") for key in figures)
    for key, (href, n) in figures.items():
        if key.startswith(("alerts-", "new-")):
            assert _listed(client, href) == n, key
    by_rule = sum(n for key, (_h, n) in figures.items() if key.startswith("new-"))
    assert by_rule == Alert.objects.count()
    # the battle map's section: the same figures for the county
    fragment = client.get(f"/dashboard/screening/?region={COUNTY}").content.decode()
    assert _figures(fragment)["alerts-overdue"][1] == 1


def test_a_township_sees_only_its_alerts_in_the_report(feeds_world: World) -> None:
    _screened(feeds_world)
    township = feeds_world.user("township")  # villages 100201, 100202
    mine = selectors.screening_report(township, datetime.date(2000, 1, 1))
    assert {r["village"][:9] for r in mine.by_rule_village} == {"230231100"}
    assert mine.rows_by_source == []  # roster rows are the county's and the liaisons'
    everyone = selectors.screening_report(feeds_world.user("county"), datetime.date(2000, 1, 1))
    assert sum(r["n"] for r in mine.by_rule_village) < sum(r["n"] for r in everyone.by_rule_village)
    page = signed_in(Client(), township).get("/alerts/report/?since=2000-01-01").content.decode()
    assert "H101202" not in page and "第2镇" not in page
    assert signed_in(Client(), feeds_world.user("helper")).get("/alerts/report/").status_code == 404


def test_screen_a_whole_province(feeds_world: World) -> None:
    actions.do_submit_roster(
        "medical_spending", "m.csv", medical_roster(), actor=feeds_world.user("medic")
    )
    actions.run_pending()
    out, err = io.StringIO(), io.StringIO()
    call_command("screen", "--province", "23", "--json", stdout=out, stderr=err)
    raised = json.loads(out.getvalue())
    assert {r["rule"] for r in raised} == {"medical_spending"}
    assert len(raised) == 3
    out = io.StringIO()
    call_command("screen", "--province", "230000000000", stdout=out, stderr=io.StringIO())
    assert "县 230231000000：新增预警 0 条" in out.getvalue()
