"""Work-team pages (issue 21 items 1, 6, 7, 8): the county overview and a village's team for
every role, posting and rotating through the forms, check-ins and their refusals."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.assistance.models import TeamCheckIn, TeamMember, WorkTeam
from jingzhun.assistance.tests.conftest import V1, V2, V3, team  # noqa: F401 - fixture

from .conftest import body


def secretary(team: Any) -> TeamMember:  # noqa: F811
    return TeamMember.objects.get(team=team, role="secretary", ended_on__isnull=True)


@pytest.mark.parametrize("role", ["county", "township", "village", "auditor", "team1"])
def test_overview_and_village_page_render_for_each_role(
    team: Any,  # noqa: F811
    client_for: Any,
    role: str,
) -> None:
    client = client_for(role)
    html = body(client.get("/teams/"))
    assert "驻村工作队" in html and "第1镇1村" in html
    assert 'href="/teams/village/230231100201/"' in html  # figures link to the villages
    html = body(client.get(f"/teams/village/{V1}/"))
    assert "县委组织部、县农业农村局" in html
    assert "第一书记" in html and "刘队长" in html
    writes = role in {"county", "township"}
    assert ('id="post-member"' in html) is writes
    assert ("轮换交接" in html) is writes
    if role == "team1":
        assert "我的驻村" in body(client.get("/teams/"))


def test_out_of_scope_villages_are_not_found(team: Any, client_for: Any) -> None:  # noqa: F811
    assert client_for("team1").get(f"/teams/village/{V2}/").status_code == 404
    assert client_for("other_township").get(f"/teams/village/{V1}/").status_code == 404
    assert client_for("helper").get("/teams/").status_code == 404
    html = body(client_for("other_township").get("/teams/"))
    assert "第1镇1村" not in html and "第2镇1村" in html


def test_overview_lists_villages_without_a_team(team: Any, client_for: Any) -> None:  # noqa: F811
    html = body(client_for("county").get("/teams/?month=2024-01"))
    assert 'id="n-without-team">3<' in html
    assert 'id="n-without-secretary">0<' in html
    assert f'href="/teams/village/{V3}/"' in html


def test_create_a_team_through_the_form_and_bad_dates(world: Any, client_for: Any) -> None:
    client = client_for("township")
    form = {"form": "team", "sending_units": "县财政局", "term_start": "2024-01-01"}
    response = client.post(f"/teams/village/{V2}/", {**form, "term_end": "2023-06-01"})
    assert response.status_code == 400
    assert "任期结束日期（2023-06-01）必须晚于任期开始日期（2024-01-01）" in body(response)
    assert WorkTeam.objects.count() == 0
    response = client.post(f"/teams/village/{V2}/", {**form, "term_end": "2026-01-01"})
    assert response.status_code == 302
    assert WorkTeam.objects.get().village_id == V2
    # a village of another township: not found, nothing written
    response = client.post(f"/teams/village/{V3}/", {**form, "term_end": "2026-01-01"})
    assert response.status_code == 404
    assert WorkTeam.objects.count() == 1


def test_read_only_roles_cannot_post(team: Any, client_for: Any) -> None:  # noqa: F811
    data = {"form": "team", "sending_units": "x", "term_start": "2024-01-01"}
    for role in ("village", "auditor", "team1"):
        assert client_for(role).post(f"/teams/village/{V1}/", data).status_code == 403


def test_check_in_page_flow(team: Any, client_for: Any) -> None:  # noqa: F811
    client = client_for("team1")
    member = secretary(team)
    today = timezone.localdate()
    response = client.post(f"/teams/members/{member.pk}/check-in/", {"day": today.isoformat()})
    assert response.status_code == 302
    assert TeamCheckIn.objects.filter(member=member, day=today).count() == 1
    tomorrow = today + datetime.timedelta(days=1)
    response = client.post(f"/teams/members/{member.pk}/check-in/", {"day": tomorrow.isoformat()})
    assert response.status_code == 400
    assert "晚于今天，不能预先打卡" in body(response)
    assert TeamCheckIn.objects.count() == 1
    # someone else's row: refused
    leader = TeamMember.objects.get(team=team, role="leader")
    response = client.post(f"/teams/members/{leader.pk}/check-in/", {"day": today.isoformat()})
    assert response.status_code == 403
    assert TeamCheckIn.objects.count() == 1


def test_rotate_page(team: Any, client_for: Any) -> None:  # noqa: F811
    member = secretary(team)
    client = client_for("township")
    assert "交接说明" in body(client.get(f"/teams/members/{member.pk}/rotate/"))
    response = client.post(
        f"/teams/members/{member.pk}/rotate/",
        {
            "version": member.version,
            "end_date": "2024-07-01",
            "handover_note": "移交台账",
            "successor_name": "周书记",
            "successor_unit": "县财政局",
            "successor_term_end": "2026-07-01",
        },
    )
    assert response.status_code == 302
    html = body(client.get(f"/teams/village/{V1}/"))
    assert "周书记" in html and "移交台账" in html and 'id="history"' in html


def test_a_long_overview_is_counted_by_township(
    team: Any,  # noqa: F811
    client_for: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given more villages than the overview lists one by one (the limit lowered to 2)
    from jingzhun.web import team_views

    monkeypatch.setattr(team_views, "VILLAGE_LIST_LIMIT", 2)
    client = client_for("county")
    # When the county's overview is asked for
    html = body(client.get("/teams/?month=2024-01"))
    # Then each township is a line with its villages counted, linking to its villages
    assert 'id="township-rows"' in html and 'id="team-rows"' not in html
    assert '<a href="?region=230231100000&amp;month=2024-01">第1镇</a>' in html
    assert f'href="/teams/village/{V1}/"' not in html
    assert 'id="n-without-team">3<' in html  # the county's figures stay
    # and a township's page lists its villages
    township = body(client.get("/teams/?month=2024-01&region=230231100000"))
    assert f'href="/teams/village/{V1}/"' in township and 'id="township-rows"' not in township
    # a region outside the scope, or not a code, is not found
    assert client_for("other_township").get("/teams/?region=230231100000").status_code == 404
    assert client.get("/teams/?region=abc").status_code == 404
