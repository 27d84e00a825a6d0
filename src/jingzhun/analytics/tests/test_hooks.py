"""An import commit asks for the figures of the counties it touched to be recomputed."""

from __future__ import annotations

from typing import Any

import pytest

from jingzhun.analytics.actions import run_pending
from jingzhun.analytics.models import RefreshJob, RegionFigures
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, household_rows, xlsx

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_jobs_yet(world: Any) -> None:
    """The fixture's registrations each requested a refresh (registry writes do): start from
    none, to see what an import asks for."""
    from django_tasks_db.models import DBTaskResult

    RefreshJob.objects.all().delete()
    DBTaskResult.objects.all().delete()


def test_import_commit_queues_a_refresh_of_its_county(world: Any) -> None:
    data = xlsx({"s": [FLAT_HEADER, *household_rows("N1", VILLAGE, 101, 3)]})
    do_commit_import(data, "n.xlsx", actor=world.user("township"))
    job = RefreshJob.objects.get()
    assert job.counties == "230231000000" and job.reason == "数据导入"
    assert job.status == RefreshJob.QUEUED  # tests run queued jobs by hand (core.jobs)
    [done] = run_pending()
    assert done.status == RefreshJob.DONE
    latest = RegionFigures.objects.filter(region_code=VILLAGE).order_by("-year").first()
    assert latest is not None and "registered_households" in latest.parsed()


def test_refused_import_queues_nothing(world: Any) -> None:
    rows = household_rows("B1", VILLAGE, 101)
    rows[0][3] = "230231201001010000"  # a bad ID number: the file is refused
    do_commit_import(xlsx({"s": [FLAT_HEADER, *rows]}), "b.xlsx", actor=world.user("township"))
    assert not RefreshJob.objects.exists()


def test_a_refresh_goes_on_the_task_queue_and_a_dead_workers_refresh_is_swept(world: Any) -> None:
    """Issue 20: request_refresh queues "run job N" for `jingzhun worker`; a refresh whose worker
    process died is marked failed by the sweeper, with the reason."""
    import subprocess
    import sys

    from django_tasks_db.models import DBTaskResult

    from jingzhun.analytics.actions import request_refresh
    from jingzhun.core.jobs import WORKER_DIED, sweep, worker_name

    job = request_refresh(["230231"], reason="测试")
    entry = DBTaskResult.objects.get()
    assert entry.task_path == "jingzhun.analytics.actions.run_refresh_job"
    assert entry.args_kwargs == {"args": [job.pk], "kwargs": {}}
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = f"{worker_name().rpartition(':')[0]}:{int(child.stdout)}"
    RefreshJob.objects.filter(pk=job.pk).update(status=RefreshJob.RUNNING, worker=dead)
    assert sweep().failed == {"analytics.RefreshJob": 1}
    job.refresh_from_db()
    assert (job.status, job.error) == (RefreshJob.FAILED, WORKER_DIED)
