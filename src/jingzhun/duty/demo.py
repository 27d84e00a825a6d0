"""Demo data of responsibility and scheduling and of tickets (issue 24 items 1, 3): the sample
command structure and responsibility lists of the demo county, a dozen tasks in the demo
township (some overdue, some missing their report, some done) and some twenty tickets of the
demo village in every state. Called by the demo generator (jingzhun.demo), through the actions;
only the dates of what happened before today are set afterwards (a demo of a campaign that began
weeks ago). Fast: a few dozen rows."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from jingzhun.core.errors import DomainError
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household
from jingzhun.tickets.actions import (
    Intake,
    do_close_ticket,
    do_create_ticket,
    do_record_satisfaction,
    do_reply_ticket,
    do_route_ticket,
)
from jingzhun.tickets.models import Ticket

from .actions import do_assign_task, do_complete_task, do_import_structure, do_report_progress
from .models import CommandUnit, ProgressReport, Responsibility, Task, TaskEscalation
from .structure import read_structure, sample_for

# The tables of this app, dependents first (the demo reset clears them with the regions).
DUTY_TABLES = [ProgressReport, TaskEscalation, Task, CommandUnit, Responsibility]

TASKS = [
    ("完成监测对象季度动态排查", "乡镇党委政府", "周海", "weekly"),
    ("产业项目开工建设", "县农业农村局", "李明", "monthly"),
    ("脱贫劳动力务工就业信息更新", "县人社局", "钱进", "weekly"),
    ("农村危房动态清零复核", "县住建局", "赵强", "monthly"),
    ("控辍保学劝返复学", "县教育局", "孙丽", "weekly"),
    ("家庭医生签约服务随访", "县卫健局", "郑华", "monthly"),
    ("饮水安全季节性缺水排查", "县水务局", "冯涛", "weekly"),
    ("衔接资金项目公告公示", "县乡村振兴局", "陈晨", "monthly"),
]
TICKETS = [
    ("secretary", "hardship", "家中老人住院，医疗费用负担重，申请临时救助"),
    ("hotline", "policy", "咨询脱贫户子女上大学的资助政策"),
    ("secretary", "assistance", "希望帮扶发展肉牛养殖，需要技术指导"),
    ("petition", "funds", "反映村道路硬化项目未按公示完工"),
    ("hotline", "conduct", "反映帮扶干部长期未入户走访"),
    ("self_report", "hardship", "因灾房屋受损，申请核查"),
    ("secretary", "other", "咨询医保缴费时间"),
]


@transaction.atomic
def add_demo_governance(county_code: str, township_code: str, village_code: str) -> dict[str, int]:
    from jingzhun.access.models import User

    users = {
        u.username: u for u in User.objects.filter(username__in=["county", "township", "village"])
    }
    if len(users) < 3:
        return {"tasks": 0, "tickets": 0}
    regions = {
        r.code: r
        for r in Region.objects.filter(code__in=[county_code, township_code, village_code])
    }
    units, items = read_structure(
        "structure.yaml",
        sample_for(regions[county_code], regions[township_code], regions[village_code]),
    )
    do_import_structure(county_code, units, items, source="演示样例", actor=users["county"])
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    tasks = 0
    for i, (title, unit, person, schedule) in enumerate(TASKS):
        region = township_code if i % 2 == 0 else county_code
        actor = users["township"] if region == township_code else users["county"]
        try:
            task = do_assign_task(
                region_code=region, title=title, owner_unit=unit, owner_person=person,
                schedule=schedule, deadline=today + (10 + 5 * i) * day, actor=actor,
            )  # fmt: skip
        except DomainError:  # a report date in a year the holiday calendar lacks (late December)
            continue
        if i % 4 == 1:
            do_report_progress(task.pk, progress=40 + 5 * i, text_="按计划推进", actor=actor)
        if i == 6:
            do_complete_task(task.pk, actor=users["county"])
        tasks += 1
    # a campaign weeks old: two tasks past their deadline, three missing their report
    open_tasks = list(Task.objects.filter(county_code=county_code, status="open").order_by("pk"))
    for i, task in enumerate(open_tasks[:5]):
        back = (30 + 7 * i) * day
        Task.objects.filter(pk=task.pk).update(
            assigned_on=today - back - 10 * day,
            deadline=today - 3 * day if i < 2 else task.deadline,
            next_report_on=today - (2 + i) * day,
        )
    households = list(Household.objects.filter(village_id=village_code).order_by("pk")[:6])
    made = 0
    for i in range(21):
        channel, category, content = TICKETS[i % len(TICKETS)]
        household = households[i % len(households)] if households and i % 3 != 2 else None
        try:
            ticket = do_create_ticket(
            Intake(
                channel=channel, category=category,
                requester_name=household.head_name if household else "匿名来电",
                content=content, received_on=today - (i * 5) * day,
                region_code=village_code, household_id=household.pk if household else None,
                requester_phone=f"1390000{i:04d}",
            ),
            actor=users["village"],
        )  # fmt: skip
        except DomainError:  # a deadline in a year the holiday calendar lacks
            continue
        made += 1
        if i % 4 == 0:
            continue  # being handled
        do_route_ticket(ticket.pk, "乡镇民政办" if category == "hardship" else "乡镇党政办",
                        actor=users["township"])  # fmt: skip
        if i % 4 == 1 and i > 4:
            continue  # routed, not yet replied (overdue for the older ones)
        do_reply_ticket(ticket.pk, "已入户核实，按政策办理并告知诉求人", actor=users["township"])
        if i % 4 == 2:
            continue
        do_record_satisfaction(ticket.pk, "satisfied", actor=users["village"])
        ticket.refresh_from_db()
        if ticket.supervisor_code == township_code:
            do_close_ticket(ticket.pk, actor=users["township"])
    assert Ticket.objects.filter(county_code=county_code).count() >= made
    return {"tasks": tasks, "tickets": made}
