"""Writes of the feeds app (ADR 0063): the feed register, roster loading (a job on the task
queue), the exact match, screening by the catalogue's rules and the resolution of red-line flags.

Matching never decrypts the registry: each roster ID is normalised and turned into the registry's
blind index (`registry.models.id_index`, ADR 0058); the batch's rows are then matched by one
set-wise UPDATE joining `FeedRow.id_index` to `Member.id_number_index` (unique on live members).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django_tasks import task

from jingzhun.access.scoping import (
    check_household_in_scope,
    check_region_in_scope,
    household_filter,
)
from jingzhun.audit.actions import record
from jingzhun.core import duck
from jingzhun.core import stored_files as evidence_files
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.jobs import enqueue_after_commit, run_queued, worker_name
from jingzhun.policy.schema import REGISTRY_INCOME, Condition, FeedRule
from jingzhun.policy.store import PolicyError, default_store
from jingzhun.regions import codes
from jingzhun.registry import choices as c
from jingzhun.registry.idcard import mask
from jingzhun.registry.models import Household, IncomeRecord, Member, id_index
from jingzhun.workflows.actions import CaseDetails, do_open_case
from jingzhun.workflows.models import Case

from . import exact, link_actions, roster
from .catalogue import Feed, catalogue
from .models import RESOLVED, Alert, FeedBatch, FeedRow, FeedSource

log = logging.getLogger(__name__)

CHUNK: Final = 5000
# Who keeps the register (liaisons, sources) and screens: county staff.
REGISTER_ROLES: Final = frozenset({"county"})
# Who resolves a red-line flag: the staff of the household's region.
RESOLVER_ROLES: Final = frozenset({"county", "township", "village"})
# Approvals a standing red-line flag holds up (issue 22 item 3): identification (poverty and
# monitoring), exit and risk elimination.
GUARDED_KINDS: Final = frozenset({"identification", "monitoring", "exit", "elimination"})
OUTCOMES: Final = {"removed": "核实排除（比对有误或已不符合）", "explained": "说明情况并附证据"}


def _check_actor(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden("请先登录。")


# --- the register -----------------------------------------------------------------------------


@transaction.atomic
def do_sync_feed_sources(*, actor: Any) -> list[FeedSource]:
    """Make the register hold every feed of the catalogue in effect (names and departments
    follow the catalogue; liaisons are kept)."""
    _check_actor(actor)
    if actor.role not in REGISTER_ROLES:
        raise Forbidden("只有县级业务人员可以维护部门数据源。")
    cat = catalogue()
    added = []
    for feed in cat.feeds.values():
        source, created = FeedSource.objects.get_or_create(
            code=feed.code, defaults={"name": feed.name, "department": feed.department}
        )
        if not created and (source.name, source.department) != (feed.name, feed.department):
            FeedSource.objects.filter(pk=source.pk).update(
                name=feed.name, department=feed.department, version=F("version") + 1
            )
        if created:
            added.append(feed.code)
    if added:
        record(
            "feeds.source.sync",
            actor=actor,
            object_type="feed_source",
            diff={"added": added, "catalogue": cat.cited},
        )
    return list(FeedSource.objects.all())


@transaction.atomic
def do_set_feed_liaison(code: str, username: str, *, actor: Any) -> FeedSource:
    """Name the liaison (行业部门联络员) who answers for a feed; "" clears it."""
    from django.contrib.auth import get_user_model

    _check_actor(actor)
    if actor.role not in REGISTER_ROLES:
        raise Forbidden("只有县级业务人员可以指定数据源联络员。")
    source = FeedSource.objects.select_for_update().filter(code=code).first()
    if source is None:
        raise DomainError(f"数据源“{code}”未登记，请先同步数据源目录。", field="source")
    liaison = None
    if username:
        liaison = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if liaison is None or liaison.role != "liaison":
            raise DomainError(f"账号“{username}”不存在或不是行业部门联络员。", field="liaison")
    before = source.liaison.username if source.liaison else ""
    FeedSource.objects.filter(pk=source.pk).update(liaison=liaison, version=F("version") + 1)
    record(
        "feeds.source.liaison",
        actor=actor,
        object_type="feed_source",
        object_id=source.pk,
        diff={"liaison": [before, liaison.username if liaison else ""]},
    )
    source.refresh_from_db()
    return source


def may_load(actor: Any, source: FeedSource) -> bool:
    """The feed's own liaison, or county staff."""
    return actor.role in REGISTER_ROLES or (
        actor.role == "liaison" and source.liaison_id == actor.pk
    )


