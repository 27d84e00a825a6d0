"""Assessment on the database: the shipped township scheme over a small county (figures worked
out by hand), the job and its progress, publishing, recomputation after publishing, refusals
(nothing written), scoping of periods, rankings and score cards."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World

from jingzhun.analytics.models import RegionFigures
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.inspection.actions import do_record_inspection, do_record_problem
from jingzhun.scoring import selectors as sel
from jingzhun.scoring.actions import do_publish_period, do_request_scoring, run_pending
from jingzhun.scoring.models import ScorePeriod, ScoringJob, UnitScore

D = datetime.date
T1, T2 = TOWNSHIPS
V1 = VILLAGES[T1][0]


def figures_2026() -> None:
    """Township 1's battle map figures for 2026 (township 2 has none: no data)."""
    RegionFigures.objects.create(
        region_code=T1,
        year=2026,
        level="township",
        figures=json.dumps(
            {
                "registered_households": {"": [20, None]},
                "exit_all_pass_rate": {"": [9, 10]},  # 90%
                "pairing_coverage": {"": [20, 20]},  # 100%
                "safe_housing_coverage": {"": [19, 20]},  # 95%
                "safe_water_coverage": {"": [20, 20]},  # 100%
                "medical_insurance_coverage": {"": [45, 50]},  # 90%
            }
        ),
    )


def overdue_problem(world: World) -> Any:
    inspection = do_record_inspection(
        kind="routine",
        title="第三季度督查",
        region_code=COUNTY,
        organiser="县督查组",
        started_on=D(2026, 9, 1),
        actor=world.user("county"),
    )
    return do_record_problem(
        inspection.pk,
        category="assistance",
        description="帮扶手册未更新",
        region_code=V1,
        household_id=world.households[V1].pk,
        responsible_unit="第一镇人民政府",
        responsible_person="刘某",
        found_on=D(2026, 9, 1),
        deadline=D(2026, 9, 25),  # still open at the end of the quarter: overdue
        actor=world.user("county"),
    )


def compute(world: World, period: str = "2026Q3", **kw: Any) -> ScoringJob:
    job = do_request_scoring(
        county_code=COUNTY,
        scheme_id="township_assessment",
        period=period,
        actor=world.user("county"),
        **kw,
    )
    run_pending()
    job.refresh_from_db()
    return job


@pytest.fixture
def scored(world: World) -> ScorePeriod:
    figures_2026()
    overdue_problem(world)
    job = compute(world)
    assert job.status == "done", job.error
    return job.period


def test_township_scheme_golden(world: World, scored: ScorePeriod) -> None:
    scores = {s.unit_key: s for s in UnitScore.objects.filter(job=scored.latest_job)}
    # township 1: exit 15*90/100 = 13.5; pairing 15; housing 10*(95-90)/10 = 5; water 10;
    # medical 10*(90-90)/10 = 0; on-time rate 0/0 → full 20; one overdue problem 10-2 = 8;
    # none escalated 10 → 81.5
    # township 2: no battle map figures → exit standard and pairing full (15 + 15: the scheme's
    # on_null), the three coverage rates 0; 20 + 10 + 10 → 70
    assert {k: s.score for k, s in scores.items()} == {T1: Decimal("81.50"), T2: Decimal("70.00")}
    for s in scores.values():
        assert sum(Decimal(t["points"]) for t in s.trace) == s.score
    one = {t["id"]: t for t in scores[T1].trace}
    assert one["overdue"]["figures"][0]["value"] == "1"
    assert one["overdue"]["points"] == "8.00"
    assert one["exit_standard"]["figures"][0]["name"] == "map.exit_all_pass_rate"
    assert one["exit_standard"]["value"] == "90"
    # rank and lists: red needs ≥ 90 (none); black = bottom two and < 80 → township 2 (70)
    assert (scores[T1].rank, scores[T1].band) == (1, "")
    assert (scores[T2].rank, scores[T2].band) == (2, "black")
    job = scored.latest_job
    assert job is not None and (job.progress, job.units) == (100, 2)
    assert job.scheme_path == "scoring/township-2026-12-07.yaml" and len(job.scheme_hash) == 64


def test_request_twice_queues_once(world: World) -> None:
    first = do_request_scoring(
        county_code=COUNTY,
        scheme_id="township_assessment",
        period="2026Q3",
        actor=world.user("county"),
    )
    again = do_request_scoring(
        county_code=COUNTY,
        scheme_id="township_assessment",
        period="2026Q3",
        actor=world.user("county"),
    )
    assert again.pk == first.pk and ScoringJob.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "kw", "error", "message"),
    [
        ("township", {}, Forbidden, "您的角色无权发起考核计算"),
        ("county", {"period": "2026Q5"}, DomainError, "考核周期 “2026Q5” 无效"),
        ("county", {"period": "2026-10"}, DomainError, "只按季度、年度考核"),
        ("county", {"period": "2099Q1"}, DomainError, "尚未开始"),
        ("county", {"scheme_id": "nothing"}, DomainError, "没有生效的考核方案 “nothing”"),
        ("county", {"county_code": "230232000000"}, OutOfScope, "未找到该县"),
    ],
)
def test_refusals_write_nothing(
    world: World, who: str, kw: dict[str, Any], error: type[Exception], message: str
) -> None:
    events = AuditEvent.objects.count()
    args: dict[str, Any] = {
        "county_code": COUNTY,
        "scheme_id": "township_assessment",
        "period": "2026Q3",
    }
    args.update(kw)
    with pytest.raises(error, match=message):
        do_request_scoring(**args, actor=world.user(who))
    assert (ScorePeriod.objects.count(), ScoringJob.objects.count()) == (0, 0)
    assert AuditEvent.objects.count() == events


