"""An import commit asks for the figures of the counties it touched to be recomputed."""

from __future__ import annotations

from typing import Any

import pytest

from jingzhun.analytics.actions import run_pending
from jingzhun.analytics.models import RefreshJob, RegionFigures
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, household_rows, xlsx

pytestmark = pytest.mark.django_db(transaction=True)


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
