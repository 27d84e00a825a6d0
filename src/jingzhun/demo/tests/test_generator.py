"""What the generator writes: determinism, valid and consistent records, chunking, refusal to overwrite."""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from stdnum import luhn

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError
from jingzhun.demo.actions import (
    DemoDataExists,
    DemoResult,
    DemoSpec,
    do_generate_demo_county,
    do_reset_demo_data,
)
from jingzhun.policy.store import default_store
from jingzhun.regions.models import Region, RegionPopulation
from jingzhun.registry.choices import EXITED_STATUSES, REGISTERED_STATUSES
from jingzhun.registry.contact import bank_account_problem, phone_problem
from jingzhun.registry.idcard import check
from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange
from jingzhun.registry.selectors import registry_stats

from .conftest import digest_rows, generate


def _line(year: int) -> float:
    """The national line of `year` as the policy file states it (not the generator's copy)."""
    found = default_store().poverty_line(year)
    assert found is not None and found.value is not None
    return float(found.value)


def test_same_seed_gives_the_same_rows_and_another_seed_different_ones(db: Any) -> None:
    # Given Lindian generated at a tenth of its size in chunks of 300 households (so that the
    # draws cross chunk boundaries) with seed 7, digested, then cleared
    generate("230623", scale=0.1, seed=7, chunk_size=300)
    first = digest_rows()
    do_reset_demo_data()
    assert not Household.all_objects.exists()

    # When it is generated again with the same seed, and then with seed 8
    generate("230623", scale=0.1, seed=7, chunk_size=300)
    second = digest_rows()
    do_reset_demo_data()
    generate("230623", scale=0.1, seed=8, chunk_size=300)
    third = digest_rows()

    # Then the same seed wrote the same rows, another seed other rows
    assert first == second
    assert third != first


def test_every_id_number_is_valid_unique_and_matches_sex_and_birth_date(
    small_baiquan: DemoResult,
) -> None:
    rows = [(m.id_number, m.sex, m.birth_date) for m in Member.objects.all()]
    assert len(rows) == small_baiquan.persons
    for id_number, sex, birth_date in rows:
        result = check(id_number)
        assert result.valid, (id_number, result.error)
        assert result.region_code is None or result.region_code.startswith("230231")
        assert id_number.startswith("230231")
        assert (result.sex, result.birth_date) == (sex, birth_date)
    assert len({r[0] for r in rows}) == len(rows)


def test_each_household_has_one_head_and_plausible_members(small_baiquan: DemoResult) -> None:
    heads = Counter(Member.objects.filter(relation="head").values_list("household_id", flat=True))
    sizes = Counter(Member.objects.values_list("household_id", flat=True))
    assert set(heads.values()) == {1}
    assert set(heads) == set(Household.objects.values_list("id", flat=True))
    assert set(sizes.values()) <= set(range(1, 8))
    # the head's name is on the household, children are younger than their parents' generation
    for code, head in Household.objects.values_list("household_code", "head_name")[:200]:
        assert head
        assert len(code) == 16
    ref = datetime.date(2020, 12, 31)
    for birth, relation in Member.objects.values_list("birth_date", "relation"):
        age = (ref - birth).days // 365
        assert 0 <= age <= 100
        if relation in {"head", "spouse"}:
            assert age >= 18
    # children of compulsory-school age are at school (or taught at home / exempt), never dropped
    # out in a registered household (a dropout blocks exit)
    registered = Member.objects.filter(household__poverty_status__in=REGISTERED_STATUSES)
    assert not registered.filter(school_status="dropped_out").exists()
    assert registered.filter(school_status="primary").exists()
    # health details are encrypted (PII-2): no filter on them, read through the model
    health = [(m.health_status, m.disability_grade) for m in Member.objects.all()]
    assert {h for h, _ in health} >= {"healthy", "disabled"}
    assert all((grade is not None) == (status == "disabled") for status, grade in health)
    assert {g for _, g in health if g is not None} <= {1, 2, 3, 4}


