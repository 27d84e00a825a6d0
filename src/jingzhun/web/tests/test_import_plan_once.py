"""The web import flow plans a file once per check and once per commit (issue 19 item 5):
pages read the stored plan; a registry change between check and commit is caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from jingzhun.audit.models import AuditEvent
from jingzhun.imports import jobs, pipeline, stored
from jingzhun.imports.models import ImportBatch
from jingzhun.imports.tests.conftest import FLAT_HEADER, VILLAGE, household_rows, xlsx
from jingzhun.registry.actions import do_update_household
from jingzhun.registry.models import Household, Member

from .conftest import body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path) -> Any:
    with override_settings(VAR_DIR=tmp_path):
        yield tmp_path


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of the planner (`pipeline.plan_import`), wherever it is called from."""
    calls: list[str] = []
    real = pipeline.plan_import

    def counted(data: bytes, filename: str, **kwargs: Any) -> Any:
        calls.append(filename)
        return real(data, filename, **kwargs)

    monkeypatch.setattr(pipeline, "plan_import", counted)
    for module in ("jingzhun.imports.actions", "jingzhun.web.views"):
        monkeypatch.setattr(f"{module}.plan_import", counted)
    return calls


def _check(client: Any, rows: list[list[Any]], name: str) -> ImportBatch:
    data = xlsx({"花名册": [FLAT_HEADER, *rows]})
    posted = client.post("/imports/", {"file": SimpleUploadedFile(name, data, content_type=XLSX)})
    assert posted.status_code == 302
    jobs.run_pending()
    return ImportBatch.objects.get(filename=name)


def _commit(client: Any, batch: ImportBatch) -> Any:
    posted = client.post(f"/imports/{batch.pk}/commit/")
    assert posted.status_code == 302
    jobs.run_pending()
    return client.get(posted["Location"], follow=True)


def test_the_pages_read_the_stored_plan_and_the_commit_plans_once(
    world: Any, client_for: Any, plans: list[str]
) -> None:
    client = client_for("township")
    batch = _check(client, household_rows("P1", VILLAGE, 101, 3), "p1.xlsx")
    assert plans == ["p1.xlsx"]  # the check
    for _ in range(3):
        html = body(client.get(f"/imports/{batch.pk}/"))
        assert "确认导入" in html and "P1" in html
    report = client.get(f"/imports/{batch.pk}/report/")
    assert report.status_code == 200
    assert plans == ["p1.xlsx"]  # three dry-run pages and a report later: still once
    _commit(client, batch)
    assert plans == ["p1.xlsx", "p1.xlsx"]  # the commit: once, under its locks
    batch.refresh_from_db()
    assert batch.status == "committed"
    assert Member.objects.filter(household__household_code="P1").count() == 3
    # the committed batch's files are gone, the page shows its counts
    assert not jobs.plan_path(batch).exists() and not jobs.upload_path(batch).exists()
    assert plans == ["p1.xlsx", "p1.xlsx"]


def _cause(code: str) -> str:
    return Household.objects.get(household_code=code).main_cause


def test_a_registry_change_between_check_and_commit_is_not_overwritten(
    world: Any, client_for: Any, plans: list[str]
) -> None:
    client = client_for("township")
    rows = household_rows("P2", VILLAGE, 201, 2)
    _commit(client, _check(client, rows, "p2-new.xlsx"))
    assert _cause("P2") == "illness"
    rows[0][6] = "因学"  # the file changes the cause
    batch = _check(client, rows, "p2-change.xlsx")
    page = body(client.get(f"/imports/{batch.pk}/"))
    assert "因病" in page and "因学" in page
    # someone else edits the household after the check
    household = Household.objects.get(household_code="P2")
    do_update_household(
        household.pk, household.version, {"main_cause": "disability"}, actor=world.users["county"]
    )
    before = plans.copy()
    shown = body(_commit(client, batch))
    assert plans == [*before, "p2-change.xlsx"]  # planned once at the commit, under its locks
    batch.refresh_from_db()
    assert batch.status == "pending"  # not written: the confirmed change is not the one now due
    assert _cause("P2") == "disability"
    assert "校验后登记数据已有变动" in shown
    assert "因残" in body(client.get(f"/imports/{batch.pk}/"))  # the new dry run: 因残 → 因学
    event = AuditEvent.objects.filter(event="imports.batch.recheck").get()
    assert event.object_id == str(batch.pk)
    # confirmed again, against the registry as it is now: written
    _commit(client, batch)
    batch.refresh_from_db()
    assert batch.status == "committed" and _cause("P2") == "schooling"
    assert Household.objects.get(household_code="P2").version == household.version + 2


