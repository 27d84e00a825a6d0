"""The import pages: upload, dry run, confirm, error report, saved mapping; scoped and masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from jingzhun.imports.models import ImportBatch
from jingzhun.imports.tests.conftest import (
    FLAT_HEADER,
    OTHER_TOWNSHIP_VILLAGE,
    VILLAGE,
    household_rows,
    xlsx,
)
from jingzhun.registry.models import Household, Member

from .conftest import FULL_ID, body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path) -> Any:
    with override_settings(VAR_DIR=tmp_path):
        yield tmp_path


def _upload(client: Any, rows: list[list[Any]], name: str = "f.xlsx") -> Any:
    data = xlsx({"花名册": [FLAT_HEADER, *rows]})
    return client.post("/imports/", {"file": SimpleUploadedFile(name, data, content_type=XLSX)})


def test_upload_dry_run_confirm_and_the_dry_run_masks_ids(world: Any, client_for: Any) -> None:
    client = client_for("township")
    assert "数据导入" in body(client.get("/"))
    rows = household_rows("W1", VILLAGE, 101, 3)
    response = _upload(client, rows)
    assert response.status_code == 302
    batch = ImportBatch.objects.get(status="pending")
    page = client.get(response["Location"])
    html = body(page)
    assert page.status_code == 200 and "确认导入" in html and "W1" in html
    assert FULL_ID.findall(html) == []
    assert not Household.objects.filter(household_code="W1").exists()
    confirmed = client.post(f"/imports/{batch.pk}/commit/")
    assert confirmed.status_code == 302
    assert Member.objects.filter(household__household_code="W1").count() == 3
    batch.refresh_from_db()
    assert batch.status == "committed" and batch.members_new == 3
    again = client.post(f"/imports/{batch.pk}/commit/")
    assert again.status_code == 302
    assert Member.objects.filter(household__household_code="W1").count() == 3


def test_errors_are_listed_masked_and_the_report_downloads(world: Any, client_for: Any) -> None:
    client = client_for("township")
    rows = household_rows("W2", OTHER_TOWNSHIP_VILLAGE, 101)  # the other township's village
    response = _upload(client, rows)
    batch = ImportBatch.objects.get()
    html = body(client.get(response["Location"]))
    assert "不在您的管理范围内" in html and "确认导入" not in html
    assert FULL_ID.findall(html) == []
    refused = client.post(f"/imports/{batch.pk}/commit/")
    assert refused.status_code == 302
    assert not Household.objects.filter(household_code="W2").exists()
    report = client.get(f"/imports/{batch.pk}/report/")
    assert report.status_code == 200 and report["Content-Type"] == XLSX
    assert report.content.startswith(b"PK")


def test_other_users_and_read_only_roles_cannot_reach_a_batch(world: Any, client_for: Any) -> None:
    _upload(client_for("township"), household_rows("W3", VILLAGE, 101))
    batch = ImportBatch.objects.get()
    other = client_for("county")
    assert other.get(f"/imports/{batch.pk}/").status_code == 404
    assert other.get(f"/imports/{batch.pk}/report/").status_code == 404
    assert other.post(f"/imports/{batch.pk}/commit/").status_code == 404
    for username in ("auditor", "helper"):
        client = client_for(username)
        assert "数据导入" not in body(client.get("/"))
        assert client.get("/imports/").status_code == 403
        assert _upload(client, household_rows("W4", VILLAGE, 201)).status_code == 403
    assert ImportBatch.objects.count() == 1
    assert not Household.objects.filter(household_code__in=["W3", "W4"]).exists()


def test_unknown_columns_can_be_mapped_from_the_dry_run(world: Any, client_for: Any) -> None:
    client = client_for("township")
    header = [*FLAT_HEADER, "家庭住房面积"]
    rows = [[*r, "80"] for r in household_rows("W5", VILLAGE, 101)]
    data = xlsx({"s": [header, *rows]})
    response = client.post("/imports/", {"file": SimpleUploadedFile("m.xlsx", data)})
    batch = ImportBatch.objects.get()
    assert "家庭住房面积" in body(client.get(response["Location"]))
    client.post(
        f"/imports/{batch.pk}/mapping/",
        {"header": ["家庭住房面积"], "field": ["house_area_m2"], "name": "本乡"},
    )
    html = body(client.get(response["Location"]))
    assert "未识别的列" not in html
    client.post(f"/imports/{batch.pk}/commit/")
    assert str(Household.objects.get(household_code="W5").house_area_m2) == "80.00"


def test_a_file_that_is_not_a_spreadsheet_is_refused_by_the_form(
    world: Any, client_for: Any
) -> None:
    client = client_for("county")
    response = client.post("/imports/", {"file": SimpleUploadedFile("a.exe", b"MZ")})
    assert response.status_code == 400 and "只能导入" in body(response)
