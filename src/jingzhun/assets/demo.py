"""Demo assets for the demo county (issue 23 item 4): village solar stations and a cooperative
equity stake in the demo township, a year's income, and one station's distribution plan paid
to households of the demo village (job wages, labour on small works, a reward), written
through the actions by the demo accounts (village registers and drafts, township approves,
posts and pays). Deterministic: villages and households in code/id order, dates counted back
from today. Nothing imports it but the demo command."""

from __future__ import annotations

import datetime

from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.access.scoping import granted_codes
from jingzhun.projects.models import Project
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household

from .actions import (
    do_approve_plan,
    do_confirm_asset,
    do_create_plan,
    do_pay_plan,
    do_post_plan,
    do_record_asset_income,
    do_register_asset,
    do_set_plan_payment,
)
from .models import Asset

YUAN = 100
JOBS = 12  # households paid job wages (保洁员、护林员、护路员…)
WORKS = 6  # households paid for labour on small works
POSTS = ("村庄保洁员", "护林员", "护路员", "河道巡查员", "光伏电站管护员", "孝老饭堂服务员")


def seed_demo_assets(county_code: str) -> int:
    """Assets of the demo township's villages with income; one paid plan. Returns how many
    households were paid (0 when the demo accounts are missing or assets exist already)."""
    users = {
        r: User.objects.filter(username=r, role=r).first()
        for r in ("village", "township", "county")
    }
    village_user, township, county = users["village"], users["township"], users["county"]
    if village_user is None or township is None or county is None:
        return 0
    villages = [c for c in granted_codes(village_user) if len(c) == 12]
    towns = [c for c in granted_codes(township) if len(c) == 12]
    if not villages or not towns or not villages[0].startswith(county_code[:6]):
        return 0
    if Asset.objects.filter(county_code=county_code).exists():
        return 0
    home = villages[0]
    others = list(
        Region.objects.filter(parent_id=towns[0], level="village")
        .exclude(code=home)
        .order_by("code")
        .values_list("code", flat=True)[:2]
    )
    today = timezone.localdate()
    received = today - datetime.timedelta(days=40)
    # the demo village's handed-over solar project (projects.demo), when there is one
    source = (
        Project.objects.filter(village_code=home, state="handed_over", name__contains="光伏")
        .order_by("pk")
        .first()
    )
    stations = []
    for n, code in enumerate([home, *others]):
        asset = do_register_asset(
            code,
            f"村级光伏扶贫电站（{300 - n * 50} 千瓦）",
            "solar",
            "operating",
            (1_800_000 - n * 300_000) * YUAN,
            capacity_kw=300 - n * 50,
            custodian="村光伏电站管护员",
            built_on=datetime.date(2018, 6, 30),
            project_id=source.pk if source is not None and code == home else None,
            actor=village_user if code == home else township,
        )
        do_confirm_asset(
            asset.pk, datetime.date(2021, 11, 1), f"县确权〔2021〕{n + 1}号", actor=county
        )
        do_record_asset_income(
            asset.pk,
            received,
            (240_000 - n * 40_000) * YUAN,
            f"国网电费结算-{received.year}-{n + 1}",
            f"demo-solar-{code}-{received.year}",
            note="上网电费及补贴，扣除运维、保险后的可分配收益",
            actor=township,
        )
        stations.append(asset)
    equity = do_register_asset(
        home,
        "肉牛养殖专业合作社入股（村集体）",
        "equity",
        "operating",
        500_000 * YUAN,
        custodian="村股份经济合作社",
        actor=village_user,
    )
    do_record_asset_income(
        equity.pk,
        received,
        35_000 * YUAN,
        f"合作社分红-{received.year}",
        f"demo-equity-{home}-{received.year}",
        note="入股资金 8% 保底分红",
        actor=township,
    )
    households = list(Household.objects.filter(village_id=home).order_by("pk")[: JOBS + WORKS])
    if not households:
        return 0
    station = stations[0]
    job_each, works_each, reward_each = 6_000 * YUAN, 2_000 * YUAN, 800 * YUAN
    jobs, works = households[:JOBS], households[JOBS:]
    rewarded = households[:5]
    job_total = job_each * len(jobs)
    works_total = works_each * len(works) + 40_000 * YUAN  # labour plus materials of small works
    reward_total = reward_each * len(rewarded)
    retention = (job_total + works_total + reward_total) // 900 * 100  # about a tenth, whole yuan
    plan = do_create_plan(
        station.pk,
        received.year,
        f"{received.year} 年度村级光伏电站收益分配方案",
        {
            "public_job": job_total,
            "works": works_total,
            "reward": reward_total,
            "retention": retention,
        },
        actor=village_user,
    )
    for n, h in enumerate(jobs):
        post = POSTS[n % len(POSTS)]
        do_set_plan_payment(
            plan.pk, h.pk, "public_job", job_each, f"{post}公益岗位 12 个月", actor=village_user
        )
    for h in works:
        do_set_plan_payment(
            plan.pk,
            h.pk,
            "works",
            works_each,
            "村内道路硬化、排水沟清淤务工 20 天",
            actor=village_user,
        )
    for h in rewarded:
        do_set_plan_payment(
            plan.pk,
            h.pk,
            "reward",
            reward_each,
            "人居环境整治“美丽庭院”评比奖励",
            actor=village_user,
        )
    do_approve_plan(plan.pk, actor=township)
    do_post_plan(plan.pk, today - datetime.timedelta(days=15), actor=township)
    do_pay_plan(plan.pk, today, f"demo-pay-{plan.pk}", actor=township)
    # the second station's plan waits for approval: something to do in the demo
    if len(stations) > 1:
        do_create_plan(
            stations[1].pk,
            received.year,
            f"{received.year} 年度村级光伏电站收益分配方案",
            {"public_job": 160_000 * YUAN, "works": 16_000 * YUAN, "retention": 24_000 * YUAN},
            actor=township,
        )
    return len({h.pk for h in households})
