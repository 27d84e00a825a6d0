"""Generating (and clearing) a synthetic demo county. Each is one audited action.

The generation writes regions, yearly rural population, households, members, status history and
income records set-wise (COPY on PostgreSQL, executemany on SQLite), then the demo accounts and the
helper's pairings, and one audit event with the counts, all in one transaction.
"""

from __future__ import annotations

import datetime
import secrets
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation

from jingzhun.access.models import ROLE_LABELS, HelperPairing, RegionGrant, User
from jingzhun.assistance.models import HelperProfile, TeamCheckIn, TeamMember, WorkTeam
from jingzhun.assistance.quotas import quota_for
from jingzhun.audit.actions import record
from jingzhun.core.bulk import Batch, BulkWriter, next_id, pipelined
from jingzhun.core.errors import DomainError
from jingzhun.duty.demo import DUTY_TABLES, add_demo_governance
from jingzhun.regions import codes
from jingzhun.regions.models import Region, RegionPopulation
from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange
from jingzhun.scoring.models import ScorePeriod, ScoringJob, UnitScore

from . import names
from .counties import COUNTIES, DEFAULT_COUNTY, county_spec, known_counties_text
from .plan import REGISTERED_GROUPS, Plan, PlanError, build_plan
from .rows import CountyRows

DEMO_USERNAMES = ("county", "township", "village", "helper", "auditor", "workteam")
DEMO_HELPER_KIND = "county_leader"
DEFAULT_CHUNK = 10_000
MAX_PERSONS = 50_000_000  # a typo guard; the benchmarks go to 10 million households
PASSWORD_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-_@#%+=!?")


class DemoDataExists(DomainError):
    """The database already holds registry data; generation never overwrites it."""

    status = 409


@dataclass(frozen=True)
class DemoSpec:
    """What to generate. `password` None means a random strong password per account."""

    county: str = DEFAULT_COUNTY
    scale: float = 1.0
    seed: int = 1
    password: str | None = None
    chunk_size: int = DEFAULT_CHUNK


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    scope_code: str
    scope_name: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


@dataclass
class DemoResult:
    county_code: str
    county_name: str
    target_year: int
    townships: int
    villages: int
    households: int
    persons: int
    status_changes: int
    incomes: int
    accounts: list[DemoAccount] = field(default_factory=list)
    paired_households: int = 0


def random_password(length: int = 14) -> str:
    """A random password with at least 3 of the 4 character classes (AUTH-1)."""
    alphabet = "".join(PASSWORD_CLASSES).translate(str.maketrans("", "", "lIO0o1"))
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if sum(any(ch in cls for ch in candidate) for cls in PASSWORD_CLASSES) >= 3:
            return candidate


def check_demo_password(password: str) -> None:
    """Refuse a --password that the password policy would refuse (Chinese message)."""
    problems: list[str] = []
    if sum(any(ch in cls for ch in password) for cls in PASSWORD_CLASSES) < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    with translation.override("zh-hans"):
        for username in DEMO_USERNAMES:
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                problems.extend(str(m) for m in exc.messages)
    if problems:
        raise DomainError(
            "演示账号密码不符合要求：" + "；".join(dict.fromkeys(problems)), field="password"
        )


def resolve_county(code: str) -> Any:
    spec = county_spec(code)
    if spec is None:
        raise DomainError(
            f"未知的演示县代码“{code}”。可选：{known_counties_text()}", field="county"
        )
    return spec


def plan_for(spec: DemoSpec) -> Plan:
    county = resolve_county(spec.county)
    if spec.chunk_size < 1:
        raise DomainError("分块大小必须为正整数。")
    try:
        plan = build_plan(county, spec.scale, spec.seed)
    except PlanError as exc:
        raise DomainError(str(exc), field="scale") from exc
    if plan.persons > MAX_PERSONS * 1.1:
        raise DomainError(
            f"放大倍数 {spec.scale:g} 将生成 {plan.persons:,} 人，超过上限 {MAX_PERSONS:,} 人。",
            field="scale",
        )
    return plan


