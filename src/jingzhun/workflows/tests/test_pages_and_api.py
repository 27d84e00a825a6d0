"""The workflow pages and API routes: inbox per role, the case page, moves with their refusals
(403 self-approval, 409 stale version, 404 out of scope), evidence upload and download, the
posting notice PDF without sensitive fields, rounds."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import pytest
from conftest import COUNTY, World
from django.test import Client
from django.utils import timezone

from jingzhun.audit.models import AuditEvent
from jingzhun.workflows.actions import CaseDetails, do_open_case, do_open_round
from jingzhun.workflows.models import Case, Evidence, Step
from jingzhun.workflows.transitions import FLOWS

from .conftest import PDF, PNG, walk

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    from conftest import signed_in

    return signed_in(Client(), user)  # with the second factor where the role needs one


def _actors(world: World) -> dict[str, Any]:
    return {r: world.user(r) for r in ("village", "township", "county")}


def _to_compared(world: World, applicant: Any, submitter: str = "county") -> Case:
    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors[submitter])
    path = FLOWS["identification"].required_path()
    return walk(case, path[: path.index("approve")], actors)


def test_inbox_per_role(world: World, applicant: Any) -> None:
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=world.user("village"))
    village = client_for(world.user("village")).get("/cases/")
    assert village.status_code == 200 and f"/cases/{case.pk}/" in village.content.decode()
    county = client_for(world.user("county")).get("/cases/?tab=waiting")
    assert f"/cases/{case.pk}/" in county.content.decode()
    assert (
        f"/cases/{case.pk}/" not in client_for(world.user("county")).get("/cases/").content.decode()
    )
    other = client_for(world.user("other_township")).get("/cases/?tab=waiting")
    assert f"/cases/{case.pk}/" not in other.content.decode()
    assert client_for(world.user("other_township")).get(f"/cases/{case.pk}/").status_code == 404
    assert Client().get("/cases/").status_code == 302


def test_case_page_shows_moves_timeline_and_masks(world: World, applicant: Any) -> None:
    case = _to_compared(world, applicant, submitter="village")
    page = client_for(world.user("county")).get(f"/cases/{case.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="move-approve"' in html and 'id="move-reject"' in html
    assert "13900009999" not in html  # the applicant's phone never reaches the page
    assert html.count("入户核查") >= 1 and "村级第一次公示" in html
    village = client_for(world.user("village")).get(f"/cases/{case.pk}/").content.decode()
    assert 'id="move-approve"' not in village


def test_self_approval_is_403_on_the_page_and_in_the_api(world: World, applicant: Any) -> None:
    case = _to_compared(world, applicant, submitter="county")
    county = client_for(world.user("county"))
    steps = Step.objects.count()
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    page = county.post(f"/cases/{case.pk}/move/", {"move": "approve", "version": case.version})
    assert page.status_code == 403 and "提交人不能审核" in page.content.decode()
    api = county.post(
        f"/api/cases/{case.pk}/moves",
        data=json.dumps({"move": "approve", "version": case.version}),
        content_type="application/json",
    )
    assert api.status_code == 403 and "提交人" in api.json()["detail"]
    assert Case.objects.get(pk=case.pk).state == "compared"
    assert Step.objects.count() == steps
    # the two refusals are audited as refusals (AUDIT-1); nothing else was recorded
    outcomes = list(AuditEvent.objects.filter(id__gt=last).values_list("outcome", flat=True))
    assert outcomes and all(o != "success" for o in outcomes)


def test_stale_version_is_409_in_the_api(world: World, applicant: Any) -> None:
    village = client_for(world.user("village"))
    created = village.post(
        "/api/cases",
        data=json.dumps({"household_id": applicant.pk, "kind": "identification"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    uploaded = village.post(
        f"/api/cases/{body['id']}/evidence",
        {"kind": "visit_record", "file": io.BytesIO(PDF)},
    )
    assert uploaded.status_code == 201, uploaded.content
    first = village.post(
        f"/api/cases/{body['id']}/moves",
        data=json.dumps({"move": "check", "version": body["version"]}),
        content_type="application/json",
    )
    assert first.status_code == 200 and first.json()["state"] == "checked"
    assert first.json()["steps"][-1]["evidence"] == [uploaded.json()["id"]]
    again = village.post(
        f"/api/cases/{body['id']}/checklist",
        data=json.dumps({"item": "recheck_new", "note": "核对", "version": body["version"]}),
        content_type="application/json",
    )
    assert again.status_code == 409 and "刷新" in again.json()["detail"]
    assert Case.objects.get(pk=body["id"]).checklist == {}


def test_api_detail_lists_allowed_moves_and_out_of_scope_is_404(
    world: World, applicant: Any
) -> None:
    case = _to_compared(world, applicant, submitter="village")
    detail = client_for(world.user("county")).get(f"/api/cases/{case.pk}").json()
    moves = {m["move"]: m for m in detail["moves"]}
    assert set(moves) == {"approve", "county_return", "reject"}
    assert not moves["approve"]["allowed_now"] and "核查清单" in moves["approve"]["refused_because"]
    assert [s["move"] for s in detail["steps"]][:3] == ["open", "check", "appraise"]
    assert client_for(world.user("other_township")).get(f"/api/cases/{case.pk}").status_code == 404
    inbox = client_for(world.user("county")).get("/api/cases?tab=todo").json()
    assert [c["id"] for c in inbox["items"]] == [case.pk]


def test_evidence_upload_sniffs_and_download_is_scoped(world: World, applicant: Any) -> None:
    village = client_for(world.user("village"))
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=world.user("village"))
    fake = io.BytesIO(b"<html>not a picture</html>")
    fake.name = "photo.png"
    refused = village.post(f"/cases/{case.pk}/evidence/", {"kind": "photo", "file": fake})
    assert refused.status_code == 400 and not Evidence.objects.exists()
    png = io.BytesIO(PNG)
    png.name = "site.png"
    ok = village.post(f"/cases/{case.pk}/evidence/", {"kind": "photo", "file": png})
    assert ok.status_code == 302
    item = Evidence.objects.get()
    assert item.content_type == "image/png" and item.size == len(PNG)
    got = village.get(f"/evidence/{item.pk}/")
    assert got.status_code == 200 and b"".join(got.streaming_content) == PNG
    assert AuditEvent.objects.filter(event="workflows.evidence.download").count() == 1
    assert client_for(world.user("other_township")).get(f"/evidence/{item.pk}/").status_code == 404
    assert (
        client_for(world.user("auditor"))
        .post(f"/cases/{case.pk}/evidence/", {"kind": "photo", "file": io.BytesIO(PNG)})
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    "form", [{"kind": "", "file": PDF}, {"kind": "visit_record", "file": b""}], ids=["kind", "file"]
)
def test_an_empty_evidence_kind_or_file_is_refused_as_the_api_documents(
    world: World, applicant: Any, form: dict[str, Any]
) -> None:
    """Found by the API fuzz: an empty form value counts as missing (422), so the document must
    not call it valid; it declares both non-empty."""
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=world.user("village"))
    upload = io.BytesIO(form["file"])
    upload.name = "record.pdf"

    answer = client_for(world.user("village")).post(
        f"/api/cases/{case.pk}/evidence", {"kind": form["kind"], "file": upload}
    )

    assert answer.status_code == 422 and not Evidence.objects.exists()
    operation = Client().get("/api/openapi.json").json()["paths"]["/api/cases/{case_id}/evidence"]
    fields = operation["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert (
        fields["properties"]["kind"]["minLength"] == fields["properties"]["file"]["minLength"] == 1
    )


def test_posting_notice_pdf_has_no_sensitive_fields(world: World, applicant: Any) -> None:
    from jingzhun.exports.tests.conftest import pdf_text

    actors = _actors(world)
    case = do_open_case(applicant.pk, "identification", CaseDetails(), actor=actors["village"])
    case = walk(case, ["check", "appraise", "post_first"], actors)
    posting = case.postings.get()
    response = client_for(actors["village"]).post("/postings/?show=all", {"posting": [posting.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(response.streaming_content))
    assert "孙七" in text and "A100201" in text and "贫困户识别公示" in text
    member = applicant.members.get()
    for secret in (member.id_number, member.id_number[-8:], "13900009999"):
        assert secret not in text
    assert AuditEvent.objects.filter(event="workflows.posting.notice").count() == 1


def test_round_overview_counts_cases(world: World, applicant: Any) -> None:
    county = world.user("county")
    today = timezone.localdate()
    round_ = do_open_round(
        COUNTY, "2026年第一批", today, today + datetime.timedelta(days=30), actor=county
    )
    do_open_case(
        applicant.pk, "identification", CaseDetails(round_id=round_.pk), actor=world.user("village")
    )
    page = client_for(county).get(f"/rounds/{round_.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-state="identification-applied">1<' in html
    api = client_for(world.user("township")).get(f"/api/rounds/{round_.pk}").json()
    assert api["total"] == 1 and api["counts"]["identification"]["applied"] == 1
    closing = client_for(county).post(f"/rounds/{round_.pk}/close/", {"version": round_.version})
    assert closing.status_code == 302
    round_.refresh_from_db()
    assert round_.is_open  # one case still open: refused
    assert (
        client_for(world.user("village"))
        .post(
            "/rounds/",
            {
                "county": COUNTY,
                "name": "x",
                "period_start": "2026-01-01",
                "period_end": "2026-02-01",
            },
        )
        .status_code
        == 403
    )