# --- loading ------------------------------------------------------------------------------------


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "feeds"


def upload_path(batch_id: int) -> Path:
    return upload_dir() / f"batch-{batch_id}.upload"


def batch_files(batch_ids: Iterable[int]) -> list[Path]:
    return [upload_path(i) for i in batch_ids]


@dataclass(frozen=True)
class Submitted:
    batch: FeedBatch
    created: bool  # False: the same roster (or batch id) was stored before


@transaction.atomic
def do_submit_roster(
    code: str,
    filename: str,
    data: bytes,
    *,
    actor: Any,
    origin: str = "upload",
    batch_key: str = "",
) -> Submitted:
    """Store a roster for loading (queued for `jingzhun worker`; the command runs it at once).
    The same file (SHA-256) or the same pushed batch id for a feed is stored once."""
    _check_actor(actor)
    source = FeedSource.objects.filter(code=code, active=True).first()
    if source is None:
        raise DomainError(f"数据源“{code}”未登记或未启用。", field="source")
    if not may_load(actor, source):
        raise Forbidden("只有该数据源的联络员或县级业务人员可以报送名册。")
    if not data:
        raise DomainError("文件为空。", field="file")
    key = batch_key or "sha256:" + hashlib.sha256(data).hexdigest()
    existing = FeedBatch.objects.filter(source=source, batch_key=key).first()
    if existing is not None:
        return Submitted(existing, False)
    batch = FeedBatch.objects.create(
        source=source,
        batch_key=key,
        origin=origin,
        filename=filename[:200],
        status="queued",
        created_by=actor,
    )
    upload_dir().mkdir(parents=True, exist_ok=True)
    upload_path(batch.pk).write_bytes(data)
    record(
        "feeds.batch.submit",
        actor=actor,
        object_type="feed_batch",
        object_id=batch.pk,
        diff={"source": code, "origin": origin, "bytes": len(data), "key": key[:80]},
    )
    if origin != "command":
        enqueue_after_commit(run_feed_job, batch.pk)
    return Submitted(batch, True)


@task()
def run_feed_job(batch_id: int) -> str:
    """The queue's task: load roster batch `batch_id` (`jingzhun worker`)."""
    batch = run_batch(batch_id)
    return batch.status if batch is not None else "taken"


def run_pending() -> list[FeedBatch]:
    """Load every queued batch in this process (`jingzhun feeds load --pending`, tests)."""
    return run_queued(FeedBatch.objects.filter(status="queued"), run_batch)


Progress = Callable[[int, int], None]  # (rows done, rows total or 0 when unknown)


def run_batch(batch_id: int, progress: Progress | None = None) -> FeedBatch | None:
    """Read, normalise, index and match one queued batch (None if another worker took it).
    A failure keeps its Chinese reason on the batch and leaves no rows; the uploaded file (it
    holds ID numbers in the clear) is removed either way."""
    if not FeedBatch.take(batch_id, worker_name()):
        return None
    batch = FeedBatch.objects.select_related("source", "created_by").get(pk=batch_id)
    path = upload_path(batch_id)
    try:
        feed = catalogue().feed(batch.source.code)
        counts = _load_rows(batch, feed, path.read_bytes(), progress)
    except Exception as exc:  # kept on the batch, shown on the page
        message = (
            exc.message
            if isinstance(exc, roster.RosterError | DomainError)
            else f"名册处理失败：{type(exc).__name__}"
        )
        if not isinstance(exc, roster.RosterError | DomainError | PolicyError):
            log.exception("feed batch %s failed", batch_id)
        FeedRow.objects.filter(batch_id=batch_id).delete()
        FeedBatch.fail(batch_id, str(message))
    else:
        with transaction.atomic():
            FeedBatch.finish(batch_id, **counts)
            record(
                "feeds.batch.load",
                actor=batch.created_by,
                object_type="feed_batch",
                object_id=batch_id,
                diff={"source": batch.source.code, **counts},
            )
    finally:
        path.unlink(missing_ok=True)
    batch.refresh_from_db()
    return batch


