"""The new kinds on the pages and in the API: opening a natural change from the form and through
/api/cases (the new member's ID number masked on the page and in the API), the round overview's
totals per kind, and the case pages scoped like the others."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from conftest import COUNTY, VILLAGES, World, make_id, signed_in
from django.test import Client
from django.utils import timezone

from jingzhun.registry.actions import do_change_household_status
from jingzhun.workflows.actions import CaseDetails, do_open_case, do_open_round
from jingzhun.workflows.models import Case

pytestmark = pytest.mark.django_db
VILLAGE = VILLAGES["230231100000"][0]


def client_for(user: Any) -> Client:
    return signed_in(Client(), user)


def test_natural_change_opened_from_the_form_shows_a_masked_member(world: World) -> None:
    household = world.households[VILLAGE]
    born = timezone.localdate() - datetime.timedelta(days=10)
    baby = make_id("230231", born.strftime("%Y%m%d"), 55)
    village = client_for(world.user("village"))
    form = village.get(f"/cases/new/?household={household.pk}&kind=natural_change")
    assert form.status_code == 200 and 'name="change_type"' in form.content.decode()
    posted = village.post(
        "/cases/new/",
        {
            "household": household.pk,
            "kind": "natural_change",
            "year": born.year,
            "opened_on": timezone.localdate().isoformat(),
            "change_type": "birth",
            "change_date": born.isoformat(),
            "new_name": "张小宝",
            "new_id_number": baby,
            "new_relation": "grandchild",
        },
    )
    assert posted.status_code == 302, posted.content.decode()
    case = Case.objects.get(kind="natural_change")
    assert case.change["member"]["id_number"] == baby
    html = village.get(f"/cases/{case.pk}/").content.decode()
    assert "张小宝" in html and 'id="case-change"' in html
    assert baby not in html and baby[-8:] not in html
    assert 'id="move-verify"' in html
    api = village.get(f"/api/cases/{case.pk}").json()
    assert api["change"]["type"] == "birth" and baby not in json.dumps(api)
    assert "张小宝" in api["change_label"]
    # out of scope: 404 on the page and in the API
    other = client_for(world.user("other_township"))
    assert other.get(f"/cases/{case.pk}/").status_code == 404
    assert other.get(f"/api/cases/{case.pk}").status_code == 404


def test_a_bad_change_on_the_form_is_a_400_naming_the_field(world: World) -> None:
    household = world.households[VILLAGE]
    page = client_for(world.user("village")).post(
        "/cases/new/",
        {
            "household": household.pk,
            "kind": "natural_change",
            "year": 2026,
            "opened_on": timezone.localdate().isoformat(),
            "change_type": "death",
            "change_date": timezone.localdate().isoformat(),
        },
    )
    assert page.status_code == 400 and "请选择本户在册的变更的成员" in page.content.decode()
    assert not Case.objects.exists()


def test_return_and_removal_through_the_api(world: World) -> None:
    household = world.households[VILLAGE]
    do_change_household_status(
        household.pk, "exited_with_policy", datetime.date(2019, 12, 1), "脱贫", actor=None
    )
    village = client_for(world.user("village"))
    created = village.post(
        "/api/cases",
        data=json.dumps({"household_id": household.pk, "kind": "return", "summary": "因病返贫"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "proposed" and body["kind_label"] == "返贫认定"
    assert [m["move"] for m in body["moves"]] == ["check"]
    refused = village.post(
        "/api/cases",
        data=json.dumps({"household_id": household.pk, "kind": "return"}),
        content_type="application/json",
    )
    assert refused.status_code == 400  # one open case per household and kind
    death = village.post(
        "/api/cases",
        data=json.dumps(
            {
                "household_id": household.pk,
                "kind": "natural_change",
                "change": {"type": "death", "date": "2026-01-01", "member_id": 999999},
            }
        ),
        content_type="application/json",
    )
    assert death.status_code == 400 and "本户在册" in death.json()["detail"]
    inbox = village.get("/api/cases?tab=todo").json()
    assert [c["kind"] for c in inbox["items"]] == ["return"]


def test_round_overview_totals_per_kind(world: World) -> None:
    county = world.user("county")
    today = timezone.localdate()
    round_ = do_open_round(
        COUNTY, "第一批", today, today + datetime.timedelta(days=9), actor=county
    )
    household = world.households[VILLAGE]
    do_open_case(household.pk, "removal", CaseDetails(round_id=round_.pk), actor=county)
    do_open_case(
        household.pk,
        "natural_change",
        CaseDetails(round_id=round_.pk, change={"type": "close", "date": today}),
        actor=county,
    )
    html = client_for(county).get(f"/rounds/{round_.pk}/").content.decode()
    assert 'data-kind-total="removal">1<' in html and 'data-kind-total="return">0<' in html
    assert 'data-state="natural_change-proposed">1<' in html
    api = client_for(county).get(f"/api/rounds/{round_.pk}").json()
    assert api["by_kind"]["removal"] == 1 and api["by_kind"]["natural_change"] == 1
    assert api["counts"]["removal"]["proposed"] == 1


def test_a_stale_move_or_checklist_tick_on_the_case_page_is_a_409_with_a_clear_message(
    world: World,
) -> None:
    from jingzhun.audit.models import AuditEvent
    from jingzhun.workflows.actions import do_tick_checklist_item

    household = world.households[VILLAGE]
    village = world.user("village")
    case = do_open_case(
        household.pk,
        "natural_change",
        CaseDetails(change={"type": "close", "date": timezone.localdate()}),
        actor=village,
    )
    stale = case.version
    # someone else ticks an item in between: the version moves on
    do_tick_checklist_item(case.pk, "corroborate_archive", "已核对户籍", stale, actor=village)
    client = client_for(village)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    page = client.post(
        f"/cases/{case.pk}/checklist/",
        {"item": "corroborate_neighbours", "note": "邻里证实", "version": stale},
    )
    html = page.content.decode()
    assert page.status_code == 409
    assert 'id="case-error"' in html and "已被他人办理或修改，请刷新页面" in html
    fresh = Case.objects.get(pk=case.pk)
    assert "corroborate_neighbours" not in fresh.checklist
    # the page shown with the message carries the current version, so the next try works
    assert f'name="version" value="{fresh.version}"' in html
    moved = client.post(f"/cases/{case.pk}/move/", {"move": "verify", "version": stale})
    assert moved.status_code == 409 and "请刷新页面" in moved.content.decode()
    assert Case.objects.get(pk=case.pk).state == "proposed"
    # no successful write was recorded after the stale posts (refusals may be audited)
    assert not AuditEvent.objects.filter(id__gt=last, outcome="success").exists()
    assert Case.objects.get(pk=case.pk).version == fresh.version


@pytest.mark.parametrize(
    ("kind", "title"), [("removal", "错评户清退公示"), ("return", "返贫户认定公示")]
)
def test_posting_notice_of_a_removal_or_a_return(world: World, kind: str, title: str) -> None:
    from jingzhun.exports.tests.conftest import pdf_text
    from jingzhun.workflows.transitions import FLOWS

    from .conftest import walk

    actors = {r: world.user(r) for r in ("village", "township", "county")}
    household = world.households[VILLAGE]
    if kind == "return":
        do_change_household_status(
            household.pk, "exited_with_policy", datetime.date(2019, 12, 1), "脱贫", actor=None
        )
    case = do_open_case(household.pk, kind, CaseDetails(), actor=actors["village"])
    path = FLOWS[kind].required_path()
    post = next(name for name in path if FLOWS[kind].move(name).starts_posting)  # type: ignore[union-attr]
    case = walk(case, path[: path.index(post) + 1], actors)
    posting = case.postings.get()
    response = client_for(actors["village"]).post("/postings/?show=all", {"posting": [posting.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(response.streaming_content))
    assert title in text and household.head_name in text
    assert household.phone not in text
