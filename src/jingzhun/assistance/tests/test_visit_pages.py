"""The visit pages (issue 21 items 4, 5): the field page, the service worker and manifest, the
sync endpoint (multipart, session), the helper home's visits due, logout clearing the browser's
data, and the one-click monitoring case from a household's visits."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from conftest import TOWNSHIPS, VILLAGES, World, signed_in
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

MINE = VILLAGES[TOWNSHIPS[0]][0]
OTHER_REGION = VILLAGES[TOWNSHIPS[1]][0]
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def item(household: Any, **kw: Any) -> dict[str, Any]:
    values = {
        "client_id": str(uuid.uuid4()),
        "household_id": household.pk,
        "visited_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "kind": "home",
        "notes": "走访",
        "changes": [],
        "household_version": household.version,
    }
    values.update(kw)
    return values


def test_the_field_page_lists_only_the_helpers_households(client: Any, world: World) -> None:
    signed_in(client, world.user("helper"))
    page = client.get("/visits/")
    assert page.status_code == 200
    text = page.content.decode()
    assert world.households[MINE].household_code in text
    assert world.households[OTHER_REGION].household_code not in text
    assert 'id="visit-data"' in text and "/visits/manifest.webmanifest" in text
    assert "no-store" in page["Cache-Control"]  # the HTTP cache keeps nothing; the worker does
    signed_in(client, world.user("village"))
    assert client.get("/visits/").status_code == 403


def test_service_worker_and_manifest_are_served_from_the_field_scope(client: Any, db: Any) -> None:
    worker = client.get("/visits/sw.js")
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("application/javascript")
    assert "caches" in worker.content.decode()
    manifest = client.get("/visits/manifest.webmanifest")
    data = json.loads(manifest.content)
    assert data["scope"] == "/visits/" and data["start_url"] == "/visits/"


def test_sync_endpoint_stores_once_and_refuses_bad_photos(client: Any, world: World) -> None:
    from jingzhun.assistance.models import Visit, VisitPhoto

    signed_in(client, world.user("helper"))
    household = world.households[MINE]
    good = item(household)
    bad = item(household)
    body = {
        "visits": json.dumps([good, bad]),
        f"photo-{good['client_id']}-0": SimpleUploadedFile("a.jpg", JPG),
        f"photo-{bad['client_id']}-0": SimpleUploadedFile("b.jpg", b"MZ\x90\x00 not an image"),
    }
    answer = client.post("/visits/sync/", body).json()
    assert [o["status"] for o in answer["outcomes"]] == ["stored", "refused"]
    assert "不是图片" in answer["outcomes"][1]["message"]
    again = client.post("/visits/sync/", {"visits": json.dumps([good])}).json()
    assert [o["status"] for o in again["outcomes"]] == ["duplicate"]
    assert Visit.objects.count() == 1 and VisitPhoto.objects.count() == 1
    assert client.post("/visits/sync/", {"visits": "{broken"}).status_code == 400
    signed_in(client, world.user("village"))
    refused = client.post("/visits/sync/", {"visits": json.dumps([item(household)])})
    assert refused.status_code == 403 and Visit.objects.count() == 1


def test_helper_home_shows_visits_due(client: Any, world: World) -> None:
    signed_in(client, world.user("helper"))
    text = client.get("/").content.decode()
    household = world.households[MINE]
    assert f'id="due-{household.pk}"' in text  # never visited since 2016: overdue
    assert "已逾期" in text
    client.post("/visits/sync/", {"visits": json.dumps([item(household)])})
    text = client.get("/").content.decode()
    assert f'id="due-{household.pk}"' not in text


def test_logout_clears_the_browsers_copy(client: Any, world: World) -> None:
    signed_in(client, world.user("helper"))
    response = client.post("/logout/")
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_a_village_cadre_opens_the_case_from_a_visit_in_one_click(
    client: Any, world: World
) -> None:
    from jingzhun.assistance.models import Visit
    from jingzhun.workflows.models import Case

    household = world.households[MINE]
    signed_in(client, world.user("helper"))
    visit = item(household, changes=[{"kind": "illness", "note": "户主住院"}])
    client.post("/visits/sync/", {"visits": json.dumps([visit])})
    stored = Visit.objects.get()
    signed_in(client, world.user("other_township"))
    assert client.get(f"/households/{household.pk}/visits/").status_code == 404
    assert (
        client.post(f"/visits/{stored.pk}/open-case/", {"monitoring_category": "edge"}).status_code
        == 404
    )
    signed_in(client, world.user("village"))
    page = client.get(f"/households/{household.pk}/visits/").content.decode()
    assert "家庭成员患病" in page and "发起监测对象识别" in page
    response = client.post(f"/visits/{stored.pk}/open-case/", {"monitoring_category": "edge"})
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert case.kind == "monitoring" and "户主住院" in case.summary