def _load_rows(
    batch: FeedBatch, feed: Feed, data: bytes, progress: Progress | None
) -> dict[str, int]:
    sheet = roster.open_roster(data)
    total = 0
    pending: list[FeedRow] = []

    def flush() -> None:
        FeedRow.objects.bulk_create(pending, batch_size=CHUNK)
        pending.clear()
        FeedBatch.objects.filter(pk=batch.pk).update(rows_done=total)
        if progress:
            progress(total, 0)

    try:
        for row in roster.rows_of(sheet, feed):
            total += 1
            pending.append(_feed_row(batch, row))
            if len(pending) >= CHUNK:
                flush()
    except roster.UnreadableFile as exc:
        raise roster.RosterError(exc.message) from exc
    flush()
    FeedBatch.objects.filter(pk=batch.pk).update(rows_total=total)
    counts = match_batch(batch.pk, total)
    if counts["invalid"]:  # rows with a missing or damaged ID: the probabilistic linker
        link_actions.link_batch(batch.pk)
        counts.update(link_actions.batch_counts(batch.pk))
    return counts


def _feed_row(batch: FeedBatch, row: roster.Row) -> FeedRow:
    outcome = roster.normalise_id(row.id_raw)
    raw_text = "" if row.id_raw is None else str(row.id_raw)
    # what a damaged ID still tells, for the probabilistic linker (the number is not kept)
    hints = {} if outcome.number else roster.id_hints(row.id_raw).as_json()
    return FeedRow(
        hints=hints,
        fingerprint=""
        if outcome.number
        else link_actions.fingerprint(row.name, row.id_raw, row.values),
        batch=batch,
        row_number=row.number,
        id_index=id_index(outcome.number) if outcome.number else "",
        id_masked=mask(outcome.number or raw_text)[:24],
        id_problem=outcome.problem[:200],
        converted_15=outcome.converted_15,
        name=row.name,
        values=row.values,
        problems="；".join(row.problems)[:2000],
        status="unmatched" if outcome.number else "invalid",
    )


def match_batch(batch_id: int, total: int) -> dict[str, int]:
    """The exact match of a loaded batch on the blind index: in the database (one set-wise
    join on the live members' unique index, `member_id_index_live_unique`) for batches under
    `settings.FEEDS_EXACT["duckdb_rows"]` rows with an index, else in DuckDB (`feeds.exact`,
    matcher `settings.FEEDS_EXACT["method"]`). Both give the same rows
    (feeds/tests/test_exact.py); then the counts."""
    rows = FeedRow.objects.filter(batch_id=batch_id).exclude(id_index="")
    config: dict[str, Any] = settings.FEEDS_EXACT
    if rows.count() >= int(config["duckdb_rows"]):
        match_in_duckdb(batch_id, str(config["method"]), config.get("memory") or None)
    else:
        match_in_database(batch_id)
    all_rows = FeedRow.objects.filter(batch_id=batch_id)
    return {
        "rows_total": total,
        "rows_done": total,
        "matched": all_rows.filter(status="matched").count(),
        "unmatched": all_rows.filter(status="unmatched").count(),
        "invalid": all_rows.filter(status="invalid").count(),
    }


def match_in_database(batch_id: int) -> None:
    """The join in the database: the member and household by subquery on the unique index,
    then the name flag (the row's name is not the member's)."""
    live = Member.objects.filter(id_number_index=OuterRef("id_index"))
    rows = FeedRow.objects.filter(batch_id=batch_id).exclude(id_index="")
    rows.update(
        member_id=Subquery(live.values("pk")[:1]),
        household_id=Subquery(live.values("household_id")[:1]),
    )
    matched = rows.filter(member__isnull=False)
    matched.update(status="matched", match_method="id")
    same_name = Member.objects.filter(pk=OuterRef("member_id"), name=OuterRef("name"))
    matched.exclude(name="").filter(~Exists(same_name)).update(name_differs=True)


