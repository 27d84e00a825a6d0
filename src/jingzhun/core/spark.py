"""The Spark engine: the same SQL as the DuckDB path, run by Apache Spark (ADR spark-engine).

Pure Python, PySpark and DuckDB (no Django). The bulk jobs (assessment, indicators, exact
matching) are written as DuckDB SQL over named tables, issued through a connection's
`execute`. `SparkConnection` is such a connection over a SparkSession: each statement is parsed
by SQLGlot in DuckDB's dialect and written in Spark SQL's, and the few statements that are not
queries are carried out on the session:

- `CREATE [OR REPLACE] [TEMP] TABLE t AS SELECT …`: a temporary view of the query's DataFrame,
  cached (computed once, when first read; memory and disk); `CREATE VIEW`: the same, not cached;
- `CREATE TABLE t (col type, …)`: an empty DataFrame of that schema;
- `INSERT INTO t SELECT …`: t becomes t UNION ALL the query's rows (computed at once), by
  position, cast to t's types;
- `DROP TABLE|VIEW t`: the view dropped (and its cache released);
- any other statement is a query; `fetchall`/`fetchone` collect it to the driver.

One rewrite keeps the values the same: DuckDB's `sign()` is an integer, Spark's a DOUBLE, which
would make the rule compiler's exact division go through floating point; it is cast to BIGINT.
Spark runs in ANSI mode (its default since 4.0), so an overflow is an error, as in DuckDB.

`run_on_spark` is the seam the jobs use: the inputs (DuckDB tables, read from the registry as
the DuckDB path reads them) are written as a Parquet snapshot partitioned by province and county
(`<dir>/<table>/province=<pp>/county=<cccccc>/*.parquet`, Hive style), Spark reads it, the job
runs on Spark, its outputs are written as Parquet and loaded back into the DuckDB connection,
where the application stores them as it stores the DuckDB path's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlglot
from sqlglot import exp

__all__ = [
    "DEFAULT_MASTER",
    "SparkConnection",
    "export_snapshot",
    "load_outputs",
    "run_on_spark",
    "session",
    "to_spark_sql",
]

DEFAULT_MASTER = "local[*]"
T = TypeVar("T")


def session(
    master: str = DEFAULT_MASTER,
    *,
    local_dir: Path | None = None,
    conf: dict[str, str] | None = None,
) -> Any:
    """A SparkSession on `master` (local[*], spark://host:7077, yarn, k8s://…). Nothing is
    downloaded: the pyspark wheel carries Spark's jars; Java must be installed (.ci/run)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise RuntimeError(
            "Spark 引擎需要 Java（未找到 java）：请安装 default-jre-headless（Debian）或设置 JAVA_HOME"
        )
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("jingzhun")
    settings = {
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.shuffle.partitions": str(max(2, (os.cpu_count() or 2) * 2)),
        "spark.driver.memory": os.environ.get("JINGZHUN_SPARK_DRIVER_MEMORY", "2g"),
        **(conf or {}),
    }
    if local_dir is not None:
        local_dir.mkdir(parents=True, exist_ok=True)
        settings.setdefault("spark.local.dir", str(local_dir))
        settings.setdefault("spark.sql.warehouse.dir", str(local_dir / "warehouse"))
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _sign_as_bigint(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Sign) and not isinstance(node.parent, exp.Cast):
        return exp.Cast(this=node, to=exp.DataType.build("BIGINT"))
    return node


def to_spark_sql(node: Any) -> str:
    """A statement parsed in DuckDB's dialect, written in Spark SQL's."""
    return node.transform(_sign_as_bigint).sql(dialect="spark")


@dataclass
class _Result:
    rows: list[tuple[Any, ...]]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


class _Lazy:
    """A query's result, collected when fetched."""

    def __init__(self, df: Any) -> None:
        self.df = df

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.df.collect()]

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.df.take(1)
        return tuple(rows[0]) if rows else None


def _name(table: exp.Expression) -> str:
    return table.name if isinstance(table, exp.Table) else table.this.name


