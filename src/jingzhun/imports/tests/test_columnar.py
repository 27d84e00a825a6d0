"""The columnar path (ADR 0015) gives exactly the per-row path's outcome on the same file.

Each case builds a file from the world's own roster export (every importable column) plus new
households made from it, applies a change or a fault, and then plans and commits it twice, once
per path, comparing the counts, the errors (sheet, row, column, value, reason), the notices, the
plans and every row written (households, members, status entries, change log, the masked copy of
new households, batch, audit diff with its `changes_sha256` and `created_sha256`). Commits are rolled back between the two runs.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jingzhun.audit.models import AuditEvent
from jingzhun.exports.roster import write_roster_csv
from jingzhun.imports import columnar, created
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.models import ImportBatch, ImportChange, ImportCreatedCopy
from jingzhun.imports.pipeline import plan_import
from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

from .conftest import OTHER_TOWNSHIP_VILLAGE, VILLAGE, csv_bytes, person, xlsx

Rows = list[list[Any]]


def roster(world: Any) -> tuple[list[str], list[str], Rows]:
    """(title row, header, data rows) of the world's unmasked CSV roster."""
    out = io.BytesIO()
    write_roster_csv(
        Household.objects.order_by("id"),
        out,
        masked=False,
        watermark="测试",
        today=datetime.date(2026, 1, 1),
    )
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    return rows[0], rows[1], rows[2:]


def new_households(header: list[str], template: Rows, count: int, first_seq: int) -> Rows:
    """`count` new households shaped like `template` (one household's rows), in VILLAGE."""
    col = {label: j for j, label in enumerate(header)}
    rows = []
    seq = first_seq
    for i in range(count):
        for k, source in enumerate(template):
            row = list(source)
            row[col["户编号"]] = f"N{first_seq}-{i}"
            row[col["村级区划代码"]] = VILLAGE
            row[col["姓名"]] = f"新{i}号{k}"
            birth = row[col["出生日期"]].replace("-", "") or "19800101"
            seq += 1
            number = person(seq if row[col["性别"]] == "男" else seq + 1, birth)
            seq += 1
            if (int(number[16]) % 2 == 1) != (row[col["性别"]] == "男"):
                number = person(seq + 1, birth)
                seq += 1
            row[col["证件号码"]] = number
            rows.append(row)
    return rows


def _set(header: list[str], rows: Rows, index: int, label: str, value: Any) -> Rows:
    rows = [list(r) for r in rows]
    rows[index][header.index(label)] = value
    return rows


def _newborn(header: list[str], row: list[Any]) -> list[Any]:
    """A son born in 2015 added to `row`'s household."""
    row = list(row)
    for label, value in [
        ("证件号码", person(901, "20150505")),
        ("出生日期", "2015-05-05"),
        ("性别", "男"),
        ("姓名", "新生儿"),
        ("与户主关系", "之子"),
    ]:
        row[header.index(label)] = value
    return row


def _cause(header: list[str], row: list[Any], first: list[Any], cause: str) -> list[Any]:
    """`row` with the main cause changed when it belongs to `first`'s household."""
    code = header.index("户编号")
    return _set(header, [row], 0, "主要致贫原因", cause)[0] if row[code] == first[code] else row


def _income(header: list[str], rows: Rows, year: Any, wage: Any) -> Rows:
    """`rows` with a year and a wage income on every row (a flat form repeats them)."""
    rows = [list(r) for r in rows]
    for row in rows:
        row[header.index("年度")] = year
        row[header.index("工资性收入")] = wage
    return rows


Case = Callable[[list[str], Rows, Rows], Rows]  # (header, existing rows, new rows) → data rows


def _existing_member_id(existing: Rows, header: list[str]) -> str:
    return existing[0][header.index("证件号码")]


