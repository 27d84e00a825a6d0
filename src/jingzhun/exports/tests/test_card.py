"""The household card (明白卡) as PDF and .xlsx: the same content, masked by default, scoped."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from jingzhun.assessments.actions import do_assess_households
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden, OutOfScope
from jingzhun.exports.actions import do_export_card
from jingzhun.registry.actions import do_record_income
from jingzhun.registry.idcard import mask
from jingzhun.registry.models import Household, Member
from jingzhun.registry.selectors import households_for

from .conftest import approval, lo_rows, pdf_text, secrets_of

VILLAGE = "230231100201"


def card(actor: Any, household: Household, fmt: str = "pdf", **kwargs: Any) -> bytes:
    out = io.BytesIO()
    do_export_card(household.pk, fmt, out, actor=actor, **kwargs)
    return out.getvalue()


@pytest.fixture
def assessed(world: Any) -> Household:
    """The household of VILLAGE with income for 2019 and a stored exit assessment."""
    household = world.households[VILLAGE]
    do_record_income(
        household.pk, 2019, {"wage_income": "9000", "business_costs": "1000"}, actor=None
    )
    do_assess_households(households_for(world.user("county")), "household_exit", 2019, actor=None)
    return Household.objects.get(pk=household.pk)


def test_masked_pdf_card_holds_household_members_income_pairing_and_assessment(
    world: Any, assessed: Household
) -> None:
    text = pdf_text(card(world.user("village"), assessed))
    head = Member.objects.get(name="张三")
    for expected in (
        "贫困户明白卡",
        "H100201",
        "张三",
        "张小",
        mask(head.id_number),
        "家庭纯收入",
        "8000",  # 9000 - 1000
        "4000",  # per person (2 members)
        "结对帮扶",
        "helper",
        "贫困户退出标准判定（2019 年",
        "不愁吃",
        "导出人：village",
        "已脱敏",
    ):
        assert expected in text, expected
    assert "长期慢性病" not in text  # health hidden when masked
    assert "1970-01-01" not in text  # no birth date beside the masked ID
    assert [s for s in secrets_of(world) if s in text] == []


def test_unmasked_card_needs_the_permission(world: Any, assessed: Household) -> None:
    village = world.user("village")
    with pytest.raises(Forbidden):
        card(village, assessed, unmasked=True)
    assert AuditEvent.objects.filter(event="exports.card.refuse", outcome="refused").count() == 1
    granted = approval(village, "card", household=assessed)
    text = pdf_text(card(village, assessed, unmasked=True, approval=granted))
    head = Member.objects.get(name="张三")
    assert head.id_number in text and "13900000001" in text and "长期慢性病" in text
    event = AuditEvent.objects.get(event="exports.card.export")
    assert event.object_type == "household" and event.object_id == str(assessed.pk)
    assert event.diff["masked"] is False and event.diff["format"] == "pdf"


def test_xlsx_card_has_the_same_sections(world: Any, assessed: Household, tmp_path: Path) -> None:
    rows = lo_rows(card(world.user("county"), assessed, "xlsx"), tmp_path)
    cells = [c for row in rows for c in row if c]
    assert cells[0] == "贫困户明白卡"
    for title in ("基本信息", "家庭成员", "家庭收入（元）", "结对帮扶", "生产生活条件"):
        assert title in cells
    assert any(c.startswith("贫困户退出标准判定（2019 年") for c in cells)
    head = Member.objects.get(name="张三")
    assert mask(head.id_number) in cells
    assert "***" in cells  # health status hidden
    assert [s for s in secrets_of(world) if any(s in c for c in cells)] == []


def test_a_household_out_of_scope_is_not_found_and_nothing_is_recorded(world: Any) -> None:
    other = world.households["230231101201"]
    with pytest.raises(OutOfScope):
        card(world.user("township"), other)
    with pytest.raises(OutOfScope):
        card(world.user("helper"), other)
    assert not AuditEvent.objects.filter(event="exports.card.export").exists()


def test_a_card_without_income_pairing_or_assessment_says_so(world: Any) -> None:
    text = pdf_text(card(world.user("county"), world.households["230231101202"]))
    assert "尚无收入记录" in text
    assert "结对帮扶" not in text and "退出标准判定" not in text


def test_card_prints_helpers_measures_coverage_and_policies(world: Any, tmp_path: Path) -> None:
    from jingzhun.assistance.measures import (
        do_complete_measure,
        do_decide_measure,
        do_propose_measure,
    )

    household = world.households[VILLAGE]
    import datetime

    day = datetime.date(2025, 3, 1)
    m = do_propose_measure(
        household.pk,
        "medical_aid",
        day,
        amount="1200",
        description="大病二次报销",
        actor=world.user("village"),
    )
    do_decide_measure(m.pk, True, actor=world.user("township"))
    do_complete_measure(m.pk, day, actor=world.user("village"))
    refused = do_propose_measure(household.pk, "training", day, actor=world.user("village"))
    do_decide_measure(refused.pk, False, "不符合条件", actor=world.user("township"))
    text = pdf_text(card(world.user("village"), household))
    for expected in (
        "结对帮扶",
        "helper",  # the helper
        "帮扶措施",
        "医疗救助",
        "卫生健康局",
        "大病二次报销",
        "1200",
        "已完成",
        "每户至少 2 项产业带动",
        "未满足",
        "已有 0 项产业带动措施",
        "享受政策",
        "参加城乡居民基本医疗保险",  # both members are insured in the fixture
    ):
        assert expected in text, expected
    assert "技能培训" not in text  # a refused measure is not on the card
    cells = [
        c
        for row in lo_rows(card(world.user("county"), household, "xlsx"), tmp_path)
        for c in row
        if c
    ]
    assert "帮扶措施" in cells and "医疗救助" in cells and "享受政策" in cells
