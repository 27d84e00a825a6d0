"""The project bank: proposal to asset handover through the lifecycle table, postings as PDF,
benefit links, scope, and the refusals (in Chinese, nothing written)."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.projects.actions import (
    do_create_project,
    do_export_fund_posting,
    do_link_benefit,
    do_move_project,
    do_post_project,
    do_set_project_funding,
    do_unlink_benefit,
)
from jingzhun.projects.ledger import do_disburse_funds
from jingzhun.projects.models import BenefitLink, Project, ProjectPosting, ProjectStep
from jingzhun.projects.selectors import benefit_summary, project_for, projects_for

from .conftest import VILLAGE, YUAN, new_project, walk


def test_a_project_goes_from_proposal_to_asset_handover(
    world: Any, funded_source: Any, approved: Any
) -> None:
    county = world.user("county")
    household = world.households[VILLAGE]
    link = do_link_benefit(
        approved.pk,
        household.pk,
        "wages",
        2026,
        2_400 * YUAN,
        note="公益岗位",
        actor=world.user("village"),
    )
    assert link.group == "registered"
    do_disburse_funds(
        approved.pk,
        funded_source.pk,
        9_000 * YUAN,
        timezone.localdate(),
        key="p1",
        voucher="付-1",
        payee="施工单位",
        actor=county,
    )
    p = walk(world, Project.objects.get(pk=approved.pk), "start", "accept")
    with pytest.raises(DomainError) as exc:  # the result posting comes first
        walk(world, p, "evaluate")
    assert exc.value.field == "posting"
    posting = do_post_project(p.pk, "result", timezone.localdate(), days=10, actor=county)
    assert bytes(posting.pdf).startswith(b"%PDF") and len(posting.sha256) == 64
    p = walk(world, Project.objects.get(pk=p.pk), "evaluate", "hand_over")
    assert p.state == "handed_over"
    moves = list(ProjectStep.objects.filter(project=p).values_list("move", flat=True))
    assert moves == [
        "propose",
        "review",
        "admit",
        "plan",
        "approve",
        "start",
        "accept",
        "evaluate",
        "hand_over",
    ]
    assert AuditEvent.objects.filter(
        event="projects.project.hand_over", object_id=str(p.pk)
    ).exists()
    assert benefit_summary(p) == {
        "households": 1,
        "amount_fen": 2_400 * YUAN,
        "groups": {"registered": 1},
    }


def test_the_plan_posting_must_have_ended_before_approval(world: Any, funded_source: Any) -> None:
    from .conftest import plan_project

    p = plan_project(world, funded_source)
    do_post_project(p.pk, "plan", timezone.localdate(), days=10, actor=world.user("county"))
    p.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        walk(world, p, "approve")
    assert "公示期" in exc.value.message
    with pytest.raises(DomainError) as exc:
        do_post_project(p.pk, "plan", timezone.localdate(), days=5, actor=world.user("county"))
    assert exc.value.field == "days"
    assert ProjectPosting.objects.filter(project=p).count() == 1


def test_refusals_leave_the_project_as_it_was(world: Any, source: Any) -> None:
    p = new_project(world)
    with pytest.raises(Forbidden):  # the village cannot review
        do_move_project(p.pk, "review", expected_version=p.version, actor=world.user("village"))
    with pytest.raises(StaleVersion):
        do_move_project(
            p.pk, "review", expected_version=p.version + 1, actor=world.user("township")
        )
    p = walk(world, p, "review")
    with pytest.raises(DomainError) as exc:  # no funding plan yet
        walk(world, p, "admit")
    assert exc.value.field == "funding"
    with pytest.raises(DomainError) as exc:
        do_set_project_funding(p.pk, source.pk, p.budget_fen + 1, actor=world.user("county"))
    assert "超过项目预算" in exc.value.message
    p.refresh_from_db()
    assert p.state == "reviewed" and p.funding.count() == 0


def test_benefit_links_are_refused_outside_the_county_and_before_approval(
    world: Any, funded_source: Any, approved: Any
) -> None:
    p = new_project(world)
    household = world.households[VILLAGE]
    with pytest.raises(DomainError) as exc:
        do_link_benefit(p.pk, household.pk, "wages", 2026, 0, actor=world.user("village"))
    assert "批复实施后" in exc.value.message
    do_link_benefit(approved.pk, household.pk, "dividend", 2026, 100, actor=world.user("county"))
    with pytest.raises(DomainError) as exc:
        do_link_benefit(
            approved.pk, household.pk, "dividend", 2026, 100, actor=world.user("county")
        )
    assert "请勿重复登记" in exc.value.message
    other = world.households["230231101201"]
    with pytest.raises(OutOfScope):  # the village's staff do not see another village's household
        do_link_benefit(approved.pk, other.pk, "wages", 2026, 0, actor=world.user("village"))
    link = BenefitLink.objects.get()
    do_unlink_benefit(link.pk, "登记错误", actor=world.user("county"))
    assert BenefitLink.objects.count() == 0 and BenefitLink.all_objects.count() == 1


def test_scope_of_projects(world: Any) -> None:
    p = new_project(world)
    assert list(projects_for(world.user("county"))) == [p]
    assert list(projects_for(world.user("township"))) == [p]
    assert list(projects_for(world.user("other_township"))) == []
    assert list(projects_for(world.user("helper"))) == []
    with pytest.raises(OutOfScope):
        project_for(world.user("other_township"), p.pk)
    with pytest.raises(OutOfScope):  # nor propose at another township's village
        do_create_project(
            "230231101201", "路", "infrastructure", 2026, 0, actor=world.user("village")
        )
    with pytest.raises(DomainError) as exc:
        do_create_project(VILLAGE, "", "industry", 2026, 0, actor=world.user("village"))
    assert exc.value.field == "name"


def test_the_fund_posting_is_written_as_pdf_and_xlsx(
    world: Any, funded_source: Any, approved: Any
) -> None:
    do_disburse_funds(
        approved.pk,
        funded_source.pk,
        1_000 * YUAN,
        timezone.localdate(),
        key="x1",
        voucher="付-x1",
        payee="张三",
        actor=world.user("county"),
    )
    out = io.BytesIO()
    do_export_fund_posting(approved.pk, "pdf", out, actor=world.user("township"))
    assert out.getvalue().startswith(b"%PDF")
    out = io.BytesIO()
    do_export_fund_posting(approved.pk, "xlsx", out, actor=world.user("auditor"))
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[-1][4:7] == ["付-x1", "张三", "1,000.00"]
    assert AuditEvent.objects.filter(event="projects.export.fund_posting").count() == 2
    with pytest.raises(OutOfScope):
        do_export_fund_posting(approved.pk, "pdf", io.BytesIO(), actor=world.user("other_township"))


def test_plan_posting_dates_are_checked(world: Any, funded_source: Any) -> None:
    from .conftest import plan_project

    p = plan_project(world, funded_source)
    with pytest.raises(DomainError):
        do_post_project(
            p.pk,
            "plan",
            timezone.localdate() - datetime.timedelta(days=400),
            actor=world.user("county"),
        )
    with pytest.raises(DomainError):
        do_post_project(p.pk, "result", timezone.localdate(), actor=world.user("county"))
