"""Planning a synthetic county before any row is written: regions, household cohorts with exact
(households, persons) counts, household sizes, villages and the yearly rural population.

Pure Python and numpy (no Django). Everything the calibration depends on (the cohort counts, the
yearly rural population) is a function of the county spec and the scale only; the seed decides
which household gets which size, village and attribute.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.utils import timezone

from .counties import FIRST_YEAR, LAST_YEAR, MONITORING_FIRST_YEAR, YEARS, CountySpec
from .names import PLACE_FIRST, PLACE_SECOND, TOWNSHIP_SUFFIX, VILLAGE_SUFFIX

MAX_SIZE = 7
MAX_TOWNSHIPS = 200  # township codes 100-299
MAX_VILLAGES_PER_TOWNSHIP = 799  # village codes 201-999
EXITED = ("exited_with_policy", "exited_no_policy")
REMAINING = ("not_exited", "returned")
ATTRIBUTES = ("general", "dibao", "tekun")
REASONS = {
    "identify": "精准识别建档立卡",
    "add": "动态调整新识别纳入",
    "exit": "脱贫退出",
    "return": "返贫",
    "remove": "动态调整清退",
    "ordinary": "纳入全体农户动态监测（一般农户）",
}
REGISTERED_GROUPS = ("exited", "remaining")
ORDINARY = "ordinary"  # the cohort group of ordinary rural households (未建档立卡)
REMOVAL_SCHEDULE = {2015: 0.30, 2016: 0.45, 2017: 0.25}


class PlanError(ValueError):
    """The spec and scale cannot be planned; the message is a Chinese sentence."""


@dataclass(frozen=True)
class Event:
    year: int
    kind: str  # identify, add, exit, return, remove
    status_from: str
    status_to: str

    @property
    def reason(self) -> str:
        return REASONS[self.kind]


@dataclass(frozen=True)
class Cohort:
    """Households sharing one status history (years only; the generator draws the dates)."""

    group: str  # exited, remaining, removed (at the end of the target year), or ordinary
    events: tuple[Event, ...]
    households: int
    persons: int

    @property
    def identified_year(self) -> int:
        return self.events[0].year

    @property
    def final_status(self) -> str:
        return self.events[-1].status_to

    @property
    def exit_year(self) -> int | None:
        if self.final_status not in EXITED:
            return None
        return max(e.year for e in self.events if e.kind == "exit")

    def status_at(self, year: int) -> str | None:
        status = None
        for event in self.events:
            if event.year <= year:
                status = event.status_to
        return status


def trajectory(identified: int, *changes: tuple[int, str]) -> tuple[Event, ...]:
    """Events from an identification year and (year, kind) changes, statuses chained."""
    events = [
        Event(identified, "identify" if identified == FIRST_YEAR else "add", "", "not_exited")
    ]
    status = "not_exited"
    for year, kind in changes:
        to = {"exit": "exited_with_policy", "return": "returned", "remove": "removed"}[kind]
        events.append(Event(year, kind, status, to))
        status = to
    return tuple(events)


def apportion(total: int, weights: Sequence[float] | np.ndarray) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder; exact sum)."""
    w = np.asarray(weights, dtype=float)
    if total < 0 or (w < 0).any():
        raise ValueError("apportion needs a non-negative total and weights")
    if total == 0 or w.sum() == 0:
        if total and not len(w):
            raise ValueError("nothing to apportion into")
        out = [0] * len(w)
        if total:
            out[0] = total
        return out
    quotas = (w / w.sum()) * total
    base = np.floor(quotas).astype(np.int64)
    rest = total - int(base.sum())
    if rest:
        order = np.lexsort((np.arange(len(w)), -(quotas - base)))
        base[order[:rest]] += 1
    return [int(x) for x in base]


@dataclass(frozen=True)
class Scaled:
    """The county's targets at a given scale (see docs: rounding keeps totals consistent)."""

    target_year: int
    registered: tuple[int, int]
    exited: tuple[int, int]
    remaining: tuple[int, int]
    removed: tuple[int, int]
    added: int
    returned_exited: int
    returned_remaining: int
    rural_target: int
    rural_2014_fixed: int | None  # None: derived from the 2014 incidence
    tekun: tuple[int, int] | None
    dibao: tuple[int, int] | None
    relocated: tuple[int, int | None] | None
    townships: int
    villages: int
    poor_villages: int
    deep_villages: int


