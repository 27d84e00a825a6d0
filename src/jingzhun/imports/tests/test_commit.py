"""Dry-run diff and all-or-nothing, idempotent, audited commits."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from jingzhun.audit.actions import verify_chain
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.models import ImportBatch, ImportChange, ImportCreatedCopy
from jingzhun.imports.pipeline import HOUSEHOLD_CODE_UNUSABLE, plan_import
from jingzhun.registry.models import Household, Member, StatusChange

from .conftest import FLAT_HEADER, OTHER_TOWNSHIP_VILLAGE, VILLAGE, household_rows, xlsx


def _table_counts() -> dict[str, int]:
    return {
        "households": Household.all_objects.count(),
        "members": Member.all_objects.count(),
        "status": StatusChange.objects.count(),
        "changes": ImportChange.objects.count(),
        "copies": ImportCreatedCopy.objects.count(),
        "committed": ImportBatch.objects.filter(status="committed").count(),
    }


def _existing_rows(world: Any) -> list[list[Any]]:
    """The flat rows of the world's household in VILLAGE, as the registry holds it."""
    household = world.households[VILLAGE]
    rows = []
    for m in household.members.order_by("id"):
        rows.append(
            [
                household.household_code,
                VILLAGE,
                m.name,
                m.id_number,
                "男" if m.sex == "male" else "女",
                "户主" if m.relation == "head" else "之女",
                "因病",
                "未脱贫",
            ]
        )
    return rows


def test_dry_run_sorts_households_into_new_changed_unchanged_and_refused(world: Any) -> None:
    existing = _existing_rows(world)
    changed = [list(r) for r in existing]
    changed[0][0] = world.households["230231100202"].household_code
    changed = []
    for m in world.households["230231100202"].members.order_by("id"):
        changed.append(
            [
                "H100202",
                "230231100202",
                m.name + ("改" if m.relation != "head" else ""),
                m.id_number,
                "",
                "户主" if m.relation == "head" else "之女",
                "因学",  # was illness
                "",
            ]
        )
    refused = household_rows("R1", VILLAGE, 301)
    refused[1][3] = "123"
    rows = [*existing, *changed, *household_rows("N1", VILLAGE, 101), *refused]
    result = plan_import(xlsx({"s": [FLAT_HEADER, *rows]}), "d.xlsx", actor=world.user("county"))
    kinds = {p.code: p.kind for p in result.plans}
    assert kinds == {"H100201": "unchanged", "H100202": "changed", "N1": "new", "R1": "refused"}
    plan = next(p for p in result.plans if p.code == "H100202")
    assert plan.values == {"main_cause": "schooling"}
    assert plan.before == {"main_cause": "illness"}
    [member] = [m for m in plan.members if m.kind == "changed"]
    assert set(member.values) == {"name"}
    counts = result.counts()
    assert counts["households_new"] == 1 and counts["members_changed"] == 1
    assert counts["rows_refused"] == 1
    assert "拒绝 1 行（1 户）" in result.summary()


def test_commit_writes_everything_once_audits_once_and_reimport_changes_nothing(
    world: Any,
) -> None:
    user = world.user("township")
    rows = household_rows("N1", VILLAGE, 101, 3) + household_rows("N2", "230231100202", 201)
    data = xlsx({"s": [FLAT_HEADER, *rows]})
    events_before = AuditEvent.objects.count()
    outcome = do_commit_import(data, "n.xlsx", actor=user)
    assert outcome.committed and outcome.batch.status == "committed"
    assert outcome.batch.households_new == 2 and outcome.batch.members_new == 5
    n1 = Household.objects.get(household_code="N1")
    assert (n1.township_code, n1.county_code, n1.head_name) == (
        "230231100000",
        "230231000000",
        "户主N1",
    )
    assert n1.members.count() == 3 and n1.members.filter(relation="head").count() == 1
    assert n1.status_history.count() == 1
    events = AuditEvent.objects.filter(id__gt=0).order_by("id")[events_before:]
    assert [e.event for e in events] == ["imports.batch.commit"]
    assert events[0].diff["households_new"] == 2 and events[0].actor_id == user.pk
    assert verify_chain() is None
    assert {c.kind for c in ImportChange.objects.filter(batch=outcome.batch)} == {"new"}
    # No full ID number reaches the audit log or the change log.
    ids = list([m.id_number for m in Member.objects.all()])
    logged = str(events[0].diff) + str(list(ImportChange.objects.values_list("diff", flat=True)))
    assert [i for i in ids if i in logged] == []
    # Same bytes again: recognised by hash, nothing written.
    counts = _table_counts()
    again = do_commit_import(data, "renamed.xlsx", actor=user)
    assert again.result.already_imported and again.batch.pk == outcome.batch.pk
    assert _table_counts() == counts
    # The same content in a new file (different bytes): every household unchanged.
    same = plan_import(xlsx({"另存": [FLAT_HEADER, *rows]}), "copy.xlsx", actor=user)
    assert {p.kind for p in same.plans} == {"unchanged"}


def test_one_bad_row_means_nothing_is_written(world: Any) -> None:
    rows = [r for i in range(30) for r in household_rows(f"B{i}", VILLAGE, 101 + 4 * i)]
    rows[41][3] = "230231201001010000"
    before = _table_counts()
    outcome = do_commit_import(
        xlsx({"s": [FLAT_HEADER, *rows]}), "b.xlsx", actor=world.user("county")
    )
    assert not outcome.committed and outcome.batch.status == "refused"
    assert [(e.row, e.header) for e in outcome.result.errors] == [(43, "证件号码")]
    assert _table_counts() == before
    assert AuditEvent.objects.filter(event="imports.batch.refuse", outcome="refused").count() == 1


