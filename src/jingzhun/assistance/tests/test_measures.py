"""Household plans and measures (issue 21 item 3): the approval flow, bad input, coverage,
liaison scope, risk elimination reading completed measures."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import VILLAGES, World
from django.utils import timezone

from jingzhun.core.errors import DomainError, Forbidden, OutOfScope

V1 = VILLAGES["230231100000"][0]  # the helper's and the village user's household
V2 = VILLAGES["230231100000"][1]
V3 = VILLAGES["230231101000"][0]  # another township

pytestmark = pytest.mark.django_db
DAY = datetime.date(2025, 3, 1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def rows() -> dict[str, Any]:
    from jingzhun.assistance.models import Measure, MeasureEvidence
    from jingzhun.audit.models import AuditEvent

    return {
        "measures": list(Measure.all_objects.order_by("pk").values()),
        "evidence": list(MeasureEvidence.objects.order_by("pk").values()),
        "events": AuditEvent.objects.count(),
    }


def propose(world: World, who: str = "helper", village: str = V1, **kw: Any) -> Any:
    from jingzhun.assistance.measures import do_propose_measure

    args: dict[str, Any] = {"kind": "industry", "start_date": DAY, "amount": "3000"}
    args.update(kw)
    return do_propose_measure(
        world.households[village].pk,
        args.pop("kind"),
        args.pop("start_date"),
        actor=world.user(who),
        **args,
    )


def test_propose_approve_start_complete(world: World) -> None:
    from jingzhun.assistance.measures import (
        do_complete_measure,
        do_decide_measure,
        do_start_measure,
    )
    from jingzhun.audit.models import AuditEvent

    m = propose(world, description="养牛 2 头")
    assert (m.status, m.department, m.year, m.amount) == (
        "proposed",
        "agriculture",
        2025,
        Decimal("3000.00"),
    )
    assert m.proposer_role == "helper"
    m = do_decide_measure(
        m.pk, True, "同意", expected_version=m.version, actor=world.user("township")
    )
    assert m.status == "approved" and m.approved_by == world.user("township")
    m = do_start_measure(m.pk, expected_version=m.version, actor=world.user("village"))
    assert m.status == "in_progress"
    m = do_complete_measure(m.pk, DAY + datetime.timedelta(days=30), actor=world.user("helper"))
    assert m.status == "completed" and m.completed_on == datetime.date(2025, 3, 31)
    events = list(
        AuditEvent.objects.filter(object_type="measure", object_id=str(m.pk)).values_list(
            "event", flat=True
        )
    )
    assert events == [
        "assistance.measure.propose",
        "assistance.measure.approve",
        "assistance.measure.start",
        "assistance.measure.complete",
    ]


def test_village_proposes_township_refuses_with_reason(world: World) -> None:
    from jingzhun.assistance.measures import do_decide_measure

    m = propose(world, "village", kind="medical_aid", amount="")
    assert m.department == "health" and m.amount is None
    before = rows()
    with pytest.raises(DomainError) as exc:
        do_decide_measure(m.pk, False, "", actor=world.user("township"))
    assert exc.value.field == "note"
    assert rows() == before
    m = do_decide_measure(m.pk, False, "重复申报", actor=world.user("township"))
    assert m.status == "refused" and m.decision_note == "重复申报"


def test_only_township_or_county_approves_and_never_the_proposer(world: World) -> None:
    from jingzhun.assistance.measures import do_decide_measure

    m = propose(world, "village")
    before = rows()
    for who in ("village", "helper"):
        with pytest.raises(Forbidden):
            do_decide_measure(m.pk, True, actor=world.user(who))
    with pytest.raises(OutOfScope):
        do_decide_measure(m.pk, True, actor=world.user("other_township"))
    own = propose(world, "township")
    with pytest.raises(Forbidden, match="不能审批自己"):
        do_decide_measure(own.pk, True, actor=world.user("township"))
    assert rows()["measures"][0] == before["measures"][0]


@pytest.mark.parametrize(
    ("kw", "field", "words"),
    [
        ({"amount": "-5"}, "amount", "金额不能为负数"),
        ({"amount": "abc"}, "amount", "不是有效的数字"),
        ({"amount": "1.005"}, "amount", "两位小数"),
        ({"end_date": DAY - datetime.timedelta(days=1)}, "end_date", "结束日期"),
        ({"kind": "lottery"}, "kind", "不在措施目录中"),
        ({"description": "长" * 201}, "description", "措施内容"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    world: World, kw: dict[str, Any], field: str, words: str
) -> None:
    before = rows()
    with pytest.raises(DomainError) as exc:
        propose(world, **kw)
    assert exc.value.field == field and words in str(exc.value)
    assert rows() == before


def test_out_of_scope_household_is_not_found(world: World) -> None:
    before = rows()
    with pytest.raises(OutOfScope, match="未找到该户"):
        propose(world, "helper", village=V2)  # not paired with the helper
    with pytest.raises(OutOfScope):
        propose(world, "village", village=V3)
    with pytest.raises(Forbidden):
        propose(world, "auditor")
    assert rows() == before


def test_evidence_type_and_size_checked(world: World, settings: Any, tmp_path: Any) -> None:
    from jingzhun.assistance.measures import do_attach_measure_evidence
    from jingzhun.core import stored_files as evidence

    settings.VAR_DIR = tmp_path
    m = propose(world)
    before = rows()
    with pytest.raises(DomainError, match="只接受") as exc:
        do_attach_measure_evidence(m.pk, "x.exe", b"MZ\x90\x00" * 10, actor=world.user("helper"))
    assert exc.value.field == "file"
    with pytest.raises(DomainError, match="文件过大"):
        do_attach_measure_evidence(
            m.pk, "big.png", PNG + b"\x00" * evidence.MAX_BYTES, actor=world.user("helper")
        )
    assert rows() == before
    item = do_attach_measure_evidence(m.pk, "协议.png", PNG, actor=world.user("helper"))
    assert item.content_type == "image/png" and evidence.path_of(item.sha256).exists()


def test_complete_date_rules_and_state_machine(world: World) -> None:
    from jingzhun.assistance.measures import (
        do_cancel_measure,
        do_complete_measure,
        do_decide_measure,
    )

    m = propose(world)
    with pytest.raises(DomainError, match="只有已批准"):
        do_complete_measure(m.pk, DAY, actor=world.user("helper"))
    m = do_decide_measure(m.pk, True, actor=world.user("township"))
    with pytest.raises(DomainError) as exc:
        do_complete_measure(m.pk, DAY - datetime.timedelta(days=1), actor=world.user("helper"))
    assert exc.value.field == "completed_on"
    with pytest.raises(DomainError, match="晚于今天"):
        do_complete_measure(
            m.pk, timezone.localdate() + datetime.timedelta(days=2), actor=world.user("helper")
        )
    with pytest.raises(Forbidden, match="乡镇或县级"):
        do_cancel_measure(m.pk, "不需要了", actor=world.user("helper"))
    m = do_cancel_measure(m.pk, "户已搬迁", actor=world.user("township"))
    assert m.status == "cancelled"


def test_stale_version_refused(world: World) -> None:
    from jingzhun.assistance.measures import do_decide_measure
    from jingzhun.core.errors import StaleVersion

    m = propose(world)
    with pytest.raises(StaleVersion):
        do_decide_measure(m.pk, True, expected_version=m.version + 1, actor=world.user("township"))


def approved(world: World, kind: str, **kw: Any) -> Any:
    from jingzhun.assistance.measures import do_decide_measure

    m = propose(world, "village", kind=kind, **kw)
    return do_decide_measure(m.pk, True, actor=world.user("township"))


def test_coverage_is_computed_from_measures(world: World) -> None:
    from jingzhun.assistance.measure_selectors import household_plan, households_without_measures

    township = world.user("township")
    plan = household_plan(township, world.households[V1].pk)
    (industry,) = [r for r in plan.coverage if r.rule.id == "industry_links"]
    assert not industry.met and "已有 0 项" in industry.detail
    ids = set(households_without_measures(township, "registered").values_list("pk", flat=True))
    assert world.households[V1].pk in ids
    approved(world, "industry")
    propose(world, "village", kind="microcredit")  # proposed only: does not count
    plan = household_plan(township, world.households[V1].pk)
    (industry,) = [r for r in plan.coverage if r.rule.id == "industry_links"]
    assert not industry.met and "已有 1 项" in industry.detail
    approved(world, "solar_income")
    approved(world, "medical_aid")  # not an industry link
    plan = household_plan(township, world.households[V1].pk)
    (industry,) = [r for r in plan.coverage if r.rule.id == "industry_links"]
    assert industry.met and "已有 2 项" in industry.detail
    assert plan.open_count == 4
    ids = set(households_without_measures(township, "registered").values_list("pk", flat=True))
    assert world.households[V1].pk not in ids and world.households[V2].pk in ids


def test_each_risk_type_needs_a_measure(world: World) -> None:
    from jingzhun.assistance.catalogue import catalogue
    from jingzhun.assistance.measure_selectors import coverage
    from jingzhun.assistance.models import Measure

    household = world.households[V1]
    household.monitoring_category = "edge"
    measures = [Measure(kind="medical_aid", status="approved")]
    results = {
        r.rule.id: r for r in coverage(household, measures, risk_types=["illness", "schooling"])
    }
    assert not results["risk_types_covered"].met
    assert "因学" in results["risk_types_covered"].detail
    measures.append(Measure(kind="education_subsidy", status="completed"))
    results = {
        r.rule.id: r for r in coverage(household, measures, risk_types=["illness", "schooling"])
    }
    assert results["risk_types_covered"].met
    # the rule reads the catalogue: education_subsidy addresses schooling there
    assert "schooling" in catalogue().kinds["education_subsidy"].risk_types


def test_liaison_sees_measures_of_its_department_only(admins: World) -> None:
    from jingzhun.assistance.measure_selectors import measure_figures, measures_for
    from jingzhun.assistance.measures import do_set_liaison_department

    world = admins
    liaison = world.user("liaison")  # granted the household of village V2
    from jingzhun.assistance.measures import do_propose_measure

    township = world.user("township")
    h2 = world.households[V2].pk
    do_propose_measure(h2, "industry", DAY, actor=township)
    do_propose_measure(h2, "medical_aid", DAY, actor=township)
    do_propose_measure(world.households[V1].pk, "medical_aid", DAY, actor=township)
    assert list(measures_for(liaison)) == []  # no department set: nothing
    with pytest.raises(Forbidden):
        do_set_liaison_department(liaison.pk, "health", actor=township)
    with pytest.raises(DomainError) as exc:
        do_set_liaison_department(liaison.pk, "police", actor=world.user("county"))
    assert exc.value.field == "department"
    do_set_liaison_department(liaison.pk, "health", actor=world.user("county"))
    seen = list(measures_for(liaison))
    assert [(m.household_id, m.kind) for m in seen] == [(h2, "medical_aid")]
    assert measure_figures(liaison).total == 1


def test_figures_by_kind_department_status(world: World) -> None:
    from jingzhun.assistance.measure_selectors import measure_figures

    approved(world, "industry")
    approved(world, "microcredit")
    propose(world, "village", kind="training")
    figures = measure_figures(world.user("county"))
    assert figures.total == 3
    assert [(k, n) for k, _, n in figures.by_kind] == [("industry", 1), ("microcredit", 1)]
    assert [(d, n) for d, _, n in figures.by_department] == [("agriculture", 1), ("finance", 1)]
    assert dict((s, n) for s, _, n in figures.by_status)["proposed"] == 1
    assert figures.without["registered"] == 3  # the other three households of the county
    other = measure_figures(world.user("other_township"))
    assert other.total == 0 and other.without["registered"] == 2


def test_helper_home_counts_open_measures(world: World) -> None:
    from jingzhun.assistance.selectors import helper_home

    propose(world)
    approved(world, "training")
    (row,) = helper_home(world.user("helper")).households
    assert row.open_measures == 2


@pytest.mark.parametrize("limit", [5_000, 0], ids=["apart", "over-the-limit"])
def test_counted_apart_equals_the_lists(
    world: World, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages' counts of households without a measure / without a helper (count_without:
    all minus those with one) equal the lists' own plain counts, for every role, group and
    region, with a monitored household, a measure that does not count, an ended pairing, a
    pairing and a measure on one household and a soft-deleted household (issue 26 item 3)."""
    from jingzhun.access.models import HelperPairing
    from jingzhun.assistance import selectors
    from jingzhun.assistance.measure_selectors import (
        _counting_measures,
        households_without_measures,
        without_measures_count,
    )
    from jingzhun.assistance.selectors import (
        _group_households,
        _running_pairings,
        count_without,
        count_without_plain,
        unpaired_count,
        unpaired_households,
    )
    from jingzhun.core.models import action_writes
    from jingzhun.registry.models import Household

    monkeypatch.setattr(selectors, "COUNT_APART_LIMIT", limit)
    v1, v2 = world.households[V1], world.households[V2]
    with action_writes():  # test data set directly
        Household.objects.filter(pk=v2.pk).update(monitoring_category="edge")
    approved(world, "industry")  # counts for v1
    propose(world, "village", kind="microcredit")  # proposed only: does not count
    assert HelperPairing.objects.filter(household=v1, end_date__isnull=True).exists()
    HelperPairing.objects.create(
        helper=world.user("helper"),
        household=v2,
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2021, 1, 1),
        end_reason="调整",
    )
    gone = next(h for h in world.households.values() if h.pk not in (v1.pk, v2.pk))
    with action_writes():
        Household.all_objects.filter(pk=gone.pk).update(
            deleted_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        )
    checked = 0
    for role in ("county", "township", "village", "helper", "auditor"):
        user = world.user(role)
        for group in ("registered", "monitored"):
            for region in ("", "230231100000", V1):
                plain = households_without_measures(user, group, region=region).count()
                assert without_measures_count(user, group, region=region) == plain
                assert without_measures_count(user, group, region=region, year=2026) == (
                    households_without_measures(user, group, region=region, year=2026).count()
                )
                plain = unpaired_households(user, group, region=region).count()
                assert unpaired_count(user, group, region=region) == plain
                households = _group_households(user, group, region)
                assert count_without(households, _running_pairings(None)) == count_without_plain(
                    households, _running_pairings(None)
                )
                assert count_without(households, _counting_measures(None)) == (
                    count_without_plain(households, _counting_measures(None))
                )
                checked += plain
    assert checked > 0
