"""B7 crossmatch_fuzzy: probabilistic linking of roster rows whose ID number is damaged or
missing against every resident (issue 22 item 7; ADR 0067 splink-linking-review-queue).

Residents are generated in DuckDB as in B6 (crossmatch_exact.py: a valid 18-character ID from
a birth date and a sequence, built in SQL), here with what linking compares: 30 counties of 12
townships of 28 villages (village names drawn from a small pool, so the same name recurs in
other townships and counties), households of 3 in one village, names of a skewed surname list
(the commonest first) and one or two given-name characters, sex and birth date. The residents
live in DuckDB only (as B6's join does); the application reads them from its database into the
same tables (feeds.link_actions).

The roster: 90% of its rows are residents (planted truth), 10% are people not in the registry
(random names, birth dates and villages: they may only produce false links). Of the residents'
rows, half carry a damaged ID number (one digit replaced anywhere in the first 17, or the
1989 15-digit form with a digit replaced) and an address on half of them, and half no ID
number but a birth date (5% with day and month swapped, 3% with one digit wrong), a sex and an
address (90%); 5% of all names have one character replaced. What a damaged ID still tells is
read by the application's `feeds.roster.id_hints` (birth date, sex digit, county).

Measured: the application's linking (`feeds.linking.prepare` + `predict` + `classify` with the
settings' thresholds), once; recall (planted pairs linked or offered for review with the true
resident among the candidates, and linked alone), precision (links that are the true
resident); peak RSS of the process (ru_maxrss, generation included). Baseline: rapidfuzz
pairwise comparison (name ratio, birth date equality) of a sample of rows against a sample of
residents, its time per pair extrapolated to every row against every resident.

    uv run python benchmarks/crossmatch_fuzzy.py [--residents N] [--roster N] [--small] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_section, machine
from crossmatch_exact import WEIGHTS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强文军红梅玉兰凤英"
    "海燕淑珍春梅宇浩鑫博晨欣怡佳琪子涵雨轩一诺思远国庆小红小明桂芳金花德明永红立新"
    "春华秋菊冬梅学军学文振华振国宏伟成龙光明光辉海涛海波丹丹婷婷晓东晓燕俊杰文博"
)
PLACES = "新华红旗胜利前进东风光明和平团结建设向阳幸福永安太平长青民主跃进东升新民双河三合"


def _chars(text: str) -> str:
    return "[" + ",".join(f"'{c}'" for c in text) + "]"


def _id_sql(county: str, birth: str, seq: str) -> str:
    """B6's valid ID number (crossmatch_exact._id_sql) with the county as an expression."""
    body = f"({county} || {birth} || lpad(CAST({seq} AS VARCHAR), 3, '0'))"
    total = " + ".join(
        f"CAST(substr(b, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(WEIGHTS)
    )
    return f"(SELECT b || substr('10X98765432', (({total}) % 11) + 1, 1) FROM (SELECT {body} AS b))"


