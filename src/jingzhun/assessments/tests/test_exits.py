"""Village and county exit on the registry (issue 24 item 5): facts from the year-end statuses,
the region flags and the village conditions; decisions stored with policy version and trace;
refusals write nothing; pages scoped."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import COUNTY, TOWNSHIPS, VILLAGES, World, signed_in
from django.core.management import call_command

from jingzhun.assessments.actions import do_assess_regions, do_save_village_conditions
from jingzhun.assessments.models import AssessmentRun, RegionAssessment, VillageConditions
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.regions.models import Region, RegionPopulation
from jingzhun.registry.actions import do_change_household_status

YEAR = 2019
V1, V2 = VILLAGES[TOWNSHIPS[0]]  # V1 poor village (township 100)
V3, V4 = VILLAGES[TOWNSHIPS[1]]  # V3 poor village (township 101)
ALL_MET = {
    "hardened_road": True,
    "safe_water": True,
    "power": True,
    "broadcast_tv": True,
    "culture_center": True,
    "clinic": True,
    "broadband": True,
    "collective_income": Decimal("50000"),
}


@pytest.fixture
def county(world: World) -> World:
    """Each household has 2 members. At the end of 2019: V1 remaining (2 of 100 = 2 %, not
    below 2 %), V2 remaining (2 of 50 = 4 %), V3 exited (0 of 100), V4 remaining (2 of 200 = 1 %).
    The statuses dated in 2026 (creation) do not count for 2019."""
    for code, population in [(V1, 100), (V2, 50), (V3, 100), (V4, 200)]:
        RegionPopulation.objects.create(region_id=code, year=YEAR, rural_population=population)
    for code in (V1, V2, V3, V4):
        do_change_household_status(
            world.households[code].pk, "not_exited", datetime.date(YEAR, 1, 10), "识别", actor=None
        )
    do_change_household_status(
        world.households[V3].pk,
        "exited_with_policy",
        datetime.date(YEAR, 11, 1),
        "脱贫",
        actor=None,
    )
    return world


def _latest(code: str, standard: str = "village_exit") -> RegionAssessment:
    found = (
        RegionAssessment.objects.filter(region_id=code, standard=standard, year=YEAR)
        .order_by("-created_at", "-pk")
        .first()
    )
    assert found is not None
    return found


def _results(row: RegionAssessment) -> dict[str, str]:
    return {c["id"]: c["result"] for c in row.criteria}


def test_villages_judged_on_registry_counts_conditions_and_flags(county: World) -> None:
    do_save_village_conditions(V3, YEAR, ALL_MET, actor=county.user("county"))
    do_save_village_conditions(
        V2, YEAR, {**ALL_MET, "clinic": False}, actor=county.user("township")
    )
    result = do_assess_regions("village_exit", YEAR, COUNTY, actor=county.user("county"))
    assert (result.regions, result.created, result.passed) == (4, 4, 1)

    v3 = _latest(V3)
    assert v3.passed and v3.failed == [] and v3.unknown == []
    assert v3.facts["remaining_poor_persons"] == 0 and v3.facts["rural_population"] == 100
    assert v3.policy.province == "23" and len(v3.policy.version) == 64
    assert any("23-heilongjiang" in f for f in v3.policy.files)

    v1 = _latest(V1)  # 2 / 100 is not below 2 %; no conditions entered: each unknown
    assert _results(v1)["incidence"] == "failed"
    assert v1.facts["remaining_poor_persons"] == 2
    assert set(v1.unknown) == {
        "road",
        "water",
        "power",
        "broadcast_tv",
        "culture_center",
        "clinic",
        "broadband",
        "collective_income",
    }
    incidence = next(c for c in v1.criteria if c["id"] == "incidence")
    assert incidence["explanation"].startswith("贫困发生率 0.0200（未脱贫 2 人")
    assert "100 人" in incidence["explanation"]

    v2 = _latest(V2)
    assert v2.failed == ["incidence", "clinic"]  # 4 %, and the clinic entered as missing
    v4 = _latest(V4)  # 1 % passes; the conditions unknown keep it from passing
    assert _results(v4)["incidence"] == "passed" and not v4.passed and v4.unknown


def test_western_flag_is_read_from_the_region_row(county: World) -> None:
    # 2 of 100 = 2 %: not below 2 %, below 3 %: the flag on the village decides
    do_save_village_conditions(V1, YEAR, ALL_MET, actor=county.user("county"))
    do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    assert not _latest(V1).passed
    Region.objects.filter(code=V1).update(is_western=True)
    do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    assert _latest(V1).passed and _latest(V1).facts["is_western"] is True


def test_same_policy_and_facts_store_nothing_new(county: World) -> None:
    first = do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    again = do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    assert (again.created, again.unchanged) == (0, 4)
    assert RegionAssessment.objects.count() == 4
    do_save_village_conditions(V4, YEAR, ALL_MET, actor=county.user("county"))
    third = do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    assert (third.created, third.unchanged) == (1, 3)
    assert _latest(V4).passed  # 1 % and every condition met
    assert AssessmentRun.objects.get(pk=first.run_id).method == "per_region"


def test_county_reads_its_villages_decisions(county: World) -> None:
    # before any village decision the poor villages' criterion is unknown, not failed
    do_assess_regions("county_exit", YEAR, COUNTY, actor=None)
    before = _latest(COUNTY, "county_exit")
    assert _results(before)["poor_villages_exited"] == "unknown"
    assert before.facts["poor_villages_unjudged"] == [V1, V3]

    do_save_village_conditions(V3, YEAR, ALL_MET, actor=county.user("county"))
    do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    do_assess_regions("county_exit", YEAR, COUNTY, actor=None)
    after = _latest(COUNTY, "county_exit")
    assert after.pk != before.pk  # new facts (the village decisions): a new decision
    assert after.facts["poor_villages"] == 2 and after.facts["poor_villages_exited"] == 1
    assert after.facts["poor_villages_not_exited"] == [V1]
    assert "poor_villages_exited" in after.failed
    # registry counts: 3 households remaining of 2 persons, 1 exited; county population 10,000
    assert after.facts["remaining_poor_persons"] == 6
    assert after.facts["exited_population"] == 2
    assert after.facts["non_registered_rural_population"] == 10000 - 8
    # the sampled self-check has not given its figures: those criteria are unknown
    assert {"wrong_exit_rate", "missed_rate", "approval", "comprehensive_incidence"} <= set(
        after.unknown
    )
    assert not after.passed


def test_a_poor_village_with_only_unknown_criteria_leaves_the_county_unknown(
    county: World,
) -> None:
    # V3 meets the incidence but has no conditions entered (unknown), V1 is all met but 2 %:
    # one definite failure decides the county's criterion
    do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    do_assess_regions("county_exit", YEAR, COUNTY, actor=None)
    first = _latest(COUNTY, "county_exit")
    assert first.facts["poor_villages_not_exited"] == [V1]
    assert first.facts["poor_villages_undetermined"] == [V3]
    assert _results(first)["poor_villages_exited"] == "failed"
    # with V1 counted as western (3 %) and its conditions met, only V3's unknowns remain
    Region.objects.filter(code=V1).update(is_western=True)
    do_save_village_conditions(V1, YEAR, ALL_MET, actor=county.user("county"))
    do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    do_assess_regions("county_exit", YEAR, COUNTY, actor=None)
    second = _latest(COUNTY, "county_exit")
    assert second.facts["poor_villages_exited"] is None
    assert _results(second)["poor_villages_exited"] == "unknown"


def test_command_runs_both_standards_and_exits_zero(county: World, capsys: Any) -> None:
    call_command("assess", "--standard", "village_exit", "--year", str(YEAR), "--county", "230231")
    call_command("assess", "--standard", "county_exit", "--year", str(YEAR), "--county", "230231")
    out = capsys.readouterr().out
    assert "判定 4 个村" in out and "判定 1 个县" in out
    assert RegionAssessment.objects.filter(level="village").count() == 4
    assert RegionAssessment.objects.filter(level="county").count() == 1


def test_command_needs_a_county(county: World) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--county"):
        call_command("assess", "--standard", "village_exit", "--year", str(YEAR))


@pytest.mark.parametrize(
    ("who", "village", "values", "error"),
    [
        ("auditor", V1, ALL_MET, Forbidden),
        ("other_township", V1, ALL_MET, OutOfScope),
        ("village", V2, ALL_MET, OutOfScope),
        ("county", V1, {**ALL_MET, "collective_income": Decimal("-1")}, DomainError),
        ("county", V1, {**ALL_MET, "clinic": "yes"}, DomainError),
        ("county", V1, {"roads": True}, DomainError),
    ],
)
def test_refused_conditions_write_nothing(
    county: World, who: str, village: str, values: dict[str, Any], error: type[Exception]
) -> None:
    events = AuditEvent.objects.count()
    with pytest.raises(error):
        do_save_village_conditions(village, YEAR, values, actor=county.user(who))
    assert VillageConditions.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_stale_conditions_refused(county: World) -> None:
    row = do_save_village_conditions(V1, YEAR, ALL_MET, actor=county.user("village"))
    do_save_village_conditions(
        V1, YEAR, {**ALL_MET, "broadband": False}, actor=county.user("county"), expected_version=1
    )
    with pytest.raises(StaleVersion):
        do_save_village_conditions(
            V1, YEAR, ALL_MET, actor=county.user("village"), expected_version=row.version
        )
    assert VillageConditions.objects.get(village_id=V1).broadband is False


def test_only_the_county_office_judges(county: World) -> None:
    with pytest.raises(Forbidden):
        do_assess_regions("village_exit", YEAR, COUNTY, actor=county.user("township"))
    assert RegionAssessment.objects.count() == 0


def test_pages_are_scoped(county: World, client: Any) -> None:
    do_assess_regions("village_exit", YEAR, COUNTY, actor=None)
    signed_in(client, county.user("village"))
    page = client.get("/exits/", {"county": COUNTY, "year": YEAR}).content.decode()
    assert f"village-{V1}" in page and f"village-{V2}" not in page
    assert "county-decision" not in page
    assert client.get(f"/exits/villages/{V2}/{YEAR}/").status_code == 404
    response = client.post(
        f"/exits/villages/{V1}/{YEAR}/",
        {"version": 0, "hardened_road": "1", "clinic": "0", "collective_income": "1200.5"},
    )
    assert response.status_code == 302
    saved = VillageConditions.objects.get(village_id=V1, year=YEAR)
    assert saved.hardened_road is True and saved.clinic is False and saved.power is None
    assert saved.collective_income == Decimal("1200.50")
    assert client.post("/exits/assess/", {"county": COUNTY, "year": YEAR}).status_code == 403


def test_auditor_reads_but_cannot_enter(county: World, client: Any) -> None:
    signed_in(client, county.user("auditor"))
    assert client.get(f"/exits/villages/{V1}/{YEAR}/").status_code == 200
    assert client.post(f"/exits/villages/{V1}/{YEAR}/", {"clinic": "1"}).status_code == 403
    assert VillageConditions.objects.count() == 0


def test_county_office_runs_villages_then_county_from_the_page(county: World, client: Any) -> None:
    signed_in(client, county.user("county"))
    response = client.post("/exits/assess/", {"county": COUNTY, "year": YEAR})
    assert response.status_code == 302
    assert RegionAssessment.objects.filter(level="village").count() == 4
    assert RegionAssessment.objects.filter(level="county").count() == 1
    page = client.get("/exits/", {"county": COUNTY, "year": YEAR}).content.decode()
    assert "county-decision" in page
