"""The self-check pages as their users use them: start, draw, survey, results, report; roles
and scope."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import COUNTY, signed_in

from jingzhun.selfcheck.actions import run_job
from jingzhun.selfcheck.models import DrawJob, SampledHousehold, SelfCheck
from jingzhun.selfcheck.tests.test_selfcheck import _more_households


@pytest.fixture
def started(world: Any, client: Any) -> SelfCheck:
    _more_households(world)
    signed_in(client, world.user("county"))
    response = client.post("/selfchecks/", {"year": 2019, "title": "", "seed": 7})
    assert response.status_code == 302
    item = SelfCheck.objects.get(county_id=COUNTY, year=2019)
    assert item.seed == 7
    page = client.get(f"/selfchecks/{item.pk}/")
    assert 'data-status="queued"' in page.content.decode()
    run_job(DrawJob.objects.get(selfcheck=item).pk)
    return item


def test_county_draws_surveys_and_reads_results(
    world: Any, client: Any, started: SelfCheck
) -> None:
    page = client.get(f"/selfchecks/{started.pk}/").content.decode()
    assert 'data-status="done"' in page and 'id="results"' in page
    listing = client.get(f"/selfchecks/{started.pk}/households/?group=exited").content.decode()
    row = SampledHousehold.objects.filter(selfcheck=started, group="exited").first()
    assert row is not None and f"sampled-{row.pk}" in listing
    form = client.get(f"/selfchecks/households/{row.pk}/")
    assert form.status_code == 200 and "入户调查问卷" in form.content.decode()
    data = {
        "surveyed_on": "2026-11-20",
        "team": "第一核查组",
        "food_clothing_secure": "1",
        "approves": "0",
        "wrongly_exited_persons": "1",
        "complaint": "",
        "version": row.version,
    }
    response = client.post(f"/selfchecks/households/{row.pk}/", data)
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.finding_problem_id is not None and row.approves is False
    # the same form again with the old version: refused as stale, nothing changed
    stale = client.post(f"/selfchecks/households/{row.pk}/", data)
    assert stale.status_code == 409
    assert "已被他人修改" in stale.content.decode()
    report = client.get(f"/selfchecks/{started.pk}/report.pdf")
    assert report.status_code == 200 and report["Content-Type"] == "application/pdf"


def test_roles_and_scope(world: Any, client: Any, started: SelfCheck) -> None:
    client.logout()
    signed_in(client, world.user("village"))
    assert client.get("/selfchecks/").status_code == 404
    assert client.get(f"/selfchecks/{started.pk}/").status_code == 404
    client.logout()
    signed_in(client, world.user("auditor"))
    assert client.get(f"/selfchecks/{started.pk}/").status_code == 200
    assert client.post("/selfchecks/", {"year": 2020}).status_code == 403
    row = SampledHousehold.objects.filter(selfcheck=started).first()
    assert row is not None
    assert client.post(f"/selfchecks/households/{row.pk}/", {}).status_code == 403
    client.logout()
    signed_in(client, world.user("other_township"))
    theirs = SampledHousehold.objects.filter(
        selfcheck=started, village__code__startswith="230231100"
    ).first()
    assert theirs is not None
    assert client.get(f"/selfchecks/households/{theirs.pk}/").status_code == 404
    page = client.get(f"/selfchecks/{started.pk}/").content.decode()
    assert 'id="results"' not in page  # the county's figures are the county's
    assert client.get(f"/selfchecks/{started.pk}/report.pdf").status_code == 403
    assert client.post(f"/selfchecks/{started.pk}/findings/").status_code == 403
