"""Reads of the exports app: an account sees the export jobs it started itself."""

from __future__ import annotations

from typing import Any

from jingzhun.core.errors import OutOfScope

from .models import ExportJob


def export_job_for(user: Any, job_id: int) -> ExportJob:
    job = (
        ExportJob.objects.filter(pk=job_id, user=user).first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if job is None:
        raise OutOfScope("未找到该导出任务，或您无权访问。")
    return job
