"""Writes of the sampled exit self-check (issue 24 item 6; ADR 0078).

- The county office creates a self-check of its county for a year (`do_create_selfcheck`): the
  seed (given or drawn), the sampling rules in effect (policy table exit_self_check, file and
  hash kept), an inspection of the inspection app where its findings are registered, and a
  `DrawJob` on the task queue that draws the sample (`run_job`: frame → sampling.draw → rows).
- Survey teams (county and township staff, never the village's own cadres) enter a sampled
  household's survey (`do_save_survey`, version-checked).
- Every finding (a wrongly exited household, a missed one, a complaint) becomes a problem of the
  inspection app through its action `do_record_problem` (`do_register_findings`, county office;
  run after each survey the county office saves, and from the results page).
Each action: one transaction, role and region checked, refusals in Chinese, one audit event.
"""

from __future__ import annotations

import datetime
import secrets
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django_tasks import task

from jingzhun.access.scoping import can_see_region
from jingzhun.audit.actions import record
from jingzhun.core.checks import require_role
from jingzhun.core.errors import DomainError, OutOfScope, StaleVersion
from jingzhun.core.jobs import enqueue_after_commit, worker_name
from jingzhun.core.models import action
from jingzhun.inspection.actions import do_record_inspection, do_record_problem
from jingzhun.policy.store import PolicyError, default_store
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household, Member

from . import sampling
from .choices import RULES_TABLE
from .models import DrawJob, SampledHousehold, SelfCheck

CREATORS = frozenset({"county"})
SURVEYORS = frozenset({"county", "township"})
PLAN_RULES = (
    "villages_poor",
    "villages_non_poor",
    "exited_per_village",
    "remaining_share",
    "ordinary_fraction",
    "ordinary_max_per_village",
)
THRESHOLD_RULES = ("confidence", "max_wrong_exit_rate", "max_missed_rate", "min_approval")
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Rules:
    values: dict[str, float]
    path: str
    hash: str

    @property
    def plan(self) -> sampling.Plan:
        v = self.values
        return sampling.Plan(
            villages_poor=int(v["villages_poor"]),
            villages_non_poor=int(v["villages_non_poor"]),
            exited_per_village=int(v["exited_per_village"]),
            remaining_share=float(v["remaining_share"]),
            ordinary_fraction=float(v["ordinary_fraction"]),
            ordinary_max_per_village=int(v["ordinary_max_per_village"]),
        )

    def cite(self, name: str) -> str:
        return f"{self.values[name]}（策略表 {RULES_TABLE}，文件 {self.path}，内容哈希 {self.hash[:12]}）"


def rules_in_effect(on: datetime.date) -> Rules:
    """The exit_self_check table in effect on `on`: sizes and thresholds."""
    store = default_store()
    try:
        loaded = store.table_file(RULES_TABLE, on)
    except PolicyError as exc:
        raise DomainError(f"{on} 没有生效的退出自查抽样规则表（{RULES_TABLE}）。") from exc
    values: dict[str, float] = {}
    for name in PLAN_RULES + THRESHOLD_RULES:
        found = store.lookup(RULES_TABLE, on=on, rule=name)
        if found is None or found.value is None:
            raise DomainError(f"退出自查抽样规则表 {loaded.path} 缺少规则 {name}。")
        values[name] = float(found.value)
    return Rules(values, str(loaded.path), loaded.hash)


@action
@transaction.atomic
def do_create_selfcheck(
    county_code: str, year: int, *, title: str = "", seed: int | None = None, actor: Any
) -> SelfCheck:
    """A self-check of the actor's county for `year`; its sample is drawn on the task queue."""
    require_role(actor, CREATORS, "发起退出自查", system=False)
    county = Region.objects.filter(code=str(county_code or ""), level="county").first()
    if county is None or not can_see_region(actor, county.code):
        raise OutOfScope("未找到该县，或您无权访问。")
    today = timezone.localdate()
    if not 2014 <= int(year) <= today.year:
        raise DomainError(f"年度 {year} 无效：应在 2014 年至 {today.year} 年之间。", field="year")
    if seed is not None and not 0 <= int(seed) <= MAX_SEED:
        raise DomainError("随机种子应为不小于 0 的整数。", field="seed")
    if SelfCheck.objects.filter(county=county, year=year).exists():
        raise DomainError(f"{county.name} {year} 年已有退出自查，不能重复发起。", field="year")
    rules = rules_in_effect(datetime.date(int(year), 12, 31) if year < today.year else today)
    title = str(title or "").strip()[:200] or f"{county.name}{year}年贫困县退出自查"
    inspection = do_record_inspection(
        kind="routine",
        title=f"{title}（抽样核查发现问题）"[:200],
        region_code=county.code,
        organiser=f"{county.name}贫困县退出自查工作领导小组"[:100],
        started_on=today,
        actor=actor,
    )
    item = SelfCheck.objects.create(
        county=county,
        year=int(year),
        title=title,
        seed=int(seed) if seed is not None else secrets.randbelow(2**31),
        policy_file=rules.path,
        policy_hash=rules.hash,
        plan=rules.values,
        inspection=inspection,
        created_by=actor,
    )
    job = DrawJob.objects.create(selfcheck=item, requested_by=actor)
    record(
        "selfcheck.selfcheck.create",
        actor=actor,
        object_type="selfcheck",
        object_id=item.pk,
        diff={
            "county": [None, county.code],
            "year": [None, item.year],
            "seed": [None, item.seed],
            "policy": [None, f"{rules.path}@{rules.hash[:12]}"],
        },
    )
    enqueue_after_commit(run_draw_job, job.pk)
    return item