@transaction.atomic
def do_generate_demo_county(
    spec: DemoSpec,
    *,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
    beside_others: bool = False,
    plan: Plan | None = None,
    accounts: bool = True,
) -> DemoResult:
    """Generate a synthetic county into an empty registry, create the demo accounts, audit once.

    Refused with DemoDataExists when any household exists (use do_reset_demo_data first), or,
    with `beside_others` (several counties in one registry, as the benchmarks and the province
    build), when this county already has households. `plan`: a county planned by the caller
    (demo.province: counties with real codes beyond the five calibrated ones); `accounts`
    False leaves the demo accounts, the helper's pairings and the work teams out."""
    if spec.password is not None:
        check_demo_password(spec.password)
    plan = plan if plan is not None else plan_for(spec)
    existing = Household.all_objects.all()
    if beside_others:
        existing = existing.filter(county_code=plan.spec.county_code)
    if existing.exists():
        raise DemoDataExists("数据库中已有数据，如需重新生成请加 --reset")
    with BulkWriter() as writer:
        _write_regions(plan, writer)
        # Indexes are rebuilt (and unique ones re-checked) after the load, foreign keys re-added
        # and validated in one pass: measurably faster than maintaining them row by row
        # (docs/benchmarks.md, B0), and a duplicate or dangling row still fails the transaction.
        loaded = [Household, Member, StatusChange, IncomeRecord]
        writer.suspend_constraints(loaded, indexes=True)
        rows = CountyRows(
            plan,
            first_ids={
                "household": next_id(Household),
                "member": next_id(Member),
                "status": next_id(StatusChange),
                "income": next_id(IncomeRecord),
            },
        )

        def prepared() -> Iterator[tuple[list[Batch | None], int]]:
            for chunk in rows.chunks(spec.chunk_size):
                tables = (
                    (Household, chunk.households),
                    (Member, chunk.members),
                    (StatusChange, chunk.status_changes),
                    (IncomeRecord, chunk.incomes),
                )
                yield [writer.prepare(model, columns) for model, columns in tables], chunk.persons

        def store(item: tuple[list[Batch | None], int]) -> None:
            for batch in item[0]:
                writer.load(batch)
            if progress is not None:
                progress(item[1])

        if writer.overlaps_io:
            pipelined(prepared(), store)
        else:
            for item in prepared():
                store(item)
        writer.restore_constraints()
        writer.reset_sequences([*loaded, RegionPopulation])
        writer.analyze([*loaded, Region, RegionPopulation])
        written = dict(writer.written)
    first_household = rows.first_household
    made = _create_accounts(plan, spec.password) if accounts else []
    paired = _pair_helper(plan, first_household) if accounts else 0
    teams = _add_work_teams(plan) if accounts else 0
    demo_village = plan.villages[plan.demo_village]
    governance = (
        add_demo_governance(
            plan.spec.county_code, plan.townships[demo_village.township].code, demo_village.code
        )
        if accounts
        else {"tasks": 0, "tickets": 0}
    )
    result = DemoResult(
        county_code=plan.spec.county_code,
        county_name=plan.spec.name,
        target_year=plan.targets.target_year,
        townships=len(plan.townships),
        villages=len(plan.villages),
        households=written.get(Household, 0),
        persons=written.get(Member, 0),
        status_changes=written.get(StatusChange, 0),
        incomes=written.get(IncomeRecord, 0),
        accounts=made,
        paired_households=paired,
    )
    record(
        "demo.generate",
        actor=actor,
        object_type="region",
        object_id=plan.spec.county_code,
        diff={
            "county": plan.spec.code,
            "scale": spec.scale,
            "seed": spec.seed,
            "townships": result.townships,
            "villages": result.villages,
            "households": result.households,
            "persons": result.persons,
            "status_changes": result.status_changes,
            "incomes": result.incomes,
            "accounts": [a.username for a in made],
            "paired_households": paired,
            "work_teams": teams,
            "tasks": governance["tasks"],
            "tickets": governance["tickets"],
        },
    )
    return result


