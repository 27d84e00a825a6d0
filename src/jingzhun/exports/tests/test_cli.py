"""`jingzhun export …` as an operator runs it: masked by default, --unmasked only with permission."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from jingzhun.access.models import RegionGrant, User
from jingzhun.audit.models import AuditEvent
from jingzhun.exports.models import UnmaskedExportRequest
from jingzhun.registry.models import Member

from .conftest import pdf_text


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("export", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_roster_for_a_township_masked_by_default(world: Any, tmp_path: Path) -> None:
    target = tmp_path / "roster.xlsx"
    output = run("roster", "--township", "230231100000", "--user", "township", "-o", str(target))
    assert "2 户，4 行，已脱敏" in output
    ws = load_workbook(target).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert {r[1] for r in rows} == {"H100201", "H100202"}
    ids = set([m.id_number for m in Member.objects.all()])
    assert not any(v in ids for r in rows for v in r)
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left beside it


def test_unmasked_without_a_user_or_permission_exits_1_and_writes_nothing(
    world: Any, tmp_path: Path
) -> None:
    target = tmp_path / "roster.xlsx"
    for extra in ([], ["--user", "county"]):
        with pytest.raises(CommandError) as caught:
            run("roster", "--unmasked", *extra, "-o", str(target))
        assert caught.value.returncode == 1
        assert "未脱敏" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    assert AuditEvent.objects.filter(event="exports.roster.refuse").count() == 2


def test_permit_then_unmasked_facts(world: Any, tmp_path: Path) -> None:
    assert "已授予" in run("permit", "county", "--reason", "民政比对")
    assert User.objects.get(username="county").may_export_unmasked
    grant = AuditEvent.objects.get(event="access.unmasked_export.grant")
    assert grant.reason == "民政比对" and grant.actor is None
    target = tmp_path / "facts.json"
    # Without an approval the unmasked export is refused; the county user asks, a second county
    # user (who holds the permission too) approves, and the export names the approval.
    with pytest.raises(CommandError) as caught:
        run("facts", "--user", "county", "--unmasked", "-o", str(target))
    assert "批准" in str(caught.value) and not target.exists()
    second = User.objects.create_user(username="county2", role="county")
    RegionGrant.objects.create(user=second, region_id="230231000000")
    run("permit", "county2")
    asked = run(
        "request",
        "facts",
        "--user",
        "county",
        "--region",
        "230231000000",
        "--reason",
        "民政比对核查",
    )
    request_id = UnmaskedExportRequest.objects.get().pk
    assert f"审批单号 {request_id}" in asked
    with pytest.raises(CommandError) as caught:
        run("approve", str(request_id), "--user", "county")
    assert "不能审批自己" in str(caught.value)
    assert str(request_id) in run("requests", "--user", "county2")
    assert "已批准" in run("approve", str(request_id), "--user", "county2")
    run(
        "facts",
        "--approval",
        str(request_id),
        "--year",
        "2019",
        "--status",
        "remaining",
        "--user",
        "county",
        "--unmasked",
        "-o",
        str(target),
    )
    data = json.loads(target.read_text(encoding="utf-8"))
    assert len(data) == 4
    assert {m["id_number"] for f in data for m in f["members"]} == set(
        [m.id_number for m in Member.objects.all()]
    )
    # the approval is used once
    with pytest.raises(CommandError) as caught:
        run(
            "facts",
            "--user",
            "county",
            "--unmasked",
            "--approval",
            str(request_id),
            "-o",
            str(target),
        )
    assert "已使用" in str(caught.value)
    assert "已收回" in run("permit", "county", "--withdraw")
    with pytest.raises(CommandError):
        run("facts", "--user", "county", "--unmasked", "-o", str(target))


def test_permit_refuses_roles_that_may_not_hold_it(world: Any) -> None:
    with pytest.raises(CommandError) as caught:
        run("permit", "helper")
    assert "帮扶责任人" in str(caught.value)
    assert not User.objects.get(username="helper").may_export_unmasked


def test_card_and_notice(world: Any, tmp_path: Path) -> None:
    run("card", "H100201", "--user", "village", "-o", str(tmp_path / "card.pdf"))
    assert "H100201" in pdf_text((tmp_path / "card.pdf").read_bytes())
    run("card", "H100201", "-o", str(tmp_path / "card.xlsx"))
    assert load_workbook(tmp_path / "card.xlsx").active["A1"].value == "贫困户明白卡"
    run(
        "notice",
        "230231100201",
        "H100201",
        "--kind",
        "exit",
        "--start",
        "2020-03-02",
        "-o",
        str(tmp_path / "notice.pdf"),
    )
    assert "贫困户退出公示" in pdf_text((tmp_path / "notice.pdf").read_bytes())


def test_a_household_out_of_scope_or_unknown_exits_2(world: Any, tmp_path: Path) -> None:
    for args in (["H101201", "--user", "township"], ["NOPE"]):
        with pytest.raises(CommandError) as caught:
            run("card", *args, "-o", str(tmp_path / "card.pdf"))
        assert caught.value.returncode == 2
    with pytest.raises(CommandError) as caught:
        run("roster", "--user", "nobody", "-o", str(tmp_path / "r.xlsx"))
    assert caught.value.returncode == 2
    assert list(tmp_path.iterdir()) == []