CASES: dict[str, tuple[Case, bool]] = {
    # name: (rows, whether the file is clean)
    "new households": (lambda h, e, n: n, True),
    "existing unchanged and new": (lambda h, e, n: [*e, *n], True),
    "existing changed": (
        lambda h, e, n: [
            *_set(h, [_cause(h, r, e[0], "因学") for r in e], 1, "姓名", "改名"),
            *n,
        ],
        True,
    ),
    "interleaved households": (lambda h, e, n: [n[2], n[0], *e, n[1], *n[3:]], True),
    "new member in an existing household": (lambda h, e, n: [*e, _newborn(h, e[1])], True),
    "blank line and empty cells": (
        lambda h, e, n: [
            *_set(h, n, 1, "民族", ""),
            [""] * len(h),
            *_set(h, e, 0, "耕地面积(亩)", ""),
        ],
        True,
    ),
    "bad check digit": (
        lambda h, e, n: _set(h, n, 1, "证件号码", n[1][h.index("证件号码")][:-1] + "0"),
        False,
    ),
    "sex against the ID": (lambda h, e, n: _set(h, n, 0, "性别", "女"), False),
    "birth date against the ID": (lambda h, e, n: _set(h, n, 0, "出生日期", "1999-01-01"), False),
    "unknown village": (
        lambda h, e, n: _set(h, n, 0, "村级区划代码", "230231999999"),
        False,
    ),
    "negative land": (lambda h, e, n: _set(h, n, 0, "耕地面积(亩)", "-1"), False),
    "unknown cause": (lambda h, e, n: _set(h, n, 0, "主要致贫原因", "因懒"), False),
    "person twice": (lambda h, e, n: [*n, n[1]], False),
    "household cell disagrees": (lambda h, e, n: _set(h, n, 1, "识别年度", "2015"), False),
    "two heads": (lambda h, e, n: _set(h, n, 1, "与户主关系", "户主"), False),
    "no head": (lambda h, e, n: _set(h, n, 0, "与户主关系", "之子"), False),
    "empty name": (lambda h, e, n: _set(h, n, 1, "姓名", ""), False),
    "empty household code": (lambda h, e, n: _set(h, n, 2, "户编号", ""), False),
    "formula text": (lambda h, e, n: _set(h, n, 1, "姓名", "=1+1"), False),
    "registered in another household": (
        lambda h, e, n: _set(h, n, 1, "证件号码", _existing_member_id(e, h)),
        False,
    ),
    "bad cell in an existing household": (
        lambda h, e, n: [*_set(h, e, 0, "耕地面积(亩)", "-5"), *n],
        False,
    ),
    "row without a household code repeating a person": (
        lambda h, e, n: [*n, _set(h, [n[0]], 0, "户编号", "")[0]],
        False,
    ),
    "new member without a relation in an existing household": (
        lambda h, e, n: [*e, _set(h, [_newborn(h, e[1])], 0, "与户主关系", "")[0], *n],
        False,
    ),
    "village of another township": (
        lambda h, e, n: _set(h, n, 0, "村级区划代码", OTHER_TOWNSHIP_VILLAGE),
        False,
    ),
    "income of new and existing households": (
        lambda h, e, n: [*_income(h, e, "2019", "3000"), *_income(h, n, 2019, "1200.5")],
        True,
    ),
    "income of a household for two years": (
        lambda h, e, n: [*_income(h, n[:1], 2018, 10), *_income(h, n[1:], 2019, 20)],
        True,
    ),
    "negative income": (
        lambda h, e, n: _set(h, _income(h, n, 2019, 5), 1, "工资性收入", -5),
        False,
    ),
    "text in an income cell": (
        lambda h, e, n: _set(h, _income(h, n, 2019, 5), 0, "工资性收入", "五千"),
        False,
    ),
    "income year in the future": (
        lambda h, e, n: _income(h, n, timezone.localdate().year + 1, 5),
        False,
    ),
    "income without a year": (lambda h, e, n: _income(h, n, "", 5), False),
    "income disagrees within a household": (
        lambda h, e, n: _set(h, _income(h, n, 2019, 5), 1, "工资性收入", 6),
        False,
    ),
}


def _plan_view(result: Any) -> dict[str, Any]:
    plans = sorted(
        (
            p.code,
            p.kind,
            p.village,
            p.values,
            p.before,
            p.household_id,
            p.version,
            p.head_name,
            [
                (m.kind, m.row, m.values, m.member_id, m.version, m.before, m.name, m.id_masked)
                for m in p.members
            ],
            p.masked_diff(),
            [(i.year, i.kind, i.values, i.before, i.income_id, i.version) for i in p.incomes],
        )
        for p in result.plans
    )
    return {
        "ok": result.ok,
        "counts": result.counts(),
        "summary": result.summary(),
        "errors": [
            (str(e), e.sheet, e.row, e.column, e.header, e.value, e.field) for e in result.errors
        ],
        "notices": result.notices,
        "layouts": [(x.sheet, x.kind, x.header_rows) for x in result.layouts],
        "plans": plans,
    }