def scale_targets(spec: CountySpec, scale: float) -> Scaled:
    if not scale > 0:
        raise PlanError("放大倍数必须大于 0。")

    def k(value: float) -> int:
        return round(value * scale)

    registered = (k(spec.registered_households.value), k(spec.registered_persons.value))
    remaining = (k(spec.remaining_households.value), k(spec.remaining_persons.value))
    exited = (registered[0] - remaining[0], registered[1] - remaining[1])
    added = min(k(spec.added_households.value), registered[0])
    removed = (k(spec.removed_households.value), k(spec.removed_persons.value))
    if spec.removals_balance_additions:
        removed = (added, added)  # persons are set to the added persons by build_cohorts
    for label, (h, p) in (
        ("登记", registered),
        ("未脱贫", remaining),
        ("已脱贫", exited),
        ("清退", removed),
    ):
        if h < 0 or p < h or p > MAX_SIZE * h:
            raise PlanError(f"放大倍数 {scale:g} 太小：{label}户数 {h}、人数 {p} 无法组成家庭。")
    if registered[0] < 1:
        raise PlanError(f"放大倍数 {scale:g} 太小，生成不了任何贫困户。")
    inc = spec.incidence_target.value
    rural_target = round(remaining[1] * 100 / inc) if remaining[1] else k(registered[1] * 20)
    rural_2014 = (
        None
        if spec.incidence_2014 is not None
        else k(spec.rural_2014.value if spec.rural_2014 else 0)
    )

    def pair(figs: tuple[object, ...] | None) -> tuple[int, int] | None:
        if figs is None:
            return None
        h_fig, p_fig = figs
        return (k(h_fig.value), k(p_fig.value))  # type: ignore[attr-defined]

    relocated: tuple[int, int | None] | None = None
    if spec.exact_relocated is not None:
        h_fig, p_fig = spec.exact_relocated
        relocated = (k(h_fig.value), k(p_fig.value) if p_fig is not None else None)
    villages, townships = spec.villages.int, spec.townships.int
    poor, deep = spec.poor_villages.int, spec.deep_villages.int
    if scale > 1:
        townships = min(MAX_TOWNSHIPS, max(townships, round(townships * math.sqrt(scale))))
        villages, poor, deep = k(villages), k(poor), k(deep)
        if villages > townships * MAX_VILLAGES_PER_TOWNSHIP:
            raise PlanError(f"放大倍数 {scale:g} 太大：村数超过区划代码的容量。")
    return Scaled(
        target_year=spec.target_year.int,
        registered=registered,
        exited=exited,
        remaining=remaining,
        removed=removed,
        added=added,
        returned_exited=min(k(spec.returned_exited_households.value), exited[0] // 4),
        returned_remaining=min(k(spec.returned_remaining_households.value), remaining[0] // 4),
        rural_target=rural_target,
        rural_2014_fixed=rural_2014,
        tekun=pair(spec.exact_tekun),
        dibao=pair(spec.exact_dibao),
        relocated=relocated,
        townships=townships,
        villages=villages,
        poor_villages=poor,
        deep_villages=deep,
    )


def _split_schedule(total: int, schedule: dict[int, float], after: int) -> dict[int, int]:
    years = [y for y in sorted(schedule) if y > after]
    if not years:
        years = [max(schedule)]
    counts = apportion(total, [schedule[y] for y in years])
    return dict(zip(years, counts, strict=True))


def build_cohorts(spec: CountySpec, s: Scaled) -> list[Cohort]:
    """Cohorts with exact household and person counts per group (exited/remaining/removed at T)."""
    t = s.target_year
    raw: list[tuple[str, tuple[Event, ...], int]] = []
    reg_h = max(s.registered[0], 1)
    added_e = round(s.added * s.exited[0] / reg_h)
    added_r = s.added - added_e
    # Exited by the end of the target year.
    core = s.exited[0] - added_e - s.returned_exited
    for year, n in _split_schedule(core, spec.exit_schedule, FIRST_YEAR).items():
        raw.append(("exited", trajectory(FIRST_YEAR, (year, "exit")), n))
    for ident, n_add in zip((2015, 2016), apportion(added_e, [0.6, 0.4]), strict=True):
        for year, n in _split_schedule(n_add, spec.exit_schedule, ident).items():
            raw.append(("exited", trajectory(ident, (year, "exit")), n))
    re_years = [y for y in range(2018, t + 1)] or [t]
    for c, n in zip(re_years, apportion(s.returned_exited, [1.0] * len(re_years)), strict=True):
        raw.append(
            ("exited", trajectory(FIRST_YEAR, (c - 2, "exit"), (c - 1, "return"), (c, "exit")), n)
        )
    # Remaining at the end of the target year; all exit by 2020.
    core = s.remaining[0] - added_r - s.returned_remaining
    for year, n in _split_schedule(core, spec.late_schedule, t).items():
        raw.append(("remaining", trajectory(FIRST_YEAR, (year, "exit")), n))
    for ident, n_add in zip((2015, 2016), apportion(added_r, [0.6, 0.4]), strict=True):
        for year, n in _split_schedule(n_add, spec.late_schedule, max(ident, t)).items():
            raw.append(("remaining", trajectory(ident, (year, "exit")), n))
    for year, n in _split_schedule(s.returned_remaining, spec.late_schedule, t).items():
        raw.append(
            ("remaining", trajectory(FIRST_YEAR, (t - 2, "exit"), (t, "return"), (year, "exit")), n)
        )
    # Removed (清退) in the dynamic-adjustment rounds.
    for year, n in _split_schedule(s.removed[0], REMOVAL_SCHEDULE, FIRST_YEAR).items():
        raw.append(("removed", trajectory(FIRST_YEAR, (year, "remove")), n))

    persons = {"exited": s.exited[1], "remaining": s.remaining[1], "removed": s.removed[1]}
    cohorts: list[Cohort] = []
    for group, total in persons.items():
        if group == "removed" and spec.removals_balance_additions:
            total = sum(c.persons for c in cohorts if c.identified_year > FIRST_YEAR)
        members = [(ev, n) for g, ev, n in raw if g == group]
        shares = apportion(total, [n for _, n in members]) if members else []
        for (events, n), p in zip(members, shares, strict=True):
            if n > 0:
                cohorts.append(Cohort(group, events, n, p))
    return cohorts


def size_pmf(mean: float) -> np.ndarray:
    """Household-size probabilities on 1..7: 1 + a Poisson truncated at 6, fitted to `mean`."""
    target = min(max(mean, 1.0), MAX_SIZE) - 1
    lo, hi = 0.0, 30.0
    ks = np.arange(MAX_SIZE)
    fact = np.array([math.factorial(int(x)) for x in ks], dtype=float)
    pmf = np.ones(MAX_SIZE) / MAX_SIZE
    for _ in range(60):
        lam = (lo + hi) / 2
        pmf = lam**ks / fact
        pmf /= pmf.sum()
        if (pmf * ks).sum() < target:
            lo = lam
        else:
            hi = lam
    return pmf


def exact_sizes(
    rng: np.random.Generator, households: int, persons: int, pmf: np.ndarray | None = None
) -> np.ndarray:
    """Draw household sizes (1..7) that add up to exactly `persons`."""
    if households == 0:
        return np.zeros(0, dtype=np.int8)
    if not households <= persons <= MAX_SIZE * households:
        raise PlanError(f"{households} 户无法容纳 {persons} 人。")
    p = size_pmf(persons / households) if pmf is None else pmf
    sizes = rng.choice(np.arange(1, MAX_SIZE + 1), size=households, p=p).astype(np.int64)
    diff = persons - int(sizes.sum())
    while diff:
        step = 1 if diff > 0 else -1
        movable = np.flatnonzero(sizes < MAX_SIZE) if step > 0 else np.flatnonzero(sizes > 1)
        pick = rng.choice(movable, size=min(abs(diff), len(movable)), replace=False)
        sizes[pick] += step
        diff -= step * len(pick)
    return sizes.astype(np.int8)


def select_exact(
    rng: np.random.Generator,
    sizes: np.ndarray,
    eligible: np.ndarray,
    households: int,
    persons: int | None,
    preference: dict[int, float],
) -> np.ndarray:
    """Indices of `households` eligible households whose sizes add up to `persons` exactly.

    Draws by size preference, then swaps selected and unselected households of different sizes
    until the person total is exact."""
    pool = np.flatnonzero(eligible)
    if households > len(pool):
        raise PlanError(f"可选的户不足 {households} 户。")
    if households == 0:
        return np.zeros(0, dtype=np.int64)
    weights = np.array([preference.get(int(x), 0.0) for x in range(MAX_SIZE + 1)])[sizes[pool]]
    weights = weights + 1e-9
    chosen = rng.choice(pool, size=households, replace=False, p=weights / weights.sum())
    if persons is None:
        return np.sort(chosen)
    selected = np.zeros(len(sizes), dtype=bool)
    selected[chosen] = True
    outside = pool[~selected[pool]]
    # Shuffled index arrays per household size, inside and outside the selection.
    by_in = {k: rng.permutation(chosen[sizes[chosen] == k]) for k in range(1, MAX_SIZE + 1)}
    by_out = {k: rng.permutation(outside[sizes[outside] == k]) for k in range(1, MAX_SIZE + 1)}
    diff = persons - int(sizes[chosen].sum())
    while diff:
        best: tuple[int, int] | None = None
        for d in range(min(abs(diff), MAX_SIZE - 1), 0, -1):
            delta = d if diff > 0 else -d
            for s_in in range(1, MAX_SIZE + 1):
                s_out = s_in + delta
                if 1 <= s_out <= MAX_SIZE and len(by_in[s_in]) and len(by_out[s_out]):
                    best = (s_in, s_out)
                    break
            if best:
                break
        if best is None:
            raise PlanError(f"无法从 {len(pool)} 户中选出 {households} 户、恰好 {persons} 人。")
        s_in, s_out = best
        delta = s_out - s_in
        n = min(len(by_in[s_in]), len(by_out[s_out]), abs(diff) // abs(delta))
        leaving, joining = by_in[s_in][-n:], by_out[s_out][-n:]
        by_in[s_in], by_out[s_out] = by_in[s_in][:-n], by_out[s_out][:-n]
        by_in[s_out] = np.concatenate([by_in[s_out], joining])
        by_out[s_in] = np.concatenate([by_out[s_in], leaving])
        selected[leaving], selected[joining] = False, True
        diff -= n * delta
    return np.flatnonzero(selected)


@dataclass
class Township:
    code: str
    name: str


@dataclass
class Village:
    code: str
    name: str
    township: int  # index into Plan.townships
    poor: bool
    deep: bool


@dataclass
class YearStats:
    registered: tuple[int, int]
    exited: tuple[int, int]
    remaining: tuple[int, int]
    rural_population: int

    @property
    def incidence(self) -> float:
        return (
            round(self.remaining[1] * 100 / self.rural_population, 2)
            if self.rural_population
            else 0.0
        )


@dataclass
class Plan:
    spec: CountySpec
    scale: float
    seed: int
    targets: Scaled
    cohorts: list[Cohort]
    townships: list[Township]
    villages: list[Village]
    # One entry per household, in household-id order (sorted by village).
    h_cohort: np.ndarray
    h_size: np.ndarray
    h_village: np.ndarray
    h_attribute: np.ndarray  # index into ATTRIBUTES
    h_relocated: np.ndarray
    h_seq: np.ndarray  # 1-based number within its village
    village_groups: np.ndarray  # 村民小组 per village
    populations: np.ndarray  # villages x years: rural population
    years: dict[int, YearStats] = field(default_factory=dict)
    demo_village: int = 0
    household_code_width: int = 4
    income_last_year: int = LAST_YEAR  # incomes are generated for every year up to this one
    timeline: tuple[int, ...] = YEARS  # the years with a rural population (FIRST_YEAR onward)

    @property
    def households(self) -> int:
        return len(self.h_size)

    @property
    def persons(self) -> int:
        return int(self.h_size.sum(dtype=np.int64))


def _place_names(
    rng: np.random.Generator, style: str, count: int, suffixes: Sequence[str]
) -> list[str]:
    first, second = list(PLACE_FIRST[style]), list(PLACE_SECOND[style])
    combos = [a + b for a in first for b in second if a[-1] != b[0]]
    order = rng.permutation(len(combos))
    names: list[str] = []
    for i in range(count):
        base = combos[int(order[i % len(combos)])]
        extra = "" if i < len(combos) else "东西南北前后中新"[(i // len(combos) - 1) % 8]
        names.append(base + extra + suffixes[i % len(suffixes)])
    return names


def build_regions(
    spec: CountySpec, s: Scaled, rng: np.random.Generator
) -> tuple[list[Township], list[Village]]:
    style = spec.region_style
    n_t = s.townships
    towns = (n_t + 1) // 2
    suffix_town, suffix_xiang = TOWNSHIP_SUFFIX[style]
    t_names = _place_names(rng, style, n_t, [suffix_town])
    townships: list[Township] = []
    for i in range(n_t):
        number = 100 + i if i < towns else 200 + (i - towns)
        name = t_names[i] if i < towns else t_names[i][: -len(suffix_town)] + suffix_xiang
        townships.append(Township(f"{spec.code}{number:03d}000", name))
    spread = rng.lognormal(0.0, 0.25, size=n_t)
    per_township = apportion(s.villages - n_t, spread) if s.villages >= n_t else [0] * n_t
    per_township = (
        [1 + x for x in per_township]
        if s.villages >= n_t
        else [1 if i < s.villages else 0 for i in range(n_t)]
    )
    # At large scales the spread can overfill a township's 799 village codes: move the overflow,
    # one village at a time, to the township with the most room left (unchanged below the cap).
    while max(per_township) > MAX_VILLAGES_PER_TOWNSHIP:
        full = per_township.index(max(per_township))
        room = per_township.index(min(per_township))
        if per_township[room] >= MAX_VILLAGES_PER_TOWNSHIP:
            raise PlanError("村数超过区划代码的容量。")
        per_township[full] -= 1
        per_township[room] += 1
    villages: list[Village] = []
    v_suffix = VILLAGE_SUFFIX[style]
    for t_index, n in enumerate(per_township):
        names = _place_names(rng, style, n, [v_suffix])
        for j in range(n):
            code = f"{townships[t_index].code[:9]}{201 + j:03d}"
            villages.append(Village(code, names[j], t_index, False, False))
    # The first village (the demo accounts' village) is a poor one; the rest are drawn.
    n_poor = min(s.poor_villages, len(villages))
    if n_poor:
        drawn = rng.choice(np.arange(1, len(villages)), size=n_poor - 1, replace=False)
        poor_idx = [0, *(int(x) for x in drawn)]
        for i in poor_idx:
            villages[i].poor = True
        deep = rng.choice(np.array(poor_idx), size=min(s.deep_villages, n_poor), replace=False)
        for i in deep:
            villages[int(i)].deep = True
    return townships, [v for v in villages]


def build_plan(
    spec: CountySpec, scale: float = 1.0, seed: int = 1, today: datetime.date | None = None
) -> Plan:
    """Everything about the county that is decided before rows are generated; the timeline
    (incomes, ordinary and monitored households) runs to the year before `today`'s."""
    rng = np.random.default_rng([seed, 20140101])
    last = max(LAST_YEAR, (today or timezone.localdate()).year - 1)
    timeline = tuple(range(FIRST_YEAR, last + 1))
    s = scale_targets(spec, scale)
    cohorts = build_cohorts(spec, s)
    townships, villages = build_regions(spec, s, rng)

    # Household sizes per cohort, exact.
    cohort_idx = np.repeat(np.arange(len(cohorts), dtype=np.int16), [c.households for c in cohorts])
    sizes = (
        np.concatenate([exact_sizes(rng, c.households, c.persons) for c in cohorts])
        if cohorts
        else np.zeros(0, np.int8)
    )
    n = len(sizes)
    registered = np.isin(
        cohort_idx, [i for i, c in enumerate(cohorts) if c.group in REGISTERED_GROUPS]
    )

    attribute = np.zeros(n, dtype=np.int8)
    relocated = np.zeros(n, dtype=bool)
    if s.relocated is not None:
        idx = select_exact(
            rng, sizes, registered, s.relocated[0], s.relocated[1], {k: k * k for k in range(1, 8)}
        )
        relocated[idx] = True
    if s.tekun is not None:
        pref = {1: 1.0, 2: 0.3, 3: 0.05, 4: 0.01, 5: 0.01, 6: 0.01, 7: 0.01}
        idx = select_exact(rng, sizes, registered & ~relocated, s.tekun[0], s.tekun[1], pref)
        attribute[idx] = 2
    if s.dibao is not None:
        pref = {1: 1.5, 2: 1.3, 3: 1.0, 4: 0.7, 5: 0.5, 6: 0.3, 7: 0.2}
        idx = select_exact(rng, sizes, registered & (attribute == 0), s.dibao[0], s.dibao[1], pref)
        attribute[idx] = 1
    # Remaining attribute shares (those not fixed exactly) by draw, among registered general households.
    free = [a for a in ("dibao", "tekun") if a in spec.attribute_shares and getattr(s, a) is None]
    if free:
        open_idx = np.flatnonzero(registered & (attribute == 0))
        u = rng.random(len(open_idx))
        lo = 0.0
        for a in free:
            share = spec.attribute_shares[a]
            # Tekun households are small: weight the draw towards singles.
            hit = (u >= lo) & (u < lo + share)
            if a == "tekun":
                hit &= sizes[open_idx] <= 2
            attribute[open_idx[hit]] = ATTRIBUTES.index(a)
            lo += share
    if s.relocated is None and spec.relocated_share:
        relocated[registered & (rng.random(n) < spec.relocated_share)] = True

    # Villages: poor and deep villages hold more registered households.
    base = np.array([4.5 if v.deep else 3.5 if v.poor else 1.0 for v in villages])
    weights = base * rng.lognormal(0.0, 0.45, size=len(villages))
    village = rng.choice(len(villages), size=n, p=weights / weights.sum()).astype(np.int32)
    quota = min(spec.helper_quota.int, int(registered.sum()))
    in_demo = registered & (village == 0)
    short = quota - int(in_demo.sum())
    if short > 0:
        movers = rng.choice(np.flatnonzero(registered & (village != 0)), size=short, replace=False)
        village[movers] = 0
    order = np.lexsort((rng.random(n), village))
    cohort_idx, sizes, village = cohort_idx[order], sizes[order], village[order]
    attribute, relocated = attribute[order], relocated[order]
    counts = np.bincount(village, minlength=len(villages))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seq = (np.arange(n) - starts[village] + 1).astype(np.int32)

    plan = Plan(
        spec=spec,
        scale=scale,
        seed=seed,
        targets=s,
        cohorts=cohorts,
        townships=townships,
        villages=villages,
        h_cohort=cohort_idx,
        h_size=sizes,
        h_village=village,
        h_attribute=attribute,
        h_relocated=relocated,
        h_seq=seq,
        village_groups=rng.integers(3, 10, size=len(villages)).astype(np.int8),
        populations=np.zeros((len(villages), len(timeline)), dtype=np.int64),
        household_code_width=max(4, len(str(int(counts.max()) if n else 0))),
        income_last_year=last,
        timeline=timeline,
    )
    _plan_populations(plan, rng)
    if last >= MONITORING_FIRST_YEAR:
        _add_ordinary(plan, np.random.default_rng([seed, 20210101]))
    return plan


def _add_ordinary(plan: Plan, rng: np.random.Generator) -> None:
    """Ordinary rural households (一般农户, issue 19), in the registry since monitoring began to
    cover every rural household (2021), in the villages of the demo township: each village's
    rural population that no registered (or removed) household holds, so the share of registered
    households there is the one the county's published incidence implies. Elsewhere that
    population stays a figure (rural_population): all of it as rows would multiply the demo's
    rows about eightfold. Registered households keep their order, codes and counts."""
    spec = plan.spec
    township = plan.villages[plan.demo_village].township
    ever = np.bincount(
        plan.h_village, weights=plan.h_size.astype(np.int64), minlength=len(plan.villages)
    )
    mean = spec.ordinary_household_size.value
    pmf = size_pmf(mean)
    sizes: list[np.ndarray] = []
    villages: list[np.ndarray] = []
    for v, village in enumerate(plan.villages):
        if village.township != township:
            continue
        persons = max(0, int(plan.populations[v].min()) - int(ever[v]))
        households = max(-(-persons // MAX_SIZE), min(persons, round(persons / mean)))
        if households:
            sizes.append(exact_sizes(rng, households, persons, pmf))
            villages.append(np.full(households, v, dtype=plan.h_village.dtype))
    if not sizes:
        return
    size, village_of = np.concatenate(sizes), np.concatenate(villages)
    event = Event(MONITORING_FIRST_YEAR, ORDINARY, "", "not_registered")
    plan.cohorts.append(Cohort(ORDINARY, (event,), len(size), int(size.sum())))
    n_old, n = plan.households, plan.households + len(size)
    cohort = np.concatenate(
        [plan.h_cohort, np.full(len(size), len(plan.cohorts) - 1, dtype=plan.h_cohort.dtype)]
    )
    village_index = np.concatenate([plan.h_village, village_of])
    # Stable: within a village the registered households first, in their order, then the others.
    order = np.lexsort((np.arange(n) >= n_old, village_index))
    plan.h_cohort, plan.h_village = cohort[order], village_index[order]
    plan.h_size = np.concatenate([plan.h_size, size])[order]
    plan.h_attribute = np.concatenate([plan.h_attribute, np.zeros(len(size), np.int8)])[order]
    plan.h_relocated = np.concatenate([plan.h_relocated, np.zeros(len(size), bool)])[order]
    counts = np.bincount(plan.h_village, minlength=len(plan.villages))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    plan.h_seq = (np.arange(n) - starts[plan.h_village] + 1).astype(np.int32)
    plan.household_code_width = max(4, len(str(int(counts.max()))))


def status_matrix(cohorts: Sequence[Cohort], years: Sequence[int] = YEARS) -> dict[str, np.ndarray]:
    """For each year column: cohort is exited / remaining at that year's end (boolean cohorts x years)."""
    exited = np.array(
        [[c.status_at(y) in EXITED for y in years] for c in cohorts], dtype=bool
    ).reshape(-1, len(years))
    remaining = np.array(
        [[c.status_at(y) in REMAINING for y in years] for c in cohorts], dtype=bool
    ).reshape(-1, len(years))
    return {"exited": exited, "remaining": remaining}


def _plan_populations(plan: Plan, rng: np.random.Generator) -> None:
    """Rural population per village and year, summing exactly to the county's yearly figure."""
    s, spec = plan.targets, plan.spec
    years = plan.timeline
    matrix = status_matrix(plan.cohorts, years)
    h = np.array([c.households for c in plan.cohorts], dtype=np.int64)
    p = np.array([c.persons for c in plan.cohorts], dtype=np.int64)
    remaining_p = (matrix["remaining"] * p[:, None]).sum(axis=0)
    t_col = s.target_year - FIRST_YEAR
    rural = np.zeros(len(years), dtype=np.int64)
    rural[t_col] = s.rural_target
    if s.rural_2014_fixed is not None:
        rural[0] = s.rural_2014_fixed
    else:
        assert spec.incidence_2014 is not None
        rural[0] = round(int(remaining_p[0]) * 100 / spec.incidence_2014.value)
    for col in range(1, t_col):
        rural[col] = round(rural[0] + (rural[t_col] - rural[0]) * col / t_col)
    for col in range(t_col + 1, len(years)):
        rural[col] = round(rural[t_col] * (1 + spec.rural_trend.value) ** (col - t_col))
    if (rural < remaining_p).any():
        raise PlanError("农村人口少于未脱贫人口，请检查县的参数。")
    for col, year in enumerate(years):
        ex = matrix["exited"][:, col]
        rem = matrix["remaining"][:, col]
        plan.years[year] = YearStats(
            registered=(int(h[ex | rem].sum()), int(p[ex | rem].sum())),
            exited=(int(h[ex].sum()), int(p[ex].sum())),
            remaining=(int(h[rem].sum()), int(p[rem].sum())),
            rural_population=int(rural[col]),
        )
    # Per village: its remaining poor persons, plus everyone else apportioned by a village weight
    # (villages with more registered households are larger, with noise).
    n_v = len(plan.villages)
    sizes = plan.h_size.astype(np.int64)
    ever = np.bincount(plan.h_village, weights=sizes, minlength=n_v)
    others: np.ndarray = rng.lognormal(0.0, 0.35, size=n_v)
    others = others / others.sum() * max(int(rural[0]) - int(ever.sum()), 0)
    for col in range(len(years)):
        rem_h = matrix["remaining"][plan.h_cohort, col]
        rem_v = np.bincount(plan.h_village[rem_h], weights=sizes[rem_h], minlength=n_v).astype(
            np.int64
        )
        weights = others + (ever - rem_v) + 1e-6
        plan.populations[:, col] = rem_v + np.array(
            apportion(int(rural[col] - rem_v.sum()), weights)
        )


def summary(plan: Plan) -> dict[int, dict[str, float]]:
    """Year -> the counts the generated county will show (for documentation and tests)."""
    return {
        y: {
            "registered_households": st.registered[0],
            "registered_persons": st.registered[1],
            "exited_households": st.exited[0],
            "exited_persons": st.exited[1],
            "remaining_households": st.remaining[0],
            "remaining_persons": st.remaining[1],
            "rural_population": st.rural_population,
            "poverty_incidence": st.incidence,
        }
        for y, st in plan.years.items()
    }


__all__ = ["LAST_YEAR", "Plan", "PlanError", "build_plan", "summary"]