def test_publish_then_recompute_needs_a_correction(world: World, scored: ScorePeriod) -> None:
    county = world.user("county")
    with pytest.raises(Forbidden):
        do_publish_period(scored.pk, actor=world.user("auditor"))
    with pytest.raises(StaleVersion):
        do_publish_period(scored.pk, version=scored.version - 1, actor=county)
    published = do_publish_period(scored.pk, version=scored.version, actor=county)
    first = published.published_job_id
    assert first == published.latest_job_id and published.published_at is not None
    event = AuditEvent.objects.filter(event="scoring.period.publish").get()
    assert event.object_id == str(scored.pk)
    with pytest.raises(DomainError, match="已经发布"):
        do_publish_period(scored.pk, actor=county)

    jobs = ScoringJob.objects.count()
    with pytest.raises(DomainError, match="重新计算须填写更正说明"):
        do_request_scoring(
            county_code=COUNTY, scheme_id="township_assessment", period="2026Q3", actor=county
        )
    assert ScoringJob.objects.count() == jobs

    job = compute(world, correction="第一镇问题整改期限录入有误，按县督查组更正通知重算")
    assert job.status == "done" and job.correction.startswith("第一镇")
    scored.refresh_from_db()
    # the units still see what was published until the county publishes again
    assert scored.latest_job_id == job.pk and scored.published_job_id == first
    township = world.user("township")
    assert {s.job_id for s in sel.ranking(township, scored)} == {first}
    assert {s.job_id for s in sel.ranking(county, scored)} == {job.pk}
    do_publish_period(scored.pk, actor=county)
    scored.refresh_from_db()
    assert scored.published_job_id == job.pk
    republished = AuditEvent.objects.filter(event="scoring.period.publish").order_by("pk").last()
    assert republished is not None and "更正" in republished.reason


def test_unpublished_results_are_the_countys(world: World, scored: ScorePeriod) -> None:
    assert sel.period_for(world.user("county"), scored.pk) == scored
    assert sel.period_for(world.user("auditor"), scored.pk) == scored
    for who in ("township", "village", "other_township", "helper"):
        with pytest.raises(OutOfScope):
            sel.period_for(world.user(who), scored.pk)
    card = UnitScore.objects.get(job=scored.latest_job, unit_key=T1)
    with pytest.raises(OutOfScope):
        sel.card_for(world.user("township"), card.pk)


def test_published_ranking_public_cards_own(world: World, scored: ScorePeriod) -> None:
    do_publish_period(scored.pk, actor=world.user("county"))
    scored.refresh_from_db()
    township, other = world.user("township"), world.user("other_township")
    # the township scheme publishes the ranking: both townships see both rows
    assert [s.unit_key for s in sel.ranking(township, scored)] == [T1, T2]
    own = UnitScore.objects.get(job=scored.published_job, unit_key=T1)
    theirs = UnitScore.objects.get(job=scored.published_job, unit_key=T2)
    assert sel.card_for(township, own.pk) == own
    with pytest.raises(OutOfScope):
        sel.card_for(township, theirs.pk)  # another township's trace: 404
    with pytest.raises(OutOfScope):
        sel.card_for(other, own.pk)
    assert sel.card_for(world.user("county"), theirs.pk) == theirs
    with pytest.raises(OutOfScope):
        sel.card_for(world.user("helper"), own.pk)


def test_county_ranking_shows_units_only_their_own_rows(
    world: World, scored: ScorePeriod, monkeypatch: pytest.MonkeyPatch
) -> None:
    do_publish_period(scored.pk, actor=world.user("county"))
    scored.refresh_from_db()
    monkeypatch.setattr(sel, "ranking_public", lambda period: False)
    assert [s.unit_key for s in sel.ranking(world.user("township"), scored)] == [T1]
    assert [s.unit_key for s in sel.ranking(world.user("county"), scored)] == [T1, T2]


def test_failed_job_keeps_the_reason_and_writes_no_scores(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jingzhun.scoring import engine

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DomainError("第二镇（x）的指标 rate 没有数据，方案规定此时不能计分。")

    monkeypatch.setattr(engine, "score_units", refuse)
    job = compute(world)
    assert job.status == "failed" and "不能计分" in job.error
    assert UnitScore.objects.count() == 0
    job.period.refresh_from_db()
    assert job.period.latest_job_id is None
    with pytest.raises(DomainError, match="还没有计算完成"):
        do_publish_period(job.period_id, actor=world.user("county"))


def test_behind_the_problem_figure_lists_the_problem(world: World, scored: ScorePeriod) -> None:
    from jingzhun.core import figure_sources as fs

    unit = fs.Unit("township", T1, "第1镇", T1)
    period = fs.Period("quarter", "2026Q3", D(2026, 7, 1), D(2026, 9, 30), COUNTY)
    figure = fs.source("inspection.problems_overdue")
    assert figure is not None and figure.behind is not None
    behind = figure.behind(unit, period, world.user("county"))
    assert behind is not None and len(behind.rows) == 1
    assert behind.rows[0][1] == "web:problem"
    # the other township sees none of township 1's problems
    assert figure.behind(unit, period, world.user("other_township")).rows == ()  # type: ignore[union-attr]