def match_in_duckdb(batch_id: int, method: str, memory: str | None = None) -> int:
    """The join in DuckDB (`feeds.exact`): the batch's rows and every live member with an ID
    number read through Django's connection (the job's own transaction) in chunks, matched,
    and the matches written back set-wise; returns the number matched."""
    con = duck.connect(memory_limit=memory)
    try:
        link_actions.load_table(
            con,
            exact.ROWS_IN,
            FeedRow.objects.filter(batch_id=batch_id)
            .exclude(id_index="")
            .values_list("pk", "name", "id_index")
            .iterator(chunk_size=link_actions.CHUNK),
            ("row_id", "name", "id_index"),
            ints=("row_id",),
        )
        link_actions.load_table(
            con,
            exact.RESIDENTS_IN,
            Member.objects.exclude(id_number_index="")
            .values_list("pk", "household_id", "name", "id_number_index")
            .iterator(chunk_size=link_actions.CHUNK),
            ("member_id", "household_id", "name", "id_index"),
            ints=("member_id", "household_id"),
        )
        matched = exact.match(con, method)
        found = con.execute(
            f"SELECT row_id, member_id, household_id, name_differs FROM {exact.MATCHED}"
        )
        while chunk := found.fetchmany(CHUNK):
            _write_matches(chunk)
        return matched
    finally:
        con.close()