def _written() -> dict[str, Any]:
    skip = {"id", "created_at", "updated_at", "household", "household_id", "batch", "batch_id"}

    def rows(qs: Any, key: Callable[[Any], Any]) -> list[Any]:
        out = []
        for obj in qs:
            values = {
                f.attname: getattr(obj, f.attname)
                for f in obj._meta.concrete_fields
                if f.attname not in skip
                and f.name not in skip
                and not isinstance(getattr(obj, f.attname), datetime.datetime)
            }
            out.append((key(obj), sorted(values.items(), key=lambda kv: kv[0])))
        return sorted(out, key=repr)

    return {
        "households": rows(Household.all_objects.all(), lambda o: o.household_code),
        "members": rows(
            Member.all_objects.select_related("household").order_by("id"),
            lambda o: (o.household.household_code, o.id_number),
        ),
        # Members of one household in the order they were written.
        "member_order": [
            (m.household.household_code, m.id_number)
            for m in Member.all_objects.select_related("household").order_by(
                "household__household_code", "id"
            )
        ],
        "incomes": rows(
            IncomeRecord.all_objects.select_related("household"),
            lambda o: (o.household.household_code, o.year),
        ),
        "status": rows(
            StatusChange.objects.select_related("household").exclude(recorded_at=None),
            lambda o: (o.household.household_code, o.status_to, o.reason),
        ),
        "changes": sorted(
            (c.household.household_code, c.kind, c.diff)
            for c in ImportChange.objects.select_related("household")
        ),
        # The masked copy of the new households (ADR 0040): the same parts, byte for byte.
        "copies": [
            (c.part, c.households, created.read_part(c.data), bytes(c.data))
            for c in ImportCreatedCopy.objects.order_by("batch_id", "part")
        ],
        "batches": sorted(
            (
                b.status,
                b.error_count,
                b.households_new,
                b.households_changed,
                b.members_new,
                b.rows_refused,
            )
            for b in ImportBatch.objects.all()
        ),
        "audit": [
            (e.event, e.outcome, e.diff)
            for e in AuditEvent.objects.filter(event__startswith="imports.").order_by("id")
        ],
    }


def outcome(data: bytes, name: str, actor: Any, *, fast: bool) -> dict[str, Any]:
    columnar.ENABLED = fast
    part_size, created.PART_SIZE = (
        created.PART_SIZE,
        3,
    )  # parts cut across the writers' chunks (4 new households: 3 + 1)
    try:
        result = plan_import(data, name, actor=actor)
        view = _plan_view(result)
        view["columnar"] = result.new_block is not None
        with transaction.atomic():
            committed = do_commit_import(data, name, actor=actor)
            view["committed"] = committed.committed
            view["commit_errors"] = [str(e) for e in committed.result.errors]
            view["written"] = _written()
            transaction.set_rollback(True)
    finally:
        columnar.ENABLED = True
        created.PART_SIZE = part_size
    return view


def _file(kind: str, title: list[str], header: list[str], rows: Rows) -> tuple[bytes, str]:
    if kind == "csv":
        return csv_bytes([title, header, *rows], "utf-8-sig"), "f.csv"
    return xlsx({"说明": [["填表说明"], ["请勿修改"]], "花名册": [title, header, *rows]}), "f.xlsx"


def _compare(
    world: Any, kind: str, rows: Rows, title: list[str], header: list[str], user: str = "county"
) -> tuple[dict[str, Any], dict[str, Any]]:
    data, name = _file(kind, title, header, rows)
    actor = world.user(user)
    slow = outcome(data, name, actor, fast=False)
    fast = outcome(data, name, actor, fast=True)
    assert not slow["columnar"]
    assert {k: v for k, v in fast.items() if k != "columnar"} == {
        k: v for k, v in slow.items() if k != "columnar"
    }
    return slow, fast


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("case", list(CASES))
def test_columnar_and_per_row_paths_agree(world: Any, case: str, kind: str) -> None:
    title, header, existing = roster(world)
    template = [
        r for r in existing if r[header.index("户编号")] == existing[0][header.index("户编号")]
    ]
    assert len(template) >= 2
    new = new_households(header, template, 4, 100)
    make, stays = CASES[case]
    rows = make(header, existing, new)
    user = "township" if case == "village of another township" else "county"
    slow, fast = _compare(world, kind, rows, title, header, user)
    assert fast["columnar"]  # bad rows too: only their households are read row by row
    assert slow["ok"] is stays
    counts = slow["counts"]
    if case == "existing changed":
        assert (counts["households_changed"], counts["members_changed"]) == (1, 1)
    if case == "new member in an existing household":
        assert (counts["households_changed"], counts["members_new"]) == (1, 1)
    if stays:
        assert counts["households_new"] == (
            0 if case == "new member in an existing household" else 4
        )


@pytest.mark.single_database  # the parametrised cases above run on both databases
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    faults=st.lists(
        st.sampled_from([c for c, (_f, stays) in CASES.items() if not stays]), max_size=3
    ),
    shuffle=st.randoms(use_true_random=False),
)
def test_combined_faults_agree(world: Any, faults: list[str], shuffle: Any) -> None:
    title, header, existing = roster(world)
    template = [
        r for r in existing if r[header.index("户编号")] == existing[0][header.index("户编号")]
    ]
    new = new_households(header, template, 3, 200)
    for fault in faults:  # every fault case changes only the new households' rows
        new = CASES[fault][0](header, existing, new)
    rows = [*existing, *new]
    shuffle.shuffle(rows)
    _compare(world, "csv", rows, title, header)


