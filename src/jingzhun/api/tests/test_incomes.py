"""GET and PUT /api/households/{id}/incomes/{year} (issue 19 item 2): derived figures, optimistic
locking, refusals that change nothing, scope, and the re-assessment the change asks for."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import World
from django.test import Client
from django.utils import timezone

from jingzhun.assessments.actions import do_assess_households
from jingzhun.assessments.jobs import run_pending
from jingzhun.assessments.models import Assessment, ReassessJob
from jingzhun.audit.models import AuditEvent
from jingzhun.registry.models import Household, IncomeRecord

from .conftest import V100_1, V101_1

Make = Callable[..., Client]
URL = "/api/households/{}/incomes/{}"


def put(client: Client, household: Household, year: int, body: dict[str, Any]) -> Any:
    return client.put(
        URL.format(household.pk, year), data=json.dumps(body), content_type="application/json"
    )


def _state() -> tuple[list[dict[str, Any]], list[tuple[int, int]], int, int]:
    return (
        list(IncomeRecord.all_objects.values().order_by("pk")),
        sorted(Household.all_objects.values_list("pk", "version")),
        AuditEvent.objects.exclude(outcome="refused").count(),
        ReassessJob.objects.count(),
    )


def test_put_records_a_year_and_get_shows_the_derived_figures(
    world: World, session_client: Make
) -> None:
    household = world.households[V100_1]
    client = session_client("village")
    assert client.get(URL.format(household.pk, 2019)).status_code == 404
    body = {
        "version": 0,
        "wage_income": 12000,
        "business_income": "3000.50",
        "transfer_income": 2400,
        "dibao_payment": 1800,
        "business_costs": 800,
    }
    response = put(client, household, 2019, body)
    assert response.status_code == 200, response.json()
    got = client.get(URL.format(household.pk, 2019)).json()
    persons = household.members.count()
    assert got["net_income"] == 16600.5 and got["household_size"] == persons
    assert got["per_capita_net_income"] == round(16600.5 / persons, 2)
    assert got["property_income"] == 0 and got["tekun_payment"] is None
    assert got["version"] == 1
    event = AuditEvent.objects.filter(event="registry.income.record").last()
    assert event is not None and event.diff["year"] == 2019 and event.outcome == "success"
    # A correction with the version read: the item left out is not given any more
    response = put(client, household, 2019, {"version": 1, "wage_income": 13000})
    assert response.status_code == 200
    assert response.json()["version"] == 2 and response.json()["business_income"] == 0


def test_a_stale_version_is_409_and_changes_nothing(world: World, session_client: Make) -> None:
    household = world.households[V100_1]
    client = session_client("village")
    assert put(client, household, 2019, {"version": 0, "wage_income": 100}).status_code == 200
    before = _state()
    response = put(client, household, 2019, {"version": 0, "wage_income": 200})
    assert response.status_code == 409 and "已被他人修改" in response.json()["detail"]
    assert _state() == before


@pytest.mark.parametrize(
    ("body", "year", "field", "words"),
    [
        ({"wage_income": -1}, 2019, "wage_income", "工资性收入不能为负数"),
        ({"property_income": "三千"}, 2019, "property_income", "财产性收入的值“三千”不是数字"),
        ({"dibao_payment": "1.234"}, 2019, "dibao_payment", "最多保留两位小数"),
        ({"wage_income": 1}, timezone.localdate().year + 1, "year", "晚于今年"),
    ],
)
def test_bad_input_is_refused_in_chinese_naming_the_item_and_changes_nothing(
    world: World, session_client: Make, body: dict[str, Any], year: int, field: str, words: str
) -> None:
    household = world.households[V100_1]
    before = _state()
    response = put(session_client("village"), household, year, {"version": 0, **body})
    assert response.status_code == 400
    assert words in response.json()["detail"] and response.json()["field"] == field
    assert _state() == before


def test_out_of_scope_is_404_and_read_only_roles_cannot_write(
    world: World, session_client: Make
) -> None:
    other = world.households[V101_1]
    before = _state()
    response = put(session_client("village"), other, 2019, {"version": 0, "wage_income": 1})
    assert response.status_code == 404
    assert session_client("village").get(URL.format(other.pk, 2019)).status_code == 404
    mine = world.households[V100_1]
    response = put(session_client("auditor"), mine, 2019, {"version": 0, "wage_income": 1})
    assert response.status_code in (403, 404)
    assert _state() == before


def test_an_income_change_makes_the_decision_stale_and_a_job_judges_it_again(
    world: World, session_client: Make
) -> None:
    household = world.households[V100_1]
    client = session_client("village")
    assert put(client, household, 2019, {"version": 0, "wage_income": 100}).status_code == 200
    run_pending()  # nothing judged before: nothing to judge again
    do_assess_households(
        Household.objects.filter(pk=household.pk), "household_exit", 2019, actor=None
    )
    [first] = Assessment.objects.filter(household=household, year=2019)
    assert "income" in first.failed  # 100 yuan a year: below the line
    response = put(client, household, 2019, {"version": 1, "wage_income": 90000})
    assert response.status_code == 200
    household.refresh_from_db()
    assert household.version > first.household_version  # the stored decision is stale
    [job] = ReassessJob.objects.filter(status=ReassessJob.QUEUED)
    assert (job.year, job.household_ids()) == (2019, [household.pk])
    [done] = run_pending()
    assert done.status == ReassessJob.DONE and done.standards == "household_exit"
    latest = Assessment.objects.filter(household=household, year=2019).order_by(
        "-household_version"
    )[0]
    assert latest.household_version == household.version
    assert "income" not in latest.failed