def frame(county_code: str) -> list[sampling.Village]:
    """The county's villages and their live households by group (exited, remaining, ordinary),
    with the present members counted: two queries."""
    prefix = codes.prefix(county_code)
    poor = dict(
        Region.objects.filter(code__startswith=prefix, level="village").values_list(
            "code", "is_poor_village"
        )
    )
    persons = dict(
        Member.objects.filter(household__county_code=county_code, left_on__isnull=True)
        .values("household_id")
        .annotate(n=Count("pk"))
        .values_list("household_id", "n")
    )
    group_of = {s: sampling.EXITED for s in c.EXITED_STATUSES}
    group_of |= {s: sampling.REMAINING for s in c.REMAINING_STATUSES}
    group_of[c.NOT_REGISTERED] = sampling.ORDINARY
    households: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    rows = Household.objects.filter(county_code=county_code).values_list(
        "pk", "village_id", "poverty_status"
    )
    for pk, village, status in rows:
        group = group_of.get(status)
        if group is not None and persons.get(pk, 0) > 0:
            households[village][group].append((pk, persons[pk]))
    return [
        sampling.Village(
            code,
            sampling.POOR if is_poor else sampling.NON_POOR,
            {g: list(v) for g, v in households.get(code, {}).items()},
        )
        for code, is_poor in sorted(poor.items())
    ]


@task()
def run_draw_job(job_id: int) -> str:
    """The queue's task: draw the sample of job `job_id` (`jingzhun worker`)."""
    job = run_job(job_id)
    return job.status if job is not None else "taken"


def run_job(job_id: int) -> DrawJob | None:
    """Draw one queued job's sample (None if another worker took it); failures kept on it."""
    if not DrawJob.take(job_id, worker_name()):
        return None
    job = DrawJob.objects.select_related("selfcheck", "requested_by").get(pk=job_id)
    try:
        households = _draw(job)
    except Exception as exc:
        DrawJob.fail(job_id, exc)
    else:
        DrawJob.finish(job_id, households=households)
    job.refresh_from_db()
    return job


def _draw(job: DrawJob) -> int:
    item = job.selfcheck
    villages = frame(item.county_id)
    if not any(v.households for v in villages):
        raise DomainError(f"{item.county_id} 没有可抽样的农户（请先导入户籍数据）。")
    plan = Rules(item.plan, item.policy_file, item.policy_hash).plan

    def progress(done: int, total: int) -> None:
        if done == total or done % 5 == 0:
            DrawJob.objects.filter(pk=job.pk).update(done=done, total=total)

    sample = sampling.draw(villages, plan, item.seed, progress=progress)
    with transaction.atomic():
        locked = SelfCheck.objects.select_for_update().get(pk=item.pk)
        if locked.design:
            raise DomainError("该退出自查的样本已经抽取，不能重抽。")
        SampledHousehold.objects.bulk_create(
            [
                SampledHousehold(
                    selfcheck=locked,
                    household_id=u.household_id,
                    village_id=u.village,
                    stratum=u.stratum,
                    group=u.group,
                    persons=u.persons,
                    weight=u.weight,
                )
                for u in sample.units
            ],
            batch_size=500,
        )
        SelfCheck.objects.filter(pk=locked.pk).update(
            design=sample.design, version=F("version") + 1
        )
        record(
            "selfcheck.sample.draw",
            actor=job.requested_by,
            object_type="selfcheck",
            object_id=locked.pk,
            diff={"households": [0, len(sample.units)], "seed": [None, locked.seed]},
        )
    return len(sample.units)


