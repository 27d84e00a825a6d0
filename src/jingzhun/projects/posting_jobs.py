"""A file of postings imported on the task queue (ADR 0075), never in the web request.

`do_submit_postings` checks who asks and for which county, keeps the file under
VAR_DIR/postings and queues "run import N" for `jingzhun worker`; the worker's `run_import`
reads it (`importer.read_postings_csv`) and posts it with `ledger.do_import_postings` in one
transaction, as the importing user, so the rules and the audit are those of the action. A file
that cannot be read or posted leaves its Chinese reason on the job and writes nothing; the
file is removed either way (it names payees).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django_tasks import task

from jingzhun.audit.actions import record
from jingzhun.core.checks import require_role
from jingzhun.core.errors import DomainError
from jingzhun.core.jobs import enqueue_after_commit, run_queued, worker_name
from jingzhun.core.models import action

from .choices import FUND_WRITERS
from .importer import MAX_BYTES, read_postings_csv
from .ledger import do_import_postings
from .models import PostingImport
from .scope import check_county

log = logging.getLogger(__name__)


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "postings"


def upload_path(job_id: int) -> Path:
    return upload_dir() / f"import-{job_id}.csv"


def job_files(job_ids: Iterable[int]) -> list[Path]:
    return [upload_path(i) for i in job_ids]


@action
@transaction.atomic
def do_submit_postings(
    county_code: str, filename: str, data: bytes, *, actor: Any
) -> PostingImport:
    """Keep a file of postings of `county_code` and queue its import."""
    require_role(actor, FUND_WRITERS, "导入记账（由县级导入）")
    check_county(actor, county_code)
    if not data:
        raise DomainError("上传的文件是空的。", field="file")
    if len(data) > MAX_BYTES:
        raise DomainError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB。", field="file")
    job = PostingImport.objects.create(
        county_code=county_code,
        filename=filename.replace("\\", "/").rsplit("/", 1)[-1][:200],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_by=actor,
    )
    upload_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    path = upload_path(job.pk)
    path.write_bytes(data)
    path.chmod(0o600)
    record(
        "projects.postings.submit",
        actor=actor,
        object_type="posting_import",
        object_id=job.pk,
        diff={"county": county_code, "bytes": len(data), "sha256": job.sha256},
    )
    enqueue_after_commit(run_import_job, job.pk)
    return job


@task()
def run_import_job(job_id: int) -> str:
    """The queue's task: import postings file `job_id` (`jingzhun worker`)."""
    job = run_import(job_id)
    return job.status if job is not None else "taken"


def run_pending() -> list[PostingImport]:
    """Run every queued postings import in this process (tests, `jingzhun worker --batch`)."""
    return run_queued(PostingImport.objects.filter(status=PostingImport.QUEUED), run_import)


def run_import(job_id: int) -> PostingImport | None:
    """Read and post one queued file (None if another worker took it)."""
    if not PostingImport.take(job_id, worker_name(), step="reading"):
        return None
    job = PostingImport.objects.select_related("created_by").get(pk=job_id)
    path = upload_path(job_id)
    try:
        rows = read_postings_csv(path.read_bytes())
        PostingImport.objects.filter(pk=job_id).update(step="posting", rows_total=len(rows))
        result = do_import_postings(
            job.county_code, rows, filename=job.filename, actor=job.created_by
        )
    except Exception as exc:  # kept on the job, shown on its page
        if not isinstance(exc, DomainError):
            log.exception("postings import %s failed", job_id)
        PostingImport.fail(
            job_id, exc if isinstance(exc, DomainError) else "记账导入失败，未写入任何记账。"
        )
    else:
        PostingImport.finish(job_id, step="done", batch=result.batch, repeated=not result.created)
    finally:
        path.unlink(missing_ok=True)
    job.refresh_from_db()
    return job
