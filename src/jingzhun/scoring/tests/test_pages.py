"""Assessment pages and API as users use them: the county computes, sees the ranking and the
score card with the lists behind the figures, publishes; a township then sees the published
ranking and its own card, never another township's (404); refusals by role."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import TOWNSHIPS, World, signed_in
from django.test import Client

from jingzhun.scoring.actions import run_pending
from jingzhun.scoring.models import ScorePeriod, UnitScore

from .test_scoring import figures_2026, overdue_problem

T1, T2 = TOWNSHIPS


@pytest.fixture
def county(client: Any, world: World) -> Any:
    figures_2026()
    overdue_problem(world)
    return signed_in(client, world.user("county"))


def _compute(county: Any) -> ScorePeriod:
    response = county.post(
        "/scoring/", {"scheme": "township_assessment", "period": "2026Q3", "correction": ""}
    )
    assert response.status_code == 302, response.content.decode()
    period = ScorePeriod.objects.get()
    assert response["Location"] == f"/scoring/periods/{period.pk}/"
    page = county.get(response["Location"]).content.decode()
    assert "计算中" in page or "排队" in page or "0%" in page  # queued: shown with its progress
    run_pending()
    period.refresh_from_db()
    return period


def test_county_computes_reads_and_publishes(county: Any, world: World) -> None:
    period = _compute(county)
    page = county.get(f"/scoring/periods/{period.pk}/").content.decode()
    assert "未发布的计算结果" in page and "第2镇" in page and "81.50" in page
    assert 'id="black-list"' in page and "发布考核结果" in page
    card = UnitScore.objects.get(unit_key=T1)
    page = county.get(f"/scoring/cards/{card.pk}/").content.decode()
    assert 'data-score="81.50"' in page
    assert 'data-figure="inspection.problems_overdue"' in page
    assert "/problems/" in page  # the overdue problem listed behind its figure, linked
    assert "/households/?township=" in page  # the household list behind a battle map figure
    response = county.post(f"/scoring/periods/{period.pk}/publish/", {"version": period.version})
    assert response.status_code == 302
    period.refresh_from_db()
    assert period.published_job_id == period.latest_job_id
    # a second computation after publishing without a correction: refused, nothing queued
    response = county.post("/scoring/", {"scheme": "township_assessment", "period": "2026Q3"})
    assert response.status_code == 400 and "更正说明" in response.content.decode()


def test_township_sees_published_ranking_and_own_card_only(county: Any, world: World) -> None:
    period = _compute(county)
    own = UnitScore.objects.get(unit_key=T1)
    theirs = UnitScore.objects.get(unit_key=T2)
    county.post(f"/scoring/periods/{period.pk}/publish/", {"version": period.version})
    township = signed_in(Client(), world.user("township"))
    page = township.get(f"/scoring/periods/{period.pk}/").content.decode()
    assert "第1镇" in page and "第2镇" in page and "/publish/" not in page
    assert township.get(f"/scoring/cards/{own.pk}/").status_code == 200
    assert township.get(f"/scoring/cards/{theirs.pk}/").status_code == 404
    assert (
        township.post(f"/scoring/periods/{period.pk}/publish/", {"version": 1}).status_code == 403
    )
    assert (
        township.post("/scoring/", {"scheme": "township_assessment", "period": "2026"}).status_code
        == 403
    )
    board = township.get(f"/dashboard/scoring/?region={T1}").content.decode()
    assert f"/scoring/cards/{own.pk}/" in board and "第2镇" not in board


def test_unpublished_period_is_404_for_units(county: Any, world: World) -> None:
    period = _compute(county)
    township = signed_in(Client(), world.user("township"))
    assert township.get(f"/scoring/periods/{period.pk}/").status_code == 404
    assert township.get("/scoring/").status_code == 200
    helper = signed_in(Client(), world.user("helper"))
    assert helper.get("/scoring/").status_code == 404


def test_scheme_page_and_battle_map_section(county: Any) -> None:
    page = county.get("/scoring/schemes/township_assessment/").content.decode()
    assert "inspection.problems_closed_on_time / inspection.problems_closed" in page
    assert "计满分" in page and "红榜" in page
    assert county.get("/scoring/schemes/nothing/").status_code == 404
    period = _compute(county)
    board = county.get("/dashboard/scoring/?region=230231000000").content.decode()
    assert "81.50" in board and f"/scoring/periods/{period.pk}/" in board


def test_api(county: Any, world: World) -> None:
    response = county.post(
        "/api/scoring/periods",
        {"scheme_id": "township_assessment", "period": "2026Q3"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    period_id = response.json()["period_id"]
    run_pending()
    body = county.get(f"/api/scoring/periods/{period_id}").json()
    assert [(r["unit_key"], r["score"], r["band"]) for r in body["scores"]] == [
        (T1, "81.50", ""),
        (T2, "70.00", "black"),
    ]
    card = county.get(f"/api/scoring/scores/{body['scores'][0]['id']}").json()
    assert sum(float(t["points"]) for t in card["trace"]) == pytest.approx(81.5)
    response = county.post(
        f"/api/scoring/periods/{period_id}/publish",
        {"version": body["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["published"] is True
    schemes = county.get("/api/scoring/schemes").json()
    assert {s["id"] for s in schemes} >= {"township_assessment", "work_team_assessment"}