def _write_regions(plan: Plan, writer: BulkWriter) -> None:
    """The county, its townships and villages (replacing any under the county), and populations."""
    spec = plan.spec
    now = timezone.now()
    western = codes.is_western(spec.county_code)
    province = spec.province[0].ljust(12, "0")
    prefecture = spec.prefecture[0].ljust(12, "0")
    Region.objects.bulk_create(
        [
            Region(
                code=province,
                name=spec.province[1],
                level="province",
                parent=None,
                is_western=western,
            ),
            Region(
                code=prefecture,
                name=spec.prefecture[1],
                level="prefecture",
                parent_id=province,
                is_western=western,
            ),
        ],
        ignore_conflicts=True,
    )
    if Region.objects.filter(code__startswith=spec.code).exists():
        RegionPopulation.objects.filter(region__code__startswith=spec.code).delete()
        RegionGrant.objects.filter(
            region__code__startswith=spec.code, user__username__in=DEMO_USERNAMES
        ).delete()
        for level in ("village", "township", "county"):
            try:
                with transaction.atomic():
                    Region.objects.filter(code__startswith=spec.code, level=level).delete()
            except DatabaseError as exc:
                raise DemoDataExists(
                    f"{spec.name}的区划已被其他数据引用（例如其他账号的授权），请先使用 --reset 清空。"
                ) from exc
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    regions: dict[str, list[Any]] = {
        k: []
        for k in (
            "code",
            "name",
            "level",
            "parent_id",
            "is_western",
            "is_poor_village",
            "is_deep_poverty",
            "updated_at",
        )
    }

    def add(
        code: str, name: str, level: str, parent: str, poor: bool = False, deep: bool = False
    ) -> None:
        for key, value in zip(
            regions, (code, name, level, parent, western, poor, deep, stamp), strict=True
        ):
            regions[key].append(value)

    add(spec.county_code, spec.name, "county", prefecture)
    for township in plan.townships:
        add(township.code, township.name, "township", spec.county_code)
    for village in plan.villages:
        add(
            village.code,
            village.name,
            "village",
            plan.townships[village.township].code,
            village.poor,
            village.deep,
        )
    writer.write(Region, regions)
    n_v = len(plan.villages)
    first = next_id(RegionPopulation)
    population = plan.populations
    writer.write(
        RegionPopulation,
        {
            "id": list(range(first, first + n_v * len(plan.timeline))),
            "region_id": [v.code for v in plan.villages for _ in plan.timeline],
            "year": [y for _ in plan.villages for y in plan.timeline],
            "rural_population": population.reshape(-1).tolist(),
        },
    )


def _create_accounts(plan: Plan, password: str | None) -> list[DemoAccount]:
    """county, township, village, helper, auditor: (re)created with their grants."""
    spec = plan.spec
    village = plan.villages[plan.demo_village]
    township = plan.townships[village.township]
    scopes = {
        "county": (spec.county_code, spec.name),
        "township": (township.code, township.name),
        "village": (village.code, f"{township.name}{village.name}"),
        "helper": ("", f"{township.name}{village.name}结对帮扶户"),
        "auditor": (spec.county_code, spec.name),
        "workteam": (village.code, f"{township.name}{village.name}"),
    }
    display = {
        "county": "县级演示账号",
        "township": "乡镇演示账号",
        "village": "村级演示账号",
        "helper": "帮扶责任人演示账号",
        "auditor": "审计演示账号",
        "workteam": "第一书记演示账号",
    }
    accounts: list[DemoAccount] = []
    # One shared password is hashed once (the five hashes would be of the same secret anyway).
    shared_hash = make_password(password) if password is not None else None
    for username in DEMO_USERNAMES:
        role = username
        secret = password if password is not None else random_password()
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            user = User(username=username)
        user.role = role
        user.display_name = display[username]
        user.is_active = True
        user.is_staff = False
        user.is_superuser = False
        if shared_hash is not None:
            user.password = shared_hash
        else:
            user.set_password(secret)
        user.save()
        RegionGrant.objects.filter(user=user).delete()
        HelperPairing.objects.filter(helper=user).delete()
        code, name = scopes[username]
        if code:
            RegionGrant.objects.create(user=user, region_id=code)
        accounts.append(DemoAccount(username, secret, role, code, name))
    return accounts