def test_a_sheet_too_long_is_worded_by_the_per_row_path(world: Any, monkeypatch: Any) -> None:
    """An error while streaming rows (here the row cap) sends the file to the per-row path."""
    from jingzhun.imports import reader

    title, header, existing = roster(world)
    monkeypatch.setattr(reader, "CONTAINED", False)  # the cap is patched in this process
    monkeypatch.setattr(reader, "MAX_ROWS", 4)
    data = csv_bytes([title, header, *existing], "utf-8")
    fast = plan_import(data, "a.csv", actor=world.user("county"))
    columnar.ENABLED = False
    try:
        slow = plan_import(data, "a.csv", actor=world.user("county"))
    finally:
        columnar.ENABLED = True
    assert fast.unreadable and slow.unreadable
    assert [str(e) for e in fast.errors] == [str(e) for e in slow.errors]
    assert "超过 4 行" in str(fast.errors[0])


@pytest.mark.parametrize("case", ["existing unchanged and new", "sex against the ID"])
def test_a_workbook_is_unpacked_once(world: Any, monkeypatch: Any, case: str) -> None:
    """The rows of refused households are read again from the cells calamine already holds
    (`Sheet.again`), not by unpacking the file a second time; the errors are the per-row
    path's (`test_columnar_and_per_row_paths_agree` compares every detail)."""
    from jingzhun.imports import reader

    title, header, existing = roster(world)
    template = [
        r for r in existing if r[header.index("户编号")] == existing[0][header.index("户编号")]
    ]
    rows = CASES[case][0](header, existing, new_households(header, template, 2, 300))
    data, name = _file("xlsx", title, header, rows)
    unpacked: list[int] = []
    real = reader.sandbox.Channel

    def counting(*args: Any) -> Any:  # each read is a child that unpacks the file
        unpacked.append(1)
        return real(*args)

    monkeypatch.setattr(reader.sandbox, "Channel", counting)
    result = plan_import(data, name, actor=world.user("county"))
    assert result.new_block is not None  # the columnar path
    assert len(unpacked) == 1
    if CASES[case][1]:
        assert result.ok
    else:
        assert not result.ok
        assert any("性别" in str(e) for e in result.errors)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("clean", [True, False])
def test_household_type_column_agrees(world: Any, kind: str, clean: bool) -> None:
    # issue 19: a 户类型 column makes new households ordinary (未建档立卡) or registered; an
    # ordinary household with a registered 脱贫状态 is refused, by both paths alike.
    title, header, existing = roster(world)
    code = header.index("户编号")
    template = [r for r in existing if r[code] == existing[0][code]]
    new = new_households(header, template, 4, 100)
    status = header.index("脱贫状态")
    rows = [[*r, "是"] for r in existing]
    for r in new:
        ordinary = r[code].endswith(("-0", "-2"))
        r = list(r)
        if ordinary and (clean or not r[code].endswith("-0")):
            r[status] = ""
        rows.append([*r, "一般农户" if ordinary else "建档立卡户"])
    slow, fast = _compare(world, kind, rows, title, [*header, "户类型"])
    assert fast["columnar"] and slow["ok"] is clean
    if clean:
        written = {c: dict(values)["poverty_status"] for c, values in slow["written"]["households"]}
        assert {c: s for c, s in written.items() if c.startswith("N")} == {
            "N100-0": "not_registered",
            "N100-1": "not_exited",
            "N100-2": "not_registered",
            "N100-3": "not_exited",
        }
    else:
        assert [e[0] for e in slow["errors"]] and all(
            "户类型为一般农户（未建档立卡），脱贫状态却为“未脱贫”" in e[0] for e in slow["errors"]
        )


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_rule_added_to_the_shared_table_is_applied_by_both_paths(
    world: Any, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rules.NEW_MEMBER_REQUIRED is read by the per-row pipeline (wording) and by the columnar
    # path (flagging): a field made required there refuses a new member without it, alike.
    from jingzhun.imports import rules

    monkeypatch.setitem(
        rules.NEW_MEMBER_REQUIRED, "education", "新成员必须填写文化程度（测试规则）"
    )
    title, header, existing = roster(world)
    code = header.index("户编号")
    template = [r for r in existing if r[code] == existing[0][code]]
    rows = [*existing, *new_households(header, template, 3, 100)]
    education = header.index("文化程度")
    for r in rows:
        if r[code].startswith("N") and not r[education]:
            r[education] = "初中"
    clean, _ = _compare(world, kind, rows, title, header)
    assert clean["ok"]
    rows[-1][education] = ""  # a new member without it
    slow, fast = _compare(world, kind, rows, title, header)
    assert not slow["ok"] and [e[0] for e in slow["errors"]] == [e[0] for e in fast["errors"]]
    assert any("新成员必须填写文化程度（测试规则）" in e[0] for e in slow["errors"])
