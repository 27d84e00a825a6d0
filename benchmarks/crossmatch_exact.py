"""B6 crossmatch_exact: exact matching of a department roster against every resident on the ID
number's blind index (issue 22 item 7; ADR 0063, ADR 0084 exact-match-in-duckdb).

Residents and roster are generated in DuckDB (valid 18-digit ID numbers; 80% of the roster rows
are residents, 5% of those with another name; 20% are not in the registry), in the input tables
of the application's matcher `feeds.exact` (`exact_residents_in`, `exact_rows_in`), each with the
index as 64 hex characters: the shape of `Member.id_number_index` and `FeedRow.id_index`, which
`feeds.actions.match_in_duckdb` reads from the database into the same tables. Measured, median of
3 after a warm-up, wall and CPU seconds of this process (all DuckDB threads):

- the keyed matcher `feeds.exact.match_keyed`: the join on a 64-bit key of the
  index (DuckDB's hash of the string) against the residents' store (`exact.prepare_residents`:
  the residents with their keys, made once per store like PostgreSQL's index, timed apart), the
  index strings compared for the joined pairs only; rows matched with member, household and
  the name-differs flag, materialised;
- the plain matcher `feeds.exact.match_plain` (the application's default): the join of the
  64-character strings;
- the same join in PostgreSQL in the same run (residents with the unique index the registry
  has on `id_number_index`, ANALYZEd);
- the roster preparation of the application (`feeds.roster.normalise_id` + the registry's
  keyed HMAC index `registry.models.id_index`) per row, on a sample, extrapolated.

The index values of the join are SHA-256 of the number (DuckDB's built-in), not the keyed
HMAC-SM3: the join costs the same for any 256-bit key written as 64 hex characters, and
computing 10M HMACs in Python would measure Python, not the join (the preparation figure covers
the HMAC). The three joins must find the same pairs (checked).

    uv run python benchmarks/crossmatch_exact.py [--residents N] [--roster N] [--small] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_section, drop_postgres, fresh_postgres, machine, median
from jingzhun.feeds import exact

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
DB_NAME = "jz_feeds_b6"
NAMES = "'张','王','李','赵','刘','陈','杨','黄','周','吴'"


def _id_sql(n: str) -> str:
    """SQL of a valid 18-character ID number from integer expression `n` (distinct n → distinct
    numbers): a county code, a birth date in 1940-2019 and a 3-digit sequence, check char."""
    body = (
        "('230231' || strftime(DATE '1940-01-01' + CAST((n // 1000) % 29200 AS INTEGER), '%Y%m%d')"
        " || lpad(CAST(n % 1000 AS VARCHAR), 3, '0'))"
    ).replace("n", n)
    total = " + ".join(
        f"CAST(substr(b, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(WEIGHTS)
    )
    return f"(SELECT b || substr('10X98765432', (({total}) % 11) + 1, 1) FROM (SELECT {body} AS b))"


def generate(con: duckdb.DuckDBPyConnection, residents: int, roster: int) -> None:
    # n spreads residents over distinct (birth date, sequence) pairs: 29,200 days x 1000
    con.execute(
        f"""
        CREATE TABLE residents AS
        SELECT member_id, household_id, name, id_number, sha256(id_number) AS id_index
        FROM (
            SELECT i AS member_id, i // 3 AS household_id,
                   [{NAMES}][i % 10 + 1] || '某' || (i % 97) AS name,
                   {_id_sql("(i * 997 % 29200000)")} AS id_number
            FROM range({residents}) t(i)
        )
        """
    )
    hits = roster * 8 // 10
    con.execute(
        f"""
        CREATE TABLE roster AS
        SELECT row_number() OVER () AS row_id, id_number, id_index,
               CASE WHEN random() < 0.05 THEN name || '甲' ELSE name END AS name
        FROM (SELECT * FROM residents USING SAMPLE {hits} ROWS)
        UNION ALL
        SELECT {hits} + i + 1, x.id_number, sha256(x.id_number), '外来' || i
        FROM range({roster - hits}) t(i),
             LATERAL (SELECT '5301' || substr({_id_sql("(i * 7919 % 29200000)")}, 5) AS id_number) x
        """
    )


def inputs(con: duckdb.DuckDBPyConnection) -> None:
    """The application matcher's input tables (feeds.exact), as match_in_duckdb fills them."""
    con.execute(
        f"CREATE TABLE {exact.RESIDENTS_IN} AS "
        "SELECT member_id, household_id, name, id_index FROM residents"
    )
    con.execute(f"CREATE TABLE {exact.ROWS_IN} AS SELECT row_id, name, id_index FROM roster")


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (this process, every thread) of `runs` calls after a warm-up."""
    walls, cpus = [], []
    for i in range(runs + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        if i:  # the first run warms up
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    return walls, cpus


def pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int, bool]]:
    return con.execute(
        f"SELECT row_id, member_id, name_differs FROM {exact.MATCHED} ORDER BY row_id"
    ).fetchall()


PG_JOIN = (
    "CREATE TABLE matched AS SELECT r.row_id, p.member_id, p.household_id, "
    "(r.name <> '' AND r.name IS DISTINCT FROM p.name) AS name_differs "
    "FROM roster r JOIN residents p ON r.id_index = p.id_index"
)


def postgres_join(
    con: duckdb.DuckDBPyConnection, runs: int, workdir: Path
) -> tuple[list[float], list[tuple[int, int, bool]], float]:
    import psycopg

    url = fresh_postgres(DB_NAME)
    try:
        load_start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(
                "CREATE TABLE residents (member_id bigint PRIMARY KEY, household_id bigint NOT NULL,"
                " name varchar(50) NOT NULL, id_index varchar(64) NOT NULL)"
            )
            pg.execute(
                "CREATE TABLE roster (row_id bigint PRIMARY KEY, id_index varchar(64) NOT NULL,"
                " name varchar(50) NOT NULL)"
            )
            for table, columns in (
                ("residents", "member_id, household_id, name, id_index"),
                ("roster", "row_id, id_index, name"),
            ):
                path = workdir / f"{table}.csv"
                con.execute(f"COPY (SELECT {columns} FROM {table}) TO '{path}' (HEADER false)")
                with (
                    pg.cursor() as cur,
                    cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
                    open(path, "rb") as f,
                ):
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
                path.unlink()
            # the registry's unique index on the live members' blind index
            pg.execute("CREATE UNIQUE INDEX residents_id_index ON residents (id_index)")
            pg.execute("ANALYZE residents")
            pg.execute("ANALYZE roster")
            load_s = time.perf_counter() - load_start

            def join() -> None:
                pg.execute("DROP TABLE IF EXISTS matched")
                pg.execute(PG_JOIN)

            walls, _cpu = timed(join, runs)
            found = pg.execute(
                "SELECT row_id, member_id, name_differs FROM matched ORDER BY row_id"
            ).fetchall()
        return walls, found, load_s
    finally:
        drop_postgres(DB_NAME)


def preparation(con: duckdb.DuckDBPyConnection, sample: int) -> tuple[float, int]:
    """Rows per second of the application's roster preparation (normalise + keyed index)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    os.environ.setdefault("JINGZHUN_VAR_DIR", tempfile.mkdtemp(prefix="jz-b6-"))
    import django

    django.setup()
    from jingzhun.feeds.roster import normalise_id
    from jingzhun.registry.models import id_index

    raw = [r[0] for r in con.execute(f"SELECT id_number FROM roster LIMIT {sample}").fetchall()]
    # the forms rosters arrive in: a third 15-digit, a third with spaces and a lower-case x
    shown = []
    for i, number in enumerate(raw):
        if i % 3 == 0 and number[6:8] == "19":
            shown.append(number[:6] + number[8:17])
        elif i % 3 == 1:
            shown.append(f" {number[:6]} {number[6:].lower()}")
        else:
            shown.append(number)
    start = time.perf_counter()
    indexed = 0
    for value in shown:
        outcome = normalise_id(value)
        if outcome.number:
            id_index(outcome.number)
            indexed += 1
    return len(shown) / (time.perf_counter() - start), indexed


