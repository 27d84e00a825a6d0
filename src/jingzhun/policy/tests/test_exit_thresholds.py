"""Village and county exit thresholds are compared multiplied across, so no rounding of a rate
decides a case at the boundary (ADR 0010)."""

from __future__ import annotations

from jingzhun.policy.decide import decide
from jingzhun.policy.store import default_store


def _village(remaining: int, population: int, western: bool) -> dict[str, str]:
    facts = {
        "household_code": "V1",
        "remaining_poor_persons": remaining,
        "rural_population": population,
        "is_western": western,
    }
    d = decide(default_store(), "village_exit", facts, year=2019)
    return {c.id: c.result for c in d.criteria}


def test_village_incidence_just_below_two_percent_passes() -> None:
    # 2000 / 100001 = 0.0199998 (rounds to 0.0200 at 4 places); it is below 2 %
    assert _village(2000, 100_001, False)["incidence"] == "passed"
    assert _village(2000, 100_000, False)["incidence"] == "failed"  # exactly 2 %: not below


def test_western_villages_use_three_percent() -> None:
    assert _village(2999, 100_000, True)["incidence"] == "passed"
    assert _village(2999, 100_000, False)["incidence"] == "failed"
    assert _village(3000, 100_000, True)["incidence"] == "failed"


def test_unknown_population_is_unknown() -> None:
    facts = {"household_code": "V1", "remaining_poor_persons": 10, "is_western": False}
    d = decide(default_store(), "village_exit", facts, year=2019)
    assert "incidence" in d.unknown


def test_county_rates_at_their_boundaries() -> None:
    base = {
        "household_code": "C1",
        "is_western": False,
        "remaining_poor_persons": 100,
        "rural_population": 100_000,
        "non_registered_rural_population": 50_000,
        "exited_population": 40_000,
        "sampled_exited_persons": 1000,
        "sampled_wrong_exit_persons": 19,
        "sampled_non_registered_persons": 1000,
        "verified_missed_persons": 19,
        "surveyed_households": 1000,
        "approving_households": 900,
    }
    d = decide(default_store(), "county_exit", base, year=2019)
    results = {c.id: c.result for c in d.criteria}
    assert results["wrong_exit_rate"] == "passed"  # 1.9 %
    assert results["missed_rate"] == "passed"
    assert results["approval"] == "passed"  # exactly 90 % is enough ("不低于")
    worse = {**base, "sampled_wrong_exit_persons": 20, "approving_households": 899}
    results = {
        c.id: c.result for c in decide(default_store(), "county_exit", worse, year=2019).criteria
    }
    assert results["wrong_exit_rate"] == "failed" and results["approval"] == "failed"
