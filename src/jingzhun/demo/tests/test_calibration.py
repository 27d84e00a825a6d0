"""Generated counties show the published figures exactly (domain.md 9), through `jingzhun stats`."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from jingzhun.demo.counties import COUNTIES
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household, Member
from jingzhun.registry.selectors import registry_stats

from .conftest import generate


def stats_json(code: str, year: int) -> dict[str, Any]:
    out = io.StringIO()
    call_command("stats", "--county", code, "--year", str(year), "--json", stdout=out)
    return json.loads(out.getvalue())


def expected(code: str) -> dict[str, Any]:
    spec = COUNTIES[code]
    return {
        "registered_households": spec.registered_households.int,
        "registered_persons": spec.registered_persons.int,
        "exited_households": spec.exited_households.int,
        "exited_persons": spec.exited_persons.int,
        "remaining_households": spec.remaining_households.int,
        "remaining_persons": spec.remaining_persons.int,
        "poverty_incidence": spec.incidence_target.value,
        "poor_villages": spec.poor_villages.int,
        "villages": spec.villages.int,
        "townships": spec.townships.int,
    }


def baiquan_extra() -> None:
    # 2014 shows 11.3% (57,770 persons incl. households removed later) and 2019 shows 0.56%
    assert stats_json("230231", 2014)["poverty_incidence"] == 11.3
    # the dispersed tekun support covers 1,344 households / 1,534 persons
    tekun = Household.objects.filter(attribute="tekun")
    assert tekun.count() == 1344
    assert Member.objects.filter(household__in=tekun).count() == 1534
    assert Member.objects.filter(tekun=True).count() == 1534
    # 30 of the 104 poor villages are deep-poverty villages
    assert (
        Region.objects.filter(level="village", is_poor_village=True, is_deep_poverty=True).count()
        == 30
    )


def horqin_extra() -> None:
    # the 2014 registration (13,065 / 34,261) and its 11% incidence hold too
    start = stats_json("150522", 2014)
    assert (
        start["registered_households"],
        start["registered_persons"],
        start["poverty_incidence"],
    ) == (
        13065,
        34261,
        11.0,
    )
    # 3,237 households / 7,147 persons are on dibao; 303 households were relocated
    dibao = Household.objects.filter(attribute="dibao")
    assert (dibao.count(), Member.objects.filter(household__in=dibao).count()) == (3237, 7147)
    assert Member.objects.filter(dibao=True).count() == 7147
    assert Household.objects.filter(relocated=True).count() == 303


def jinping_extra() -> None:
    # 2,267 relocated households hold 9,955 persons, all moved in
    relocated = Household.objects.filter(relocated=True)
    assert relocated.count() == 2267
    assert Member.objects.filter(household__in=relocated).count() == 9955
    assert not relocated.exclude(relocation_moved_in=True).exists()


EXTRA = {"230231": baiquan_extra, "150522": horqin_extra, "522628": jinping_extra}


@pytest.mark.parametrize("code", list(COUNTIES))
def test_generated_county_shows_its_published_figures(db: Any, code: str) -> None:
    # Given a county generated at scale 1
    spec = COUNTIES[code]
    generate(code)
    year = spec.target_year.int

    # When the stats command counts the target year
    got = stats_json(code, year)

    # Then every published (or labelled) figure holds exactly, including the incidence
    apart = {"ordinary_households", "ordinary_persons", "monitored_households"}  # issue 19
    assert set(got) == {*expected(code), "rural_population", *apart}
    assert {k: got[k] for k in expected(code)} == expected(code)
    assert registry_stats(spec.county_code, year).as_dict() == got
    # and the incidence declines year by year to zero in 2020
    series = [stats_json(code, y)["poverty_incidence"] for y in range(2014, 2021)]
    assert series == sorted(series, reverse=True) and series[-1] == 0
    assert series[0] > 3 * series[year - 2014]
    # and the county's own published extras hold
    if code in EXTRA:
        EXTRA[code]()