def _runs(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=10_000_000)
    parser.add_argument("--roster", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="100,000 residents, 10,000 rows")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100_000, help="rows of the preparation")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not append to docs")
    args = parser.parse_args()
    if args.small:
        args.residents, args.roster, args.sample = 100_000, 10_000, 10_000
    load_before = os.getloadavg()
    # as core.duck.connect: no insertion order kept (the application's connection)
    con = duckdb.connect(config={"preserve_insertion_order": False})
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    start = time.perf_counter()
    generate(con, args.residents, args.roster)
    inputs(con)
    generate_s = time.perf_counter() - start
    expected = con.execute(
        "SELECT count(*) FROM roster r JOIN residents p USING (id_number)"
    ).fetchone()[0]
    start = time.perf_counter()
    exact.prepare_residents(con)
    store_s = time.perf_counter() - start
    keyed_wall, keyed_cpu = timed(lambda: exact.match_keyed(con), args.runs)
    keyed_pairs = pairs(con)
    load_mid = os.getloadavg()
    plain_wall, plain_cpu = timed(lambda: exact.match_plain(con), args.runs)
    plain_pairs = pairs(con)
    assert len(keyed_pairs) == expected, (len(keyed_pairs), expected)
    assert keyed_pairs == plain_pairs
    pg_times: list[float] = []
    pg_load = 0.0
    if not args.no_postgres:
        with tempfile.TemporaryDirectory(prefix="jz-b6-") as tmp:
            pg_times, pg_pairs, pg_load = postgres_join(con, args.runs, Path(tmp))
        assert pg_pairs == keyed_pairs
    prep_rate, _ = preparation(con, min(args.sample, args.roster))
    load_after = os.getloadavg()
    m = machine()
    keyed, plain = median(keyed_wall), median(plain_wall)
    pg = median(pg_times) if pg_times else float("nan")
    summary = {
        "residents": args.residents,
        "roster": args.roster,
        "matched": len(keyed_pairs),
        "name_differs": sum(1 for p in keyed_pairs if p[2]),
        "threads": threads,
        "keyed_s": round(keyed, 3),
        "keyed_runs": [round(t, 3) for t in keyed_wall],
        "keyed_cpu": [round(t, 3) for t in keyed_cpu],
        "plain_s": round(plain, 3),
        "plain_runs": [round(t, 3) for t in plain_wall],
        "plain_cpu": [round(t, 3) for t in plain_cpu],
        "store_s": round(store_s, 1),
        "postgres_s": round(pg, 3),
        "postgres_runs": [round(t, 3) for t in pg_times],
        "ratio": round(pg / plain, 1) if pg_times else None,  # the application's default
        "generate_s": round(generate_s, 1),
        "postgres_load_s": round(pg_load, 1),
        "prep_rows_per_s": round(prep_rate),
        "load": [round(x, 1) for x in (*load_before, *load_mid, *load_after)],
    }
    print(summary)
    if args.no_write:
        return
    ratio = f"{pg / plain:.1f}x" if pg_times else "—"
    body = f"""### {m["date"]} · commit {m["commit"]} · {m["nproc"]} cores, {m["memory"]} · {m["versions"]}, DuckDB {duckdb.__version__} ({threads} threads)

Load average (1 / 5 / 15 min) before {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, after the DuckDB keyed runs {load_mid[0]:.1f} / {load_mid[1]:.1f} / {load_mid[2]:.1f}, at the end {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} (2 cores shared with other agents' work). CPU: seconds of this process, all DuckDB threads.

| residents | roster rows | matched (name differs) | DuckDB keyed `exact.match_keyed` s, median of {args.runs} (runs; CPU s) | DuckDB plain `exact.match_plain` (the default) s (runs; CPU s) | PostgreSQL join s (runs) | PostgreSQL / DuckDB plain | roster preparation (normalise + keyed index) |
|---|---|---|---|---|---|---|---|
| {args.residents:,} | {args.roster:,} | {len(keyed_pairs):,} ({summary["name_differs"]:,}) | {keyed:.3f} ({_runs(keyed_wall)}; CPU {_runs(keyed_cpu)}) | **{plain:.3f}** ({_runs(plain_wall)}; CPU {_runs(plain_cpu)}) | {pg:.3f} ({_runs(pg_times)}) | {ratio} | {prep_rate:,.0f} rows/s (sample {min(args.sample, args.roster):,}) → {args.roster / prep_rate:.1f} s for the roster |

Generating the residents and the roster took {generate_s:.1f} s; the residents' key store (`exact.prepare_residents`, once per store) {store_s:.1f} s; loading PostgreSQL (COPY, unique index, ANALYZE) {pg_load:.1f} s (none of these in the join). The keyed, plain and PostgreSQL joins found the same pairs.
"""
    append_section("B6 crossmatch_exact", body)


if __name__ == "__main__":
    main()
