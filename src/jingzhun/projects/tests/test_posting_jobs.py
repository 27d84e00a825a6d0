"""A file of postings uploaded on the funds page is imported by the worker (ADR 0075): the
request only keeps the file and queues the job; the job page shows its step, then the batch or
the Chinese reason; a repeated file writes nothing; others' jobs are not found."""

from __future__ import annotations

from typing import Any

from conftest import signed_in
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from jingzhun.audit.models import AuditEvent
from jingzhun.projects import posting_jobs
from jingzhun.projects.models import Posting, PostingImport
from jingzhun.projects.selectors import project_balance

from .conftest import COUNTY, YUAN
from .test_importer import csv_of


def upload(c: Client, data: bytes, name: str = "支付.csv") -> Any:
    return c.post(
        "/funds/",
        {"form": "import", "county": COUNTY, "file": SimpleUploadedFile(name, data)},
    )


def payments(source: Any, project: Any, *amounts: str) -> bytes:
    today = timezone.localdate().isoformat()
    return csv_of(
        [
            [f"k{i}", "资金支付", source.pk, project.pk, amount, today, f"V{i}", "李四", ""]
            for i, amount in enumerate(amounts)
        ]
    )


def test_the_upload_is_queued_and_the_worker_posts_it(
    world: Any, funded_source: Any, approved: Any
) -> None:
    county = signed_in(Client(), world.user("county"))
    response = upload(county, payments(funded_source, approved, "100", "250.50"))
    job = PostingImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/funds/imports/{job.pk}/"
    assert job.status == "queued" and Posting.objects.filter(kind="disbursement").count() == 0
    page = county.get(f"/funds/imports/{job.pk}/").content.decode()
    assert "排队中" in page and 'http-equiv="refresh"' in page

    assert [j.pk for j in posting_jobs.run_pending()] == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.step, job.rows_total, job.repeated) == ("done", "done", 2, False)
    assert project_balance(approved.pk) == 10_000 * YUAN - 10_000 - 25_050
    assert not posting_jobs.upload_path(job.pk).exists()
    page = county.get(f"/funds/imports/{job.pk}/").content.decode()
    assert "已导入 2 笔记账" in page and "350.50" in page and "refresh" not in page
    assert AuditEvent.objects.filter(event="projects.postings.submit", object_id=job.pk).exists()

    # the same file again: queued, and the worker writes nothing
    upload(county, payments(funded_source, approved, "100", "250.50"))
    again = PostingImport.objects.latest("pk")
    posting_jobs.run_pending()
    again.refresh_from_db()
    assert again.status == "done" and again.repeated and again.batch_id == job.batch_id
    assert Posting.objects.filter(kind="disbursement").count() == 2


def test_a_refused_file_leaves_its_reason_and_writes_nothing(
    world: Any, funded_source: Any, approved: Any
) -> None:
    county = signed_in(Client(), world.user("county"))
    upload(county, payments(funded_source, approved, "100", "99999999"))
    job = PostingImport.objects.get()
    posting_jobs.run_pending()
    job.refresh_from_db()
    assert job.status == "failed" and "第 3 行" in job.error and "余额不足" in job.error
    assert Posting.objects.filter(kind="disbursement").count() == 0
    assert not posting_jobs.upload_path(job.pk).exists()
    page = county.get(f"/funds/imports/{job.pk}/").content.decode()
    assert "余额不足" in page and "没有写入任何记账" in page


def test_a_file_that_is_not_csv_fails_in_chinese(world: Any, funded_source: Any) -> None:
    county = signed_in(Client(), world.user("county"))
    upload(county, b"PK\x03\x04\x00\x00binary", "x.csv")
    posting_jobs.run_pending()
    job = PostingImport.objects.get()
    assert job.status == "failed" and "不是 CSV" in job.error


def test_an_empty_upload_is_refused_at_once(world: Any) -> None:
    county = signed_in(Client(), world.user("county"))
    response = upload(county, b"")
    assert "文件是空的" in response.content.decode()
    assert not PostingImport.objects.exists()


def test_only_the_county_fund_staff_submit_and_see_imports(
    world: Any, funded_source: Any, approved: Any
) -> None:
    township = signed_in(Client(), world.user("township"))
    assert upload(township, payments(funded_source, approved, "1")).status_code in (403, 404)
    assert not PostingImport.objects.exists()
    upload(signed_in(Client(), world.user("county")), payments(funded_source, approved, "1"))
    job = PostingImport.objects.get()
    for name in ("township", "village", "helper", "auditor", "other_township"):
        c = signed_in(Client(), world.user(name))
        assert c.get(f"/funds/imports/{job.pk}/").status_code == 404, name
    assert Client().get(f"/funds/imports/{job.pk}/").status_code in (302, 401)
