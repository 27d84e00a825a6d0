"""The feeds pages: a liaison uploads a roster, the worker loads it, the batch page lists the
rows; the alerts page is scoped and a red-line flag is resolved there."""

from __future__ import annotations

from conftest import COUNTY, World, signed_in
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jingzhun.feeds import actions
from jingzhun.feeds.models import Alert, FeedBatch

from .conftest import csv_bytes, head_id, medical_roster

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_a_liaison_uploads_and_sees_the_rows_of_their_feed_only(feeds_world: World) -> None:
    medic = signed_in(Client(), feeds_world.user("medic"))
    page = medic.get("/feeds/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "医疗费用结算" in text and "机动车登记" not in text  # only their feeds
    upload = SimpleUploadedFile("医保.csv", medical_roster(), content_type="text/csv")
    response = medic.post("/feeds/medical_spending/upload/", {"file": upload})
    batch = FeedBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/feeds/batches/{batch.pk}/"
    assert "后台处理" in medic.get(f"/feeds/batches/{batch.pk}/").content.decode()
    actions.run_pending()
    page = medic.get(f"/feeds/batches/{batch.pk}/").content.decode()
    assert 'id="n-matched">4<' in page and 'id="n-invalid">2<' in page
    assert "证件号码为空" in page and "（15 位已转换）" in page
    assert head_id(1) not in page  # masked
    # another liaison's feed: neither the upload nor the batch
    police = signed_in(Client(), feeds_world.user("police"))
    assert police.get(f"/feeds/batches/{batch.pk}/").status_code == 404
    refused = police.post(
        "/feeds/medical_spending/upload/",
        {"file": SimpleUploadedFile("a.csv", b"x", content_type="text/csv")},
    )
    assert refused.status_code == 302 and FeedBatch.objects.count() == 1


def test_alerts_page_is_scoped_and_resolves_a_red_line(feeds_world: World) -> None:
    w = feeds_world
    actions.do_submit_roster(
        "vehicles",
        "v.csv",
        csv_bytes([["身份证号", "姓名"], [head_id(1), "张三"], [head_id(4), "赵六"]]),
        actor=w.user("police"),
    )
    actions.run_pending()
    actions.do_screen_county(COUNTY, actor=w.user("county"))
    township = signed_in(Client(), w.user("township"))
    page = township.get("/alerts/").content.decode()
    assert "H100201" in page and "H101202" not in page
    assert "剩 15 天" in page
    mine = Alert.objects.get(household__household_code="H100201")
    other = Alert.objects.get(household__household_code="H101202")
    assert township.post(f"/alerts/{other.pk}/resolve/", {}).status_code == 404
    response = township.post(
        f"/alerts/{mine.pk}/resolve/",
        {
            "version": mine.version,
            "outcome": "explained",
            "reason": "车辆为亲属代登记，附说明",
            "evidence": SimpleUploadedFile("说明.png", PNG, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "explained" and mine.evidence_sha256
    assert Alert.objects.get(pk=other.pk).status == "open"


def test_a_machine_push_with_the_same_batch_id_stores_once(feeds_world: World) -> None:
    from jingzhun.access.actions import do_issue_api_token

    medic = feeds_world.user("medic")
    token = do_issue_api_token(medic, "医保推送", actor=medic)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    body = {
        "batch_id": "YB-2026-11-0001",
        "rows": [
            {"id_number": head_id(1), "name": "张三", "out_of_pocket": 25000},
            {"id_number": None, "name": "无号", "out_of_pocket": "100"},
        ],
    }
    first = client.post(
        "/api/feeds/medical_spending/batches", body, content_type="application/json"
    )
    assert first.status_code == 201, first.content
    again = client.post(
        "/api/feeds/medical_spending/batches", body, content_type="application/json"
    )
    assert again.status_code == 200 and again.json()["batch"] == first.json()["batch"]
    assert again.json()["created"] is False
    (batch,) = actions.run_pending()
    assert (batch.rows_total, batch.matched, batch.invalid) == (2, 1, 1)
    assert FeedBatch.objects.count() == 1
    other = client.post("/api/feeds/vehicles/batches", body, content_type="application/json")
    assert other.status_code == 403
    missing = client.post(
        "/api/feeds/medical_spending/batches",
        {"batch_id": "x", "rows": [{"name": "张三"}]},
        content_type="application/json",
    )
    assert missing.status_code == 400 and "id_number" in missing.json()["detail"]
