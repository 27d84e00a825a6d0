"""The masked copy of the households a batch creates (ADR 0040, security AUDIT-1, PII-1)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from typing import Any

import pytest
from stdnum.cn import ric

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import OutOfScope
from jingzhun.imports import actions, columnar, created
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.fields import FIELDS
from jingzhun.imports.models import ImportChange, ImportCreatedCopy
from jingzhun.imports.pipeline import plan_import
from jingzhun.imports.selectors import created_values
from jingzhun.registry.models import Member

from .conftest import VILLAGE, csv_bytes
from .test_columnar import Rows, new_households, roster

NEW = 5  # new households in the file; parts of 2 households: 3 parts


def _file(world: Any) -> tuple[bytes, list[str], Rows]:
    """The world's roster with NEW new households whose sensitive cells are all filled, and
    distinct from one household to the next (each would show if it leaked)."""
    title, header, existing = roster(world)
    code = header.index("户编号")
    template = [r for r in existing if r[code] == existing[0][code]]
    rows = new_households(header, template, NEW, 500)
    col = {key: header.index(FIELDS[key].label) for key in ("phone", "bank_account")}
    health = header.index(FIELDS["health_status"].label)
    disability = header.index(FIELDS["disability_grade"].label)
    for row in rows:  # phone and bank account are the household's, health and disability each
        i = int(row[code].rsplit("-", 1)[1])  # member's
        row[col["phone"]] = f"1381234{i:04d}"
        row[col["bank_account"]] = f"101202000012{i:07d}"  # a passbook account: no check digit
        row[health] = "大病"
        row[disability] = "1"
    return csv_bytes([title, header, *existing, *rows], "utf-8-sig"), header, rows


def _texts(batch: Any) -> list[str]:
    """Every part of the batch's copy, decompressed (by the standard library), in order."""
    return [
        gzip.decompress(bytes(data)).decode()
        for data in ImportCreatedCopy.objects.filter(batch=batch)
        .order_by("part")
        .values_list("data", flat=True)
    ]


@pytest.mark.parametrize("fast", [True, False], ids=["columnar", "per-row"])
def test_the_copy_holds_every_new_household_masked(
    world: Any, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    # Given a file of new households with ID numbers, phones, bank accounts and health details
    data, header, rows = _file(world)
    # written in chunks of 3 households, change log pieces of 2, copy parts of 2: cut across
    monkeypatch.setattr(created, "PART_SIZE", 2)
    monkeypatch.setattr(actions, "NEW_CHUNK", 3)
    monkeypatch.setattr(actions, "BULK_SIZE", 2)
    monkeypatch.setattr(columnar, "ENABLED", fast)
    # When it is committed
    outcome = do_commit_import(data, "c.csv", actor=world.user("county"))
    assert outcome.committed and (outcome.result.new_block is not None) is fast
    batch = outcome.batch
    # Then its copy has parts of at most 2 households, NEW in all, in the order written
    parts = list(ImportCreatedCopy.objects.filter(batch=batch).order_by("part"))
    assert [(p.part, p.households) for p in parts] == [(0, 2), (1, 2), (2, 1)]
    texts = _texts(batch)
    assert [json.loads(t)["households"]["household_code"] for t in texts] == [
        ["N500-0", "N500-1"],
        ["N500-2", "N500-3"],
        ["N500-4"],
    ]
    copied = [h for p in parts for h in created.households(p.data)]
    assert [x["household_code"] for x in copied] == [f"N500-{i}" for i in range(NEW)]
    # and no full ID number, phone or bank account of the file is in it, nor any valid ID number
    whole = "".join(texts)
    secrets = {
        r[header.index(FIELDS[k].label)]
        for r in rows
        for k in ("id_number", "phone", "bank_account")
    }
    assert len(secrets) == len(rows) + 2 * NEW
    assert [s for s in secrets if s in whole] == []
    assert [n for n in re.findall(r"\d{17}[\dX]", whole) if ric.is_valid(n)] == []
    assert {m["health_status"] for x in copied for m in x["members"]} == {"***"}
    assert {m["disability_grade"] for x in copied for m in x["members"]} == {"***"}
    # the birth date beside a masked ID number would rebuild it: only its year is kept
    births = {
        str(m.birth_date)
        for m in Member.objects.filter(household__household_code__startswith="N500-")
    }
    assert births and [b for b in births if b in whole or b.replace("-", "") in whole] == []
    assert {len(str(m["birth_date"])) for x in copied for m in x["members"]} == {4}
    assert [(x["phone"], x["bank_account"]) for x in copied] == [
        (f"138****{i:04d}", f"****{i:04d}") for i in range(NEW)
    ]
    # and each new household's change entry names its part
    entries = {
        c.household.household_code: c.diff["part"]
        for c in ImportChange.objects.filter(batch=batch).select_related("household")
    }
    assert entries == {f"N500-{i}": i // 2 for i in range(NEW)}
    # and the audit event holds the digest of the parts as stored, in order, beside changes_sha256
    event = AuditEvent.objects.filter(event="imports.batch.commit").latest("id")
    stored = b"".join(bytes(p.data) for p in parts)
    assert event.diff["created_sha256"] == hashlib.sha256(stored).hexdigest()
    assert event.diff["changes_sha256"]


def test_a_new_households_copy_is_its_masked_diff(world: Any) -> None:
    # Given the per-row plan of a file's new household (its masked diff, as pages show it)
    data, _header, _rows = _file(world)
    columnar.ENABLED = False
    try:
        plans = plan_import(data, "c.csv", actor=world.user("county")).plans
    finally:
        columnar.ENABLED = True
    [plan] = [p for p in plans if p.code == "N500-3"]
    expected = plan.masked_diff()
    # When the file is committed (columnar path)
    outcome = do_commit_import(data, "c.csv", actor=world.user("county"))
    assert outcome.result.new_block is not None
    # Then the copy read back holds the same masked values: [None, value] in the diff
    copy = created_values(world.user("county"), outcome.batch, "N500-3")
    assert copy is not None
    assert copy.pop("household_code") == "N500-3" and copy.pop("village") == VILLAGE
    members = copy.pop("members")
    assert {k: [None, v] for k, v in copy.items()} == {
        k: v for k, v in expected.items() if k != "members"
    }
    assert [
        {
            "kind": "new",
            "id_number": m["id_number"],
            "name": m["name"],
            "fields": {k: [None, v] for k, v in m.items() if k != "id_number"},
        }
        for m in members
    ] == expected["members"]
    assert len(members) == len(plan.members) >= 2
    assert "*" in members[0]["id_number"] and members[0]["health_status"] == "***"


def test_created_values_is_scoped(world: Any) -> None:
    data, _header, _rows = _file(world)
    batch = do_commit_import(data, "c.csv", actor=world.user("county")).batch
    assert created_values(world.user("county"), batch.pk, "N500-0") is not None
    assert created_values(world.user("township"), batch, "N500-0") is not None
    # Outside the household's region, a helper not paired with it, an unknown code, a household
    # the batch did not create: the same refusal, whether the household exists or not
    for username, code in [
        ("other_township", "N500-0"),
        ("helper", "N500-0"),
        ("county", "N999"),
        ("county", world.households[VILLAGE].household_code),
    ]:
        with pytest.raises(OutOfScope):
            created_values(world.user(username), batch, code)
    # A household created before the copy was kept (ADR 0033 entry, no part): nothing to show
    change = ImportChange.objects.filter(batch=batch, household__household_code="N500-1")
    diff = change.get().diff
    change.update(diff={k: v for k, v in diff.items() if k != "part"})
    assert created_values(world.user("county"), batch, "N500-1") is None