def generate(con: duckdb.DuckDBPyConnection, residents: int, roster: int, seed: float) -> None:
    con.execute(f"SELECT setseed({seed})")
    places = _chars(PLACES)
    # 30 counties x 12 townships x 28 villages; names from the pool, so they recur
    con.execute(
        f"""
        CREATE TABLE link_villages AS
        SELECT county_code6 || lpad(CAST(t AS VARCHAR), 3, '0') || lpad(CAST(v AS VARCHAR), 3, '0')
                   AS code,
               {places}[(hash(k, t, v) % 34)::BIGINT + 1] || {places}[(hash(v, t, k, 7) % 34)::BIGINT + 1] || '村'
                   AS name,
               {places}[(hash(k, t) % 34)::BIGINT + 1] || {places}[(hash(t, k, 3) % 34)::BIGINT + 1] || '镇'
                   AS township_name,
               county_code6 || '000000' AS county_code, county_code6
        FROM (SELECT k, '2302' || lpad(CAST(k AS VARCHAR), 2, '0') AS county_code6 FROM range(1, 31) a(k)),
             range(100, 112) b(t), range(200, 228) c(v)
        """
    )
    con.execute(
        "CREATE TABLE vlist AS SELECT row_number() OVER (ORDER BY code) - 1 AS vi, * FROM link_villages"
    )
    nv = con.execute("SELECT count(*) FROM vlist").fetchall()[0][0]
    surnames, given = _chars(SURNAMES), _chars(GIVEN)
    ns, ng = len(SURNAMES), len(GIVEN)
    # a skewed surname (the commonest first: the square of a uniform draw) shared by the household
    # (80%), one or two given-name characters, also skewed
    con.execute(
        f"""
        CREATE TABLE people AS
        SELECT i AS unique_id, i // 3 AS household_id,
               {surnames}[CAST(floor(pow(CASE WHEN hash(i, 1) % 5 = 0 THEN hash(i, 2) ELSE hash(i // 3, 2) END
                        % 10000 / 10000.0, 2) * {ns}) AS INTEGER) + 1]
               || {given}[CAST(floor(pow(hash(i, 3) % 10000 / 10000.0, 1.6) * {ng}) AS INTEGER) + 1]
               || CASE WHEN hash(i, 4) % 10 < 7
                       THEN {given}[CAST(floor(pow(hash(i, 5) % 10000 / 10000.0, 1.6) * {ng}) AS INTEGER) + 1]
                       ELSE '' END AS name,
               CASE WHEN hash(i, 6) % 2 = 0 THEN 'male' ELSE 'female' END AS sex,
               strftime(DATE '1940-01-01' + CAST(hash(i, 7) % 29200 AS INTEGER), '%Y%m%d') AS birth,
               hash(i // 3, 8) % {nv} AS vi,
               CAST(hash(i, 9) % 500 AS INTEGER) * 2 + CASE WHEN hash(i, 6) % 2 = 0 THEN 1 ELSE 0 END AS seq
        FROM range({residents}) t(i)
        """
    )
    con.execute(
        f"""
        CREATE TABLE link_residents AS
        SELECT p.unique_id, p.household_id, p.name, p.sex, p.birth, v.code AS village_code,
               substr(v.code, 1, 9) || '000' AS township_code, v.county_code,
               {_id_sql("v.county_code6", "p.birth", "p.seq")} AS id_number
        FROM people p JOIN vlist v USING (vi)
        """
    )
    con.execute("DROP TABLE people")
    hits = roster * 9 // 10
    # planted truth: `hits` residents' rows, damaged as described in the module docstring
    con.execute(
        f"""
        CREATE TABLE truth AS
        SELECT row_number() OVER () AS row_id, r.unique_id AS member_id, r.name, r.sex, r.birth,
               r.id_number, v.name AS village_name, v.township_name,
               random() AS u_kind, random() AS u_addr, random() AS u_date, random() AS u_name,
               random() AS u_form, CAST(floor(random() * 17) AS INTEGER) + 1 AS pos,
               CAST(floor(random() * 9) AS INTEGER) + 1 AS shift,
               CAST(floor(random() * {ng}) AS INTEGER) + 1 AS typo
        FROM (SELECT * FROM link_residents USING SAMPLE {hits} ROWS) r
        JOIN link_villages v ON v.code = r.village_code
        """
    )
    # people not in the registry: random names, dates, villages; an ID of another province
    # (damaged) or none
    con.execute(
        f"""
        CREATE TABLE outsiders AS
        SELECT {hits} + i + 1 AS row_id, NULL::BIGINT AS member_id,
               {surnames}[CAST(floor(pow(random(), 2) * {ns}) AS INTEGER) + 1]
               || {given}[CAST(floor(pow(random(), 1.6) * {ng}) AS INTEGER) + 1]
               || CASE WHEN random() < 0.7
                       THEN {given}[CAST(floor(pow(random(), 1.6) * {ng}) AS INTEGER) + 1]
                       ELSE '' END AS name,
               CASE WHEN random() < 0.5 THEN 'male' ELSE 'female' END AS sex,
               strftime(DATE '1940-01-01' + CAST(floor(random() * 29200) AS INTEGER), '%Y%m%d')
                   AS birth,
               random() AS u_kind, v.name AS village_name, v.township_name
        FROM range({roster - hits}) t(i)
        JOIN vlist v ON v.vi = CAST(floor(random() * {nv}) AS BIGINT) % {nv}
        """
    )
    typo = (
        f"CASE WHEN u_name < 0.05 AND length(name) >= 2 THEN substr(name, 1, length(name) - 1) "
        f"|| CASE WHEN {given}[typo] = substr(name, length(name), 1) "
        f"THEN {given}[(typo % {ng}) + 1] ELSE {given}[typo] END ELSE name END"
    )
    damaged = (
        "CASE WHEN u_form < 0.2 THEN substr(id_number, 1, 15) || '000' "  # Excel's 15 digits
        "ELSE substr(id_number, 1, pos - 1) || CAST((CAST(substr(id_number, pos, 1) AS INTEGER) "
        "+ shift) % 10 AS VARCHAR) || substr(id_number, pos + 1) END"
    )
    con.execute(
        f"""
        CREATE TABLE roster AS
        SELECT row_id, member_id, {typo} AS name,
               CASE WHEN u_kind < 0.5 THEN NULL
                    WHEN u_date < 0.05 AND jz_swapped(birth) IS NOT NULL THEN jz_swapped(birth)
                    WHEN u_date < 0.08 THEN substr(birth, 1, 7)
                         || CAST((CAST(substr(birth, 8, 1) AS INTEGER) + 1) % 10 AS VARCHAR)
                    ELSE birth END AS birth,
               CASE WHEN u_kind < 0.5 THEN NULL ELSE sex END AS sex,
               CASE WHEN (u_kind < 0.5 AND u_addr < 0.5) OR (u_kind >= 0.5 AND u_addr < 0.9)
                    THEN CASE WHEN u_form < 0.5 THEN township_name || village_name || '三组'
                              ELSE village_name END END AS residence,
               CASE WHEN u_kind < 0.5 THEN {damaged} END AS id_shown
        FROM truth
        UNION ALL
        SELECT row_id, NULL, name,
               CASE WHEN u_kind < 0.5 THEN NULL ELSE birth END,
               CASE WHEN u_kind < 0.5 THEN NULL ELSE sex END,
               village_name,
               CASE WHEN u_kind < 0.5 THEN '530102' || birth || '1234' END
        FROM outsiders
        """
    )
    con.execute("DROP TABLE truth")
    con.execute("DROP TABLE outsiders")