def _write_matches(chunk: list[tuple[int, int, int, bool]]) -> None:
    """One UPDATE ... FROM (VALUES ...) for a chunk of matches (SQLite and PostgreSQL)."""
    table = connection.ops.quote_name(FeedRow._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
    params = [v for row in chunk for v in (row[0], row[1], row[2], bool(row[3]))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET member_id = v.column2, household_id = v.column3, "
            "name_differs = v.column4, status = 'matched', match_method = 'id' "
            f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
            params,
        )


# --- screening ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raised:
    household_code: str
    rule: str
    source: str
    kind: str

    def as_json(self) -> dict[str, str]:
        return {
            "household_code": self.household_code,
            "rule": self.rule,
            "source": self.source,
            "kind": self.kind,
        }


@dataclass
class ScreenResult:
    raised: list[Raised] = field(default_factory=list)
    cases: int = 0
    rules: int = 0


def _age(born: datetime.date | None, on: datetime.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _holds(cond: Condition, value: Any) -> bool:
    if value is None or value == "":
        return cond.if_missing == "holds"
    op, want = cond.op, cond.value
    if op == "present":
        return True
    if op == "eq":
        return str(value) == str(want)
    if op == "in":
        return str(value) in {str(w) for w in want or []}
    number = _number(value)
    if number is None:
        return cond.if_missing == "holds"
    if op == "between":
        low, high = want
        return Decimal(str(low)) <= number <= Decimal(str(high))
    limit = Decimal(str(want))
    return {
        "gt": number > limit,
        "gte": number >= limit,
        "lt": number < limit,
        "lte": number <= limit,
    }[op]


def rule_holds(rule: FeedRule, values: Mapping[str, Any], member: Any, on: datetime.date) -> bool:
    """Whether every condition of `rule` holds for a roster row's values and its member."""
    for cond in rule.when:
        if cond.column == "age":
            value: Any = _age(getattr(member, "birth_date", None), on)
        elif cond.column.startswith("member."):
            value = getattr(member, cond.column.removeprefix("member."), None)
        else:
            value = values.get(cond.column)
        if not _holds(cond, value):
            return False
    return True


def _county_households(county: str) -> Q:
    return Q(household__county_code=county, household__deleted_at__isnull=True)


def _hits(rule: FeedRule, county: str, today: datetime.date) -> dict[int, int | None]:
    """{household id: roster row id} of the county's households the rule finds, not yet alerted."""
    found: dict[int, int | None] = {}
    if rule.feed == REGISTRY_INCOME:
        return {h: None for h in _income_below_range(county, today)}
    rows = (
        FeedRow.objects.filter(
            _county_households(county),
            batch__source__code=rule.feed,
            batch__status="done",
            status="matched",
        )
        .exclude(household__feed_alerts__rule=rule.id)
        .select_related("member")
        .order_by("-batch_id", "row_number")
    )
    for row in rows.iterator(chunk_size=2000):
        if row.household_id in found or row.household_id is None:
            continue
        if rule_holds(rule, row.values, row.member, today):
            found[row.household_id] = row.pk
    return found


def monitoring_range(province: str, year: int) -> Decimal | None:
    """The monitoring range (per person and year) of a province and year from
    policies/tables/monitoring_range.yaml; None when the table leaves it to be configured."""
    found = default_store().lookup("monitoring_range", year=year, province=province)
    if found is None or found.value is None:
        return None
    return found.value


def _income_below_range(county: str, today: datetime.date) -> list[int]:
    """Households of the county (not already monitored with the risk standing) whose latest
    year's per-capita net income is below that year's monitoring range."""
    province = county[:2]
    below: list[int] = []
    incomes = (
        IncomeRecord.objects.filter(household__county_code=county, household__deleted_at=None)
        .exclude(household__feed_alerts__rule="income_below_range")
        .select_related("household")
        .order_by("household_id", "-year")
    )
    seen: set[int] = set()
    limits: dict[int, Decimal | None] = {}
    for income in incomes.iterator(chunk_size=2000):
        if income.household_id in seen:
            continue
        seen.add(income.household_id)
        if income.year not in limits:
            limits[income.year] = monitoring_range(province, income.year)
        limit = limits[income.year]
        if limit is None:
            continue
        persons = Member.objects.filter(household_id=income.household_id).count()
        per_person = income.per_capita_net_income(persons)
        if per_person is not None and per_person < limit:
            below.append(income.household_id)
    return below


def _category(household: Household, rule: FeedRule) -> str:
    if rule.feed == REGISTRY_INCOME:
        return "unstable_exited" if household.poverty_status in c.EXITED_STATUSES else "edge"
    return "sudden_hardship"


def _open_case(household: Household, rule: FeedRule, feed_name: str, actor: Any) -> tuple[str, Any]:
    """Open the monitoring identification case of a warning: (alert status, case or None)."""
    if household.monitoring_category and household.risk_status != "eliminated":
        return "already_monitored", None
    details = CaseDetails(
        route="department_warning",
        monitoring_category=_category(household, rule),
        risk_types=(rule.risk_type or "other",),
        summary=f"部门筛查预警：{rule.title}（{feed_name}）",
    )
    try:
        return "case_opened", do_open_case(household.pk, "monitoring", details, actor=actor)
    except DomainError:
        existing = Case.objects.filter(
            household=household, kind="monitoring", closed_on__isnull=True
        ).first()
        if existing is not None:
            return "case_opened", existing
        raise


@transaction.atomic
def do_screen_county(
    county: str,
    *,
    actor: Any,
    progress: Callable[[str], None] | None = None,
    today: datetime.date | None = None,
) -> ScreenResult:
    """Run every rule of the catalogue over the county's matched roster rows (and the registry's
    incomes): red lines flag the household, warnings open a monitoring identification case
    (route department_warning, 15-day clock). One alert per household and rule, across runs."""
    _check_actor(actor)
    if actor.role not in REGISTER_ROLES:
        raise Forbidden("只有县级业务人员可以运行部门筛查。")
    if not (len(county) == 12 and county.isdigit() and codes.level_of(county) == "county"):
        raise DomainError(f"“{county}”不是 12 位县级区划代码。", field="county")
    check_region_in_scope(actor, county)
    day = today or timezone.localdate()
    cat = catalogue(day)
    result = ScreenResult(rules=len(cat.rules))
    names = {code: f.name for code, f in cat.feeds.items()}
    names[REGISTRY_INCOME] = "登记收入"
    for rule in cat.rules:
        if progress:
            progress(rule.id)
        hits = _hits(rule, county, day)
        for household in Household.objects.filter(pk__in=list(hits)).order_by("household_code"):
            status, case = "open", None
            note = ""
            if rule.kind == "warning":
                try:
                    status, case = _open_case(household, rule, names[rule.feed], actor)
                except DomainError as exc:
                    note = f"未能发起监测识别：{exc.message}"
            Alert.objects.create(
                household=household,
                rule=rule.id,
                title=rule.title[:100],
                kind=rule.kind,
                source=rule.feed,
                row_id=hits[household.pk],
                status=status,
                raised_on=day,
                case=case,
                policy=cat.cited[:200],
                resolution=note,
            )
            if case is not None:
                result.cases += 1
            result.raised.append(Raised(household.household_code, rule.id, rule.feed, rule.kind))
    record(
        "feeds.screen.run",
        actor=actor,
        object_type="region",
        object_id=county,
        diff={
            "alerts": len(result.raised),
            "red_lines": sum(r.kind == "red_line" for r in result.raised),
            "cases": result.cases,
            "catalogue": cat.cited,
        },
    )
    return result


# --- red-line flags ------------------------------------------------------------------------------


def approval_problems(household_id: int, kind: str) -> list[str]:
    """`core.hooks` approval check: a standing red-line flag holds up the approval of an
    identification, monitoring identification, exit or risk elimination of the household."""
    if kind not in GUARDED_KINDS:
        return []
    flags = Alert.objects.filter(household_id=household_id, kind="red_line", status="open")
    titles = [f"“{a.title}”（数据源 {a.source}）" for a in flags.order_by("pk")]
    if not titles:
        return []
    return [
        f"该户有未处理的部门比对红线：{'、'.join(titles)}。"
        "请先核实排除，或说明情况并附证据，再审批。"
    ]


@transaction.atomic
def do_resolve_alert(
    alert_id: int,
    expected_version: int,
    outcome: str,
    reason: str,
    *,
    actor: Any,
    evidence_name: str = "",
    evidence: bytes = b"",
) -> Alert:
    """Resolve a red-line flag: removed (the hit was wrong or no longer holds) or explained
    with evidence (a file, stored like case evidence)."""
    _check_actor(actor)
    if actor.role not in RESOLVER_ROLES:
        raise Forbidden("您的角色不能处理部门比对红线。")
    alert = (
        Alert.objects.select_for_update()
        .filter(household_filter(actor, prefix="household__"), pk=alert_id)
        .select_related("household")
        .first()
    )
    if alert is None:
        raise OutOfScope("未找到该预警，或您无权访问。")
    check_household_in_scope(actor, alert.household)
    if alert.version != expected_version:
        raise StaleVersion("该预警已被他人处理或修改，请刷新页面后查看最新情况。")
    if alert.kind != "red_line":
        raise DomainError("预警通过监测识别案件办理，不在此处处理。", field="alert")
    if alert.status in RESOLVED:
        raise DomainError("该红线已处理。", field="alert")
    if outcome not in OUTCOMES:
        raise DomainError("请选择处理方式：核实排除或说明情况并附证据。", field="outcome")
    text = reason.strip()
    if len(text) < 4:
        raise DomainError("请写明核实情况（至少 4 个字）。", field="reason")
    sha = ""
    if outcome == "explained":
        if not evidence:
            raise DomainError("说明情况须附证据文件（照片、扫描件或 PDF）。", field="evidence")
        _kind, evidence_name, sha = evidence_files.check_upload(evidence_name, evidence)
        evidence_files.store(sha, evidence)
    Alert.objects.filter(pk=alert.pk, version=expected_version).update(
        status=outcome,
        resolution=text[:1000],
        evidence_name=evidence_name[:200] if sha else "",
        evidence_sha256=sha,
        resolved_by=actor,
        resolved_at=timezone.now(),
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    record(
        "feeds.alert.resolve",
        actor=actor,
        object_type="feed_alert",
        object_id=alert.pk,
        reason=text[:500],
        diff={"status": [alert.status, outcome], "rule": alert.rule, "evidence": sha[:12]},
    )
    alert.refresh_from_db()
    return alert
