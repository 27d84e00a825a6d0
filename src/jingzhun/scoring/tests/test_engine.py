"""The scorer without the database: golden cases worked out by hand, ranking ties, the red and
black lists, null handling per scheme, formula refusals."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jingzhun.core import figure_sources as fs
from jingzhun.core.errors import DomainError
from jingzhun.policy.store import PolicyError
from jingzhun.scoring import engine
from jingzhun.scoring.scheme import load_scheme, load_schemes

D = datetime.date
PERIOD = fs.Period("quarter", "2026Q3", D(2026, 7, 1), D(2026, 9, 30), "230231000000")

HEADER = """\
schema: jingzhun.policy/v1
kind: scoring_scheme
id: golden
version: "2026-12-07"
title: 测试方案
jurisdiction: national
effective_from: 2026-01-01
unit_kind: township
periods: [quarter]
sources:
  s: {title: 测试, issuer: 测试, label: unsourced}
"""

GOLDEN = (
    HEADER
    + """\
total: 100
red: {label: 红榜, rank_within: 1, score_at_least: 60, source: s}
black: {label: 黑榜, rank_within: 1, score_below: 50, when: any, source: s}
indicators:
  - {id: rate, label: 完成率, weight: 40, value: test.done / test.planned, points: weight * value, on_null: full, source: s}
  - {id: deduct, label: 扣分, weight: 30, value: test.late, points: weight - 7.5 * value, source: s}
  - {id: scaled, label: 比例, weight: 30, value: test.share, points: weight * (value - 80) / 20, source: s}