def _pair_helper(plan: Plan, first_household: int) -> int:
    """Pair the helper with registered households of the demo village, not-yet-exited first.

    The helper is registered as a county leader (县级领导干部): the county's quota for that rank
    (policies/tables/helper_quotas.yaml; Baiquan: 8) bounds how many households are paired."""
    helper = User.objects.get(username="helper")
    HelperProfile.objects.update_or_create(
        user=helper,
        defaults={"unit": f"{plan.spec.name}人民政府", "kind": DEMO_HELPER_KIND, "title": "副县长"},
    )
    groups = np.array([c.group for c in plan.cohorts], dtype=object)[plan.h_cohort]
    idents = np.array([c.identified_year for c in plan.cohorts])[plan.h_cohort]
    in_village = np.flatnonzero(
        (plan.h_village == plan.demo_village) & np.isin(groups, REGISTERED_GROUPS)
    )
    order = sorted(in_village.tolist(), key=lambda i: (groups[i] != "remaining", i))
    start = datetime.date(2016, 3, 1)
    quota = quota_for(plan.spec.county_code, DEMO_HELPER_KIND, start)
    chosen = order[: min(plan.spec.helper_quota.int, quota.limit if quota else len(order))]
    HelperPairing.objects.bulk_create(
        [
            HelperPairing(
                helper=helper,
                household_id=first_household + i,
                start_date=datetime.date(max(int(idents[i]) + 1, 2016), 3, 1),
            )
            for i in chosen
        ]
    )
    return len(chosen)


# Demo work teams (issue 21 item 1): the current term, and the sending units drawn from.
TEAM_TERM = (datetime.date(2025, 3, 1), datetime.date(2027, 3, 1))
TEAM_UNITS = (
    "县委组织部",
    "县财政局",
    "县农业农村局",
    "县人社局",
    "县教育局",
    "县卫健局",
    "县水务局",
)


