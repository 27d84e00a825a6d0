"""Migration 0005 (stored-file fields, core.models.StoredFile): visit photos keep their rows and
gain the content type of their former file type, the visit's helper as uploader and the visit's
time; measure evidence keeps its rows; the reverse gives the file type back."""

from __future__ import annotations

import datetime
import uuid

import pytest
from conftest import TOWNSHIPS, VILLAGES, World
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("assistance", "0004_measures")]
AFTER = [("assistance", "0006_visit_photo_stored_file")]
SHA = "a" * 64


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def test_photos_and_evidence_keep_their_data_both_ways(world: World) -> None:
    household = world.households[VILLAGES[TOWNSHIPS[0]][0]]
    helper = world.user("helper")
    recorded = timezone.now() - datetime.timedelta(days=3)
    executor = _executor()
    executor.migrate(BEFORE)
    try:
        apps = _executor().loader.project_state(BEFORE).apps
        visit = apps.get_model("assistance", "Visit").objects.create(
            helper_id=helper.pk,
            household_id=household.pk,
            visited_on=datetime.date(2026, 1, 5),
            kind="home",
            client_id=uuid.uuid4(),
            household_version=household.version,
            recorded_at=recorded,
        )
        photo = apps.get_model("assistance", "VisitPhoto")
        photo.objects.create(visit=visit, file_type="jpg", size=10, sha256=SHA, filename="a.jpg")
        photo.objects.create(visit=visit, file_type="png", size=20, sha256=SHA, filename="b.png")
        measure = apps.get_model("assistance", "Measure").objects.create(
            household_id=household.pk,
            year=2026,
            kind="industry",
            department="agriculture",
            start_date=datetime.date(2026, 1, 1),
            proposer_role="county",
        )
        apps.get_model("assistance", "MeasureEvidence").objects.create(
            measure=measure,
            filename="协议.pdf",
            content_type="application/pdf",
            size=30,
            sha256=SHA,
            uploaded_by_id=helper.pk,
        )
        _executor().migrate(AFTER)
        from jingzhun.assistance.models import MeasureEvidence, VisitPhoto

        rows = list(VisitPhoto.objects.order_by("pk"))
        assert [(p.filename, p.content_type, p.size) for p in rows] == [
            ("a.jpg", "image/jpeg", 10),
            ("b.png", "image/png", 20),
        ]
        assert {p.uploaded_by_id for p in rows} == {helper.pk}
        assert {p.uploaded_at for p in rows} == {recorded}
        ev = MeasureEvidence.objects.get()
        assert (ev.filename, ev.content_type, ev.size, ev.sha256) == (
            "协议.pdf",
            "application/pdf",
            30,
            SHA,
        )
        assert ev.uploaded_by_id == helper.pk and ev.uploaded_at is not None
        _executor().migrate(BEFORE)
        apps = _executor().loader.project_state(BEFORE).apps
        back = apps.get_model("assistance", "VisitPhoto").objects.order_by("pk")
        assert list(back.values_list("file_type", flat=True)) == ["jpg", "png"]
    finally:
        executor = _executor()
        executor.migrate(executor.loader.graph.leaf_nodes())
