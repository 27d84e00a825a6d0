"""The stored form of a region's figures (ADR 0036): one JSON object per region and year, built
by DuckDB from the long table `out`, read back by RegionFigures.entries."""

from __future__ import annotations

import json

import duckdb

from jingzhun.analytics import refresh
from jingzhun.analytics.compute import OUT_COLUMNS
from jingzhun.analytics.models import flatten


def test_figures_json_round_trips_every_row() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE out (indicator VARCHAR, year INTEGER, level VARCHAR, "
        "region_code VARCHAR, dimension VARCHAR, numerator BIGINT, denominator BIGINT)"
    )
    rows = [
        ("registered_households", 2019, "village", "522628101201", "", 12, None),
        ("exit_rate", 2019, "village", "522628101201", "", 3, 40),
        ("households_by_cause", 2019, "village", "522628101201", "illness", 5, None),
        ("households_by_cause", 2019, "village", "522628101201", 'a "quoted"\\ 值\n', 1, 2),
        ("registered_households", 2020, "village", "522628101201", "", 0, None),
        ("registered_households", 2019, "county", "522628000000", "", 9_000_000_000, None),
    ]
    con.executemany(f"INSERT INTO out VALUES ({', '.join('?' * len(OUT_COLUMNS))})", rows)
    con.execute(refresh.FIGURES_SQL)
    stored = con.execute("SELECT region_code, year, level, figures FROM fig").fetchall()
    assert len(stored) == 3  # one per region and year
    back = sorted(
        (i, y, lvl, r, dim, n, d)
        for r, y, lvl, text in stored
        for i, dim, n, d in flatten(json.loads(text))
    )
    assert back == sorted(rows)
