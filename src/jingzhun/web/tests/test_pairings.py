"""Pairing pages and the helper's home page (issue 21 items 2, 7, 8)."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from jingzhun.access.models import HelperPairing
from jingzhun.assistance.tests.conftest import V1, V3, extra, paired  # noqa: F401
from jingzhun.assistance.tests.conftest import snapshot as full_snapshot

from .conftest import body


def snapshot() -> dict[str, Any]:
    """The rows the pairing pages write (refusals add audit events: denied attempts are logged)."""
    rows = full_snapshot()
    rows.pop("events")
    return rows


@pytest.fixture
def world_paired(paired: Any) -> Any:  # noqa: F811 - the fixture imported above
    return paired


def test_the_helper_home_lists_their_households_instead_of_county_figures(
    world_paired: Any, client_for: Any
) -> None:
    html = body(client_for("helper").get("/"))
    assert "我的帮扶户" in html
    own = world_paired.households[V1]
    assert f'id="home-household-{own.pk}"' in html and own.household_code in html
    assert "第1镇1村" in html and "未脱贫" in html
    assert "上限 6 户" in html  # an other cadre in Baiquan
    # only their one household: nothing of the others, no county table
    assert world_paired.households[V3].household_code not in html
    assert "P01" not in html and "贫困发生率" not in html


def test_a_helper_sees_only_their_households_on_the_pairing_pages(
    world_paired: Any, client_for: Any
) -> None:
    from jingzhun.assistance.actions import do_pair_helper

    do_pair_helper(
        extra("P01").pk,
        world_paired.user("helper2").pk,
        datetime.date(2024, 3, 1),
        actor=world_paired.user("village"),
    )
    html = body(client_for("helper").get("/pairings/"))
    assert world_paired.households[V1].household_code in html
    assert "P01" not in html  # helper2's household
    unpaired = body(client_for("helper").get("/pairings/unpaired/?group=registered"))
    assert "每户都有帮扶责任人" in unpaired and "P02" not in unpaired
    other = HelperPairing.objects.get(household=extra("P01"))
    assert client_for("helper").get(f"/pairings/{other.pk}/end/").status_code == 404


def test_pairing_through_the_page_and_the_refusals(world_paired: Any, client_for: Any) -> None:
    client = client_for("village")
    helper = world_paired.user("helper")
    ok = client.post(
        "/pairings/", {"household_code": "P01", "helper": helper.pk, "start_date": "2024-03-01"}
    )
    assert ok.status_code == 302
    assert HelperPairing.objects.filter(household=extra("P01"), helper=helper).exists()
    before = snapshot()
    out_of_scope = world_paired.households[V3].household_code
    refused = client.post(
        "/pairings/",
        {"household_code": out_of_scope, "helper": helper.pk, "start_date": "2024-03-01"},
    )
    assert refused.status_code == 404
    assert f"未找到户编号为“{out_of_scope}”的户，或您无权访问。" in body(refused)
    assert snapshot() == before
    by_helper = client_for("helper").post(
        "/pairings/", {"household_code": "P02", "helper": helper.pk, "start_date": "2024-03-01"}
    )
    assert by_helper.status_code in (403, 404)
    assert snapshot() == before


def test_the_unpaired_lists_and_the_helper_loads(world_paired: Any, client_for: Any) -> None:
    from jingzhun.registry.actions import do_update_household

    monitored = world_paired.households[V1]  # paired already: never listed
    lone = extra("P02")
    do_update_household(  # as a completed monitoring case writes it
        lone.pk,
        lone.version,
        {"monitoring_category": "edge"},
        actor=world_paired.user("county"),
        by_workflow=True,
    )
    client = client_for("township")
    registered = body(client.get("/pairings/unpaired/?group=registered"))
    assert "P01" in registered and "P08" in registered
    assert monitored.household_code not in registered
    assert world_paired.households[V3].household_code not in registered  # other township
    only_monitored = body(client.get("/pairings/unpaired/?group=monitored"))
    assert "P02" in only_monitored and "P01" not in only_monitored
    helpers = body(client.get("/pairings/helpers/"))
    row = helpers[helpers.index(f'id="helper-{world_paired.user("helper").pk}"') :]
    assert "县农业农村局" in row[:600] and "其他干部" in row[:600]


def test_ending_through_the_page_needs_a_successor_or_a_reason(
    world_paired: Any, client_for: Any
) -> None:
    pairing = HelperPairing.objects.get(helper=world_paired.user("helper"))
    client = client_for("village")
    before = snapshot()
    refused = client.post(
        f"/pairings/{pairing.pk}/end/", {"version": 1, "end_date": "2025-01-01", "reason": ""}
    )
    assert refused.status_code == 400
    assert "须指定接续的帮扶责任人，或填写结束原因" in body(refused)
    assert snapshot() == before
    done = client.post(
        f"/pairings/{pairing.pk}/end/",
        {"version": 1, "end_date": "2025-01-01", "successor": world_paired.user("helper2").pk},
    )
    assert done.status_code == 302
    assert HelperPairing.objects.get(
        helper=world_paired.user("helper2"), household=pairing.household
    ).start_date == datetime.date(2025, 1, 1)


def test_import_page_reports_rows_and_the_template_downloads(
    world_paired: Any, client_for: Any
) -> None:
    client = client_for("county")
    template = client.get("/pairings/import/template/")
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.content)).sheetnames == ["结对表", "说明"]
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["户编号", "帮扶责任人账号", "开始日期"])
    ws.append(["P01", "helper2", "2024-03-01"])
    ws.append(["P02", "nobody", "2024-03-01"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    data.name = "pairs.xlsx"
    before = snapshot()
    refused = client.post("/pairings/import/", {"file": data})
    html = body(refused)
    assert refused.status_code == 400 and "1 处问题，未写入任何结对" in html
    assert "账号 nobody 不存在或角色不是帮扶责任人" in html
    assert snapshot() == before


def test_profile_page_saves_the_unit_and_rank(world_paired: Any, client_for: Any) -> None:
    helper3 = world_paired.user("helper3")
    client = client_for("county")
    assert client.get(f"/pairings/helpers/{helper3.pk}/").status_code == 200
    saved = client.post(
        f"/pairings/helpers/{helper3.pk}/",
        {"version": 0, "unit": "县水利局", "kind": "other_cadre", "title": "科员"},
    )
    assert saved.status_code == 302
    assert helper3.helper_profile.unit == "县水利局"
    assert (
        client_for("helper")
        .post(f"/pairings/helpers/{helper3.pk}/", {"unit": "x", "kind": "other_cadre"})
        .status_code
        == 403
    )