def roster_rows(con: duckdb.DuckDBPyConnection) -> float:
    """link_rows from the roster, with what the damaged IDs tell read by the application's
    feeds.roster.id_hints (per row in Python, as the loading does); returns its seconds."""
    from jingzhun.feeds.roster import id_hints

    start = time.perf_counter()
    ids = con.execute("SELECT row_id, id_shown FROM roster WHERE id_shown IS NOT NULL").fetchall()
    hints = [(row_id, *_hint(id_hints(shown))) for row_id, shown in ids]
    con.register("hints_df", _frame(hints))
    con.execute("CREATE TABLE hints AS SELECT * FROM hints_df")
    con.unregister("hints_df")
    elapsed = time.perf_counter() - start
    con.execute(
        """
        CREATE TABLE link_rows AS
        SELECT r.row_id AS unique_id, r.name, r.birth, r.sex, r.residence, h.id_birth, h.id_sex,
               h.id_county
        FROM roster r LEFT JOIN hints h USING (row_id)
        """
    )
    return elapsed


def _hint(h: object) -> tuple[str | None, str | None, str | None]:
    return h.birth, h.sex, h.county  # type: ignore[attr-defined]


def _frame(rows: list[tuple[Any, ...]]) -> object:
    import pyarrow as pa

    cols: list[Any] = list(zip(*rows, strict=True)) or [[], [], [], []]
    return pa.table(
        {
            "row_id": pa.array(cols[0], pa.int64()),
            "id_birth": pa.array(cols[1], pa.string()),
            "id_sex": pa.array(cols[2], pa.string()),
            "id_county": pa.array(cols[3], pa.string()),
        }
    )


