"""The self-check through its actions: drawing on the queue, survey entry, findings becoming
inspection problems, estimates, the report; refusals (Chinese, nothing written) and scoping."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, make_id

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.inspection.models import Problem
from jingzhun.selfcheck import selectors as sel
from jingzhun.selfcheck.actions import (
    do_create_selfcheck,
    do_export_report,
    do_register_findings,
    do_save_survey,
    run_job,
)
from jingzhun.selfcheck.models import DrawJob, SampledHousehold, SelfCheck

DAY = datetime.date(2026, 11, 20)


def _more_households(world: Any) -> None:
    from jingzhun.registry.actions import do_create_household

    seq = 100
    for township in TOWNSHIPS:
        for village in VILLAGES[township]:
            for status in ("exited_with_policy", "exited_with_policy", "not_registered"):
                do_create_household(
                    f"X{seq}",
                    village,
                    {"poverty_status": status, "identified_year": 2014},
                    [
                        {
                            "id_number": make_id("230231", "19800101", seq),
                            "name": f"户主{seq}",
                            "relation": "head",
                        }
                    ],
                    actor=None,
                )
                seq += 1


@pytest.fixture
def drawn(world: Any) -> SelfCheck:
    _more_households(world)
    item = do_create_selfcheck(COUNTY, 2019, seed=20191119, actor=world.user("county"))
    job = DrawJob.objects.get(selfcheck=item)
    assert run_job(job.pk) is not None
    item.refresh_from_db()
    return item


def _answers(**kw: Any) -> dict[str, Any]:
    return {"approves": True, "food_clothing_secure": True, **kw}


def test_draw_on_the_queue_stores_sample_and_design(world: Any, drawn: SelfCheck) -> None:
    job = DrawJob.objects.get(selfcheck=drawn)
    assert job.status == DrawJob.DONE and job.done == job.total == 4
    rows = SampledHousehold.objects.filter(selfcheck=drawn)
    assert job.households == rows.count() > 0
    # all 4 villages drawn (fewer than the plan's numbers), every group present
    assert drawn.design["village_strata"]["poor"] == {"population": 2, "sample": 2, "weight": 1.0}
    assert {r.group for r in rows} == {"exited", "remaining", "ordinary"}
    assert drawn.policy_file.endswith("exit_self_check.yaml")
    assert AuditEvent.objects.filter(event="selfcheck.sample.draw").count() == 1
    # the same seed and frame give the same sample: drawing again refuses, never doubles
    DrawJob.objects.filter(pk=job.pk).update(status=DrawJob.QUEUED)
    again = run_job(job.pk)
    assert again is not None and again.status == DrawJob.FAILED
    assert "不能重抽" in again.error
    assert SampledHousehold.objects.filter(selfcheck=drawn).count() == job.households


def test_create_refusals_write_nothing(world: Any) -> None:
    before = (SelfCheck.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Forbidden, match="无权发起退出自查"):
        do_create_selfcheck(COUNTY, 2019, actor=world.user("township"))
    with pytest.raises(OutOfScope):
        do_create_selfcheck("230232000000", 2019, actor=world.user("county"))
    with pytest.raises(DomainError, match="年度 1999 无效"):
        do_create_selfcheck(COUNTY, 1999, actor=world.user("county"))
    with pytest.raises(DomainError, match="随机种子"):
        do_create_selfcheck(COUNTY, 2019, seed=-1, actor=world.user("county"))
    assert (SelfCheck.objects.count(), AuditEvent.objects.count()) == before
    do_create_selfcheck(COUNTY, 2019, actor=world.user("county"))
    with pytest.raises(DomainError, match="已有退出自查"):
        do_create_selfcheck(COUNTY, 2019, actor=world.user("county"))


def test_survey_findings_become_problems(world: Any, drawn: SelfCheck) -> None:
    county = world.user("county")
    exited = SampledHousehold.objects.filter(selfcheck=drawn, group="exited").first()
    ordinary = SampledHousehold.objects.filter(selfcheck=drawn, group="ordinary").first()
    assert exited is not None and ordinary is not None
    do_save_survey(
        exited.pk,
        version=exited.version,
        surveyed_on=DAY,
        team="第一核查组",
        answers=_answers(wrongly_exited_persons=1, approves=False, complaint="帮扶干部很少来"),
        actor=county,
    )
    exited.refresh_from_db()
    assert exited.finding_problem is not None and exited.complaint_problem is not None
    assert exited.finding_problem.category == "exit"
    assert exited.finding_problem.household_id == exited.household_id
    assert exited.finding_problem.inspection_id == drawn.inspection_id
    assert exited.complaint_problem.category == "other"
    # a township team's finding waits for the county office, then becomes a problem
    town_row = SampledHousehold.objects.filter(
        selfcheck=drawn, group="ordinary", village__code__startswith="230231100"
    ).first()
    assert town_row is not None
    do_save_survey(
        town_row.pk,
        version=town_row.version,
        surveyed_on=DAY,
        team="第二核查组",
        answers=_answers(missed_persons=1),
        actor=world.user("township"),
    )
    town_row.refresh_from_db()
    assert town_row.finding_problem is None
    assert do_register_findings(drawn.pk, actor=county) == 1
    town_row.refresh_from_db()
    assert town_row.finding_problem is not None
    assert town_row.finding_problem.category == "identification"
    assert do_register_findings(drawn.pk, actor=county) == 0  # idempotent
    assert Problem.objects.filter(inspection_id=drawn.inspection_id).count() == 3
    del ordinary


def test_survey_refusals_write_nothing(world: Any, drawn: SelfCheck) -> None:
    exited = SampledHousehold.objects.filter(selfcheck=drawn, group="exited").first()
    ordinary = SampledHousehold.objects.filter(selfcheck=drawn, group="ordinary").first()
    assert exited is not None and ordinary is not None
    county = world.user("county")
    before = AuditEvent.objects.count()
    cases = [
        (exited, {"approves": None}, "请填写是否认可"),
        (exited, {"missed_persons": 1}, "只有一般农户可以认定为漏评"),
        (ordinary, {"wrongly_exited_persons": 1}, "只有已脱贫户可以认定为错退"),
        (exited, {"wrongly_exited_persons": 9}, "错退人数应在 0 到 1"),
        (exited, {"income_per_capita_fen": -5}, "人均纯收入不能为负数"),
    ]
    for row, answers, message in cases:
        with pytest.raises(DomainError, match=message):
            do_save_survey(
                row.pk,
                version=row.version,
                surveyed_on=DAY,
                team="一组",
                answers=_answers(**answers),
                actor=county,
            )
    with pytest.raises(DomainError, match="调查日期不能晚于今天"):
        do_save_survey(
            exited.pk,
            version=exited.version,
            surveyed_on=datetime.date(2999, 1, 1),
            team="一组",
            answers=_answers(),
            actor=county,
        )
    with pytest.raises(StaleVersion):
        do_save_survey(
            exited.pk,
            version=exited.version + 1,
            surveyed_on=DAY,
            team="一组",
            answers=_answers(),
            actor=county,
        )
    # village cadres do not survey; another township's households are not found
    with pytest.raises(Forbidden):
        do_save_survey(
            exited.pk,
            version=1,
            surveyed_on=DAY,
            team="一组",
            answers=_answers(),
            actor=world.user("village"),
        )
    other = SampledHousehold.objects.filter(
        selfcheck=drawn, village__code__startswith="230231100"
    ).first()
    assert other is not None
    with pytest.raises(OutOfScope):
        do_save_survey(
            other.pk,
            version=other.version,
            surveyed_on=DAY,
            team="一组",
            answers=_answers(),
            actor=world.user("other_township"),
        )
    assert AuditEvent.objects.count() == before
    assert not SampledHousehold.objects.filter(selfcheck=drawn, surveyed_on__isnull=False).exists()


def test_scoping_of_reads(world: Any, drawn: SelfCheck) -> None:
    assert sel.selfcheck_for(world.user("county"), drawn.pk) == drawn
    assert sel.selfcheck_for(world.user("auditor"), drawn.pk) == drawn
    town = sel.sampled_for(world.user("township")).filter(selfcheck=drawn)
    assert town.exists()
    assert all(r.village_id.startswith("230231100") for r in town)
    for name in ("village", "helper"):
        with pytest.raises(OutOfScope):
            sel.selfcheck_for(world.user(name), drawn.pk)
        assert not sel.sampled_for(world.user(name)).exists()
    with pytest.raises(Forbidden, match="下载退出自查报告"):
        do_export_report(drawn.pk, io.BytesIO(), actor=world.user("township"))


def test_estimates_and_report(world: Any, drawn: SelfCheck) -> None:
    county = world.user("county")
    for row in SampledHousehold.objects.filter(selfcheck=drawn).order_by("pk"):
        do_save_survey(
            row.pk,
            version=row.version,
            surveyed_on=DAY,
            team="一组",
            answers=_answers(),
            actor=county,
        )
    result = sel.results(drawn)
    by = {r.key: r for r in result.rates}
    assert result.surveyed == result.sampled
    assert by["wrong_exit"].estimate.rate == 0.0
    assert by["approval"].estimate.rate == 1.0
    # tiny sample: the interval is wide, so the veto is inconclusive, not passed
    assert result.passed is None
    out = io.BytesIO()
    name = do_export_report(drawn.pk, out, actor=county)
    assert name.endswith(".pdf") and out.getvalue().startswith(b"%PDF")
    assert AuditEvent.objects.filter(event="selfcheck.export.report").count() == 1


def test_the_county_exit_decision_reads_the_surveyed_sample(world: Any, drawn: SelfCheck) -> None:
    """三率一度 in the county exit standard: the surveyed persons and households as the 2016
    standard counts them (issue 24 items 5, 6), through core.hooks."""
    from jingzhun.assessments.actions import do_assess_regions
    from jingzhun.assessments.models import RegionAssessment

    do_assess_regions("county_exit", 2019, COUNTY, actor=None)
    before = RegionAssessment.objects.filter(region_id=COUNTY).latest("pk")
    assert before.facts["surveyed_households"] is None  # nobody surveyed yet: unknown
    assert "wrong_exit_rate" in before.unknown

    county = world.user("county")
    exited = list(SampledHousehold.objects.filter(selfcheck=drawn, group="exited"))
    ordinary = list(SampledHousehold.objects.filter(selfcheck=drawn, group="ordinary"))
    for n, row in enumerate(exited):
        wrong = 1 if n == 0 else 0
        do_save_survey(
            row.pk, version=row.version, surveyed_on=DAY, team="第一核查组",
            answers=_answers(wrongly_exited_persons=wrong, approves=n != 1), actor=county,
        )  # fmt: skip
    for row in ordinary:
        do_save_survey(
            row.pk, version=row.version, surveyed_on=DAY, team="第一核查组",
            answers=_answers(missed_persons=0), actor=county,
        )  # fmt: skip
    surveyed = SampledHousehold.objects.filter(selfcheck=drawn, surveyed_on__isnull=False)
    exited_persons = sum(r.persons for r in surveyed.filter(group="exited"))
    do_assess_regions("county_exit", 2019, COUNTY, actor=None)
    after = RegionAssessment.objects.filter(region_id=COUNTY).latest("pk")
    assert after.pk != before.pk and after.facts["selfcheck"] == drawn.pk
    assert after.facts["sampled_exited_persons"] == exited_persons > 0
    assert after.facts["sampled_wrong_exit_persons"] == 1
    assert after.facts["verified_missed_persons"] == 0
    assert after.facts["surveyed_households"] == len(exited) + len(ordinary)
    assert after.facts["approving_households"] == len(exited) + len(ordinary) - 1
    # the rates are judged now: known (passed or failed), no longer unknown
    assert not {"wrong_exit_rate", "missed_rate", "approval"} & set(after.unknown)
    # one wrongly exited person among a handful is far above 2 %: the veto fails the county
    assert "wrong_exit_rate" in after.failed