class SparkConnection:
    """DuckDB-dialect statements run on a SparkSession (see the module docstring)."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.cached: dict[str, Any] = {}
        self.statements: list[str] = []  # the Spark SQL run, for reading and debugging

    def table(self, name: str) -> Any:
        return self.spark.table(name)

    def _define(self, name: str, df: Any, cache: bool) -> None:
        old = self.cached.pop(name, None)
        if cache:
            df = df.cache()
            self.cached[name] = df
        df.createOrReplaceTempView(name)
        if old is not None:
            old.unpersist()

    def _sql(self, node: Any) -> Any:
        text = to_spark_sql(node)
        self.statements.append(text)
        return self.spark.sql(text)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        if parameters:
            raise NotImplementedError("SparkConnection: parameters are not supported")
        node = sqlglot.parse_one(sql, read="duckdb")
        if isinstance(node, exp.Create):
            kind = (node.args.get("kind") or "").upper()
            target = node.this
            if isinstance(target, exp.Schema):  # CREATE TABLE t (col type, …)
                columns = [c for c in target.expressions if isinstance(c, exp.ColumnDef)]
                ddl = ", ".join(
                    f"`{c.name}` {c.args['kind'].sql(dialect='spark')}" for c in columns
                )
                df = self.spark.createDataFrame([], ddl)
                self._define(_name(target), df, cache=False)
                return _Result([])
            query = node.expression
            self._define(_name(target), self._sql(query), cache=kind == "TABLE")
            return _Result([])
        if isinstance(node, exp.Insert):
            target = node.this
            name = _name(target)
            old = self.spark.table(name)
            new = self._sql(node.expression)
            from pyspark.sql import functions as F

            new = new.select(
                [
                    F.col(f"`{c}`").cast(f.dataType).alias(f.name)
                    for c, f in zip(new.columns, old.schema.fields, strict=True)
                ]
            )
            # the inserted rows are computed now (they read tables the job replaces next), and
            # the table stays a union of computed pieces, not a growing plan
            self._define(name, old.unionAll(new.localCheckpoint(eager=True)), cache=False)
            return _Result([])
        if isinstance(node, exp.Drop):
            for table in node.args.get("tables") or [node.this]:
                name = _name(table)
                old = self.cached.pop(name, None)
                self.spark.catalog.dropTempView(name)
                if old is not None:
                    old.unpersist()
            return _Result([])
        if isinstance(node, exp.Describe):
            schema = self.spark.table(_name(node.this)).schema
            return _Result([(f.name, f.dataType.simpleString()) for f in schema.fields])
        return _Lazy(self._sql(node))

    def insert_rows(self, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Append Python rows to table (by position)."""
        old = self.spark.table(table)
        new = self.spark.createDataFrame(list(rows), old.schema)
        self._define(table, old.unionAll(new), cache=True)

    def register_parquet(self, name: str, path: Path | str) -> None:
        """A table read from a Parquet folder (Hive partitions province=/county=: their columns
        are dropped, so that the table has the columns it was written with)."""
        df = self.spark.read.option("basePath", str(path)).parquet(str(path))
        extra = [c for c in ("province", "county") if c in df.columns]
        self._define(name, df.drop(*extra), cache=False)

    def write_parquet(self, name: str, path: Path | str) -> None:
        self.spark.table(name).write.mode("overwrite").parquet(str(path))

    def close(self) -> None:
        for df in self.cached.values():
            df.unpersist()
        self.cached.clear()


def _q(path: Path) -> str:
    return str(path).replace("'", "''")


def export_snapshot(
    con: Any, folder: Path, tables: Sequence[str], *, households: Sequence[str] = ()
) -> None:
    """DuckDB tables as a Parquet snapshot under `folder/<table>/`, partitioned by province and
    county (Hive style) where a row has a village: its own `village_code`, or its household's
    (a table with `household_id`, through the first of `households` that holds an `id`).
    Tables without either (regions, populations) and empty tables are one unpartitioned file."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in tables:
        target = folder / table
        shutil.rmtree(target, ignore_errors=True)
        columns = {str(r[0]) for r in con.execute(f"DESCRIBE {table}").fetchall()}
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        select = None
        if row and row[0]:
            if "village_code" in columns:
                select = f"SELECT t.*, {_partitions('t.village_code')} FROM {table} t"
            elif "household_id" in columns:
                parent = next((h for h in households if h != table), None)
                if parent is not None:
                    select = (
                        f"SELECT t.*, {_partitions('p.village_code')} FROM {table} t "
                        f"LEFT JOIN {parent} p ON p.id = t.household_id"
                    )
        if select is None:
            target.mkdir(parents=True)
            con.execute(f"COPY {table} TO '{_q(target / 'part-0.parquet')}' (FORMAT parquet)")
            continue
        con.execute(
            f"COPY ({select}) TO '{_q(target)}' "
            "(FORMAT parquet, PARTITION_BY (province, county), OVERWRITE_OR_IGNORE)"
        )


def _partitions(village: str) -> str:
    code = f"coalesce(CAST({village} AS VARCHAR), '')"
    return (
        f"coalesce(nullif(substr({code}, 1, 2), ''), 'none') AS province, "
        f"coalesce(nullif(substr({code}, 1, 6), ''), 'none') AS county"
    )


def load_outputs(con: Any, folder: Path, tables: Sequence[str]) -> None:
    """Spark's Parquet outputs (`folder/<table>/`) as DuckDB tables of the same names."""
    for table in tables:
        files = f"{_q(folder / table)}/*.parquet"
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet('{files}')")


def run_on_spark(
    con: Any,
    job: Callable[[SparkConnection], T],
    *,
    inputs: Sequence[str],
    outputs: Sequence[str],
    work: Path,
    households: Sequence[str] = (),
    master: str = DEFAULT_MASTER,
    spark: Any = None,
) -> T:
    """Run `job` on Spark over the DuckDB tables `inputs`, and bring its `outputs` back into
    `con` (see the module docstring). `spark`: a session to use (kept open), by default the
    process's active one; otherwise one is started on `master` and stopped afterwards. The
    snapshot and outputs go under `work`."""
    snapshot, results = work / "snapshot", work / "results"
    export_snapshot(con, snapshot, inputs, households=households)
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()  # a session this process runs (tests) is kept
    own = spark is None
    if own:
        spark = session(master, local_dir=work / "spark-local")
    sc = SparkConnection(spark)
    try:
        for table in inputs:
            sc.register_parquet(table, snapshot / table)
        value = job(sc)
        for table in outputs:
            sc.write_parquet(table, results / table)
    finally:
        sc.close()
        for table in [*inputs, *outputs]:
            spark.catalog.dropTempView(table)
        if own:
            spark.stop()
    load_outputs(con, results, outputs)
    return value
