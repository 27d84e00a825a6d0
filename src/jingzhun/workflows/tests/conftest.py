"""Fixtures for workflow tests: an applicant household and helpers that walk a case along its flow
through the real actions (uploads, checklist, postings put up in the past so they have ended)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COUNTY, VILLAGES, World, make_id
from django.utils import timezone

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
VILLAGE = VILLAGES["230231100000"][0]


@pytest.fixture(autouse=True)
def _evidence_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path


@pytest.fixture
def second_county(world: World) -> Any:
    from jingzhun.access.models import RegionGrant, User

    u = User.objects.create_user(username="county2", password="Test-pass-2026", role="county")
    RegionGrant.objects.create(user=u, region_id=COUNTY)
    return u


@pytest.fixture
def applicant(world: World) -> Any:
    """A household of village 100201 that applies to be identified (not yet registered)."""
    from jingzhun.registry.actions import do_create_household

    return do_create_household(
        "A100201",
        VILLAGE,
        {
            "attribute": "general",
            "main_cause": "lack_capital",
            "phone": "13900009999",
            "poverty_status": "not_registered",
        },
        [
            {
                "id_number": make_id("230231", "19800202", 91),
                "name": "孙七",
                "relation": "head",
                "labour_capacity": "ordinary",
                "basic_medical_insured": True,
            }
        ],
        actor=None,
    )


def upload(case: Any, kinds: tuple[str, ...], actor: Any) -> None:
    from jingzhun.workflows.actions import do_upload_evidence

    for kind in kinds:
        do_upload_evidence(case.pk, kind, f"{kind}.pdf", PDF + kind.encode(), actor=actor)


def move(case: Any, name: str, actor: Any, **kwargs: Any) -> Any:
    """Upload what the move needs, tick what it needs, then make it (fresh version each time)."""
    from jingzhun.workflows.actions import PostingIn, do_move_case, do_tick_checklist_item
    from jingzhun.workflows.models import Case
    from jingzhun.workflows.transitions import FLOWS

    case = Case.objects.get(pk=case.pk)
    m = FLOWS[case.kind].move(name)
    assert m is not None
    upload(case, m.evidence, actor)
    for item in (*m.checklist, *(("recheck_complaints",) if m.checklist else ())):
        case = Case.objects.get(pk=case.pk)
        if item not in case.checklist:
            do_tick_checklist_item(case.pk, item, "已核实", case.version, actor=actor)
    case = Case.objects.get(pk=case.pk)
    if m.starts_posting and "posting" not in kwargs:
        start = timezone.localdate() - datetime.timedelta(days=10)
        kwargs["posting"] = PostingIn(start, 5, "days")
    return do_move_case(case.pk, name, case.version, actor=actor, **kwargs)


Walker = Callable[..., Any]


def walk(case: Any, names: list[str], actors: dict[str, Any]) -> Any:
    """Make the moves in order, each by the first role allowed to make it."""
    from jingzhun.workflows.transitions import FLOWS

    for name in names:
        m = FLOWS[case.kind].move(name)
        assert m is not None
        role = next(r for r in ("village", "township", "county") if r in m.roles)
        case = move(case, name, actors[role])
    return case


def secure_household(household: Any) -> Any:
    """Meet every exit criterion but income (food, clothing, a grade A house, safe water)."""
    from jingzhun.registry.actions import do_update_household

    secure = {
        "food_secure": True,
        "clothing_secure": True,
        "house_safety_grade": "A",
        **dict.fromkeys(
            (
                "water_quantity_ok",
                "water_quality_ok",
                "water_convenience_ok",
                "water_reliability_ok",
            ),
            True,
        ),
    }
    return do_update_household(household.pk, household.version, secure, actor=None)