def _add_work_teams(plan: Plan) -> int:
    """A work team with a first secretary in each poor village (and the demo village), set-wise
    and deterministic: three members each, every tenth team one short of the minimum; check-ins
    for last month, every seventh member below the attendance rule (15 days, the others 22).
    The demo work-team account is the first secretary of the demo village."""
    today = timezone.localdate()
    last = today.replace(day=1) - datetime.timedelta(days=1)
    month_days = [last.replace(day=d) for d in range(1, last.day + 1)]
    account = User.objects.get(username="workteam")
    surnames = names.HAN_SURNAMES
    villages = [(i, v) for i, v in enumerate(plan.villages) if v.poor or i == plan.demo_village]
    start, end = TEAM_TERM
    teams = WorkTeam.objects.bulk_create(
        [
            WorkTeam(
                village_id=v.code,
                sending_units=f"{TEAM_UNITS[i % len(TEAM_UNITS)]}、{TEAM_UNITS[(i + 3) % len(TEAM_UNITS)]}",
                term_start=start,
                term_end=end,
            )
            for i, v in villages
        ]
    )
    if any(t.pk is None for t in teams):  # databases without RETURNING on bulk inserts
        by_village = dict(
            WorkTeam.objects.filter(village__in=[v.code for _, v in villages]).values_list(
                "village_id", "pk"
            )
        )
        for t in teams:
            t.pk = by_village[t.village_id]
    members: list[TeamMember] = []
    for n, ((i, _v), team) in enumerate(zip(villages, teams, strict=True)):
        roles = ["secretary", "leader", "member"][: 2 if n % 10 == 9 else 3]
        for k, role in enumerate(roles):
            surname = surnames[(i * 3 + k * 7) % len(surnames)]
            members.append(
                TeamMember(
                    team_id=team.pk,
                    user=account if i == plan.demo_village and role == "secretary" else None,
                    name=f"{surname}{'书记' if role == 'secretary' else '同志'}{k + 1}",
                    sending_unit=TEAM_UNITS[(i + k) % len(TEAM_UNITS)],
                    role=role,
                    start_date=start,
                    term_end=end,
                )
            )
    members = TeamMember.objects.bulk_create(members)
    if any(m.pk is None for m in members):
        ids = list(
            TeamMember.objects.filter(team__in=[t.pk for t in teams])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for m, pk in zip(members, ids, strict=True):
            m.pk = pk
    check_ins = [
        TeamCheckIn(member_id=m.pk, day=day, note="", recorded_by=account)
        for j, m in enumerate(members)
        for day in month_days[: 15 if j % 7 == 6 else 22]
        if last >= start
    ]
    TeamCheckIn.objects.bulk_create(check_ins, batch_size=5000)
    return len(teams)


def _registry_tables() -> list[Any]:
    """Household and every model that refers to it, directly or through another one (members,
    income, history, pairings, assessments, whatever later apps add), dependents first; then
    the same for the records of the demo counties that refer to regions, not households (the
    project bank and the fund ledger)."""
    from jingzhun.projects.models import FundSource, PostingBatch, Project

    return _dependents(Household, Project, FundSource, PostingBatch)


def _dependents(*roots: Any) -> list[Any]:
    """Each root model and every model that refers to it, directly or through another one,
    dependents first."""
    ordered: list[Any] = []

    def visit(model: Any) -> None:
        # hidden relations too (related_name="+", e.g. an export request's household)
        for rel in model._meta.get_fields(include_hidden=True):
            if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
                continue
            if rel.related_model is not model and rel.related_model not in ordered:
                visit(rel.related_model)
        if model not in ordered:
            ordered.append(model)

    for root in roots:
        visit(root)
    return ordered


def _delete_all(models_: list[Any]) -> dict[str, int]:
    counts = {m._meta.db_table: m._base_manager.count() for m in models_}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A table with pending (deferred) foreign-key checks cannot be truncated: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("TRUNCATE " + ", ".join(quote(m._meta.db_table) for m in models_))
        else:
            for m in models_:
                cursor.execute(f"DELETE FROM {quote(m._meta.db_table)}")
    return counts


@transaction.atomic
def do_reset_demo_data(*, actor: Any = None) -> dict[str, int]:
    """Clear the registry (all households, members, history, income, pairings) and the demo
    counties' regions. Accounts are kept (the next generation resets their passwords and grants).
    Audit events are never deleted."""
    # the counties generated (a province's beyond the five calibrated ones too)
    generated = {
        c[:6] for c in Household.all_objects.values_list("county_code", flat=True).distinct()
    }
    try:
        with transaction.atomic():
            # Everything that refers to households, then everything that refers to regions
            # (rounds, work teams, inspections, self-checks, tasks, shops, shapes: whatever later
            # apps add), but the grants and populations, cleared per demo county below; and the
            # demo's assessment (scores, jobs, periods), which names units by code.
            keep = {Region, RegionGrant, RegionPopulation}
            tables = [
                *_registry_tables(),
                *(m for m in _dependents(Region) if m not in keep),
                UnitScore,
                ScorePeriod,
                ScoringJob,
                *DUTY_TABLES,
            ]
            counts = _delete_all(list(dict.fromkeys(tables)))
            populations = regions = 0
            for prefix in sorted({*COUNTIES, *generated}):
                populations += RegionPopulation.objects.filter(
                    region__code__startswith=prefix
                ).delete()[0]
                RegionGrant.objects.filter(region__code__startswith=prefix).delete()
                for level in ("village", "township", "county"):
                    regions += Region.objects.filter(code__startswith=prefix, level=level).delete()[
                        0
                    ]
            counts["regions_regionpopulation"] = populations
            counts["regions_region"] = regions
    except DatabaseError as exc:
        raise DomainError(f"无法清空已有数据：仍有其他数据引用贫困户或区划（{exc}）。") from exc
    record("demo.reset", actor=actor, object_type="registry", object_id="all", diff=counts)
    return counts
