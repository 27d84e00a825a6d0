"""Export buttons and pages: downloads are audited, unmasked needs the permission (403 otherwise)."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import load_workbook
from pypdf import PdfReader

from jingzhun.access.actions import do_set_unmasked_export
from jingzhun.audit.models import AuditEvent
from jingzhun.exports.models import UnmaskedExportRequest
from jingzhun.registry.models import Member

from .conftest import FULL_ID, body


def _download(response: Any) -> bytes:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content)


def test_the_list_offers_exports_and_the_unmasked_box_only_with_the_permission(
    world: Any, client_for: Any
) -> None:
    html = body(client_for("county").get("/households/"))
    assert 'formaction="/exports/roster/"' in html and 'formaction="/exports/facts/"' in html
    assert 'name="unmasked"' not in html
    do_set_unmasked_export(world.user("county"), True, actor=None)
    assert 'name="unmasked"' in body(client_for("county").get("/households/"))


def test_roster_download_follows_the_filters_and_the_scope(world: Any, client_for: Any) -> None:
    client = client_for("township")
    data = _download(client.post("/exports/roster/", {"status": "remaining", "village": ""}))
    ws = load_workbook(io.BytesIO(data)).active
    assert {r[1] for r in ws.iter_rows(min_row=3, values_only=True)} == {"H100201", "H100202"}
    assert FULL_ID.findall(data.decode("latin-1")) == []
    event = AuditEvent.objects.get(event="exports.roster.export")
    assert event.diff["filter"] == {"statuses": ["not_exited", "returned"]}
    assert event.actor == world.user("township") and event.diff["masked"] is True


def test_unmasked_roster_without_the_permission_is_403_and_audited(
    world: Any, client_for: Any
) -> None:
    response = client_for("county").post("/exports/roster/", {"unmasked": "1"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(event="exports.roster.refuse", outcome="refused").count() == 1
    assert not AuditEvent.objects.filter(event="exports.roster.export").exists()


def test_unmasked_roster_with_the_permission_but_no_approval_is_403(
    world: Any, client_for: Any
) -> None:
    # PII-4: the permission alone no longer suffices; a second person must approve
    do_set_unmasked_export(world.user("county"), True, actor=None)
    response = client_for("county").post("/exports/roster/", {"unmasked": "1"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(event="exports.roster.refuse", outcome="refused").count() == 1


def test_a_request_approved_by_a_second_person_then_the_unmasked_roster(
    world: Any, client_for: Any
) -> None:
    county, township = world.user("county"), world.user("township")
    for user in (county, township):
        do_set_unmasked_export(user, True, actor=None)
    asking = client_for("township")
    page = body(asking.get("/exports/unmasked/"))
    assert 'name="reason"' in page and "待我审批" not in page
    response = asking.post(
        "/exports/unmasked/",
        {"kind": "roster", "region": "230231100000", "reason": "核对补贴发放账号"},
    )
    assert response.status_code == 302
    request = UnmaskedExportRequest.objects.get()
    # the requester cannot approve their own request
    assert asking.post(f"/exports/unmasked/{request.pk}/approve/").status_code == 403
    approving = client_for("county")
    assert f'id="request-{request.pk}"' in body(approving.get("/exports/unmasked/"))
    response = approving.post(f"/exports/unmasked/{request.pk}/approve/", {"note": "同意"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == "approved" and request.approver == county
    html = body(asking.get("/households/"))
    assert f'<option value="{request.pk}">' in html
    data = _download(
        asking.post("/exports/roster/", {"unmasked": "1", "approval": str(request.pk)})
    )
    ws = load_workbook(io.BytesIO(data)).active
    values = {v for row in ws.iter_rows(values_only=True) for v in row}
    township_ids = Member.objects.filter(household__township_code="230231100000")
    assert set([m.id_number for m in township_ids]) <= values
    # used once
    again = asking.post("/exports/roster/", {"unmasked": "1", "approval": str(request.pk)})
    assert again.status_code == 403


def test_the_request_page_needs_the_permission(world: Any, client_for: Any) -> None:
    assert client_for("village").get("/exports/unmasked/").status_code == 403
    do_set_unmasked_export(world.user("village"), True, actor=None)
    client = client_for("village")
    response = client.post("/exports/unmasked/", {"kind": "roster", "region": "", "reason": "x"})
    assert response.status_code == 400
    assert not UnmaskedExportRequest.objects.exists()


def test_facts_download(world: Any, client_for: Any) -> None:
    data = _download(client_for("helper").post("/exports/facts/", {"year": "2019"}))
    facts = json.loads(data)
    assert [f["household_code"] for f in facts] == ["H100201"]
    assert client_for("helper").post("/exports/facts/", {"year": "1800"}).status_code == 400


def test_card_buttons_and_downloads(world: Any, client_for: Any) -> None:
    household = world.households["230231100201"]
    client = client_for("village")
    html = body(client.get(f"/households/{household.pk}/"))
    assert f'action="/households/{household.pk}/export/"' in html
    pdf = _download(client.post(f"/households/{household.pk}/export/", {"format": "pdf"}))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "贫困户明白卡" in text and FULL_ID.findall(text.replace("\n", "")) == []
    xlsx = _download(client.post(f"/households/{household.pk}/export/", {"format": "xlsx"}))
    assert load_workbook(io.BytesIO(xlsx)).active["A1"].value == "贫困户明白卡"
    other = world.households["230231101201"]
    assert client.post(f"/households/{other.pk}/export/", {"format": "pdf"}).status_code == 404
    assert client.post(f"/households/{household.pk}/export/", {"format": "doc"}).status_code == 400
    assert client.get(f"/households/{household.pk}/export/").status_code == 405


def test_notice_page_lists_a_village_and_prints_the_chosen_households(
    world: Any, client_for: Any
) -> None:
    household = world.households["230231100201"]
    client = client_for("township")
    page = body(client.get("/exports/notice/", {"village": "230231100201"}))
    assert f'value="{household.pk}"' in page and "张三" in page
    # A village of another township lists nothing
    foreign = body(client.get("/exports/notice/", {"village": "230231101201"}))
    assert "王五" not in foreign
    form = {"village": "230231100201", "kind": "exit", "start": "2020-03-02", "days": "7"}
    pdf = _download(client.post("/exports/notice/", {**form, "household": [household.pk]}))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "贫困户退出公示" in text and "张三" in text
    assert client.post("/exports/notice/", form).status_code == 400  # nobody chosen
    other = world.households["230231101201"]
    refused = client.post("/exports/notice/", {**form, "household": [other.pk]})
    assert refused.status_code == 404
    assert AuditEvent.objects.filter(event="exports.notice.export").count() == 1


def test_an_id_search_offers_no_list_export(world: Any, client_for: Any) -> None:
    head = Member.objects.get(name="李四")
    html = body(client_for("county").post("/households/", {"q": head.id_number}))
    assert "formaction" not in html and head.id_number not in html


def test_a_large_roster_is_a_queued_job_downloaded_by_its_requester_only(
    world: Any, client_for: Any, tmp_path: Any
) -> None:
    """Issue 20: a roster of more households than EXPORT_INLINE_MAX_HOUSEHOLDS (a whole county) is
    written by the worker, then downloaded from the job's page; only by the account that asked."""
    from django.test import override_settings

    from jingzhun.exports.jobs import file_path, run_pending
    from jingzhun.exports.models import ExportJob

    with override_settings(VAR_DIR=tmp_path, EXPORT_INLINE_MAX_HOUSEHOLDS=1):
        client = client_for("township")
        response = client.post("/exports/roster/", {"status": "remaining", "village": ""})
        job = ExportJob.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/exports/jobs/{job.pk}/"
        assert (job.status, job.user, job.unmasked) == ("queued", world.user("township"), False)
        assert "排队中" in body(client.get(response["Location"]))
        assert client.get(f"/exports/jobs/{job.pk}/download/").status_code == 404
        assert not AuditEvent.objects.filter(event="exports.roster.export").exists()
        assert AuditEvent.objects.filter(event="exports.job.queue", object_id=str(job.pk)).exists()

        [done] = run_pending()

        assert (done.status, done.households, done.error) == ("done", 2, "")
        assert file_path(done).stat().st_mode & 0o077 == 0
        page = body(client.get(response["Location"]))
        assert f'href="/exports/jobs/{job.pk}/download/"' in page
        data = _download(client.get(f"/exports/jobs/{job.pk}/download/"))
        ws = load_workbook(io.BytesIO(data)).active
        assert {r[1] for r in ws.iter_rows(min_row=3, values_only=True)} == {"H100201", "H100202"}
        assert FULL_ID.findall(data.decode("latin-1")) == []
        event = AuditEvent.objects.get(event="exports.roster.export")
        assert event.actor == world.user("township") and event.diff["households"] == 2
        other = client_for("county")
        assert other.get(f"/exports/jobs/{job.pk}/").status_code == 404
        assert other.get(f"/exports/jobs/{job.pk}/download/").status_code == 404


