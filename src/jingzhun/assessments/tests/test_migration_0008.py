"""Migration 0008 turns JSON lists of criterion ids into space-separated text, and back."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# A data migration, run back and forth over the whole schema (a minute): CI runs it on the
# production database only (.ci/run, marker postgresql_pass).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql_pass]

BEFORE = [("assessments", "0007_assessment_key_adds_household_version")]
AFTER = [("assessments", "0008_failed_and_unknown_as_text")]
ROWS = [
    (1, ["income", "housing_safe"], []),
    (2, [], ["education"]),
    (3, [], []),
]


def _migrate(target: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def _migrate_to_the_latest() -> None:
    """Every app back at its newest migration, as the tests after this one expect."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _rows() -> dict[int, tuple[object, object]]:
    with connection.cursor() as cur:
        cur.execute("SELECT household_id, failed, unknown FROM assessments_assessment ORDER BY 1")
        return {r[0]: (r[1], r[2]) for r in cur.fetchall()}


def test_lists_become_text_and_back() -> None:
    _migrate(BEFORE)
    try:
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO assessments_policyversion (id, standard, version, province, title, "
                "files, criteria, created_at) VALUES (1, 'household_exit', 'v1', '', '', "
                "'[]', '[]', CURRENT_TIMESTAMP)"
            )
            cur.execute(
                "INSERT INTO assessments_assessmentrun (id, standard, year, method, source, "
                "scope, snapshot, snapshot_sha256, households, created, unchanged, passed, "
                "actor_name, started_at) VALUES ('r1', 'household_exit', 2019, 'bulk', "
                "'sqlite', '', '', '', 3, 3, 0, 1, '', CURRENT_TIMESTAMP)"
            )
            for hid, failed, unknown in ROWS:
                # as each database's JSON column holds them (jsonb normalises the spacing)
                cur.execute(
                    "INSERT INTO assessments_assessment (household_id, year, policy_id, "
                    "household_version, run_id, passed, failed, unknown, created_at) "
                    "VALUES (%s, 2019, 1, 0, 'r1', %s, %s, %s, CURRENT_TIMESTAMP)",
                    [hid, not failed and not unknown, json.dumps(failed), json.dumps(unknown)],
                )
        _migrate(AFTER)
        assert _rows() == {
            1: ("income housing_safe", ""),
            2: ("", "education"),
            3: ("", ""),
        }
        _migrate(BEFORE)
        back = {
            k: tuple(json.loads(v) if isinstance(v, str) else v for v in pair)
            for k, pair in _rows().items()
        }
        assert back == {hid: (failed, unknown) for hid, failed, unknown in ROWS}
    finally:
        _migrate_to_the_latest()