def test_updates_change_only_what_differs_and_bump_versions(world: Any) -> None:
    household = world.households[VILLAGE]
    rows = _existing_rows(world)
    for row in rows:  # household columns repeat on every member row
        row[6], row[7] = "因残", "已脱贫(享受政策)"
    header = [*FLAT_HEADER, "耕地面积"]
    rows = [[*r, "5.5"] for r in rows]
    outcome = do_commit_import(xlsx({"s": [header, *rows]}), "u.xlsx", actor=world.user("village"))
    assert outcome.committed and outcome.batch.households_changed == 1
    household.refresh_from_db()
    assert household.main_cause == "disability"
    assert household.poverty_status == "exited_with_policy"
    assert str(household.cultivated_land_mu) == "5.50"
    assert household.version == 2
    last = household.status_history.order_by("id").last()
    assert last is not None and (last.status_from, last.status_to) == (
        "not_exited",
        "exited_with_policy",
    )
    [change] = ImportChange.objects.filter(batch=outcome.batch)
    assert change.diff["main_cause"] == ["illness", "disability"]


def test_head_changes_and_out_of_scope_households_are_refused(world: Any) -> None:
    rows = _existing_rows(world)
    rows[0][5], rows[1][5] = "之子", "户主"
    result = plan_import(xlsx({"s": [FLAT_HEADER, *rows]}), "h.xlsx", actor=world.user("county"))
    assert any("更换户主" in e.reason for e in result.errors)
    other = world.households[OTHER_TOWNSHIP_VILLAGE]
    rows = [
        [other.household_code, VILLAGE, "某", other.members.first().id_number, "", "户主", "", ""]
    ]
    result = plan_import(xlsx({"s": [FLAT_HEADER, *rows]}), "o.xlsx", actor=world.user("township"))
    assert [p.kind for p in result.plans] == ["refused"]
    assert (
        result.errors[0].reason == HOUSEHOLD_CODE_UNUSABLE
    )  # generic: says nothing of the other record


@pytest.mark.parametrize("username", ["helper", "auditor"])
def test_read_only_roles_cannot_import(world: Any, username: str) -> None:
    data = xlsx({"s": [FLAT_HEADER, *household_rows("F1", VILLAGE, 101)]})
    before = _table_counts()
    with pytest.raises(Forbidden):
        do_commit_import(data, "f.xlsx", actor=world.user(username))
    assert _table_counts() == before


def test_a_failure_in_the_middle_of_writing_leaves_the_database_as_it_was(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jingzhun.core.bulk import BulkWriter
    from jingzhun.imports import actions

    monkeypatch.setattr(actions, "NEW_CHUNK", 5)
    rows = [r for i in range(20) for r in household_rows(f"K{i}", VILLAGE, 101 + 4 * i)]
    data = xlsx({"s": [FLAT_HEADER, *rows]})
    loaded: list[str] = []
    original = BulkWriter.load

    def failing(self: BulkWriter, batch: Any) -> int:
        loaded.append(batch.model.__name__)
        if len(loaded) == 10:  # the third chunk's members
            raise RuntimeError("进程在写入中途被终止")
        return original(self, batch)

    monkeypatch.setattr(BulkWriter, "load", failing)
    before = _table_counts()
    audit_before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        do_commit_import(data, "k.xlsx", actor=world.user("county"))
    # Two chunks of households, members, status entries and change log had been written before
    assert loaded == ["Household", "Member", "StatusChange", "ImportChange"] * 2 + [
        "Household",
        "Member",
    ]
    assert _table_counts() == before
    assert AuditEvent.objects.count() == audit_before


def test_the_audited_digest_is_that_of_the_stored_change_log(world: Any) -> None:
    # Given a file of several new households committed in more than one set-wise chunk
    from jingzhun.imports import actions

    rows = [r for i in range(7) for r in household_rows(f"D{i}", VILLAGE, 301 + 4 * i)]
    data = xlsx({"s": [FLAT_HEADER, *rows]})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(actions, "NEW_CHUNK", 3)
        outcome = do_commit_import(data, "d.xlsx", actor=world.user("county"))
    assert outcome.committed
    # Then the audit event's changes_sha256 is the digest of the change rows, in order
    changes = [
        {"household_code": c.household.household_code, "kind": c.kind, **c.diff}
        for c in outcome.batch.changes.select_related("household").order_by("id")
    ]
    assert [c["household_code"] for c in changes] == [f"D{i}" for i in range(7)]
    # A new household's entry names the file rows it came from, not a copy of its values
    # (ADR 0033), and the part of the batch's masked copy that holds its values (ADR 0040).
    assert changes[1] == {
        "household_code": "D1",
        "kind": "new",
        "members": 2,
        "part": 0,
        "rows": [["s", 4], ["s", 5]],
    }
    expected = hashlib.sha256(
        json.dumps(changes, ensure_ascii=False, sort_keys=True, default=str).encode()
    ).hexdigest()
    event = AuditEvent.objects.filter(event="imports.batch.commit").latest("id")
    assert event.diff["changes_sha256"] == expected
    # And every new member and its household's first status entry is stored
    assert Member.objects.filter(household__household_code__startswith="D").count() == 14
    assert StatusChange.objects.filter(household__household_code__startswith="D").count() == 7
