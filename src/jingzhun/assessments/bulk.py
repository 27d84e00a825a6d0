"""Bulk assessment: read → evaluate → store.

1. read: the household, income and member columns the standard reads are copied from the
   database (SQLite or PostgreSQL, attached read-only) or from a Parquet snapshot into DuckDB
   (tables `h` and `m`; this module);
2. evaluate: policy.bulk.evaluate, the standard compiled to one query (table `results`);
3. store: inside one Django transaction, the run, the policy versions, one compact row per
   household not yet judged with the same policy version and data (`_fresh`), per-village
   counts, and one audit event. How rows reach the database and the run's Parquet snapshot
   reaches the disk (the COPY through a named pipe, SQLite staging, the snapshot written beside
   the store) is storage.py's.

Each phase is timed in the result, for the benchmark. A failure anywhere leaves the database as
it was (the snapshot folder is removed).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from jingzhun.access.scoping import village_prefixes
from jingzhun.audit.actions import record
from jingzhun.core import duck
from jingzhun.core.duck_child import SNAPSHOT_PARQUET_OPTIONS
from jingzhun.core.errors import DomainError, Forbidden
from jingzhun.core.fieldcrypt import encrypted_fields, open_in_duckdb
from jingzhun.policy import bulk
from jingzhun.policy.compiler import DUCKDB, SPARK, Passes, sql_literal
from jingzhun.policy.store import PolicyStore, default_store
from jingzhun.registry.choices import NOT_REGISTERED
from jingzhun.registry.facts import CODED_FIELDS, HOUSEHOLD_FIELDS, INCOME_FIELDS, MEMBER_FIELDS
from jingzhun.registry.masking import SENSITIVE_FIELDS
from jingzhun.registry.models import Household, IncomeRecord, Member

from . import storage
from .models import Assessment, AssessmentRun, AssessmentSummary, PolicyVersion
from .storage import SNAPSHOT_FILES, quote_path

__all__ = ["BulkResult", "do_assess_bulk", "household_columns", "member_columns"]

# h's column holding Household.version as read (the assessment key's last part, ADR 0032)
VERSION_COLUMN = "household_version"
# Member fields encrypted at rest (PII-2) that the rules may read: read as their tokens with the
# member's key (m.member_id, the AAD's row), opened set-wise in this process after the read
# (_open_sealed), and kept as tokens in the snapshot (ADR 0066).
SEALED_MEMBER: dict[str, Any] = {f.name: f for f in encrypted_fields(Member)}
MEMBER_ID = "member_id"
ENGINES = ("duckdb", "spark")


@dataclass
class BulkResult:
    run_id: str
    households: int
    created: int
    unchanged: int
    passed: int
    seconds: dict[str, float] = field(default_factory=dict)
    snapshot: str = ""


def _refuse_unknown_code(
    exc: Exception, from_snapshot: bool, read: list[str], prefixes: list[str] | None
) -> None:
    """A coded field holding a value outside its code list (the ENUM cast refused it): name
    the household, the field and the value, looking only where the run read (its scope)."""
    if from_snapshot:
        raise DomainError(f"快照中有不在代码表内的代码值，无法判定：{exc}") from exc
    coded = [
        (model, path, f)
        for model, path in ((Household, "village__code"), (Member, "household__village__code"))
        for f in model._meta.concrete_fields
        if _is_coded(f) and f.name in read and not (model is Member and f.name in SEALED_MEMBER)
    ]  # sealed fields are checked where they are opened (_open_sealed)
    for model, path, f in coded:
        codes = ["", *(str(k) for k, _ in f.choices or [])]  # "": not filled in (null)
        scope = Q()
        for prefix in prefixes or []:
            scope |= Q(**{f"{path}__startswith": prefix})
        bad = (
            model.objects.filter(scope, deleted_at__isnull=True, **{f"{f.name}__isnull": False})
            .exclude(**{f"{f.name}__in": codes})
            .first()
        )
        if bad is not None:
            household = bad if model is Household else bad.household
            who = "" if model is Household else f"成员（编号 {bad.pk}）"
            value = (
                "（敏感字段，不显示）" if f.name in SENSITIVE_FIELDS else repr(getattr(bad, f.name))
            )
            raise DomainError(
                f"户 {household.household_code} {who}的「{f.verbose_name}」（{f.name}）"
                f"值 {value} 不在代码表内，无法判定；请先更正登记数据。"
            ) from exc


def _column(alias: str, f: Any) -> str:
    sql = f'{alias}."{f.column}"'
    return f"NULLIF({sql}, '')" if f.name in CODED_FIELDS else sql


def _is_coded(f: Any) -> bool:
    """A field holding one of a fixed list of codes (read as a DuckDB ENUM, ADR 0043)."""
    return f.name in CODED_FIELDS and bool(f.choices)


def _enum_type(f: models.Field[Any, Any]) -> str:
    return f"code_{f.model._meta.model_name}_{f.name}"


def _duck_type(f: models.Field[Any, Any]) -> str:
    if _is_coded(f):
        # A DuckDB ENUM of the field's codes: one byte a value instead of a 16-byte string in
        # memory (ADR 0043); compared with the rules' string literals as text, as before.
        return _enum_type(f)
    if isinstance(f, models.BooleanField):
        return "BOOLEAN"
    if isinstance(f, models.DateField):
        return "DATE"
    if isinstance(f, models.DecimalField):
        return f"DECIMAL({f.max_digits}, {f.decimal_places})"
    if isinstance(f, models.IntegerField):
        return "BIGINT"
    return "VARCHAR"


def household_columns() -> dict[str, tuple[str, str]]:
    """Facts name -> (SQL over the registry tables `hh`/`i`, DuckDB type)."""
    out: dict[str, tuple[str, str]] = {}
    for name in HOUSEHOLD_FIELDS:
        f = Household._meta.get_field(name)
        if isinstance(f, models.JSONField):
            continue  # lists (other_causes, risk_types) are not rule inputs
        out[name] = (_column("hh", f), _duck_type(f))  # type: ignore[arg-type]
    out["village_code"] = ('hh."village_id"', "VARCHAR")
    for name in INCOME_FIELDS:
        f = IncomeRecord._meta.get_field(name)
        if name == "year":
            continue
        out[f"income_{name}"] = (_column("i", f), _duck_type(f))  # type: ignore[arg-type]
    return out


def member_columns() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for name in MEMBER_FIELDS:
        f = Member._meta.get_field(name)
        out[name] = (_column("mm", f), _duck_type(f))  # type: ignore[arg-type]
    return out


def enum_statements() -> list[str]:
    """CREATE TYPE statements for the ENUMs of every coded field the bulk path can read."""
    out = []
    for model in (Household, Member, IncomeRecord):
        for f in model._meta.concrete_fields:
            if _is_coded(f):
                codes = ", ".join(sql_literal(str(k)) for k, _ in f.choices or [] if k != "")
                out.append(f"CREATE TYPE IF NOT EXISTS {_enum_type(f)} AS ENUM ({codes})")
    return out


def _prefix_filter(prefixes: list[str] | None, column: str = 'hh."village_id"') -> str:
    if prefixes is None:
        return "TRUE"
    if not prefixes:
        return "FALSE"
    return "(" + " OR ".join(f"starts_with({column}, '{p}')" for p in prefixes) + ")"


def _load_statements(
    year: int, prefixes: list[str] | None, hcols: list[str], mcols: list[str]
) -> list[str]:
    """DuckDB statements filling tables h and m from the registry attached as `reg`."""
    hmap, mmap = household_columns(), member_columns()
    ht, mt, it = (m._meta.db_table for m in (Household, Member, IncomeRecord))
    income_join = ""
    if any(c.startswith("income_") for c in hcols):
        income_join = (
            f'LEFT JOIN reg."{it}" AS i ON i."household_id" = hh."id" '
            f'AND i."year" = {int(year)} AND i."deleted_at" IS NULL'
        )
    cols = ", ".join(f'CAST({hmap[c][0]} AS {hmap[c][1]}) AS "{c}"' for c in hcols)
    mcols_sql = "".join(
        f', NULLIF(CAST(mm."{SEALED_MEMBER[c].column}" AS VARCHAR), \'\') AS "{c}"'
        if c in SEALED_MEMBER
        else f', CAST({mmap[c][0]} AS {mmap[c][1]}) AS "{c}"'
        for c in mcols
    )
    if any(c in SEALED_MEMBER for c in mcols):  # the tokens' row key, for opening them
        mcols_sql = f', CAST(mm."id" AS BIGINT) AS "{MEMBER_ID}"' + mcols_sql
    semi = "" if prefixes is None else 'AND mm."household_id" IN (SELECT id FROM h)'
    # Plain tables, not TEMP: the snapshot is written from a second DuckDB connection.
    return [
        *enum_statements(),
        f'CREATE OR REPLACE TABLE h AS SELECT CAST(hh."id" AS BIGINT) AS id, {cols}, '
        f'CAST(hh."version" AS INTEGER) AS "{VERSION_COLUMN}" '
        f'FROM reg."{ht}" AS hh {income_join} '
        # Exit is judged for registered households only: ordinary ones (一般农户) are left out.
        f'WHERE hh."deleted_at" IS NULL AND hh."poverty_status" <> {sql_literal(NOT_REGISTERED)} '
        f"AND {_prefix_filter(prefixes)}",
        f'CREATE OR REPLACE TABLE m AS SELECT CAST(mm."household_id" AS BIGINT) '
        f'AS household_id{mcols_sql} FROM reg."{mt}" AS mm '
        f'WHERE mm."deleted_at" IS NULL {semi}',
    ]


def provinces_in_scope(prefixes: list[str] | None) -> set[str]:
    """The provinces (first two digits) of the villages a run over `prefixes` can meet, from the
    small regions table: the columns read are those of their standards only."""
    from django.db.models.functions import Substr

    from jingzhun.regions.models import Region

    villages = Region.objects.all()
    if prefixes is not None:
        scope = Q(pk__in=[])
        for p in prefixes:
            scope |= Q(code__startswith=p)
        villages = villages.filter(scope)
    return set(
        villages.annotate(province=Substr("code", 1, 2))
        .values_list("province", flat=True)
        .distinct()
    )


def _existing_statement(standard_id: str, year: int) -> str:
    """Households already judged for the year, with the policy version (committed rows)."""
    at, pt = Assessment._meta.db_table, PolicyVersion._meta.db_table
    return (
        f'CREATE OR REPLACE TEMP TABLE existing AS SELECT a."household_id" AS household_id, '
        f'p."version" AS version, CAST(a."household_version" AS INTEGER) AS household_version '
        f'FROM reg."{at}" AS a JOIN reg."{pt}" AS p '
        f'ON p."id" = a."policy_id" WHERE a."year" = {int(year)} '
        f'AND p."standard" = {sql_literal(standard_id)}'
    )


def _read_inputs(
    con: Any,
    *,
    standard_id: str,
    year: int,
    prefixes: list[str] | None,
    hcols: list[str],
    mcols: list[str],
    parquet: Path | None,
    snapshot_folder: Path | None,
    work: Path,
) -> tuple[str, bool]:
    """Fill h, m and existing; returns (source, whether the snapshot files were written)."""
    loads = [] if parquet is not None else _load_statements(year, prefixes, hcols, mcols)
    sqlite_file = duck.sqlite_path()
    if sqlite_file is None:
        vendor = duck.attach_database(con)
        for statement in [*loads, _existing_statement(standard_id, year)]:
            con.execute(statement)
        con.execute("DETACH reg")
        if parquet is not None:
            _load_from_parquet(con, parquet, prefixes)
        else:
            _open_sealed(con)
        return ("parquet" if parquet is not None else vendor), False
    # SQLite: read in a child process (duck_child.py explains why), through Parquet files.
    work.mkdir(parents=True, exist_ok=True)
    target = snapshot_folder if snapshot_folder is not None and parquet is None else work
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    exports: list[tuple[str, Path]] = [("existing", work / "existing.parquet")]
    if parquet is None:  # the snapshot, in read order (ADR 0042)
        exports += [("h", target / SNAPSHOT_FILES[0]), ("m", target / SNAPSHOT_FILES[1])]
    duck.sqlite_export(
        sqlite_file,
        [*loads, _existing_statement(standard_id, year)],
        exports,
        parquet_options=SNAPSHOT_PARQUET_OPTIONS,
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE existing AS SELECT * FROM "
        f"read_parquet('{quote_path(work / 'existing.parquet')}')"
    )
    if parquet is not None:
        _load_from_parquet(con, parquet, prefixes)
        return "parquet", False
    _load_from_parquet(con, target, None)
    for name in SNAPSHOT_FILES:
        os.chmod(target / name, 0o600)
    return "sqlite", target == snapshot_folder


def _load_from_parquet(con: Any, folder: Path, prefixes: list[str] | None) -> None:
    paths = [folder / name for name in SNAPSHOT_FILES]
    for p in paths:
        if not p.is_file():
            raise DomainError(f"快照目录 {folder} 中缺少 {p.name}")
    where = _prefix_filter(prefixes, "village_code")
    for statement in enum_statements():
        con.execute(statement)
    con.execute(
        f"CREATE OR REPLACE TABLE h AS SELECT {_coded(con, paths[0], household_columns())} "
        f"FROM read_parquet('{quote_path(paths[0])}') WHERE {where}"
    )
    names = {str(r[0]) for r in con.execute("DESCRIBE h").fetchall()}
    if VERSION_COLUMN not in names:  # a snapshot written before ADR 0032
        con.execute(f'ALTER TABLE h ADD COLUMN "{VERSION_COLUMN}" INTEGER DEFAULT 0')
    semi = "" if prefixes is None else "WHERE household_id IN (SELECT id FROM h)"
    con.execute(
        f"CREATE OR REPLACE TABLE m AS SELECT {_coded(con, paths[1], member_columns())} "
        f"FROM read_parquet('{quote_path(paths[1])}') {semi}"
    )
    _open_sealed(con)


def _open_sealed(con: Any) -> None:
    """Table m read with sealed member columns (tokens beside MEMBER_ID): keep it as m_sealed
    (what the snapshot stores) and make m with those columns opened and typed as the rules
    read them. Only the rows in scope and only the columns the rules read are here (column
    pruning in columns_read), so a standard that reads no sealed field never opens one."""
    names = [str(r[0]) for r in con.execute("DESCRIBE m").fetchall()]
    if MEMBER_ID not in names:
        return
    sealed = [n for n in names if n in SEALED_MEMBER]
    con.execute("DROP TABLE IF EXISTS m_sealed")
    con.execute("ALTER TABLE m RENAME TO m_sealed")
    if not sealed:
        con.execute(f'CREATE TABLE m AS SELECT * EXCLUDE ("{MEMBER_ID}") FROM m_sealed')
        return
    mmap = member_columns()
    allowed = {
        n: ({str(k) for k, _ in SEALED_MEMBER[n].choices} if SEALED_MEMBER[n].choices else None)
        for n in sealed
    }
    bad = open_in_duckdb(
        con,
        "m_sealed",
        Member,
        {n: mmap[n][1] for n in sealed},
        id_column=MEMBER_ID,
        target="m",
        allowed=allowed,
    )
    if bad is not None:
        name, member, _value = bad
        code = (
            Member.objects.filter(pk=member).values_list("household__household_code", flat=True)
            .first()
        )  # fmt: skip
        raise DomainError(
            f"户 {code} 成员（编号 {member}）的「{SEALED_MEMBER[name].verbose_name}」（{name}）"
            "值（敏感字段，不显示）不在代码表内，无法判定；请先更正登记数据。"
        )


def _coded(con: Any, path: Path, known: dict[str, tuple[str, str]]) -> str:
    """The select list for a snapshot file: every column, the coded ones cast to their ENUM
    (Parquet keeps them as text)."""
    names = [
        str(r[0])
        for r in con.execute(f"DESCRIBE FROM read_parquet('{quote_path(path)}')").fetchall()
    ]
    sealed = set(SEALED_MEMBER) if MEMBER_ID in names else set()  # tokens: opened after loading
    casts = [
        f'CAST("{n}" AS {known[n][1]}) AS "{n}"'
        for n in names
        if n in known and known[n][1].startswith("code_") and n not in sealed
    ]
    return f"* REPLACE ({', '.join(casts)})" if casts else "*"


def _policy_versions(outcome: bulk.BulkOutcome, standard_id: str) -> dict[int, int]:
    """grp -> PolicyVersion id (rows created on first use)."""
    out: dict[int, int] = {}
    for g in outcome.groups:
        out[g.index] = policy_version_for(g.compiled, standard_id).pk
    return out


def policy_version_for(compiled: Any, standard_id: str) -> PolicyVersion:
    files = list(compiled.standard.files)
    jurisdiction = files[-1].doc.jurisdiction if files else ""
    pv, _ = PolicyVersion.objects.get_or_create(
        version=compiled.version,
        defaults={
            "standard": standard_id,
            "province": "" if jurisdiction == "national" else jurisdiction,
            "title": files[-1].doc.title[:200] if files else "",
            "files": compiled.files,
            "criteria": [
                {"id": c.id, "label": c.label, "kind": c.kind} for c, _ in compiled.criteria
            ],
        },
    )
    return pv


def do_assess_bulk(
    standard_id: str,
    year: int,
    *,
    actor: Any,
    county: str | None = None,
    parquet: Path | None = None,
    store: PolicyStore | None = None,
    snapshot: bool = True,
    progress: Callable[[str], None] | None = None,
    memory_limit: str | None = None,
    engine: str = "duckdb",
    master: str | None = None,
) -> BulkResult:
    """Judge every household in scope (the actor's regions; all when actor is None, i.e. the
    server's operator on the command line), optionally only one county's.

    `engine`: "duckdb" (the default) evaluates in this process; "spark" writes the inputs read
    as a Parquet snapshot partitioned by province and county, evaluates the same compiled rules
    on Spark (`master`: local[*] by default) and loads its Parquet results to store them as the
    DuckDB path does (core.spark, ADR spark-engine)."""
    if engine not in ENGINES:
        raise DomainError(f"未知的计算引擎 {engine!r}（可选：{'、'.join(ENGINES)}）")
    if actor is not None and getattr(actor, "role", "") in ("helper", "auditor"):
        raise Forbidden("您的角色不能运行标准判定。")
    if connection.in_atomic_block:
        # DuckDB reads committed data over its own connections: inside a transaction it would
        # miss this transaction's rows, and on PostgreSQL wait forever for its locks.
        raise DomainError("批量判定须在事务之外运行（它读取已提交的数据）。")
    store = store or default_store()
    prefixes = village_prefixes(actor)
    if county:
        county_prefix = county[:6]
        if prefixes is not None and not any(
            county_prefix.startswith(p) or p.startswith(county_prefix) for p in prefixes
        ):
            raise Forbidden("该县不在您的管辖范围内。")
        prefixes = (
            [county_prefix]
            if prefixes is None
            else [p for p in prefixes if p.startswith(county_prefix)] or [county_prefix]
        )
    step = progress or (lambda _name: None)
    seconds: dict[str, float] = {}
    run_id = uuid.uuid4().hex
    started = timezone.now()
    folder = Path(settings.VAR_DIR) / "snapshots" / run_id
    work = Path(settings.VAR_DIR) / "duckdb_tmp" / f"run-{run_id}"
    work.mkdir(parents=True)
    os.chmod(work, 0o700)  # the inputs hold personal data (as the snapshot does)
    try:
        # The inputs go to a work file of their own, not to an in-memory database: DuckDB then
        # stores them compressed (about a quarter of the memory), written while the registry is
        # read, and evaluation over them is faster within the memory limit (ADR 0044).
        con = duck.connect(memory_limit=memory_limit, database=work / "inputs.duckdb")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
    snapshotting: Future[str] | None = None
    staged: Path | None = None
    try:
        hmap, mmap = household_columns(), member_columns()
        hcols, mcols = bulk.columns_read(
            store,
            standard_id,
            year,
            member_columns=set(mmap),
            household_columns=set(hmap),
            provinces=None if parquet is not None else provinces_in_scope(prefixes),
        )
        hcols = sorted({"village_code", *hcols})
        if "name" not in mcols:
            mcols = sorted({"name", *mcols})  # for the replayed explanation ("which members")
        step("read")
        t = time.perf_counter()
        try:
            source, written = _read_inputs(
                con,
                standard_id=standard_id,
                year=year,
                prefixes=prefixes,
                hcols=hcols,
                mcols=mcols,
                parquet=parquet,
                snapshot_folder=folder if snapshot else None,
                work=work,
            )
        except (duckdb.ConversionException, RuntimeError) as exc:
            if "Conversion Error" not in str(exc):
                raise
            _refuse_unknown_code(exc, parquet is not None, [*hcols, *mcols], prefixes)
            raise
        seconds["read"] = time.perf_counter() - t
        step("evaluate")
        t = time.perf_counter()
        outcome = _evaluate(
            con, store, standard_id, year, set(mmap), set(hmap), engine, master, work
        )
        seconds["evaluate"] = time.perf_counter() - t
        if outcome.households == 0:
            raise DomainError("没有可判定的户（请检查范围，或先导入登记数据）")
        if snapshot:
            # Written by a second DuckDB cursor while this one stores (the Parquet encoding
            # then runs beside the database's COPY, which is mostly PostgreSQL's work and the
            # disk's); awaited before the transaction commits. Not beside evaluation, which
            # uses both cores itself. "snapshot" is the time it took, alongside.
            snapshotting = pool.submit(
                storage.timed_snapshot, con.cursor(), folder, written, seconds
            )
        step("store")
        t = time.perf_counter()
        created = _fresh(con, outcome)
        if created:
            staged = storage.stage(con, work)  # SQLite: outside the transaction
        with transaction.atomic():
            result = _store(
                con,
                outcome,
                created=created,
                run_id=run_id,
                standard_id=standard_id,
                year=year,
                actor=actor,
                source=source,
                scope=",".join(prefixes or []),
                snapshot=(folder.relative_to(settings.VAR_DIR).as_posix() if snapshot else ""),
                digest=snapshotting.result if snapshotting is not None else (lambda: ""),
                started=started,
                timings=seconds,
            )
        seconds["store"] = time.perf_counter() - t
    except BaseException:
        if snapshotting is not None:
            wait([snapshotting])  # before removing its folder and closing the connection
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        pool.shutdown(wait=True)
        con.close()
        try:
            storage.unstage(staged)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    result.seconds = seconds
    return result


def _evaluate(
    con: Any,
    store: PolicyStore,
    standard_id: str,
    year: int,
    member_cols: set[str],
    household_cols: set[str],
    engine: str,
    master: str | None,
    work: Path,
) -> bulk.BulkOutcome:
    """Table `results` from h and m: policy.bulk.evaluate on DuckDB, or on Spark over a
    Parquet snapshot of h and m (the same compiler, with the Spark pass set)."""

    def run(target: Any, passes: Passes) -> bulk.BulkOutcome:
        return bulk.evaluate(
            target,
            store,
            standard_id,
            year,
            member_columns=member_cols,
            household_columns=household_cols,
            carry=(VERSION_COLUMN,),
            passes=passes,
        )

    if engine == "duckdb":
        return run(con, DUCKDB)
    from jingzhun.core import spark

    # Sealed member fields the rules read are opened in m (as for DuckDB): the snapshot for
    # Spark holds them in clear, in the run's work folder (0700, removed after the run).
    return spark.run_on_spark(
        con,
        lambda sc: run(sc, SPARK),
        inputs=["h", "m"],
        outputs=["results"],
        households=["h"],
        work=work / "spark",
        master=master or spark.DEFAULT_MASTER,
    )


def _fresh(con: Any, outcome: bulk.BulkOutcome) -> int:
    """Table `fresh`: the decisions to store, each with its parameter group (the policy
    version's row id is known only inside the transaction); returns how many. Households already
    judged with the same policy version and the same data keep their assessment (`existing` was
    read with the inputs: committed rows; the unique constraint guards a race)."""
    versions = ", ".join(f"({g.index}, {sql_literal(g.compiled.version)})" for g in outcome.groups)
    failed = bulk.listed_ids(outcome.criteria, 0, "r")
    unknown = bulk.listed_ids(outcome.criteria, 2, "r")
    con.execute(
        f"CREATE OR REPLACE TABLE fresh AS SELECT r.household_id, r.grp, "
        f'r."{VERSION_COLUMN}" AS household_version, r.passed, '
        f"{failed} AS failed, {unknown} AS unknown FROM results r "
        f"JOIN (VALUES {versions}) AS gv(grp, version) USING (grp) ANTI JOIN existing e "
        "ON e.household_id = r.household_id AND e.version = gv.version "
        f'AND e.household_version = r."{VERSION_COLUMN}"'
    )
    row = con.execute("SELECT count(*) FROM fresh").fetchone()
    return int(row[0]) if row else 0


def _policy_case(grp_policy: dict[int, int]) -> str:
    """SQL over `fresh`: the policy version's row id of each row's group."""
    whens = " ".join(f"WHEN {int(g)} THEN {int(p)}" for g, p in grp_policy.items())
    return f"CASE grp {whens} END"


def _store(
    con: Any,
    outcome: bulk.BulkOutcome,
    *,
    created: int,
    run_id: str,
    standard_id: str,
    year: int,
    actor: Any,
    source: str,
    scope: str,
    snapshot: str,
    digest: Callable[[], str],
    started: datetime,
    timings: dict[str, float],
) -> BulkResult:
    grp_policy = _policy_versions(outcome, standard_id)
    run = AssessmentRun.objects.create(
        id=run_id,
        standard=standard_id,
        year=year,
        method=AssessmentRun.BULK,
        source=source,
        scope=scope,
        snapshot=snapshot,
        actor=actor,
        actor_name=getattr(actor, "username", "") or "",
        started_at=started,
    )
    policy_id = _policy_case(grp_policy)
    t = time.perf_counter()
    if created:
        storage.store_decisions(con, run_id, year, policy_id)
    timings["store_rows"] = time.perf_counter() - t
    t = time.perf_counter()
    _summaries(con, outcome, run)
    timings["store_counts"] = time.perf_counter() - t
    t = time.perf_counter()
    run.snapshot_sha256 = digest()  # waits for the snapshot being written alongside
    timings["store_wait_snapshot"] = time.perf_counter() - t
    run.households = outcome.households
    run.created = created
    run.unchanged = outcome.households - created
    run.passed = outcome.passed
    run.finished_at = timezone.now()
    run.save()
    record(
        "assessments.run",
        actor=actor,
        object_type="assessment_run",
        object_id=run_id,
        diff={
            "standard": standard_id,
            "year": year,
            "method": "bulk",
            "source": source,
            "households": outcome.households,
            "created": created,
            "passed": outcome.passed,
            "snapshot_sha256": run.snapshot_sha256,
        },
    )
    return BulkResult(
        run_id, outcome.households, created, outcome.households - created, outcome.passed,
        snapshot=snapshot,
    )  # fmt: skip


def _summaries(con: Any, outcome: bulk.BulkOutcome, run: AssessmentRun) -> None:
    """One row per village, computed in one grouped pass and written in bulk."""
    cols = ["count(*)", "count_if(r.passed)"]
    for c in outcome.criteria:
        col = f'r."c_{c}"'
        cols += [f"count({col})", f"count_if({col} = 1)", f"count_if({col} = 0)"]
        cols.append(f"count_if({col} = 2)")
    grouped = con.execute(
        f"SELECT r.village_code, {', '.join(cols)} FROM results r GROUP BY 1"
    ).fetchall()
    rows = []
    for village, n, ok, *per in grouped:
        counts = {c: per[4 * i : 4 * i + 4] for i, c in enumerate(outcome.criteria) if per[4 * i]}
        rows.append((run.pk, village, n, ok, json.dumps(counts, separators=(",", ":"))))
    storage.write_rows(
        AssessmentSummary, ["run_id", "village_code", "households", "passed", "criteria"], rows
    )
