"""The web server keeps serving while and after a hostile upload (issue 20, item 2).

The upload goes through the import page, which queues its check job (ADR 0049); the job is run by
`jingzhun worker --batch` in the process that also runs the live server (while a thread keeps
asking it for another user's page), so that a crash of the reader would take the server down (deployed, the worker is a process of
its own, and the web process never parses). The workbook is the one whose range is 512 GiB, with the range checks lifted so that it reaches the
reader: python-calamine aborts the process it runs in. Read in this process, the abort would end
the test run itself; contained, the child dies, the job says why in Chinese, and another user's
pages answer 200 throughout.
"""

from __future__ import annotations

import threading
import urllib.request
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings

from jingzhun.imports.models import ImportJob
from jingzhun.imports.tests import hostile
from jingzhun.registry.models import Household

from .conftest import body

LIFTED = {"sheet_columns": 1 << 30, "sheet_rows": 1 << 30, "sheet_cells": 1 << 62}


def _get(url: str, session: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


@pytest.mark.parametrize("lift", [True, False], ids=["reaches the child", "refused by checks"])
def test_the_server_keeps_serving_during_and_after_a_hostile_upload(
    transactional_db: Any, world: Any, client_for: Any, live_server: Any, tmp_path: Path, lift: bool
) -> None:
    limits = {**settings.IMPORT_LIMITS, "memory_mb": 1024, **(LIFTED if lift else {})}
    with override_settings(VAR_DIR=tmp_path, IMPORT_LIMITS=limits):
        other = client_for("county").cookies["sessionid"].value
        uploader = client_for("township")
        households = Household.objects.count()
        posted = uploader.post(
            "/imports/",
            {"file": SimpleUploadedFile("花名册.xlsx", hostile.far_cell_after_a1())},
        )
        assert posted.status_code == 302
        job = ImportJob.objects.get()
        served: list[int] = []
        done = threading.Event()

        def ask() -> None:
            while not done.is_set():
                served.append(_get(f"{live_server.url}/households/", other))

        asking = threading.Thread(target=ask, name="other-user")
        asking.start()
        try:
            call_command("worker", "--batch", stdout=StringIO(), stderr=StringIO())
        finally:
            done.set()
            asking.join()
        served.append(_get(f"{live_server.url}/households/", other))
        assert set(served) == {200}
        job.refresh_from_db()
        page = body(uploader.get(f"/imports/jobs/{job.pk}/", follow=True))
        reason = "读取文件所需内存超过上限（1024 MB）" if lift else "在单元格 XFD1048576 处有内容"
        assert reason in page
        assert Household.objects.count() == households