def test_a_queued_unmasked_roster_without_the_permission_is_refused_and_nothing_queued(
    world: Any, client_for: Any
) -> None:
    from django.test import override_settings

    from jingzhun.exports.models import ExportJob

    with override_settings(EXPORT_INLINE_MAX_HOUSEHOLDS=1):
        response = client_for("county").post("/exports/roster/", {"unmasked": "1"})
    assert response.status_code == 403
    assert not ExportJob.objects.exists()
    assert AuditEvent.objects.filter(event="exports.roster.refuse", outcome="refused").count() == 1


def test_a_queued_unmasked_roster_needs_an_approval_which_the_worker_uses_once(
    world: Any, client_for: Any, tmp_path: Any
) -> None:
    """A roster too large for one request, unmasked: refused without an approval (nothing queued);
    with one, the job carries it and the worker's export uses it (ADR 0045, ADR 0049)."""
    from django.test import override_settings

    from jingzhun.exports.actions import do_approve_unmasked_export, do_request_unmasked_export
    from jingzhun.exports.jobs import file_path, run_pending
    from jingzhun.exports.models import ExportJob

    county, township = world.user("county"), world.user("township")
    for user in (county, township):
        do_set_unmasked_export(user, True, actor=None)
        user.refresh_from_db()
    asking = client_for("township")
    with override_settings(VAR_DIR=tmp_path, EXPORT_INLINE_MAX_HOUSEHOLDS=1):
        assert asking.post("/exports/roster/", {"unmasked": "1"}).status_code == 403
        assert not ExportJob.objects.exists()
        request = do_request_unmasked_export(
            "roster", "核对补贴发放账号", region_code="230231100000", actor=township
        )
        do_approve_unmasked_export(request.pk, actor=county)
        response = asking.post("/exports/roster/", {"unmasked": "1", "approval": str(request.pk)})
        job = ExportJob.objects.get()
        assert response.status_code == 302 and (job.unmasked, job.approval) == (True, request.pk)
        [done] = run_pending()
        assert done.status == "done", done.error
        request.refresh_from_db()
        assert request.state == "used"
        ws = load_workbook(io.BytesIO(file_path(done).read_bytes())).active
        values = {v for row in ws.iter_rows(values_only=True) for v in row}
        township_ids = Member.objects.filter(household__township_code="230231100000")
        assert set([m.id_number for m in township_ids]) <= values
        # the approval was used by the worker: a second queued export with it is refused
        again = asking.post("/exports/roster/", {"unmasked": "1", "approval": str(request.pk)})
        assert again.status_code == 403 and ExportJob.objects.count() == 1
