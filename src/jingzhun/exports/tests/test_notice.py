"""The village posting notice (公示): chosen households of one village, never a sensitive value."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.exports.actions import do_export_notice
from jingzhun.exports.notice import COLUMNS, STATUS_COLUMN, NoticeSpec
from jingzhun.registry.actions import do_create_household, do_update_member
from jingzhun.registry.masking import SENSITIVE_FIELDS
from jingzhun.registry.models import Member

from .conftest import pdf_text, permit, secrets_of

VILLAGE = "230231100201"
SPEC = NoticeSpec("identification", datetime.date(2020, 3, 2), 7)
HEALTH_WORDS = ("健康", "长期慢性病", "患有大病", "残疾", "因病", "因残")


def notice(actor: Any, ids: list[int], village: str = VILLAGE, spec: NoticeSpec = SPEC) -> bytes:
    out = io.BytesIO()
    do_export_notice(village, ids, spec, out, actor=actor)
    return out.getvalue()


def test_no_column_of_a_notice_is_sensitive() -> None:
    shown = set(COLUMNS) | set(STATUS_COLUMN.values())
    assert shown.isdisjoint(SENSITIVE_FIELDS | {"bank_name", "main_cause", "other_causes"})


def test_the_notice_names_the_households_and_nothing_sensitive(world: Any) -> None:
    # Given a second household in the village, its head seriously ill and disabled
    from conftest import make_id

    second = do_create_household(
        "H100299",
        VILLAGE,
        {"group_name": "二组", "phone": "13811112222", "bank_account": "6222020011112221"},
        [{"id_number": make_id("230231", "19650302", 77), "name": "孙七", "relation": "head"}],
        actor=None,
    )
    sun = Member.objects.get(name="孙七")
    do_update_member(
        sun.pk, sun.version, {"health_status": "serious_illness", "disability_grade": 1}, actor=None
    )
    # When the village cadre, even one allowed unmasked exports, prints the notice for both
    village = permit(world.user("village"))
    first = world.households[VILLAGE]
    text = pdf_text(notice(village, [first.pk, second.pk]))
    # Then it shows the title, period, households and issuer
    for expected in (
        "第1镇第1镇1村贫困户识别公示",
        "2020 年 3 月 2 日",
        "2020 年 3 月 8 日",
        "共 2 户",
        "张三",
        "孙七",
        "H100299",
        "二组",
        "第1镇1村村民委员会",
    ):
        assert expected in text, expected
    # and no ID number (not even masked), phone, bank account or health detail
    assert [s for s in secrets_of(world) if s in text] == []
    assert not re.search(r"\d{6}\*{8}", text)
    assert [w for w in HEALTH_WORDS if w in text] == []
    assert "证件号码" not in text and "电话" not in text and "银行" not in text
    event = AuditEvent.objects.get(event="exports.notice.export")
    assert event.diff["households"] == 2 and event.diff["masked"] is True
    assert event.diff["household_ids"] == sorted([first.pk, second.pk])


def test_households_of_another_village_or_out_of_scope_are_refused(world: Any) -> None:
    other = world.households["230231100202"]
    with pytest.raises(OutOfScope):
        notice(world.user("county"), [world.households[VILLAGE].pk, other.pk])
    with pytest.raises(OutOfScope):
        notice(world.user("other_township"), [world.households[VILLAGE].pk])
    assert not AuditEvent.objects.filter(event="exports.notice.export").exists()


def test_a_posting_period_shorter_than_five_days_is_refused(world: Any) -> None:
    with pytest.raises(DomainError):
        notice(
            world.user("county"),
            [world.households[VILLAGE].pk],
            spec=NoticeSpec("exit", SPEC.start, 3),
        )
