"""Golden cases of the indicators (tests/indicator_cases/*.yaml): small registries in, figures out.

Each case is loaded straight into the compute tables (no database, no Django) and run through
`analytics.compute`; every expected [indicator(:dimension), year, region, numerator, denominator]
must match, "absent" meaning no row (after putting back the zero rows that compute leaves out of
sparse indicators, compute.fill_missing). The expected figures were worked out by hand.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from jingzhun.analytics import compute
from jingzhun.analytics.indicators import load_indicators

CASES = sorted((Path(__file__).parent / "indicator_cases").glob("*.yaml"))


def _date(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def run_case(case: dict[str, Any]) -> dict[tuple[str, int, str, str], tuple[int, int | None]]:
    con = duckdb.connect()
    compute.create_raw_tables(con)
    for r in case["regions"]:
        con.execute(
            "INSERT INTO regions VALUES (?, ?, ?, ?)",
            [r["code"], r["level"], r.get("parent"), bool(r.get("poor", False))],
        )
    for code, figures in (case.get("population") or {}).items():
        for year, n in figures.items():
            con.execute("INSERT INTO pop VALUES (?, ?, ?)", [code, int(year), int(n)])
    hh_cols = [c for c, _t in compute.RAW_TABLES["hh"]]
    mm_cols = [c for c, _t in compute.RAW_TABLES["mm"]]
    change_id = 0
    for h in case["households"]:
        row = {
            **{c: "" for c, t in compute.RAW_TABLES["hh"] if t == "VARCHAR"},
            **h.get("fields", {}),
            "id": h["id"],
            "village_code": h["village"],
        }
        con.execute(
            f"INSERT INTO hh VALUES ({', '.join('?' * len(hh_cols))})",
            [row.get(c) for c in hh_cols],
        )
        for changed_on, status in h["history"]:
            change_id += 1
            con.execute(
                "INSERT INTO sc VALUES (?, ?, ?, ?)",
                [h["id"], status, _date(changed_on), change_id],
            )
        for m in h.get("members") or []:
            member = {"household_id": h["id"], **m, "birth_date": _date(m["birth_date"])}
            con.execute(
                f"INSERT INTO mm VALUES ({', '.join('?' * len(mm_cols))})",
                [member.get(c) for c in mm_cols],
            )
        if h.get("paired"):
            con.execute("INSERT INTO pairs VALUES (?)", [h["id"]])
    for row in case.get("criteria") or []:
        con.execute("INSERT INTO crit VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    compute.prepare(con, case["years"])
    compute.compute(con, load_indicators(), case["years"], case["current_year"])
    out = {}
    for ind, year, _level, code, dim, n, d in con.execute(
        "SELECT indicator, year, level, region_code, dimension, numerator, denominator FROM out"
    ).fetchall():
        key = (ind, int(year), code, dim)
        assert key not in out, f"duplicate row {key}"
        out[key] = (int(n), None if d is None else int(d))
    # rows equal to a sparse indicator's missing figure are left out (ADR 0027): read them back
    return compute.fill_missing(out, load_indicators())


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_indicator_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = run_case(case)
    wrong = []
    for indicator, year, region, numerator, denominator in case["expected"]:
        name, _, dim = str(indicator).partition(":")
        got = out.get((name, int(year), str(region), dim))
        want = None if numerator == "absent" else (numerator, denominator)
        if got != want:
            wrong.append(f"{indicator} {year} {region}: expected {want}, got {got}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_levels_add_up(path: Path) -> None:
    """Every count at a township is the sum over its villages, and at the county over townships."""
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = run_case(case)
    parents = {r["code"]: r.get("parent") for r in case["regions"]}
    defs = {d.id: d for d in load_indicators()}
    sums: dict[tuple[str, int, str, str], list[int]] = {}
    for (ind, year, code, dim), (n, d) in out.items():
        parent = parents.get(code)
        if parent is None:
            continue
        s = sums.setdefault((ind, year, parent, dim), [0, 0])
        s[0] += n
        s[1] += d or 0
    for (ind, year, parent, dim), (n, d) in sums.items():
        assert out[(ind, year, parent, dim)][0] == n, (ind, year, parent, dim)
        if defs[ind].is_rate and not defs[ind].uses_population:
            assert out[(ind, year, parent, dim)][1] == d, (ind, year, parent, dim)
