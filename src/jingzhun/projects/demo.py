"""Demo projects and funds (项目库、资金账) for the demo county, written through the project and
ledger actions by the demo accounts: the village proposes, the township reviews, the county
admits, plans, posts, approves, allocates and pays. Deterministic: the same projects, amounts
and households every time, dates counted back from today.

The projects stand at different stages of the lifecycle (so that every stage of the bank and
of the battle map's money figures has something in it); the implementing and finished ones have
money paid to named payees with vouchers and households linked as beneficiaries (联农带农)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.access.scoping import granted_codes
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household

from .actions import (
    do_create_project,
    do_link_benefit,
    do_move_project,
    do_post_project,
    do_set_project_funding,
)
from .ledger import do_allocate_funds, do_create_fund_source, do_disburse_funds, do_receive_funds
from .models import FundSource, Project

YUAN = 100
# (kind, name, budget in yuan, the stage it is walked to, benefit kind for its households)
PROJECTS: tuple[tuple[str, str, int, str, str], ...] = (
    ("industry", "村级光伏电站扩容", 480_000, "handed_over", "dividend"),
    ("industry", "肉牛养殖合作社入股", 300_000, "evaluated", "dividend"),
    ("infrastructure", "村内产业路硬化 2.4 公里", 860_000, "accepted", "wages"),
    ("employment", "扶贫车间设备购置", 220_000, "implementing", "wages"),
    ("water", "集中供水管网改造", 350_000, "implementing", "other"),
    ("housing", "农村危房改造（第二批）", 400_000, "approved", "subsidy"),
    ("education", "村幼儿园改扩建", 260_000, "planned", ""),
    ("industry", "大棚蔬菜基地", 520_000, "in_bank", ""),
    ("health", "村卫生室标准化建设", 150_000, "reviewed", ""),
    ("relocation", "安置点后续产业配套", 380_000, "proposed", ""),
)
SOURCES: tuple[tuple[str, str, int], ...] = (
    ("central", "中央财政衔接推进乡村振兴补助资金", 2_400_000),
    ("provincial", "省级财政衔接资金", 900_000),
    ("integrated", "统筹整合涉农资金", 1_200_000),
    ("east_west", "东西部协作资金", 500_000),
)
STAGES = (
    "proposed",
    "reviewed",
    "in_bank",
    "planned",
    "approved",
    "implementing",
    "accepted",
    "evaluated",
    "handed_over",
)
MOVE_TO = {
    "reviewed": ("review", "township"),
    "in_bank": ("admit", "county"),
    "planned": ("plan", "county"),
    "approved": ("approve", "county"),
    "implementing": ("start", "township"),
    "accepted": ("accept", "county"),
    "evaluated": ("evaluate", "county"),
    "handed_over": ("hand_over", "county"),
}
BENEFICIARIES = 12  # households linked per finished or running project


@dataclass(frozen=True)
class DemoProjects:
    projects: int
    postings: int  # ledger postings (receipts, allocations, disbursements)
    benefits: int  # household benefit links


def seed_demo_projects(county_code: str) -> DemoProjects:
    """Projects in the demo village, the county's fund sources with their money, allocations,
    payments and beneficiaries; nothing when the demo accounts are missing."""
    users = {r: User.objects.filter(username=r, role=r).first() for r in MOVE_TO_ROLES}
    if any(u is None for u in users.values()):
        return DemoProjects(0, 0, 0)
    villages = [code for code in granted_codes(users["village"]) if len(code) == 12]
    if not villages or not villages[0].startswith(county_code[:6]):
        return DemoProjects(0, 0, 0)
    village, county = villages[0], users["county"]
    today = timezone.localdate()
    year = today.year
    postings = 0
    sources: list[FundSource] = []
    for n, (kind, name, amount) in enumerate(SOURCES):
        source = do_create_fund_source(
            county_code, year, kind, f"{year} 年{name}", document=f"示例〔{year}〕{n + 1}号",
            actor=county,
        )  # fmt: skip
        do_receive_funds(
            source.pk,
            amount * YUAN,
            today - datetime.timedelta(days=200 - 10 * n),
            key=f"demo-receipt-{n}",
            memo="（演示）资金到账",
            actor=county,
        )
        sources.append(source)
        postings += 1
    households = list(
        Household.objects.filter(village_id=village)
        .exclude(poverty_status__in=c.CLOSED_STATUSES)
        .order_by("id")
        .values_list("pk", "poverty_status", "monitoring_category")[: BENEFICIARIES * 2]
    )
    benefits = 0
    for n, (kind, name, budget, stage, benefit) in enumerate(PROJECTS):
        source = sources[n % len(sources)]
        project = do_create_project(
            village,
            name,
            kind,
            year,
            budget * YUAN,
            task=f"（演示）{name}",
            targets="带动脱贫户和监测对象稳定增收",
            benefit_mechanism="务工、分红或到户补助，收益向脱贫户和监测对象倾斜",
            implementer="大兴镇人民政府",
            responsible="镇长",
            start_date=today - datetime.timedelta(days=150),
            end_date=today + datetime.timedelta(days=120),
            actor=users["village"],
        )
        target = STAGES.index(stage)
        for step in STAGES[1 : target + 1]:
            if step == "in_bank":  # the county's funding plan comes before admission
                project = do_set_project_funding(project.pk, source.pk, budget * YUAN, actor=county)
            if step == "approved":  # the plan posting, ended, before approval
                do_post_project(
                    project.pk, "plan", today - datetime.timedelta(days=40), actor=county
                )
            if step == "evaluated":  # the result posting and the beneficiaries first
                do_post_project(
                    project.pk, "result", today - datetime.timedelta(days=14), actor=county
                )
            if step == "implementing":
                postings += _pay(project, source, n, today, county)
            move, role = MOVE_TO[step]
            if step == "evaluated":
                benefits += _link(project, households, n, benefit, year, users["village"])
            project.refresh_from_db()
            project = do_move_project(
                project.pk, move, expected_version=project.version, actor=users[role]
            )
        if stage in ("implementing", "accepted") and benefit:
            benefits += _link(project, households, n, benefit, year, users["village"])
    return DemoProjects(len(PROJECTS), postings, benefits)


MOVE_TO_ROLES = ("county", "township", "village")


def _pay(project: Project, source: FundSource, n: int, today: datetime.date, county: User) -> int:
    """Allocate the whole budget from the source, then pay 60% in two payments."""
    budget = project.budget_fen
    do_allocate_funds(
        project.pk, source.pk, budget, today - datetime.timedelta(days=30), key=f"demo-alloc-{n}",
        memo="（演示）资金下达", actor=county,
    )  # fmt: skip
    for k, share in enumerate((40, 20)):
        do_disburse_funds(
            project.pk,
            source.pk,
            budget * share // 100,
            today - datetime.timedelta(days=20 - 5 * k),
            key=f"demo-pay-{n}-{k}",
            voucher=f"DEMO-{today.year}-{n:03d}-{k + 1}",
            payee="（演示）施工单位" if k == 0 else "（演示）设备供应商",
            memo="（演示）进度款",
            actor=county,
        )
    return 3


def _link(
    project: Project,
    households: list[tuple[int, str, str]],
    n: int,
    kind: str,
    year: int,
    village: User,
) -> int:
    """Link up to BENEFICIARIES households of the village to the project (a deterministic
    window of the village's households, different per project)."""
    if not households:
        return 0
    made = 0
    start = (n * 5) % len(households)
    chosen = (households[start:] + households[:start])[:BENEFICIARIES]
    for k, (household_id, _status, _monitoring) in enumerate(chosen):
        do_link_benefit(
            project.pk, household_id, kind, year, (600 + 50 * k) * YUAN,
            note="（演示）", actor=village,
        )  # fmt: skip
        made += 1
    return made