def test_households_are_consistent_with_their_history_and_exit_conditions(
    small_baiquan: DemoResult,
) -> None:
    history: dict[int, list[tuple[datetime.date, str, str]]] = {}
    for hid, day, old, new in StatusChange.objects.order_by(
        "household_id", "changed_on", "id"
    ).values_list("household_id", "changed_on", "status_from", "status_to"):
        history.setdefault(hid, []).append((day, old, new))
    incomes = {(r.household_id, r.year): r.net_income for r in IncomeRecord.objects.all()}
    sizes = Counter(Member.objects.values_list("household_id", flat=True))
    exits_checked = ordinary = 0
    last_year = timezone.localdate().year - 1
    for h in Household.objects.all():
        changes = history[h.id]
        if h.poverty_status == "not_registered":  # an ordinary rural household (issue 19)
            assert [(d.year, old, new) for d, old, new in changes] == [(2021, "", "not_registered")]
            assert (h.identified_year, h.exit_year, h.main_cause) == (None, None, "")
            assert h.attribute == "general" and not h.relocated
            assert all((h.id, y) in incomes for y in range(2021, last_year + 1))
            ordinary += 1
            continue
        # incomes for every year from identification to last year (to removal when removed)
        until = changes[-1][0].year if h.poverty_status == "removed" else last_year
        assert all((h.id, y) in incomes for y in range(changes[0][0].year, until + 1))
        assert changes[0][1] == "" and changes[0][2] == "not_exited"
        assert all(a[2] == b[1] for a, b in itertools.pairwise(changes)), "statuses chain"
        assert h.poverty_status == changes[-1][2]
        assert h.identified_year == changes[0][0].year
        if h.poverty_status in EXITED_STATUSES:
            exit_year = max(d.year for d, _, new in changes if new == "exited_with_policy")
            assert h.exit_year == exit_year
            # exited: above the poverty line in the exit year, safe housing, water, insurance
            per_capita = incomes[(h.id, exit_year)] / sizes[h.id]
            assert per_capita > _line(exit_year)
            # (a C/D house only where monitoring since 2021 found an open housing risk)
            open_housing_risk = h.risk_status == "not_eliminated" and "housing" in h.risk_types
            assert (
                h.house_safety_grade in {"A", "B"}
                or open_housing_risk
                or (h.relocated and h.relocation_moved_in)
            )
            assert h.water_safe is True and h.food_secure and h.clothing_secure
            exits_checked += 1
        else:
            assert h.poverty_status == "removed" and h.exit_year is None
        assert luhn.is_valid(h.bank_account) and 16 <= len(h.bank_account) <= 19
        assert h.phone == "" or (len(h.phone) == 11 and h.phone.isdigit())
        # and the registry's own rules accept them
        assert bank_account_problem(h.bank_account) == "" and phone_problem(h.phone) == ""
    assert exits_checked > 0 and ordinary > 0
    assert not Member.objects.filter(
        household__poverty_status__in=EXITED_STATUSES, basic_medical_insured=False
    ).exists()
    # households still poor at the end of 2019 mostly had 2019 incomes below that year's line;
    # every household exited by then was above it
    below = above = 0
    for hid, changes in history.items():
        status_2019 = ([""] + [new for day, _, new in changes if day.year <= 2019])[-1]
        if status_2019 in REGISTERED_STATUSES:
            per_capita = incomes[(hid, 2019)] / sizes[hid]
            if status_2019 in EXITED_STATUSES:
                assert per_capita > _line(2019)
            elif per_capita < _line(2019):
                below += 1
            else:
                above += 1
    assert below > 3 * above > 0


def test_main_causes_follow_the_published_shares(small_baiquan: DemoResult) -> None:
    causes = Counter(
        Household.objects.exclude(poverty_status="not_registered").values_list(
            "main_cause", flat=True
        )
    )
    share = causes["illness"] / sum(causes.values())
    assert 0.36 <= share <= 0.48  # 43% drawn, tekun households redrawn
    assert Member.objects.filter(dibao=True).exists()
    tekun_households = set(Household.objects.filter(attribute="tekun").values_list("id", flat=True))
    assert tekun_households == set(
        Member.objects.filter(tekun=True).values_list("household_id", flat=True)
    )
    assert Household.objects.exclude(monitoring_category="").exists()


def test_village_populations_add_up_to_the_county_every_year(small_baiquan: DemoResult) -> None:
    villages = Region.objects.filter(level="village").count()
    # 2014 to last year (the timeline runs to the year before the current one)
    assert RegionPopulation.objects.count() == villages * (timezone.localdate().year - 2014)
    for year in range(2014, 2021):
        stats = registry_stats("230231000000", year)
        total = sum(
            RegionPopulation.objects.filter(year=year).values_list("rural_population", flat=True)
        )
        assert stats.rural_population == total
        # a village never has more remaining poor persons than people
        for village in Region.objects.filter(level="village")[:8]:
            v = registry_stats(village.code, year)
            assert v.rural_population is not None and v.remaining_persons <= v.rural_population