def _flag(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


@action
@transaction.atomic
def do_save_survey(
    sampled_id: int,
    *,
    version: int,
    surveyed_on: datetime.date,
    team: str,
    answers: dict[str, Any],
    actor: Any,
) -> SampledHousehold:
    """Enter (or correct) a sampled household's survey. `answers`: food_clothing_secure,
    education_secure, medical_secure, housing_secure, water_secure (bool), income_per_capita_fen
    (int ≥ 0), wrongly_exited_persons (exited households), missed_persons (ordinary
    households), approves (bool, required), complaint (text)."""
    require_role(actor, SURVEYORS, "录入入户调查", system=False)
    row = (
        SampledHousehold.objects.select_for_update(of=("self",))
        .select_related("selfcheck", "household")
        .filter(pk=sampled_id)
        .first()
    )
    if row is None or not can_see_region(actor, row.village_id):
        raise OutOfScope("未找到该抽样户，或您无权访问。")
    if row.selfcheck.closed:
        raise DomainError(
            f"该退出自查已于 {row.selfcheck.closed_on} 结束调查，不能再录入或修改入户调查。",
            field="surveyed_on",
        )
    if row.version != version:
        raise StaleVersion("该调查已被他人修改，请刷新后再录入。")
    name = f"抽样户 {row.household.household_code}"
    if surveyed_on > timezone.localdate():
        raise DomainError(f"{name}：调查日期不能晚于今天。", field="surveyed_on")
    team = str(team or "").strip()
    if not team or len(team) > 50:
        raise DomainError(f"{name}：请填写核查组（不超过 50 字）。", field="team")
    approves = _flag(answers.get("approves"))
    if approves is None:
        raise DomainError(f"{name}：请填写是否认可帮扶和退出工作。", field="approves")
    wrong = int(answers.get("wrongly_exited_persons") or 0)
    missed = int(answers.get("missed_persons") or 0)
    if wrong and row.group != sampling.EXITED:
        raise DomainError(f"{name}：只有已脱贫户可以认定为错退。", field="wrongly_exited_persons")
    if missed and row.group != sampling.ORDINARY:
        raise DomainError(f"{name}：只有一般农户可以认定为漏评。", field="missed_persons")
    for value, field, label in (
        (wrong, "wrongly_exited_persons", "错退人数"),
        (missed, "missed_persons", "漏评人数"),
    ):
        if not 0 <= value <= row.persons:
            raise DomainError(
                f"{name}：{label}应在 0 到 {row.persons}（抽样时人数）之间。", field=field
            )
    income = answers.get("income_per_capita_fen")
    if income not in (None, "") and int(income) < 0:
        raise DomainError(f"{name}：人均纯收入不能为负数。", field="income_per_capita_fen")
    complaint = str(answers.get("complaint") or "").strip()
    if len(complaint) > 500:
        raise DomainError(f"{name}：意见或投诉不能超过 500 字。", field="complaint")
    before = {
        "surveyed_on": row.surveyed_on.isoformat() if row.surveyed_on else None,
        "wrongly_exited_persons": row.wrongly_exited_persons,
        "missed_persons": row.missed_persons,
        "approves": row.approves,
    }
    values: dict[str, Any] = {
        "surveyed_on": surveyed_on,
        "team": team,
        "wrongly_exited_persons": wrong,
        "missed_persons": missed,
        "approves": approves,
        "complaint": complaint,
        "income_per_capita_fen": int(income) if income not in (None, "") else None,
        "surveyed_by": actor,
    }
    for key in (
        "food_clothing_secure",
        "education_secure",
        "medical_secure",
        "housing_secure",
        "water_secure",
    ):
        values[key] = _flag(answers.get(key))
    SampledHousehold.objects.filter(pk=row.pk, version=version).update(
        version=F("version") + 1, **values
    )
    row.refresh_from_db()
    record(
        "selfcheck.survey.save",
        actor=actor,
        object_type="sampled_household",
        object_id=row.pk,
        diff={
            k: [before[k], values[k].isoformat() if k == "surveyed_on" else values[k]]
            for k in before
        },
    )
    if actor.role in CREATORS and _has_finding(row):
        # the survey stands even when its problem cannot be made now (a deadline in a year the
        # working-day calendar lacks): the finding then waits, counted on the self-check's page,
        # for the county office's do_register_findings
        try:
            with transaction.atomic():
                do_register_findings(row.selfcheck_id, actor=actor)
        except DomainError:
            pass
        row.refresh_from_db()
    return row


def _has_finding(row: SampledHousehold) -> bool:
    return bool(
        (row.wrongly_exited_persons or row.missed_persons) and row.finding_problem_id is None
    ) or bool(row.complaint and row.complaint_problem_id is None)


def findings_q() -> Q:
    """Surveyed households with a finding not yet registered as a problem."""
    return Q(surveyed_on__isnull=False) & (
        (
            (Q(wrongly_exited_persons__gt=0) | Q(missed_persons__gt=0))
            & Q(finding_problem__isnull=True)
        )
        | (~Q(complaint="") & Q(complaint_problem__isnull=True))
    )


@action
@transaction.atomic
def do_register_findings(selfcheck_id: int, *, actor: Any) -> int:
    """Every unregistered finding of the self-check becomes a problem of its inspection
    (inspection.actions.do_record_problem: deadline by the inspection rules); the number made."""
    require_role(actor, CREATORS, "登记自查发现的问题", system=False)
    item = SelfCheck.objects.select_for_update().filter(pk=selfcheck_id).first()
    if item is None or not can_see_region(actor, item.county_id):
        raise OutOfScope("未找到该退出自查，或您无权访问。")
    if item.inspection_id is None:
        raise DomainError("该退出自查没有对应的督查，无法登记问题。")
    rows = list(
        # lock the sampled rows only (PostgreSQL refuses FOR UPDATE on the outer-joined parent)
        SampledHousehold.objects.select_for_update(of=("self",))
        .filter(findings_q(), selfcheck=item)
        .select_related("household", "village__parent")
        .order_by("pk")
    )
    made = 0
    for row in rows:
        assert row.surveyed_on is not None
        town = row.village.parent.name if row.village.parent else row.village.name
        common = {
            "region_code": row.village_id,
            "household_id": row.household_id,
            "responsible_unit": f"{town}人民政府"[:100],
            "responsible_person": "乡镇党委书记",
            "found_on": row.surveyed_on,
            "actor": actor,
        }
        changes: dict[str, Any] = {}
        code = row.household.household_code
        if (row.wrongly_exited_persons or row.missed_persons) and row.finding_problem_id is None:
            if row.wrongly_exited_persons:
                problem = do_record_problem(
                    item.inspection_id,
                    category="exit",
                    description=(
                        f"退出自查抽样户 {code}（{row.village.name}）：错退 "
                        f"{row.wrongly_exited_persons} 人（核查组 {row.team}，{row.surveyed_on}）。"
                    ),
                    **common,
                )
            else:
                problem = do_record_problem(
                    item.inspection_id,
                    category="identification",
                    description=(
                        f"退出自查抽样户 {code}（{row.village.name}）：漏评 "
                        f"{row.missed_persons} 人（核查组 {row.team}，{row.surveyed_on}）。"
                    ),
                    **common,
                )
            changes["finding_problem"] = problem
        if row.complaint and row.complaint_problem_id is None:
            changes["complaint_problem"] = do_record_problem(
                item.inspection_id,
                category="other",
                description=(f"退出自查抽样户 {code}（{row.village.name}）反映：{row.complaint}")[
                    :2000
                ],
                **common,
            )
        SampledHousehold.objects.filter(pk=row.pk).update(version=F("version") + 1, **changes)
        made += len(changes)
    record(
        "selfcheck.findings.register",
        actor=actor,
        object_type="selfcheck",
        object_id=item.pk,
        diff={"problems": [0, made]},
    )
    return made


@action
@transaction.atomic
def do_close_selfcheck(selfcheck_id: int, *, actor: Any) -> SelfCheck:
    """The county office ends the survey (调查结束): afterwards no survey is entered or
    corrected, on the web or from the offline field page. Refused before the draw; once only."""
    require_role(actor, CREATORS, "结束退出自查的入户调查", system=False)
    item = SelfCheck.objects.select_for_update().filter(pk=selfcheck_id).first()
    if item is None or not can_see_region(actor, item.county_id):
        raise OutOfScope("未找到该退出自查，或您无权访问。")
    if not item.design:
        raise DomainError("样本尚未抽取，不能结束调查。")
    if item.closed:
        raise DomainError(f"该退出自查已于 {item.closed_on} 结束调查。")
    today = timezone.localdate()
    SelfCheck.objects.filter(pk=item.pk).update(
        closed_on=today, closed_by=actor, version=F("version") + 1
    )
    item.refresh_from_db()
    record(
        "selfcheck.selfcheck.close",
        actor=actor,
        object_type="selfcheck",
        object_id=item.pk,
        diff={"closed_on": [None, today.isoformat()]},
    )
    return item


@action
@transaction.atomic
def do_export_report(selfcheck_id: int, out: Any, *, actor: Any) -> str:
    """The self-check report (PDF) of a county the actor covers; returns the file name."""
    from .report import write_report
    from .selectors import results

    require_role(actor, frozenset({"county", "auditor"}), "下载退出自查报告", system=False)
    item = SelfCheck.objects.select_related("county").filter(pk=selfcheck_id).first()
    if item is None or not can_see_region(actor, item.county_id):
        raise OutOfScope("未找到该退出自查，或您无权访问。")
    if not item.design:
        raise DomainError("样本尚未抽取，不能生成报告。")
    write_report(item, results(item), out, watermark=f"退出自查 · {actor.username}")
    record(
        "selfcheck.export.report",
        actor=actor,
        object_type="selfcheck",
        object_id=item.pk,
        diff={"format": "pdf"},
    )
    return f"selfcheck-{item.pk}.pdf"
