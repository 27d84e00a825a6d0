"""The planning helpers (pure numpy): exact splits and exact subsets; the labelled calibration data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jingzhun.demo.counties import ASSUMED, COUNTIES, DERIVED, REPORTS, county_spec
from jingzhun.demo.plan import PlanError, apportion, build_plan, exact_sizes, select_exact, summary


@given(
    st.integers(0, 10**7), st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=40)
)
def test_apportion_is_exact_and_proportional(total: int, weights: list[float]) -> None:
    if sum(weights) == 0:
        weights = [1.0, *weights[1:]]
    parts = apportion(total, weights)
    assert sum(parts) == total and all(p >= 0 for p in parts)
    quotas = np.array(weights) * total / sum(weights)
    assert np.all(np.abs(np.array(parts) - quotas) < 1 + 1e-6)


@settings(max_examples=60)
@given(st.integers(1, 3000), st.floats(1.0, 7.0), st.integers(0, 2**32 - 1))
def test_exact_sizes_hit_the_person_total(households: int, mean: float, seed: int) -> None:
    persons = min(max(households, round(households * mean)), 7 * households)
    sizes = exact_sizes(np.random.default_rng(seed), households, persons)
    assert len(sizes) == households and int(sizes.sum()) == persons
    assert sizes.min() >= 1 and sizes.max() <= 7


def test_exact_sizes_refuse_impossible_totals() -> None:
    with pytest.raises(PlanError):
        exact_sizes(np.random.default_rng(1), 10, 71)


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.integers(50, 400))
def test_select_exact_picks_households_with_the_exact_person_total(seed: int, want: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = exact_sizes(rng, 2000, 5000)
    eligible = rng.random(2000) < 0.8
    persons = round(want * 2.5)
    chosen = select_exact(rng, sizes, eligible, want, persons, {s: 1.0 for s in range(1, 8)})
    assert len(chosen) == want == len(set(chosen.tolist()))
    assert int(sizes[chosen].sum()) == persons
    assert eligible[chosen].all()


def test_every_calibration_figure_is_labelled() -> None:
    for spec in COUNTIES.values():
        for name, figure in spec.figures().items():
            assert figure.source in {REPORTS, DERIVED, ASSUMED}, (spec.code, name)
            if figure.source != REPORTS:
                assert figure.note, (spec.code, name, "an assumed or derived figure says why")
        # registered = exited + remaining, as published or derived
        assert (
            spec.registered_households.int
            == spec.exited_households.int + spec.remaining_households.int
        )
        assert spec.registered_persons.int == spec.exited_persons.int + spec.remaining_persons.int
        assert (
            abs(sum(spec.exit_schedule.values()) - 1) < 1e-9
            and abs(sum(spec.late_schedule.values()) - 1) < 1e-9
        )


@pytest.mark.parametrize("code", list(COUNTIES))
def test_the_plan_reproduces_the_targets_and_grows_with_the_scale(code: str) -> None:
    spec = COUNTIES[code]
    year = spec.target_year.int
    base = summary(build_plan(spec, 1.0, seed=1))[year]
    assert (base["registered_households"], base["remaining_persons"]) == (
        spec.registered_households.int,
        spec.remaining_persons.int,
    )
    assert base["poverty_incidence"] == spec.incidence_target.value
    big = build_plan(spec, 3.0, seed=1)
    at3 = summary(big)[year]
    assert at3["registered_persons"] == round(3 * spec.registered_persons.value)
    assert at3["remaining_persons"] == round(3 * spec.remaining_persons.value)
    assert at3["poverty_incidence"] == spec.incidence_target.value
    assert len(big.villages) == 3 * spec.villages.int
    codes = [v.code for v in big.villages]
    assert len(set(codes)) == len(codes) and all(
        c.startswith(spec.code) and len(c) == 12 for c in codes
    )


def test_county_codes_are_found_in_six_or_twelve_digits() -> None:
    assert county_spec("230231") is county_spec("230231000000") is COUNTIES["230231"]
    assert county_spec("230232") is None
