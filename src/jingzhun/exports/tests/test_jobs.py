"""Export jobs' files: removed by the worker's sweeper after the retention period (issue 20)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.test import override_settings
from django.utils import timezone

from jingzhun.core.jobs import sweep, worker_name
from jingzhun.exports.jobs import file_path
from jingzhun.exports.models import ExportJob


def test_export_files_go_once_their_job_ended_longer_ago_than_the_retention_period(
    world: Any, tmp_path: Path
) -> None:
    now = timezone.now()
    with override_settings(VAR_DIR=tmp_path, JOB_RETENTION_DAYS=7):
        user = world.user("county")
        old, recent, running = (
            ExportJob.objects.create(user=user, status=status, finished_at=finished)
            for status, finished in (
                ("done", now - timedelta(days=8)),
                ("done", now - timedelta(days=1)),
                ("running", None),
            )
        )
        running.worker = worker_name()  # this process: alive
        running.save()
        stamp = (now - timedelta(days=9)).timestamp()
        for job in (old, recent, running):
            file_path(job).write_bytes(b"x")
            os.utime(file_path(job), (stamp, stamp))
        swept = sweep()
        assert not file_path(old).exists()
        assert file_path(recent).exists() and file_path(running).exists()
        assert swept.files == 1 and swept.failed == {}
