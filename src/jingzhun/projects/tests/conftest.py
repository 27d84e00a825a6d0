"""Fixtures: fund sources and a project walked to approval through the real actions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.projects.actions import (
    do_create_project,
    do_move_project,
    do_post_project,
    do_set_project_funding,
)
from jingzhun.projects.ledger import do_allocate_funds, do_create_fund_source, do_receive_funds
from jingzhun.projects.models import FundSource, Project

COUNTY = "230231000000"
VILLAGE = "230231100201"
YUAN = 100


def new_project(world: Any, *, budget_fen: int = 10_000 * YUAN, region: str = VILLAGE) -> Project:
    return do_create_project(
        region,
        "村光伏电站",
        "industry",
        2026,
        budget_fen,
        task="建设 100 千瓦村级光伏电站",
        targets="年发电收益 8 万元",
        benefit_mechanism="收益用于公益岗位工资和奖补",
        implementer="第1镇人民政府",
        responsible="王乡长",
        actor=world.user("village"),
    )


def walk(world: Any, project: Project, *moves: str) -> Project:
    actors = {"review": "township", "start": "township"}
    for move in moves:
        actor = world.user(actors.get(move, "county"))
        project = do_move_project(project.pk, move, expected_version=project.version, actor=actor)
    return project


@pytest.fixture
def source(world: Any) -> FundSource:
    return do_create_fund_source(
        COUNTY,
        2026,
        "central",
        "2026 年中央衔接资金",
        document="财农〔2026〕1号",
        actor=world.user("county"),
    )


@pytest.fixture
def funded_source(world: Any, source: FundSource) -> FundSource:
    do_receive_funds(
        source.pk, 50_000 * YUAN, timezone.localdate(), key="receipt-1", actor=world.user("county")
    )
    return source


def plan_project(world: Any, source: FundSource, budget_fen: int = 10_000 * YUAN) -> Project:
    """A project in the annual plan, funded by `source` for its whole budget."""
    project = new_project(world, budget_fen=budget_fen)
    project = walk(world, project, "review")
    project = do_set_project_funding(project.pk, source.pk, budget_fen, actor=world.user("county"))
    return walk(world, project, "admit", "plan")


def approve(world: Any, project: Project) -> Project:
    start = timezone.localdate() - datetime.timedelta(days=12)
    do_post_project(project.pk, "plan", start, days=10, actor=world.user("county"))
    project.refresh_from_db()
    return walk(world, project, "approve")


@pytest.fixture
def approved(world: Any, funded_source: FundSource) -> Project:
    """An approved project with its whole budget (10,000 yuan) allocated from the source."""
    project = approve(world, plan_project(world, funded_source))
    do_allocate_funds(
        project.pk,
        funded_source.pk,
        10_000 * YUAN,
        timezone.localdate(),
        key="alloc-1",
        actor=world.user("county"),
    )
    return project
