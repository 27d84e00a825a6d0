"""Issue 23 item 8: the fund ledger on PostgreSQL.

    uv run python benchmarks/ledger.py [--small] [--db funds_ledger_bench] [--postings N]
        [--total N] [--sample N] [--runs 3] [--no-append]

1. Posting --postings ledger entries (default 1,000,000: a year of a county's disbursements)
   as one bulk import (`projects.ledger.do_import_postings`: rows checked set-wise and in file
   order against the locked balances, COPY through `core.bulk.BulkWriter`, balances updated,
   one audit event), against the per-row ORM path in the same run (`do_disburse_funds` once per
   entry: an action with row locks, an insert, two balance updates and an audit event each),
   timed on --sample entries and extrapolated to --postings (said so in the result). Median of
   --runs after a warm-up (the bulk path imports fresh rows each run; the per-row path posts a
   fresh sample each run).
2. A balance per project and per fund source with --total postings in the table (default
   10,000,000; the rows beyond what step 1 wrote are inserted by SQL, outside the measurement,
   as allocation/disbursement pairs, and the account balances set from their sums):
   `selectors.project_balance` / `selectors.source_balance` (read from the accounts), against
   the naive SUM over the postings (debits − credits of the accounts) in the same run; the two
   must agree. Median of 21 calls over different projects and sources after a warm-up.

Data: one county (a township, two villages), 8 fund sources (one of each kind), 50 approved
projects (each funded by one source), created through the actions. The database is a fresh
PostgreSQL database (--db, dropped at the end). The load average of the machine is printed with
the results (shared machine). `--small`: 100,000 entries, 1,000,000 postings, sample 300.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import append_section, drop_postgres, fresh_postgres, machine  # noqa: E402

SECRET = "bench-ledger-not-a-real-secret-0123456789abcdef"
COUNTY = "230231000000"
TOWNSHIP = "230231100000"
VILLAGES = ("230231100201", "230231100202")
PROJECTS = 50


def setup_django(url: str, var: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "JINGZHUN_VAR_DIR": var,
            "JINGZHUN_SECRET_KEY": SECRET,
            "DJANGO_SETTINGS_MODULE": "jingzhun.settings.embedded",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_world() -> tuple[Any, list[Any], list[Any]]:
    """The county, its staff, 8 funded sources and PROJECTS approved projects (via actions)."""
    from django.utils import timezone

    from jingzhun.access.models import RegionGrant, User
    from jingzhun.projects.actions import (
        do_create_project,
        do_move_project,
        do_post_project,
        do_set_project_funding,
    )
    from jingzhun.projects.choices import SOURCE_KINDS
    from jingzhun.projects.ledger import do_create_fund_source, do_receive_funds
    from jingzhun.regions.actions import RegionRow, do_load_regions

    rows = [
        RegionRow(1, "230000000000", "黑龙江省"),
        RegionRow(2, "230200000000", "齐齐哈尔市"),
        RegionRow(3, COUNTY, "拜泉县", rural_population=10000, year=2019),
        RegionRow(4, TOWNSHIP, "第1镇"),
        RegionRow(5, VILLAGES[0], "第1镇1村"),
        RegionRow(6, VILLAGES[1], "第1镇2村"),
    ]
    do_load_regions(rows, actor=None, source="bench")
    county = User.objects.create_user(username="bench-county", password="x", role="county")
    RegionGrant.objects.create(user=county, region_id=COUNTY)
    today = timezone.localdate()
    sources = []
    for i, kind in enumerate(SOURCE_KINDS):
        s = do_create_fund_source(COUNTY, today.year, kind, f"资金{i}", actor=county)
        do_receive_funds(s.pk, 10**14, today, key=f"bench-receipt-{i}", actor=county)
        sources.append(s)
    projects = []
    budget = 10**13
    for i in range(PROJECTS):
        p = do_create_project(
            VILLAGES[i % 2], f"项目{i}", "industry", today.year, budget, targets="目标",
            benefit_mechanism="务工带动", actor=None,
        )  # fmt: skip
        p = do_move_project(p.pk, "review", expected_version=p.version, actor=county)
        p = do_set_project_funding(p.pk, sources[i % len(sources)].pk, budget, actor=county)
        for move in ("admit", "plan"):
            p = do_move_project(p.pk, move, expected_version=p.version, actor=county)
        do_post_project(p.pk, "plan", today - datetime.timedelta(days=20), actor=county)
        p.refresh_from_db()
        p = do_move_project(p.pk, "approve", expected_version=p.version, actor=county)
        projects.append(p)
    # each project gets money from its source: the imports pay out of it
    from jingzhun.projects.ledger import do_allocate_funds

    for i, p in enumerate(projects):
        do_allocate_funds(p.pk, sources[i % len(sources)].pk, budget, today,
                          key=f"bench-alloc-{i}", actor=county)  # fmt: skip
    return county, sources, projects


def rows_of(n: int, tag: str, sources: list[Any], projects: list[Any]) -> Any:
    from django.utils import timezone

    from jingzhun.projects.ledger import PostingRows

    today = timezone.localdate()
    rows = PostingRows()
    k = len(projects)
    rows.keys = [f"{tag}-{i}" for i in range(n)]
    rows.kinds = ["disbursement"] * n
    rows.project_ids = [projects[i % k].pk for i in range(n)]
    rows.source_ids = [sources[(i % k) % len(sources)].pk for i in range(n)]
    rows.amounts = [1 + (i * 7919) % 500_000 for i in range(n)]
    rows.dates = [today] * n
    rows.vouchers = [f"{tag}-V{i}" for i in range(n)]
    rows.payees = [f"农户{i % 5000}" for i in range(n)]
    rows.memos = ["公益岗位工资"] * n
    return rows


def bulk(n: int, tag: str, county: Any, sources: list[Any], projects: list[Any]) -> float:
    from jingzhun.projects.ledger import do_import_postings

    rows = rows_of(n, tag, sources, projects)
    start = time.perf_counter()
    result = do_import_postings(COUNTY, rows, filename=f"{tag}.csv", actor=county)
    elapsed = time.perf_counter() - start
    assert result.created and result.batch.rows == n
    return elapsed


def per_row(n: int, tag: str, county: Any, sources: list[Any], projects: list[Any]) -> float:
    from jingzhun.projects.ledger import do_disburse_funds

    rows = rows_of(n, tag, sources, projects)
    start = time.perf_counter()
    for i in range(n):
        do_disburse_funds(
            rows.project_ids[i], rows.source_ids[i], rows.amounts[i], rows.dates[i],
            key=rows.keys[i], voucher=rows.vouchers[i], payee=rows.payees[i], actor=county,
        )  # fmt: skip
    return time.perf_counter() - start


def fill(total: int, sources: list[Any], projects: list[Any]) -> int:
    """Insert allocation/disbursement pairs by SQL until the table holds `total` postings, then
    set every account's balance from its postings (setup, not measured)."""
    from django.db import connection

    from jingzhun.projects.models import Account, Posting

    have = Posting.objects.count()
    pairs = max(0, (total - have) // 2)
    if not pairs:
        return have
    k = len(projects)
    project_acc = {
        p: a for p, a in Account.objects.filter(kind="project").values_list("project_id", "pk")
    }
    source_acc = dict(Account.objects.filter(kind="source").values_list("source_id", "pk"))
    spent = Account.objects.get(kind="spent").pk
    proj = [project_acc[p.pk] for p in projects]
    src = [source_acc[sources[i % len(sources)].pk] for i in range(k)]
    pids = [p.pk for p in projects]
    with connection.cursor() as c:
        c.execute("CREATE TEMP TABLE fill_map (i bigint, pacc bigint, sacc bigint, pid bigint)")
        c.executemany(
            "INSERT INTO fill_map VALUES (%s, %s, %s, %s)",
            [(i, proj[i], src[i], pids[i]) for i in range(k)],
        )
        c.execute(
            """
            INSERT INTO projects_posting (county_code, key, kind, amount_fen, debit_id, credit_id,
                project_id, on_date, voucher, payee, memo, posted_at)
            SELECT %s, 'fill-' || g || '-' || side, CASE side WHEN 0 THEN 'allocation'
                   ELSE 'disbursement' END, 1 + (g * 7919) %% 500000,
                   CASE side WHEN 0 THEN m.pacc ELSE %s END,
                   CASE side WHEN 0 THEN m.sacc ELSE m.pacc END,
                   m.pid, CURRENT_DATE, CASE side WHEN 0 THEN '' ELSE 'FV' || g END,
                   CASE side WHEN 0 THEN '' ELSE '收款人' END, '', now()
            FROM generate_series(1::bigint, %s) AS g CROSS JOIN (VALUES (0), (1)) AS s(side)
            JOIN fill_map m ON m.i = g %% %s
            """,
            [COUNTY, spent, pairs, k],
        )
        c.execute(
            """
            UPDATE projects_account a SET balance_fen = COALESCE(d.s, 0) - COALESCE(cr.s, 0)
            FROM projects_account a2
            LEFT JOIN (SELECT debit_id, sum(amount_fen) s FROM projects_posting GROUP BY 1) d
              ON d.debit_id = a2.id
            LEFT JOIN (SELECT credit_id, sum(amount_fen) s FROM projects_posting GROUP BY 1) cr
              ON cr.credit_id = a2.id
            WHERE a.id = a2.id
            """
        )
        c.execute("ANALYZE projects_posting")
        c.execute("ANALYZE projects_account")
    return Posting.objects.count()


def naive_project_balance(project_id: int) -> int:
    from django.db.models import Sum

    from jingzhun.projects.models import Posting

    inflow = Posting.objects.filter(debit__project_id=project_id).aggregate(s=Sum("amount_fen"))
    out = Posting.objects.filter(credit__project_id=project_id).aggregate(s=Sum("amount_fen"))
    return int(inflow["s"] or 0) - int(out["s"] or 0)


def naive_source_balance(source_id: int) -> int:
    from django.db.models import Sum

    from jingzhun.projects.models import Posting

    q = {"debit__source_id": source_id, "debit__kind": "source"}
    inflow = Posting.objects.filter(**q).aggregate(s=Sum("amount_fen"))
    q = {"credit__source_id": source_id, "credit__kind": "source"}
    out = Posting.objects.filter(**q).aggregate(s=Sum("amount_fen"))
    return int(inflow["s"] or 0) - int(out["s"] or 0)


def timed(fn: Any, ids: list[int]) -> tuple[float, list[Any]]:
    fn(ids[0])  # warm-up
    times, values = [], []
    for i in ids:
        start = time.perf_counter()
        values.append(fn(i))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--db", default="funds_ledger_bench")
    parser.add_argument("--postings", type=int, default=None)
    parser.add_argument("--total", type=int, default=None)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    n = args.postings or (100_000 if args.small else 1_000_000)
    total = args.total or (1_000_000 if args.small else 10_000_000)
    sample = args.sample or (300 if args.small else 2_000)
    load_before = os.getloadavg()
    url = fresh_postgres(args.db)
    try:
        with tempfile.TemporaryDirectory(prefix="funds-bench-") as var:
            setup_django(url, var)
            lines = run(args, n, total, sample, load_before)
    finally:
        from django.db import connections

        connections.close_all()
        drop_postgres(args.db)
    print("\n".join(lines))
    if not args.no_append:
        m = machine()
        append_section(
            "Fund ledger (issue 23 item 8)",
            f"{m['date']}, commit {m['commit']}, {m['nproc']} cores, {m['memory']}, "
            f"Python {m['python']}, {m['versions']}. Command: `uv run python "
            f"benchmarks/ledger.py{' --small' if args.small else ''}`.\n\n" + "\n".join(lines),
        )


def run(args: argparse.Namespace, n: int, total: int, sample: int, load: Any) -> list[str]:
    from jingzhun.projects.models import Posting
    from jingzhun.projects.selectors import project_balance, reconciliation, source_balance

    county, sources, projects = build_world()
    # warm-up of both paths
    bulk(min(10_000, n), "warm-bulk", county, sources, projects)
    per_row(min(50, sample), "warm-row", county, sources, projects)
    bulk_times, row_times = [], []
    for r in range(args.runs):
        bulk_times.append(bulk(n, f"bulk{r}", county, sources, projects))
        row_times.append(per_row(sample, f"row{r}", county, sources, projects))
    b = statistics.median(bulk_times)
    s = statistics.median(row_times)
    extrapolated = s / sample * n
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = reconciliation(county, COUNTY)
    assert report.ok, "the books do not balance after the imports"
    written = Posting.objects.count()
    filled = fill(total, sources, projects)
    ids = [p.pk for p in projects[:21]]
    p_ms, p_vals = timed(project_balance, ids)
    pn_ms, pn_vals = timed(naive_project_balance, ids)
    assert p_vals == pn_vals, "stored project balances disagree with the postings"
    sids = [x.pk for x in sources] * 3
    s_ms, s_vals = timed(lambda i: source_balance(i)[0], sids[:21])
    sn_ms, sn_vals = timed(naive_source_balance, sids[:21])
    assert s_vals == sn_vals, "stored source balances disagree with the postings"
    load_after = os.getloadavg()
    return [
        f"PostgreSQL; {len(projects)} approved projects, {len(sources)} fund sources; load "
        f"average before {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min), after "
        f"{load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f} (2 cores, shared).",
        f"- bulk import of {n:,} disbursements (`do_import_postings`): median {b:.2f} s "
        f"({n / b:,.0f} postings/s); runs {', '.join(f'{x:.2f}' for x in bulk_times)}",
        f"- per-row ORM path (`do_disburse_funds` per entry): {sample:,} entries, median "
        f"{s:.2f} s ({sample / s:,.0f} postings/s), extrapolated to {n:,}: {extrapolated:,.0f} s; "
        f"runs {', '.join(f'{x:.2f}' for x in row_times)}",
        f"- ratio {extrapolated / b:.0f}x (target >= 20x); peak RSS {rss:,.0f} MiB; "
        f"reconciliation over {written:,} postings: books balance",
        f"- balance with {filled:,} postings in the table ({filled - written:,} inserted by SQL "
        f"as setup): per project {p_ms:.2f} ms, per source {s_ms:.2f} ms (median of 21; "
        f"target <= 50 ms); naive SUM over the postings: per project {pn_ms:.1f} ms, per "
        f"source {sn_ms:.1f} ms; stored and summed balances agree",
    ]


if __name__ == "__main__":
    main()
