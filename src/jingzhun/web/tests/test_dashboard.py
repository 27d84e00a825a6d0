"""The battle map pages: figures equal the registry's, drill-down, scoping, files, refresh, upload.

Committed data (`transaction=True`): the refresh reads the database through DuckDB.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World
from django.utils import timezone
from openpyxl import load_workbook

from jingzhun.analytics.actions import do_generate_demo_shapes, do_refresh_indicators, run_pending
from jingzhun.analytics.models import RefreshJob, RegionShape
from jingzhun.audit.models import AuditEvent
from jingzhun.registry.selectors import registry_stats

from .conftest import body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mapped(world: World) -> World:
    do_refresh_indicators(None, actor=None)
    do_generate_demo_shapes(COUNTY, actor=None)
    RefreshJob.objects.all().delete()  # the fixture's registrations' requests: computed above
    return world


def test_county_dashboard_shows_registry_figures_and_map(mapped: World, client_for: Any) -> None:
    response = client_for("county").get("/dashboard/")
    assert response.status_code == 200
    page = body(response)
    year = response.context["year"]
    stats = registry_stats(COUNTY, year)
    assert (
        f'data-indicator="registered_households" data-value="{stats.registered_households}"' in page
    )
    assert f'data-indicator="remaining_persons" data-value="{stats.remaining_persons}"' in page
    data = json.loads(
        page.split('id="dashboard-data" type="application/json">')[1].split("</script>")[0]
    )
    assert {f["properties"]["code"] for f in data["geo"]["features"]} == set(TOWNSHIPS)
    assert "vendor/echarts/echarts.min.js" in page
    # every child row drills down; counts link to the scoped household list
    assert f"?region={TOWNSHIPS[0]}&amp;year={year}" in page
    assert f"/households/?township={TOWNSHIPS[0]}&amp;status=registered" in page


def test_drill_down_to_village_and_scope(mapped: World, client_for: Any) -> None:
    township = client_for("township")
    page = township.get("/dashboard/")
    assert page.status_code == 200 and page.context["region_code"] == TOWNSHIPS[0]
    village = VILLAGES[TOWNSHIPS[0]][0]
    response = township.get(f"/dashboard/?region={village}")
    assert response.status_code == 200
    assert response.context["region_code"] == village
    assert 'data-indicator="registered_households" data-value="1"' in body(response)
    # a township user never sees the county or the other township
    assert township.get(f"/dashboard/?region={COUNTY}").status_code == 404
    assert township.get(f"/dashboard/?region={TOWNSHIPS[1]}").status_code == 404
    assert client_for("helper").get("/dashboard/").status_code == 404


def test_whole_page_cached_per_user_with_live_parts_kept(mapped: World, client_for: Any) -> None:
    """The page around the shared fragments is cached per user (ADR 0038): each user gets their
    own header; a message, a refresh job under way and the language switch's return path come
    from the request, never from a cached page; the forms carry the response's own CSRF token."""
    from django.test import Client

    from jingzhun.access.models import User
    from jingzhun.analytics.actions import request_refresh

    User.objects.filter(username="township").update(display_name="乡镇甲")
    village = VILLAGES[TOWNSHIPS[0]][0]
    township, villager = client_for("township"), client_for("village")
    page = f"/dashboard/?region={village}"
    for _ in range(2):  # built, then from the cache
        mine, theirs = body(township.get(page)), body(villager.get(page))
        assert "<strong>乡镇甲</strong>" in mine and '<span class="scope">第1镇</span>' in mine
        assert "<strong>village</strong>" in theirs and "乡镇甲" not in theirs
        assert '<span class="scope">第1镇1村</span>' in theirs
        assert 'id="refresh-job"' not in mine and "指标计算于" in mine
    User.objects.filter(username="township").update(display_name="乡镇丙")
    assert "<strong>乡镇丙</strong>" in body(township.get(page))  # a new name shows at once
    # the language switch returns to this page, whatever its query
    indicator = body(township.get(page + "&indicator=exit_rate&q=x"))
    assert f'name="next" value="/dashboard/?region={village}&amp;indicator=exit_rate"' in indicator
    assert f'name="next" value="/dashboard/?region={village}"' in body(township.get(page))
    # a queued refresh shows on the page although its data (and so its cache key) is the same
    job = request_refresh([COUNTY], actor=mapped.user("county"))
    assert 'id="refresh-job"' in body(villager.get(page))
    posted = township.post("/dashboard/refresh/", {"region": village})
    shown = body(township.get(posted["Location"]))
    assert "已提交指标刷新任务" in shown and 'id="refresh-job"' in shown
    RefreshJob.objects.filter(pk=job.pk).update(status=RefreshJob.DONE)
    after = body(township.get(page))
    assert "已提交指标刷新任务" not in after and 'id="refresh-job"' not in after
    # the token in a cached page is this session's: a form posted with it is accepted
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = township.cookies
    cached = body(strict.get(page))
    token = cached.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert token != "jingzhun-csrf-token-placeholder"
    form = {"language": "zh-hans", "next": page}
    assert strict.post("/i18n/setlang/", {**form, "csrfmiddlewaretoken": token}).status_code == 302
    assert (
        strict.post("/i18n/setlang/", {**form, "csrfmiddlewaretoken": "x" * 64}).status_code == 403
    )


