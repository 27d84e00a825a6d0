"""API of inspections and rectification (issue 24 item 2): scoped lists, the submitter refused,
verification and closure by the supervising level."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World
from django.test import Client

from jingzhun.inspection.actions import (
    do_record_inspection,
    do_record_problem,
    do_submit_rectification,
)
from jingzhun.inspection.models import Problem, Verification

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
V1 = VILLAGES[TOWNSHIPS[0]][0]


@pytest.fixture(autouse=True)
def _var_dir(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def submitted(world: World) -> Problem:
    county = world.user("county")
    inspection = do_record_inspection(
        kind="routine",
        title="例行督查",
        region_code=COUNTY,
        organiser="县督查组",
        started_on=datetime.date(2026, 9, 21),
        actor=county,
    )
    problem = do_record_problem(
        inspection.pk,
        category="data",
        description="家庭人口与户籍不一致",
        region_code=V1,
        household_id=world.households[V1].pk,
        responsible_unit="第一镇",
        responsible_person="刘某",
        found_on=datetime.date(2026, 9, 21),
        actor=county,
    )
    do_submit_rectification(
        problem.pk, "已核实更正", [("a.pdf", PDF)], actor=world.user("township")
    )
    problem.refresh_from_db()
    return problem


def test_lists_are_scoped(submitted: Problem, token_client: Callable[[str], Client]) -> None:
    listed = token_client("township").get("/api/problems?status=submitted").json()
    assert [p["id"] for p in listed] == [submitted.pk]
    assert listed[0]["supervisor_code"] == TOWNSHIPS[0]
    assert token_client("other_township").get("/api/problems").json() == []
    assert token_client("other_township").get(f"/api/problems/{submitted.pk}").status_code == 404
    assert [i["problems"] for i in token_client("county").get("/api/inspections").json()] == [1]


def test_submitter_refused_another_person_verifies_then_closes(
    submitted: Problem, token_client: Callable[[str], Client]
) -> None:
    body = {"version": submitted.version, "passed": True, "note": "已核实"}
    refused = token_client("township").post(
        f"/api/problems/{submitted.pk}/verifications", body, content_type="application/json"
    )
    assert refused.status_code == 403 and "提交人" in refused.json()["detail"]
    assert not Verification.objects.exists()
    done = token_client("county").post(
        f"/api/problems/{submitted.pk}/verifications", body, content_type="application/json"
    )
    assert done.status_code == 201 and done.json()["status"] == "verified"
    closed = token_client("township").post(
        f"/api/problems/{submitted.pk}/close",
        {"version": done.json()["version"]},
        content_type="application/json",
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_escalation_is_the_county_offices(
    submitted: Problem, token_client: Callable[[str], Client]
) -> None:
    assert token_client("township").post("/api/problems/escalate").status_code == 403
    answer = token_client("county").post("/api/problems/escalate")
    assert answer.status_code == 200 and answer.json()["escalated"] == []  # submitted: not overdue