def test_ordinary_households_fill_the_demo_townships_villages(small_baiquan: DemoResult) -> None:
    # issue 19: ordinary households only in the demo township, each of its villages holding its
    # rural population (no more) once its registered households are counted
    township = next(a.scope_code for a in small_baiquan.accounts if a.username == "township")
    ordinary = Household.objects.filter(poverty_status="not_registered")
    assert set(ordinary.values_list("township_code", flat=True)) == {township}
    persons = Counter(Member.objects.values_list("household__village_id", flat=True))
    ordinary_persons = Counter(
        Member.objects.filter(household__in=ordinary).values_list(
            "household__village_id", flat=True
        )
    )
    villages = Region.objects.filter(level="village", parent_id=township)
    filled = 0
    for village in villages:
        populations = RegionPopulation.objects.filter(region=village).values_list(
            "rural_population", flat=True
        )
        assert persons[village.code] <= min(populations)
        filled += persons[village.code] == min(populations) and ordinary_persons[village.code] > 0
    assert filled == villages.count() > 1


def test_small_chunks_give_exact_scaled_counts(db: Any) -> None:
    # Given Lindian at 5% generated in chunks of 37 households
    seen: list[int] = []
    result = do_generate_demo_county(
        DemoSpec(county="230623", scale=0.05, seed=3, password="Demo-pass-2026", chunk_size=37),
        progress=seen.append,
    )
    # Then many chunks were written and the counts are the published ones times 0.05, rounded
    assert len(seen) > 5 and sum(seen) == result.persons == Member.objects.count()
    stats = registry_stats("230623000000", 2018)
    assert (stats.registered_households, stats.registered_persons) == (
        round(4176 * 0.05),
        round(8629 * 0.05),
    )
    assert (stats.remaining_households, stats.remaining_persons) == (
        round(610 * 0.05),
        round(1184 * 0.05),
    )
    assert stats.poverty_incidence == 0.74
    assert len({m for m in [m.id_number for m in Member.objects.all()]}) == result.persons


def test_generation_refuses_to_overwrite_existing_data(small_baiquan: DemoResult) -> None:
    # Given a generated county
    before = (Household.objects.count(), Member.objects.count(), AuditEvent.objects.count())
    # When another generation is attempted without clearing
    with pytest.raises(DemoDataExists) as refused:
        generate("230623")
    # Then it is refused with the Chinese message, and nothing changed
    assert "如需重新生成请加 --reset" in refused.value.message
    assert (Household.objects.count(), Member.objects.count(), AuditEvent.objects.count()) == before


def test_generation_writes_one_audit_event_with_the_counts(db: Any) -> None:
    result = generate("230623", scale=0.2)
    events = list(AuditEvent.objects.filter(event="demo.generate"))
    assert len(events) == 1
    diff = events[0].diff
    assert (diff["households"], diff["persons"]) == (result.households, result.persons)
    assert diff["county"] == "230623"
    assert Decimal(str(diff["scale"])) == Decimal("0.2")


@pytest.mark.parametrize("county", ["123456", "230231x", ""])
def test_an_unknown_county_is_refused_with_the_known_ones_listed(db: Any, county: str) -> None:
    with pytest.raises(DomainError) as refused:
        generate(county)
    assert "230231 拜泉县" in refused.value.message and "150522" in refused.value.message
    assert not Region.objects.exists()


def test_a_too_small_scale_is_refused(db: Any) -> None:
    with pytest.raises(DomainError):
        generate("230623", scale=0.0001)
    assert not Household.objects.exists()


def test_the_demo_stores_sensitive_fields_encrypted(small_baiquan: DemoResult) -> None:
    """PII-2: the generator's set-wise writes store tokens (no valid ID number, no phone or bank
    digits in the raw columns); the ORM reads them back and the blind index finds a member."""
    from django.db import connection

    from jingzhun.core.fieldcrypt import is_token
    from jingzhun.registry.models import id_index

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, id_number_index FROM registry_member")
        members = cursor.fetchall()
        cursor.execute("SELECT phone, bank_account FROM registry_household")
        households = cursor.fetchall()
    assert len(members) == small_baiquan.persons
    assert all(is_token(t) and len(i) == 64 for t, i in members)
    assert any(p for p, _b in households) and any(b for _p, b in households)
    assert all(v == "" or is_token(v) for row in households for v in row)
    member = Member.objects.order_by("pk").last()
    assert member is not None and check(member.id_number).valid
    assert Member.objects.get(id_number_index=id_index(member.id_number)) == member