def test_a_household_created_after_the_check_is_caught_at_the_commit(
    world: Any, client_for: Any
) -> None:
    client = client_for("township")
    rows = household_rows("P3", VILLAGE, 301, 2)
    batch = _check(client, rows, "p3-a.xlsx")
    # the same household reaches the registry by another file meanwhile
    other = [list(r) for r in rows]
    other[1][2] = "另一个名字"  # (not the same bytes: not the same batch)
    _commit(client, _check(client, other, "p3-b.xlsx"))
    _commit(client, batch)
    batch.refresh_from_db()
    assert batch.status == "pending"
    assert Member.objects.filter(household__household_code="P3").count() == 2
    view = stored.load_view(jobs.plan_path(batch))
    assert view is not None and view.counts()["households_new"] == 0
    assert view.counts()["households_changed"] == 1  # the daughter's name, from this file
    assert Member.objects.filter(name="另一个名字").count() == 1  # the other file's, kept


def test_a_stored_plan_that_does_not_verify_is_not_read(world: Any, client_for: Any) -> None:
    client = client_for("township")
    batch = _check(client, household_rows("P4", VILLAGE, 401, 2), "p4.xlsx")
    path = jobs.plan_path(batch)
    assert stored.load_view(path) is not None and stored.load_expected(path) is not None
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert stored.load_view(path) is not None  # the view's part is intact
    assert stored.load_expected(path) is None  # the altered part is refused
    with override_settings(SECRET_KEY="another key"):
        assert stored.load_view(path) is None
    # a commit without a usable stored plan still plans under locks and writes
    _commit(client, batch)
    batch.refresh_from_db()
    assert batch.status == "committed"


def test_a_plan_handed_to_the_commit_is_planned_again_only_when_a_household_moved(
    world: Any, client_for: Any, plans: list[str]
) -> None:
    # `jingzhun import` plans, then hands its plan to the commit: the commit locks the
    # households and plans again only when one of them moved in between.
    from jingzhun.imports.actions import do_commit_import

    client = client_for("township")
    rows = household_rows("P5", VILLAGE, 501, 2)
    _commit(client, _check(client, rows, "p5-new.xlsx"))
    actor = world.users["township"]
    rows[0][6] = "因学"
    data = xlsx({"花名册": [FLAT_HEADER, *rows]})
    planned = pipeline.plan_import(data, "p5.xlsx", actor=actor)
    del plans[:]
    household = Household.objects.get(household_code="P5")
    outcome = do_commit_import(data, "p5.xlsx", actor=actor, planned=planned)
    assert outcome.committed and plans == []  # nothing moved: the plan handed in is written
    assert _cause("P5") == "schooling"

    rows[0][6] = "因残"
    data = xlsx({"花名册": [FLAT_HEADER, *rows]})
    planned = pipeline.plan_import(data, "p5b.xlsx", actor=actor)
    household.refresh_from_db()
    do_update_household(household.pk, household.version, {"main_cause": "illness"}, actor=actor)
    del plans[:]
    outcome = do_commit_import(data, "p5b.xlsx", actor=actor, planned=planned)
    assert outcome.committed and plans == ["p5b.xlsx"]  # moved: planned again under the lock
    assert _cause("P5") == "disability"
    change = outcome.result.listed[0]
    assert change.before == {"main_cause": "illness"}  # the diff logged is against the edit