def score(con: duckdb.DuckDBPyConnection, outcome: object) -> dict[str, float | int]:
    """Recall and precision against the planted truth."""
    from jingzhun.feeds.linking import Outcome

    assert isinstance(outcome, Outcome)
    truth = dict(
        con.execute("SELECT row_id, member_id FROM roster WHERE member_id IS NOT NULL").fetchall()
    )
    planted = len(truth)
    linked_ok = sum(1 for r, c in outcome.links.items() if truth.get(r) == c.member_id)
    offered = sum(
        1 for r, cands in outcome.review.items() if truth.get(r) in {c.member_id for c in cands}
    )
    links = len(outcome.links)
    return {
        "planted": planted,
        "links": links,
        "links_correct": linked_ok,
        "review_rows": len(outcome.review),
        "review_true_offered": offered,
        "recall_linked": linked_ok / planted,
        "recall_found": (linked_ok + offered) / planted,
        "precision": linked_ok / links if links else 1.0,
        "outsiders_linked": sum(1 for r in outcome.links if r not in truth),
    }


def baseline(
    con: duckdb.DuckDBPyConnection, rows: int, residents: int, total_rows: int, total_residents: int
) -> float:
    """rapidfuzz: every sampled row against every sampled resident (name ratio, then the birth
    date), seconds per pair, extrapolated to total_rows x total_residents."""
    from rapidfuzz import fuzz, process

    names = [
        r[0]
        for r in con.execute(
            f"SELECT name FROM link_residents USING SAMPLE {residents} ROWS"
        ).fetchall()
    ]
    births = [
        r[0]
        for r in con.execute(
            f"SELECT birth FROM link_residents USING SAMPLE {residents} ROWS"
        ).fetchall()
    ]
    queries = con.execute(
        f"SELECT name, coalesce(birth, '') FROM link_rows USING SAMPLE {rows} ROWS"
    ).fetchall()
    start = time.perf_counter()
    for name, birth in queries:
        scores = process.cdist([name or ""], names, scorer=fuzz.ratio, workers=1)[0]
        best = max(
            range(len(names)),
            key=lambda j: scores[j] + (100 if births[j] == birth else 0),
        )
        del best
    per_pair = (time.perf_counter() - start) / (len(queries) * len(names))
    return per_pair * total_rows * total_residents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=10_000_000)
    parser.add_argument("--roster", type=int, default=100_000)
    parser.add_argument("--small", action="store_true", help="200,000 residents, 5,000 rows")
    parser.add_argument("--seed", type=float, default=0.42)
    parser.add_argument("--base-rows", type=int, default=20)
    parser.add_argument("--base-residents", type=int, default=200_000)
    parser.add_argument("--memory-limit", default="10GB")
    parser.add_argument("--no-write", action="store_true", help="do not append to docs")
    args = parser.parse_args()
    if args.small:
        args.residents, args.roster, args.base_residents = 200_000, 5_000, 50_000
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jingzhun.settings.embedded")
    os.environ.setdefault("JINGZHUN_VAR_DIR", tempfile.mkdtemp(prefix="jz-b7-"))
    import django

    django.setup()
    from django.conf import settings

    from jingzhun.feeds import linking

    policy: dict[str, Any] = settings.FEEDS_LINKING
    load_before = os.getloadavg()
    con = duckdb.connect(config={"memory_limit": args.memory_limit})
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/jz-b7-spill'")
    for macro in linking.MACROS:
        con.execute(macro)
    start = time.perf_counter()
    generate(con, args.residents, args.roster, args.seed)
    generate_s = time.perf_counter() - start
    hints_s = roster_rows(con)
    start = time.perf_counter()
    cpu_start, sched_start, io_start, switches_start = _cpu(), _sched(), _io(), _switches()
    linking.prepare(con)
    prepare_s = time.perf_counter() - start
    candidates = linking.predict(con, review=policy["review"], prior_floor=policy["prior_floor"])
    predict_s = time.perf_counter() - start - prepare_s
    outcome = linking.classify(candidates, match=policy["match"], review=policy["review"])
    link_s = time.perf_counter() - start
    link_cpu = _cpu() - cpu_start
    sched, io, switches = _sched(), _io(), _switches()
    # where the wall time went beyond CPU: the threads' waits for a core (run queue), the
    # disk (spilling), sleeps (voluntary switches)
    waits = {
        "threads": int(con.execute("SELECT current_setting('threads')").fetchone()[0]),
        "on_cpu_s": round(sched[0] - sched_start[0], 1),
        "run_queue_wait_s": round(sched[1] - sched_start[1], 1),
        "disk_read_mib": (io[0] - io_start[0]) >> 20,
        "disk_write_mib": (io[1] - io_start[1]) >> 20,
        "voluntary_switches": switches[0] - switches_start[0],
        "involuntary_switches": switches[1] - switches_start[1],
        "prepare_s": round(prepare_s, 1),
        "predict_s": round(predict_s, 1),
        "classify_s": round(link_s - prepare_s - predict_s, 1),
    }
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    figures = score(con, outcome)
    base_s = baseline(con, args.base_rows, args.base_residents, args.roster, args.residents)
    load_after = os.getloadavg()
    summary = {
        "residents": args.residents,
        "roster": args.roster,
        "generate_s": round(generate_s, 1),
        "hints_s": round(hints_s, 2),
        "prepare_s": round(prepare_s, 2),
        "link_s": round(link_s, 2),
        "link_cpu_s": round(link_cpu, 1),
        **waits,
        "candidates": len(candidates),
        "peak_rss_gib": round(rss_gib, 2),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()},
        "rapidfuzz_extrapolated_s": round(base_s),
        "load": [round(x, 1) for x in (*load_before, *load_after)],
    }
    print(summary)
    if args.no_write:
        return
    m = machine()
    body = f"""### {m["date"]} · commit {m["commit"]} · {m["nproc"]} cores, {m["memory"]} · {m["versions"]}, DuckDB {duckdb.__version__}, Splink {_version("splink")}

Load average before {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, after {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} (the machine is shared with other agents' work). Thresholds: link at >= {policy["match"]}, review band >= {policy["review"]} (settings.FEEDS_LINKING); prior floor {policy["prior_floor"]:,}.

| residents | roster rows (planted) | linking s (prepare + Splink predict + classify; CPU s of the process) | candidate pairs >= review | linked (correct) | precision of links | recall: linked alone | recall: linked or offered for review | review rows | outsiders linked | peak RSS | rapidfuzz pairwise, extrapolated |
|---|---|---|---|---|---|---|---|---|---|---|---|
| {args.residents:,} | {args.roster:,} ({figures["planted"]:,}) | **{link_s:.1f}** (CPU {link_cpu:.1f}) | {len(candidates):,} | {figures["links"]:,} ({figures["links_correct"]:,}) | **{figures["precision"]:.2%}** | {figures["recall_linked"]:.2%} | **{figures["recall_found"]:.2%}** | {figures["review_rows"]:,} | {figures["outsiders_linked"]} | **{rss_gib:.2f} GiB** | {base_s:,.0f} s ({base_s / 86400:,.1f} days; {args.base_rows} rows x {args.base_residents:,} residents measured) |

Where the linking's wall time went (threads of the process summed, from /proc): on a core {waits["on_cpu_s"]} s, waiting in the run queue for a core {waits["run_queue_wait_s"]} s ({waits["threads"]} DuckDB threads); disk read {waits["disk_read_mib"]:,} MiB, written {waits["disk_write_mib"]:,} MiB (spill); {waits["voluntary_switches"]:,} voluntary and {waits["involuntary_switches"]:,} involuntary context switches. Phases: prepare {waits["prepare_s"]} s, Splink predict {waits["predict_s"]} s, classify {waits["classify_s"]} s.

Generating the residents and the roster took {generate_s:.1f} s (not timed); reading the damaged IDs (`feeds.roster.id_hints`, per row in Python) {hints_s:.2f} s. Peak RSS is the whole process's (generation included).
"""
    append_section("B7 crossmatch_fuzzy", body)


def _cpu() -> float:
    """CPU seconds of this process so far (all of DuckDB's threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sched() -> tuple[float, float]:
    """(seconds on a core, seconds waiting in the run queue) summed over this process's live
    threads (/proc/self/task/*/schedstat; zeros where the kernel has no schedstat)."""
    on = wait = 0
    for task in Path("/proc/self/task").glob("*/schedstat"):
        try:
            running, waiting, _slices = task.read_text().split()
        except (OSError, ValueError):
            continue
        on, wait = on + int(running), wait + int(waiting)
    return on / 1e9, wait / 1e9


def _io() -> tuple[int, int]:
    """Bytes this process read from and wrote to the disk (/proc/self/io)."""
    try:
        fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    except OSError:
        return 0, 0
    return int(fields.get("read_bytes", 0)), int(fields.get("write_bytes", 0))


def _switches() -> tuple[int, int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw, usage.ru_nivcsw


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
