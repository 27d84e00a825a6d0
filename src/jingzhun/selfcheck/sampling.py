"""The self-check's sample (三率一度, domain.md 3.5): pure Python + numpy, no Django.

Two stages. Villages are stratified (poor / non-poor) and drawn without replacement within
each stratum; in each drawn village the households are split into groups (exited, remaining =
due to exit, ordinary = not registered) and drawn without replacement within each group, with
the sizes of `Plan` (the policy table exit_self_check). Everything is drawn from one
`numpy.random.default_rng(seed)` over inputs sorted by code and id, so the same frame and seed
give the same sample on any machine. Each household's weight is the inverse of its inclusion
probability: (villages in its stratum / drawn) × (households of its group in the village /
drawn). The design (strata, population sizes, sample sizes, weights) is returned with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

POOR, NON_POOR = "poor", "non_poor"
VILLAGE_STRATA = (POOR, NON_POOR)
EXITED, REMAINING, ORDINARY = "exited", "remaining", "ordinary"
GROUPS = (EXITED, REMAINING, ORDINARY)


@dataclass(frozen=True)
class Plan:
    """Sample sizes (policy table exit_self_check)."""

    villages_poor: int
    villages_non_poor: int
    exited_per_village: int
    remaining_share: float
    ordinary_fraction: float
    ordinary_max_per_village: int

    def villages(self, stratum: str) -> int:
        return self.villages_poor if stratum == POOR else self.villages_non_poor

    def sizes(self, population: dict[str, int]) -> dict[str, int]:
        """Households to draw in one village from its group sizes."""
        exited = min(population.get(EXITED, 0), self.exited_per_village)
        remaining_all = population.get(REMAINING, 0)
        remaining = min(remaining_all, math.ceil(remaining_all * self.remaining_share))
        ordinary_all = population.get(ORDINARY, 0)
        ordinary = min(
            ordinary_all,
            self.ordinary_max_per_village,
            max(2, math.ceil(ordinary_all * self.ordinary_fraction)),
        )
        return {EXITED: exited, REMAINING: remaining, ORDINARY: ordinary}


@dataclass(frozen=True)
class Village:
    """A village of the frame: its stratum and its households (id, persons) by group."""

    code: str
    stratum: str
    households: dict[str, list[tuple[int, int]]]


@dataclass(frozen=True)
class Unit:
    """A drawn household."""

    household_id: int
    village: str
    stratum: str
    group: str
    persons: int
    weight: float


@dataclass
class Sample:
    units: list[Unit]
    design: dict[str, Any] = field(default_factory=dict)


def _draw(rng: np.random.Generator, ids: Sequence[Any], n: int) -> list[Any]:
    """`n` of `ids` without replacement, in the order of `ids` (already sorted)."""
    if n >= len(ids):
        return list(ids)
    picked = sorted(int(i) for i in rng.choice(len(ids), size=n, replace=False))
    return [ids[i] for i in picked]


def draw(
    villages: Iterable[Village],
    plan: Plan,
    seed: int,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Sample:
    """The two-stage stratified sample of `villages` under `plan`, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    by_stratum: dict[str, list[Village]] = {s: [] for s in VILLAGE_STRATA}
    for v in sorted(villages, key=lambda v: v.code):
        by_stratum[v.stratum].append(v)
    design: dict[str, Any] = {"seed": seed, "village_strata": {}, "villages": {}}
    drawn: list[tuple[Village, float]] = []
    for stratum in VILLAGE_STRATA:
        frame = by_stratum[stratum]
        chosen = _draw(rng, frame, plan.villages(stratum))
        weight = len(frame) / len(chosen) if chosen else 0.0
        design["village_strata"][stratum] = {
            "population": len(frame),
            "sample": len(chosen),
            "weight": weight,
        }
        drawn.extend((v, weight) for v in chosen)
    units: list[Unit] = []
    for done, (village, village_weight) in enumerate(sorted(drawn, key=lambda d: d[0].code), 1):
        population = {g: len(village.households.get(g, [])) for g in GROUPS}
        sizes = plan.sizes(population)
        groups: dict[str, Any] = {}
        for group in GROUPS:
            homes = sorted(village.households.get(group, []))
            picked = _draw(rng, homes, sizes[group])
            weight = village_weight * (len(homes) / len(picked)) if picked else 0.0
            groups[group] = {"population": len(homes), "sample": len(picked), "weight": weight}
            units.extend(
                Unit(hid, village.code, village.stratum, group, persons, weight)
                for hid, persons in picked
            )
        design["villages"][village.code] = {"stratum": village.stratum, "groups": groups}
        if progress is not None:
            progress(done, len(drawn))
    design["households"] = len(units)
    return Sample(units, design)