def test_xlsx_and_report_exports(mapped: World, client_for: Any) -> None:
    client = client_for("county")
    year = client.get("/dashboard/").context["year"]
    before = AuditEvent.objects.filter(event="analytics.export").count()
    response = client.post(
        "/dashboard/export/", {"region": COUNTY, "year": year, "kind": "children"}
    )
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[1][0] == "乡镇" and [r[0] for r in rows[2:4]] == ["第1镇", "第2镇"]
    assert (
        rows[-1][0] == "合计" and rows[-1][1] == registry_stats(COUNTY, year).registered_households
    )
    pdf = client.post("/dashboard/export/", {"region": COUNTY, "year": year, "kind": "report"})
    assert pdf.status_code == 200
    from jingzhun.exports.tests.conftest import pdf_text

    text = pdf_text(b"".join(pdf.streaming_content))
    stats = registry_stats(COUNTY, year)
    assert f"截至{year}年底，拜泉县共有建档立卡贫困户{stats.registered_households:,}户" in text
    assert "主要指标" in text and "第1镇" in text
    assert AuditEvent.objects.filter(event="analytics.export").count() == before + 2
    refused = client_for("township").post(
        "/dashboard/export/", {"region": COUNTY, "year": year, "kind": "report"}
    )
    assert refused.status_code == 404


def test_refresh_button_queues_a_job(world: World, client_for: Any) -> None:
    client = client_for("village")
    response = client.post("/dashboard/refresh/", {"region": VILLAGES[TOWNSHIPS[0]][0]})
    assert response.status_code == 302
    job = RefreshJob.objects.get()
    assert job.counties == COUNTY and job.status == RefreshJob.QUEUED
    fragment = client.get(f"/dashboard/jobs/{job.pk}/")
    assert fragment.status_code == 200 and 'hx-trigger="every 2s"' in body(fragment)
    run_pending()
    assert "hx-trigger" not in body(client.get(f"/dashboard/jobs/{job.pk}/"))
    assert client_for("auditor").post("/dashboard/refresh/", {}).status_code == 403


