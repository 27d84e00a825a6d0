"""A loaded batch's exact match on DuckDB or Spark (`feeds match BATCH --engine …`; ADR
spark-engine).

The rows' blind indexes and the live members' are read from the database into DuckDB (committed
data), matched by feeds.matching's one statement on the chosen engine (Spark: over a Parquet
snapshot partitioned by province and county, core.spark.run_on_spark), and the matches are
written back to the batch's rows in one transaction with one audit event. The same result as
actions.match_batch (the join inside the database, which the queued load uses).
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, When

from jingzhun.audit.actions import record
from jingzhun.core import duck
from jingzhun.core.errors import DomainError, Forbidden
from jingzhun.registry.models import Household, Member

from . import matching
from .models import FeedBatch, FeedRow

__all__ = ["ENGINES", "do_match_batch", "read_statements"]

ENGINES = ("duckdb", "spark")
CHUNK = 2000


def read_statements(batch_id: int) -> list[str]:
    """DuckDB statements filling roster and people from the database attached as `reg`."""
    rt, mt, ht = (m._meta.db_table for m in (FeedRow, Member, Household))
    return [
        f'CREATE OR REPLACE TABLE roster AS SELECT CAST(r."id" AS BIGINT) AS row_id, '
        f'CAST(r."id_index" AS VARCHAR) AS id_index FROM reg."{rt}" r '
        f'WHERE r."batch_id" = {int(batch_id)} AND r."status" <> \'invalid\'',
        f'CREATE OR REPLACE TABLE people AS SELECT CAST(m."id" AS BIGINT) AS member_id, '
        f'CAST(m."household_id" AS BIGINT) AS household_id, '
        f'CAST(m."id_number_index" AS VARCHAR) AS id_index, '
        f'CAST(h."village_id" AS VARCHAR) AS village_code FROM reg."{mt}" m '
        f'JOIN reg."{ht}" h ON h."id" = m."household_id" '
        f'WHERE m."deleted_at" IS NULL AND m."id_number_index" <> \'\'',
    ]


def _read(con: Any, batch_id: int, work: Path) -> None:
    statements = read_statements(batch_id)
    sqlite_file = duck.sqlite_path()
    if sqlite_file is None:
        duck.attach_database(con)
        try:
            for statement in statements:
                con.execute(statement)
        finally:
            con.execute("DETACH reg")
        return
    exports = [(t, work / f"{t}.parquet") for t in ("roster", "people")]
    duck.sqlite_export(sqlite_file, statements, exports)
    for table, path in exports:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet('{path}')")


def do_match_batch(
    batch_id: int, *, actor: Any, engine: str = "duckdb", master: str | None = None
) -> dict[str, Any]:
    """Match a loaded batch's rows on `engine`; returns the counts and the phases' seconds."""
    if engine not in ENGINES:
        raise DomainError(f"未知的计算引擎 {engine!r}")
    if actor is not None:
        raise Forbidden("批量比对只能由服务器管理员在命令行运行。")
    if connection.in_atomic_block:
        raise DomainError("批量比对须在事务之外运行（它读取已提交的数据）。")
    batch = FeedBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise DomainError(f"没有批次 {batch_id}")
    work = Path(settings.VAR_DIR) / "duckdb_tmp" / f"match-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    work.chmod(0o700)
    seconds: dict[str, float] = {}
    con = duck.connect(database=work / "match.duckdb")
    try:
        t = time.perf_counter()
        _read(con, batch_id, work)
        seconds["read"] = time.perf_counter() - t
        t = time.perf_counter()
        if engine == "spark":
            from jingzhun.core import spark

            matched = spark.run_on_spark(
                con,
                matching.match,
                inputs=["roster", "people"],
                outputs=["matches"],
                work=work / "spark",
                master=master or spark.DEFAULT_MASTER,
            )
        else:
            matched = matching.match(con)
        seconds["match"] = time.perf_counter() - t
        t = time.perf_counter()
        found = con.execute("SELECT row_id, member_id, household_id FROM matches").fetchall()
        with transaction.atomic():
            for i in range(0, len(found), CHUNK):
                chunk = found[i : i + CHUNK]
                FeedRow.objects.filter(pk__in=[r for r, _, _ in chunk]).update(
                    member_id=Case(*(When(pk=r, then=m) for r, m, _ in chunk)),
                    household_id=Case(*(When(pk=r, then=h) for r, _, h in chunk)),
                    status="matched",
                    match_method="id",
                )
            counts = {
                "matched": FeedRow.objects.filter(batch_id=batch_id, status="matched").count(),
                "unmatched": FeedRow.objects.filter(batch_id=batch_id, status="unmatched").count(),
            }
            FeedBatch.objects.filter(pk=batch_id).update(**counts)
            record(
                "feeds.batch.match",
                actor=actor,
                object_type="feed_batch",
                object_id=batch_id,
                diff={"engine": engine, "found": matched, **counts},
            )
        seconds["store"] = time.perf_counter() - t
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"found": matched, **counts, "seconds": seconds}