"""
)

# unit: done, planned, late, share (hand-computed points below)
FIGURES = {
    "A": (3, 4, 1, 95),  # 40*0.75=30; 30-7.5=22.5; 30*15/20=22.5 → 75
    "B": (0, 0, 0, 100),  # 0/0 null → full 40; 30; 30 → 100
    "C": (1, 3, 5, 79),  # 40*0.3333=13.332 → 13.33; 30-37.5 → 0 (floor); 30*(-1)/20 → 0 → 13.33
    "E": (2, 2, 2, 90),  # 40; 15; 15 → 70
}


def _source(name: str, index: int) -> fs.FigureSource:
    return fs.FigureSource(
        name=name,
        label=name,
        unit_kinds=frozenset({"township"}),
        values=lambda units, period: {u.key: FIGURES[u.key][index] for u in units},
        source="测试数据",
    )


@pytest.fixture
def figures() -> Iterator[None]:
    names = ["test.done", "test.planned", "test.late", "test.share"]
    for i, name in enumerate(names):
        fs.register(_source(name, i))
    yield
    for name in names:
        fs.unregister(name)


def _scheme(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "scheme.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scheme(path, name="scoring/scheme.yaml")


def _units(*keys: str) -> list[fs.Unit]:
    return [fs.Unit("township", k, f"{k}镇", k) for k in keys]


def _score(scheme: Any, units: list[fs.Unit]) -> list[engine.UnitResult]:
    engine.check_names(scheme)
    return engine.score_units(scheme, units, engine.gather(scheme, units, PERIOD), PERIOD)


def test_golden_scores_and_traces_add_up(tmp_path: Path, figures: None) -> None:
    scheme = _scheme(tmp_path, GOLDEN)
    results = {r.unit.key: r for r in _score(scheme, _units("A", "B", "C", "E"))}
    assert {k: r.score for k, r in results.items()} == {
        "A": Decimal("75.00"),
        "B": Decimal("100.00"),
        "C": Decimal("13.33"),
        "E": Decimal("70.00"),
    }
    for r in results.values():
        assert sum(Decimal(t["points"]) for t in r.trace) == r.score
    a = {t["id"]: t for t in results["A"].trace}
    assert a["rate"]["value"] == "0.75" and a["rate"]["points"] == "30.00"
    assert [f["value"] for f in a["rate"]["figures"]] == ["3", "4"]  # done, planned
    assert a["rate"]["figures"][0]["source"] == "测试数据"
    b = {t["id"]: t for t in results["B"].trace}
    assert b["rate"]["value"] is None and b["rate"]["points"] == "40.00"
    assert "满分" in b["rate"]["note"]
    c = {t["id"]: t for t in results["C"].trace}
    assert c["deduct"]["points"] == "0.00" and "低于下限" in c["deduct"]["note"]
    # ranks and lists: B first (red: rank 1, ≥ 60), C last (black: bottom or < 50)
    assert [
        (r.unit.key, r.rank, r.band) for r in sorted(results.values(), key=lambda r: r.rank)
    ] == [
        ("B", 1, "red"),
        ("A", 2, ""),
        ("E", 3, ""),
        ("C", 4, "black"),
    ]


def test_ties_share_a_rank_and_a_list(tmp_path: Path, figures: None) -> None:
    scheme = _scheme(tmp_path, GOLDEN)
    FIGURES["A2"] = FIGURES["A"]
    FIGURES["C2"] = FIGURES["C"]
    try:
        results = _score(scheme, _units("A", "A2", "C", "C2", "E"))
    finally:
        del FIGURES["A2"], FIGURES["C2"]
    got = [(r.unit.key, r.rank, r.band) for r in results]
    # 75, 75, 70, 13.33, 13.33: competition ranking 1, 1, 3, 4, 4; red needs ≥ 60 and rank 1:
    # both tied units; black (bottom 1 or < 50): both tied last units
    assert got == [
        ("A", 1, "red"),
        ("A2", 1, "red"),
        ("E", 3, ""),
        ("C", 4, "black"),
        ("C2", 4, "black"),
    ]


@pytest.mark.parametrize(
    ("on_null", "expected"), [("zero", "0.00"), ("full", "40.00"), ("refuse", None)]
)
def test_division_by_zero_as_the_scheme_says(
    tmp_path: Path, figures: None, on_null: str, expected: str | None
) -> None:
    scheme = _scheme(tmp_path, GOLDEN.replace("on_null: full", f"on_null: {on_null}"))
    if expected is None:
        with pytest.raises(DomainError, match="B镇（B）的指标 rate（完成率）没有数据"):
            _score(scheme, _units("A", "B"))
        return
    results = {r.unit.key: r for r in _score(scheme, _units("B"))}
    assert results["B"].trace[0]["points"] == expected


def test_unknown_figure_refused_before_computing(tmp_path: Path, figures: None) -> None:
    scheme = _scheme(tmp_path, GOLDEN.replace("test.late", "tickets.overdue"))
    with pytest.raises(DomainError, match=r"未知数据 “tickets\.overdue”"):
        engine.check_names(scheme)


def test_figure_of_another_unit_kind_refused(tmp_path: Path, figures: None) -> None:
    scheme = _scheme(tmp_path, GOLDEN.replace("unit_kind: township", "unit_kind: department"))
    with pytest.raises(DomainError, match="不适用于行业部门"):
        engine.check_names(scheme)


def test_a_new_source_is_usable_without_changing_the_scorer(tmp_path: Path, figures: None) -> None:
    fs.register(
        fs.FigureSource(
            name="tickets.late",
            label="逾期工单",
            unit_kinds=frozenset({"township"}),
            values=lambda units, period: {u.key: 2 for u in units},
        )
    )
    try:
        scheme = _scheme(tmp_path, GOLDEN.replace("value: test.late", "value: tickets.late"))
        (result,) = _score(scheme, _units("A"))
    finally:
        fs.unregister("tickets.late")
    assert {t["id"]: t["points"] for t in result.trace}["deduct"] == "15.00"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("test.done / test.planned", "count(members)", "不能使用函数 count"),
        ("test.done / test.planned", "__import__('os')", "表达式无法解析"),
        ("value: test.late", "value: value + 1", "value 只能用在 points 中"),
        ("value: test.late", "value: late", "未知名称 'late'"),
        ("weight: 40", "weight: 50", "各指标满分之和 110 与总分 total 100 不一致"),
        ("source: s}\n  - {id: deduct", "source: t}\n  - {id: deduct", "“t” 未在 sources 中声明"),
    ],
)
def test_scheme_files_refused_with_the_reason(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOLDEN
    with pytest.raises(PolicyError, match=message):
        _scheme(tmp_path, GOLDEN.replace(old, new, 1))


def test_periods_parsed_and_refused() -> None:
    assert engine.parse_period("2026q4", "c").end == D(2026, 12, 31)
    assert engine.parse_period("2026-02", "c").end == D(2026, 2, 28)
    assert engine.parse_period("2026", "c").start == D(2026, 1, 1)
    for bad in ("2026Q5", "2026-13", "26", ""):
        with pytest.raises(DomainError, match="考核周期"):
            engine.parse_period(bad, "c")


def test_shipped_schemes_load_and_name_registered_figures(db: Any) -> None:
    schemes = load_schemes()
    assert {s.doc.unit_kind for s in schemes} == {"township", "department", "work_team"}
    for s in schemes:
        engine.check_names(s)  # every name the shipped schemes use is registered on main