def test_geojson_upload(world: World, client_for: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    square = [[[126.0, 47.0], [126.1, 47.0], [126.1, 47.1], [126.0, 47.1], [126.0, 47.0]]]

    def upload(client: Any, doc: Any) -> Any:
        data = json.dumps(doc).encode()
        return client.post(
            "/dashboard/boundaries/", {"file": SimpleUploadedFile("b.geojson", data)}
        )

    def fc(code: str, coords: Any = square) -> dict[str, Any]:
        feature = {
            "type": "Feature",
            "properties": {"code": code},
            "geometry": {"type": "Polygon", "coordinates": coords},
        }
        return {"type": "FeatureCollection", "features": [feature]}

    township = client_for("township")
    village = VILLAGES[TOWNSHIPS[0]][0]
    assert upload(township, fc(village)).status_code == 200
    assert RegionShape.objects.get(region_id=village).source == RegionShape.UPLOAD
    # refused: outside the scope, unknown code, open ring, not GeoJSON; nothing stored
    assert upload(township, fc(VILLAGES[TOWNSHIPS[1]][0])).status_code == 400
    assert upload(township, fc("230231100299")).status_code == 400
    assert upload(township, fc(village, [square[0][:-1]])).status_code == 400
    assert upload(township, {"type": "Feature"}).status_code == 400
    assert RegionShape.objects.count() == 1
    assert client_for("village").get("/dashboard/boundaries/").status_code == 403
    # demo shapes never overwrite an upload
    do_generate_demo_shapes(COUNTY, actor=None)
    assert RegionShape.objects.get(region_id=village).source == RegionShape.UPLOAD


def test_cached_page_follows_refresh_boundaries_and_language(
    mapped: World, client_for: Any
) -> None:
    """The page's fragments are cached per data version (ADR 0026): a refresh after a registry
    change, a new boundary and the other language each give a page built anew."""
    import datetime

    from jingzhun.registry.actions import do_change_household_status

    client = client_for("county")
    first = client.get("/dashboard/")
    year = first.context["year"]
    before = registry_stats(COUNTY, year)
    assert f'data-indicator="exited_households" data-value="{before.exited_households}"' in body(
        first
    )
    assert body(client.get("/dashboard/")).count("csrfmiddlewaretoken") == body(first).count(
        "csrfmiddlewaretoken"
    )  # the cached fragments carry this request's token, not the placeholder
    assert "jingzhun-csrf-token-placeholder" not in body(first)
    household = mapped.households[VILLAGES[TOWNSHIPS[0]][0]]
    do_change_household_status(
        household.pk,
        "exited_with_policy",
        timezone.localdate(),
        "验收",
        actor=mapped.user("county"),
    )
    do_refresh_indicators([COUNTY], actor=None)
    after = body(client.get(f"/dashboard/?year={year}"))
    assert (
        f'data-indicator="exited_households" data-value="{before.exited_households + 1}"' in after
    )
    # a new boundary of a township changes the map data without a refresh
    square = [[[126.0, 47.0], [126.1, 47.0], [126.1, 47.1], [126.0, 47.1], [126.0, 47.0]]]
    RegionShape.objects.filter(region_id=TOWNSHIPS[0]).update(
        geometry={"type": "Polygon", "coordinates": square},
        updated_at=RegionShape.objects.get(region_id=TOWNSHIPS[0]).updated_at
        + datetime.timedelta(seconds=1),
    )
    assert "[[[126.0, 47.0], [126.1, 47.0]" in body(client.get(f"/dashboard/?year={year}"))
    client.post("/i18n/setlang/", {"language": "en", "next": "/dashboard/"})
    english = body(client.get(f"/dashboard/?year={year}"))
    assert "Registered poor households" in english and "建档立卡贫困户" not in english


@pytest.mark.parametrize(
    ("depth", "reason"), [(100_000, "嵌套层数过深"), (40, "嵌套 44 层，超过上限 32 层")]
)
def test_a_deeply_nested_geojson_is_refused_with_400(
    world: World, client_for: Any, depth: int, reason: str
) -> None:
    """Parsed in a child process (issue 20, items 2 and 9): nesting beyond the JSON parser's
    recursion limit, or beyond IMPORT_LIMITS["geojson_depth"], is a 400 that says why."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jingzhun.imports.tests.hostile import nested_geojson

    response = client_for("township").post(
        "/dashboard/boundaries/",
        {"file": SimpleUploadedFile("b.geojson", nested_geojson(depth))},
    )
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert RegionShape.objects.count() == 0
