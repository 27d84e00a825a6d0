"""Row generation for a planned county, chunk by chunk, as columns (numpy draws, no Django).

A chunk is a run of consecutive households (in household-id order); it yields the household,
member, status-change and income columns for them. Memory is bounded by the chunk size. Column
values are plain Python values (str, int, float, bool, None): the writer adapts datetimes per
database. Money is drawn in integer cents so that derived totals are exact.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .counties import LAST_YEAR, MONITORING_FIRST_YEAR, poverty_lines
from .names import (
    BANKS,
    GIVEN_NAMES,
    GUIZHOU_SURNAMES,
    HAN_SURNAMES,
    MOBILE_PREFIXES,
    MONGOL_GIVEN,
    MONGOL_SURNAMES,
)
from .plan import ATTRIBUTES, EXITED, ORDINARY, REGISTERED_GROUPS, REMAINING, Plan

Columns = dict[str, list[Any]]

EPOCH = np.datetime64("1970-01-01", "D")
REFERENCE_YEAR = LAST_YEAR  # ages and member data describe the end of 2020
ID_BASE_DAY = np.datetime64("1900-01-01", "D")
ID_DAYS = int((np.datetime64("2021-01-01", "D") - ID_BASE_DAY).astype(int))
ID_SLOTS = 499  # sequence numbers per birth date and sex: male 001..997 odd, female 002..998 even
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = np.array(list("10X98765432"), dtype=object)
RELATIONS = np.array(
    [
        "head",
        "spouse",
        "son",
        "daughter",
        "son_in_law",
        "daughter_in_law",
        "grandchild",
        "parent",
        "sibling",
        "other",
    ],
    dtype=object,
)
# Windows (month, day) .. (month, day) in which each kind of status change is dated.
EVENT_WINDOWS = {
    "identify": ((4, 1), (10, 31)),
    "add": ((6, 1), (11, 30)),
    "exit": ((10, 15), (12, 28)),
    "return": ((3, 1), (9, 30)),
    "remove": ((4, 1), (9, 30)),
    "no_policy": ((11, 1), (11, 30)),
    "ordinary": ((1, 10), (3, 31)),
}
NO_POLICY_REASON = "稳定脱贫，不再享受帮扶政策"
ACTOR_NAME = "demo"
UTC_TIME = " 02:00:00"  # 10:00 in Beijing


def day_number(year: int, month: int, day: int) -> int:
    return (datetime.date(year, month, day) - datetime.date(1970, 1, 1)).days


def dates_to_str(days: np.ndarray) -> list[str]:
    """Day numbers since 1970-01-01 to 'YYYY-MM-DD' strings."""
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()


def luhn_complete(rng: np.random.Generator, prefix: str, length: int, count: int) -> list[str]:
    """`count` card numbers of `length` digits starting with `prefix`, Luhn check digit last."""
    body_len = length - 1 - len(prefix)
    body = rng.integers(0, 10, size=(count, body_len))
    pre = np.tile(np.array([int(c) for c in prefix]), (count, 1))
    digits = np.concatenate([pre, body], axis=1)  # without the check digit
    # From the right of the payload, every first digit is doubled (the check digit comes after).
    doubled = digits.copy()
    pos_from_right = np.arange(digits.shape[1])[::-1]
    mask = pos_from_right % 2 == 0
    doubled[:, mask] = doubled[:, mask] * 2
    doubled[doubled > 9] -= 9
    check = (10 - doubled.sum(axis=1) % 10) % 10
    full = np.concatenate([digits, check[:, None]], axis=1)
    joined = full @ (10 ** np.arange(full.shape[1] - 1, -1, -1, dtype=object))
    return [str(x).zfill(length) for x in joined]


class IdAllocator:
    """Unique ID-number sequence codes per (birth date, sex) for one address code."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.counters = np.zeros((ID_DAYS + 2, 2), dtype=np.int32)
        self.partial = int(sum(int(d) * w for d, w in zip(address, ID_WEIGHTS[:6], strict=True)))

    def allocate(self, birth: np.ndarray, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(birth days, sequence numbers); a birth date whose codes are used up moves one day."""
        birth = birth.copy()
        seq = np.zeros(len(birth), dtype=np.int64)
        todo = np.arange(len(birth))
        sex = male.astype(np.int64)
        max_day = int((np.datetime64(f"{REFERENCE_YEAR}-12-31", "D") - EPOCH).astype(int))
        base = int((ID_BASE_DAY - EPOCH).astype(int))
        while len(todo):
            day = birth[todo] - base
            key = day * 2 + sex[todo]
            order = np.argsort(key, kind="stable")
            sk = key[order]
            first = np.concatenate([[True], sk[1:] != sk[:-1]])
            group_start = np.maximum.accumulate(np.where(first, np.arange(len(sk)), 0))
            rank = np.arange(len(sk)) - group_start
            slot = np.empty(len(sk), dtype=np.int64)
            slot[order] = rank
            slot += self.counters[day, sex[todo]]
            ok = slot < ID_SLOTS
            taken = todo[ok]
            seq[taken] = np.where(sex[taken] == 1, 2 * slot[ok] + 1, 2 * slot[ok] + 2)
            np.add.at(self.counters, (day[ok], sex[taken]), 1)
            todo = todo[~ok]
            birth[todo] = np.where(birth[todo] + 1 <= max_day, birth[todo] + 1, birth[todo] - 400)
        return birth, seq

    def numbers(self, birth: np.ndarray, seq: np.ndarray) -> list[str]:
        ymd = np.datetime_as_string(birth.astype("datetime64[D]"), unit="D")
        ymd_int = np.char.replace(ymd, "-", "").astype(np.int64)
        total = np.full(len(birth), self.partial, dtype=np.int64)
        for i in range(8):
            total += (ymd_int // 10 ** (7 - i)) % 10 * ID_WEIGHTS[6 + i]
        for i in range(3):
            total += (seq // 10 ** (2 - i)) % 10 * ID_WEIGHTS[14 + i]
        check = ID_CHECK[total % 11]
        addr = self.address
        return [
            f"{addr}{d}{s:03d}{c}"
            for d, s, c in zip(ymd_int.tolist(), seq.tolist(), check.tolist(), strict=True)
        ]


def _weighted(table: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    names = np.array([n for n, _ in table], dtype=object)
    w = np.array([x for _, x in table], dtype=float)
    return names, w / w.sum()


def choose(rng: np.random.Generator, options: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(options), dtype=object)
    p = np.array(list(options.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def uniform_dates(rng: np.random.Generator, years: np.ndarray, kind: str) -> np.ndarray:
    """Day numbers uniformly inside the event window of each year."""
    (m0, d0), (m1, d1) = EVENT_WINDOWS[kind]
    out = np.empty(len(years), dtype=np.int64)
    for year in np.unique(years):
        sel = years == year
        lo, hi = day_number(int(year), m0, d0), day_number(int(year), m1, d1)
        out[sel] = rng.integers(lo, hi + 1, size=int(sel.sum()))
    return out


@dataclass
class Chunk:
    households: Columns
    members: Columns
    status_changes: Columns
    incomes: Columns
    persons: int


STYLE_SURNAMES = {"northeast": HAN_SURNAMES, "mongol": HAN_SURNAMES, "guizhou": GUIZHOU_SURNAMES}


class CountyRows:
    """Generates the rows of a planned county in chunks of households."""

    def __init__(self, plan: Plan, *, first_ids: dict[str, int] | None = None) -> None:
        self.plan = plan
        ids = first_ids or {}
        self.next_household = ids.get("household", 1)
        self.next_member = ids.get("member", 1)
        self.next_status = ids.get("status", 1)
        self.next_income = ids.get("income", 1)
        self.first_household = self.next_household
        self.ids = IdAllocator(plan.spec.code)
        spec = plan.spec
        self.style = spec.region_style
        self.village_codes = np.array([v.code for v in plan.villages], dtype=object)
        self.township_codes = np.array([v.code[:9] + "000" for v in plan.villages], dtype=object)
        cohorts = plan.cohorts
        self.c_final = np.array([c.final_status for c in cohorts], dtype=object)
        self.c_exit = np.array([c.exit_year or 0 for c in cohorts], dtype=np.int64)
        self.c_ident = np.array(
            [c.identified_year if c.group != ORDINARY else 0 for c in cohorts], dtype=np.int64
        )
        self.c_group = np.array([c.group for c in cohorts], dtype=object)
        self.c_last_year = np.array([c.events[-1].year for c in cohorts], dtype=np.int64)
        # Income years: every year from the household's first entry to the plan's last income
        # year (the year before the current one); removed households only up to their removal.
        last = plan.income_last_year
        years = [
            list(range(c.events[0].year, (c.events[-1].year if c.group == "removed" else last) + 1))
            for c in cohorts
        ]
        width = max((len(y) for y in years), default=1)
        self.c_income_years = np.zeros((len(cohorts), width), dtype=np.int64)
        self.c_income_n = np.array([len(y) for y in years], dtype=np.int64)
        for i, ys in enumerate(years):
            self.c_income_years[i, : len(ys)] = ys
        # Status kind at each income year's end: 0 remaining, 1 exited, 2 removed, 3 ordinary.
        self.c_kind = np.zeros((len(cohorts), width), dtype=np.int64)
        self.c_first_exit = np.zeros(len(cohorts), dtype=np.int64)
        for i, (c, ys) in enumerate(zip(cohorts, years, strict=True)):
            exits = [e.year for e in c.events if e.kind == "exit"]
            self.c_first_exit[i] = exits[0] if exits else 0
            for j, y in enumerate(ys):
                st = c.status_at(y)
                self.c_kind[i, j] = (
                    1
                    if st in EXITED
                    else 2
                    if st == "removed"
                    else 3
                    if st == "not_registered"
                    else 0
                )
        self.eth_keys = np.array(list(spec.ethnicities), dtype=object)
        eth_p = np.array(list(spec.ethnicities.values()), dtype=float)
        self.eth_p = eth_p / eth_p.sum()
        self.han_names, self.han_p = _weighted(STYLE_SURNAMES[self.style])
        self.mongol_names, self.mongol_p = _weighted(MONGOL_SURNAMES)
        self.given = {k: np.array(v, dtype=object) for k, v in GIVEN_NAMES.items()}
        self.mongol_given = {k: np.array(v, dtype=object) for k, v in MONGOL_GIVEN.items()}

    # ------------------------------------------------------------------ households
    def chunks(self, chunk_size: int) -> Iterator[Chunk]:
        n = self.plan.households
        for start in range(0, n, chunk_size):
            yield self.chunk(start, min(n, start + chunk_size))

    def chunk(self, start: int, stop: int) -> Chunk:
        plan = self.plan
        rng = np.random.default_rng([plan.seed, 7, start])
        n = stop - start
        cohort = plan.h_cohort[start:stop].astype(np.int64)
        size = plan.h_size[start:stop].astype(np.int64)
        village = plan.h_village[start:stop].astype(np.int64)
        attribute = plan.h_attribute[start:stop].astype(np.int64)
        relocated = plan.h_relocated[start:stop]
        hid = self.first_household + start + np.arange(n)
        group = self.c_group[cohort]
        registered = np.isin(group, REGISTERED_GROUPS)
        ordinary = group == ORDINARY
        final = self.c_final[cohort]

        # Status history with dates.
        status, hh_dates = self._status_changes(rng, hid, cohort, final)

        # Main causes, with tekun households mostly lacking labour.
        causes = choose(rng, plan.spec.causes, n)
        causes[ordinary] = ""  # not poor: no cause of poverty
        tekun = attribute == 2
        causes[tekun] = choose(
            rng, {"lack_labour": 0.45, "illness": 0.35, "disability": 0.2}, int(tekun.sum())
        )
        other_causes = self._other_causes(rng, causes)
        other_causes = [
            "[]" if o else x for x, o in zip(other_causes, ordinary.tolist(), strict=True)
        ]

        # Head age by situation: tekun and remaining households are older.
        head_age = np.clip(rng.normal(54 if self.style != "guizhou" else 50, 12, n), 22, 92)
        head_age[group == "remaining"] += 6
        head_age[tekun] = rng.uniform(62, 92, int(tekun.sum()))
        head_age = np.clip(np.round(head_age), 20, 95).astype(np.int64)

        # Monitoring (a 2021+ concept): some exited households, some removed (edge) households,
        # a few ordinary ones (edge or sudden hardship, assumed shares).
        monitoring = np.full(n, "", dtype=object)
        u = rng.random(n)
        monitoring[registered & (u < 0.015)] = "unstable_exited"
        monitoring[registered & (u >= 0.015) & (u < 0.02)] = "sudden_hardship"
        monitoring[~registered & ~ordinary & (u < 0.10)] = "edge"
        edge, sudden = plan.spec.ordinary_edge_share.value, plan.spec.ordinary_sudden_share.value
        monitoring[ordinary & (u < edge)] = "edge"
        monitoring[ordinary & (u >= edge) & (u < edge + sudden)] = "sudden_hardship"
        members, extra = self._members(
            rng, hid, size, attribute, causes, head_age, registered, village
        )
        hh = self._household_fields(
            rng,
            hid,
            cohort,
            size,
            village,
            attribute,
            relocated,
            registered,
            final,
            causes,
            other_causes,
            monitoring,
        )
        hh["head_name"] = extra.pop("head_name").tolist()
        workers = extra["workers"]
        elderly = extra["elderly"]
        created, updated = hh_dates
        hh["created_at"] = [d + UTC_TIME for d in created]
        hh["updated_at"] = [d + UTC_TIME for d in updated]
        # Members carry their household's timestamps.
        owner = extra["owner"]
        members["created_at"] = np.array(hh["created_at"], dtype=object)[owner].tolist()
        members["updated_at"] = np.array(hh["updated_at"], dtype=object)[owner].tolist()
        incomes = self._incomes(
            rng, hid, cohort, size, attribute, causes, monitoring, workers, elderly
        )

        self.next_household = self.first_household + stop
        return Chunk(hh, members, status, incomes, int(size.sum()))

    def _status_changes(
        self, rng: np.random.Generator, hid: np.ndarray, cohort: np.ndarray, final: np.ndarray
    ) -> tuple[Columns, tuple[list[str], list[str]]]:
        plan = self.plan
        rows_h: list[np.ndarray] = []
        rows_order: list[np.ndarray] = []
        rows_day: list[np.ndarray] = []
        rows_from: list[np.ndarray] = []
        rows_to: list[np.ndarray] = []
        rows_reason: list[np.ndarray] = []
        n = len(hid)
        first_day = np.zeros(n, dtype=np.int64)
        last_day = np.zeros(n, dtype=np.int64)
        local = np.arange(n)
        for c in np.unique(cohort):
            sel = local[cohort == c]
            prev = np.zeros(len(sel), dtype=np.int64)
            for k, event in enumerate(plan.cohorts[int(c)].events):
                days = uniform_dates(rng, np.full(len(sel), event.year), event.kind)
                days = np.maximum(days, prev + 1)
                prev = days
                rows_h.append(sel)
                rows_order.append(np.full(len(sel), k))
                rows_day.append(days)
                rows_from.append(np.full(len(sel), event.status_from, dtype=object))
                rows_to.append(np.full(len(sel), event.status_to, dtype=object))
                rows_reason.append(np.full(len(sel), event.reason, dtype=object))
                if k == 0:
                    first_day[sel] = days
                last_day[sel] = days
        # Some early exits later stop receiving policy support (still counted as exited).
        early = (final == "exited_with_policy") & (self.c_last_year[cohort] <= 2016)
        no_policy = local[early & (rng.random(n) < 0.06)]
        if len(no_policy):
            days = uniform_dates(rng, np.full(len(no_policy), LAST_YEAR), "no_policy")
            rows_h.append(no_policy)
            rows_order.append(np.full(len(no_policy), 99))
            rows_day.append(days)
            rows_from.append(np.full(len(no_policy), "exited_with_policy", dtype=object))
            rows_to.append(np.full(len(no_policy), "exited_no_policy", dtype=object))
            rows_reason.append(np.full(len(no_policy), NO_POLICY_REASON, dtype=object))
            final[no_policy] = "exited_no_policy"
            last_day[no_policy] = days
        h = np.concatenate(rows_h)
        order = np.lexsort((np.concatenate(rows_order), h))
        h = h[order]
        day = np.concatenate(rows_day)[order]
        changed = dates_to_str(day)
        m = len(h)
        cols: Columns = {
            "id": (self.next_status + np.arange(m)).tolist(),
            "household_id": hid[h].tolist(),
            "status_from": np.concatenate(rows_from)[order].tolist(),
            "status_to": np.concatenate(rows_to)[order].tolist(),
            "changed_on": changed,
            "reason": np.concatenate(rows_reason)[order].tolist(),
            "actor_id": [None] * m,
            "actor_name": [ACTOR_NAME] * m,
            "recorded_at": [d + UTC_TIME for d in changed],
        }
        self.next_status += m
        return cols, (dates_to_str(first_day), dates_to_str(last_day))

    def _other_causes(self, rng: np.random.Generator, causes: np.ndarray) -> list[str]:
        keys = list(self.plan.spec.causes)
        n = len(causes)
        count = np.where(rng.random(n) < 0.45, 1, 0) + np.where(rng.random(n) < 0.2, 1, 0)
        first = rng.integers(0, len(keys), n)
        second = rng.integers(0, len(keys), n)
        out: list[str] = []
        for main, c, a, b in zip(
            causes.tolist(), count.tolist(), first.tolist(), second.tolist(), strict=True
        ):
            picks = [k for k in dict.fromkeys([keys[a], keys[b]][:c]) if k != main]
            out.append(json.dumps(picks))
        return out

    def _household_fields(
        self,
        rng: np.random.Generator,
        hid: np.ndarray,
        cohort: np.ndarray,
        size: np.ndarray,
        village: np.ndarray,
        attribute: np.ndarray,
        relocated: np.ndarray,
        registered: np.ndarray,
        final: np.ndarray,
        causes: np.ndarray,
        other_causes: list[str],
        monitoring: np.ndarray,
    ) -> Columns:
        plan = self.plan
        n = len(hid)
        width = plan.household_code_width
        start = int(hid[0] - self.first_household) if n else 0
        seq = plan.h_seq[start : start + n]
        codes = self.village_codes[village]
        household_code = [
            f"{v}{s:0{width}d}" for v, s in zip(codes.tolist(), seq.tolist(), strict=True)
        ]
        groups = plan.village_groups[village].astype(np.int64)
        group_name = [f"第{g}组" for g in (rng.integers(0, 1 << 30, n) % groups + 1).tolist()]

        # Phone and bank.
        has_phone = rng.random(n) < 0.88
        prefixes = np.array(MOBILE_PREFIXES, dtype=object)[rng.integers(0, len(MOBILE_PREFIXES), n)]
        tails = rng.integers(0, 10**8, n)
        phone = [
            f"{p}{t:08d}" if h else ""
            for p, t, h in zip(prefixes.tolist(), tails.tolist(), has_phone.tolist(), strict=True)
        ]
        bank_idx = rng.choice(len(BANKS), size=n, p=[0.45, 0.2, 0.2, 0.1, 0.05])
        bank_name = [BANKS[i][0] for i in bank_idx.tolist()]
        accounts = np.empty(n, dtype=object)
        for i, (_, prefix, length) in enumerate(BANKS):
            sel = bank_idx == i
            if sel.any():
                accounts[sel] = luhn_complete(rng, prefix, length, int(sel.sum()))

        # Risk fields for monitored households.
        monitored = monitoring != ""
        risk_pool = {
            "illness": 0.4,
            "disability": 0.12,
            "income_drop": 0.14,
            "accident": 0.08,
            "disaster": 0.08,
            "unemployment": 0.08,
            "housing": 0.05,
            "schooling": 0.05,
        }
        risk_a = choose(rng, risk_pool, n)
        risk_b = choose(rng, risk_pool, n)
        two = rng.random(n) < 0.3
        risk_types = [
            json.dumps(list(dict.fromkeys([a, b] if t else [a]))) if m else "[]"
            for a, b, t, m in zip(
                risk_a.tolist(), risk_b.tolist(), two.tolist(), monitored.tolist(), strict=True
            )
        ]
        eliminated = monitored & (rng.random(n) < 0.55)
        risk_status = np.where(
            monitored, np.where(eliminated, "eliminated", "not_eliminated"), ""
        ).astype(object)
        elim_day = rng.integers(day_number(2021, 6, 1), day_number(2023, 12, 31), n)
        elim_on = np.array(dates_to_str(elim_day), dtype=object)
        elim_on[~eliminated] = None
        method = np.where(
            eliminated, np.where(rng.random(n) < 0.7, "by_assistance", "natural"), ""
        ).astype(object)
        housing_risk = monitored & ~eliminated & (risk_a == "housing")

        # Housing: safe for every registered household (an exit condition); C/D only where a
        # housing risk is open or among removed households.
        grade = np.where(rng.random(n) < 0.55, "A", "B").astype(object)
        removed = ~registered
        u = rng.random(n)
        grade[removed & (u < 0.12)] = "C"
        grade[removed & (u >= 0.12) & (u < 0.15)] = "D"
        grade[housing_risk] = np.where(rng.random(int(housing_risk.sum())) < 0.7, "C", "D")
        grade[relocated] = "A"
        unsafe = (grade == "C") | (grade == "D")
        structure = choose(
            rng, {"brick_concrete": 0.7, "steel_concrete": 0.05, "brick_wood": 0.25}, n
        )
        structure[unsafe] = choose(rng, {"brick_wood": 0.4, "earth_wood": 0.6}, int(unsafe.sum()))
        structure[relocated] = "steel_concrete"
        area = np.clip(40 + 12 * size + rng.normal(0, 10, n), 25, 200)
        area[relocated] = np.minimum(
            20 * size[relocated] + 5 * rng.random(int(relocated.sum())), 125
        )

        water_ok = registered | (rng.random(n) < 0.96)
        style = self.style
        if style == "guizhou":
            cultivated = size * rng.uniform(0.5, 1.5, n)
            forest = rng.uniform(3, 40, n)
            grassland = np.zeros(n)
        elif style == "mongol":
            cultivated = size * rng.uniform(4, 12, n)
            forest = np.where(rng.random(n) < 0.2, rng.uniform(1, 10, n), 0)
            grassland = np.where(rng.random(n) < 0.6, rng.uniform(5, 60, n), 0)
        else:
            cultivated = size * rng.uniform(3, 8, n)
            forest = np.where(rng.random(n) < 0.1, rng.uniform(1, 5, n), 0)
            grassland = np.zeros(n)
        irrigated = cultivated * rng.uniform(0, 0.4, n)
        water_surface = np.where(rng.random(n) < 0.03, rng.uniform(0.5, 5, n), 0)
        road = choose(
            rng,
            {"hardened": 0.8, "gravel": 0.12, "dirt": 0.08}
            if style == "guizhou"
            else {"hardened": 0.88, "gravel": 0.09, "dirt": 0.03},
            n,
        )
        fuel = choose(
            rng,
            {
                "northeast": {"firewood": 0.55, "coal": 0.35, "electricity": 0.05, "gas": 0.05},
                "mongol": {"firewood": 0.4, "coal": 0.5, "electricity": 0.05, "gas": 0.05},
                "guizhou": {"firewood": 0.5, "electricity": 0.35, "gas": 0.1, "coal": 0.05},
            }[style],
            n,
        )
        toilet_share = {"northeast": 0.35, "mongol": 0.3, "guizhou": 0.65}[style]

        def money(a: np.ndarray) -> list[float]:
            return np.round(a, 2).tolist()

        exit_year = self.c_exit[cohort]
        return {
            "id": hid.tolist(),
            "version": [1] * n,
            "deleted_at": [None] * n,
            "deleted_reason": [""] * n,
            "household_code": household_code,
            "village_id": codes.tolist(),
            "township_code": self.township_codes[village].tolist(),
            "county_code": [plan.spec.county_code] * n,
            "group_name": group_name,
            "phone": phone,
            "bank_name": bank_name,
            "bank_account": accounts.tolist(),
            "identification_standard": ["national"] * n,
            "attribute": np.array(ATTRIBUTES, dtype=object)[attribute].tolist(),
            "main_cause": causes.tolist(),
            "other_causes": other_causes,
            "poverty_status": final.tolist(),
            "identified_year": [int(y) if y else None for y in self.c_ident[cohort].tolist()],
            "exit_year": [int(y) if y else None for y in exit_year.tolist()],
            "food_secure": [True] * n,
            "clothing_secure": [True] * n,
            "house_safety_grade": grade.tolist(),
            "relocated": relocated.tolist(),
            "relocation_moved_in": [True if r else None for r in relocated.tolist()],
            "house_area_m2": money(area),
            "house_structure": structure.tolist(),
            "water_quantity_ok": water_ok.tolist(),
            "water_quality_ok": water_ok.tolist(),
            "water_convenience_ok": water_ok.tolist(),
            "water_reliability_ok": water_ok.tolist(),
            "cultivated_land_mu": money(cultivated),
            "irrigated_land_mu": money(irrigated),
            "forest_land_mu": money(forest),
            "grassland_mu": money(grassland),
            "water_surface_mu": money(water_surface),
            "has_production_power": [True] * n,
            "has_living_power": [True] * n,
            "road_type": road.tolist(),
            "distance_to_main_road_km": money(rng.uniform(0, 1.5, n)),
            "sanitary_toilet": (rng.random(n) < toilet_share).tolist(),
            "fuel_type": fuel.tolist(),
            "in_cooperative": (rng.random(n) < 0.35).tolist(),
            "monitoring_category": monitoring.tolist(),
            "risk_types": risk_types,
            "risk_status": risk_status.tolist(),
            "risk_eliminated_on": elim_on.tolist(),
            "elimination_method": method.tolist(),
        }

    # ------------------------------------------------------------------ members
    def _members(
        self,
        rng: np.random.Generator,
        hid: np.ndarray,
        size: np.ndarray,
        attribute: np.ndarray,
        causes: np.ndarray,
        head_age_h: np.ndarray,
        registered_h: np.ndarray,
        village: np.ndarray,
    ) -> tuple[Columns, dict[str, np.ndarray]]:
        n_h = len(hid)
        total = int(size.sum())
        owner = np.repeat(np.arange(n_h), size)
        starts = np.cumsum(size) - size
        slot = np.arange(total) - starts[owner]
        head_age = head_age_h[owner]
        u = rng.random(total)

        # Relations: 0 head, 1 spouse, 2 child, 3 child-in-law, 4 grandchild, 5 parent, 6 sibling, 7 other.
        spouse_h = (size >= 2) & (rng.random(n_h) < np.where(head_age_h < 70, 0.85, 0.55))
        spouse_h[attribute == 2] &= rng.random(int((attribute == 2).sum())) < 0.2
        has_spouse = spouse_h[owner]
        rel = np.full(total, 2, dtype=np.int64)
        rank = slot - has_spouse.astype(np.int64)  # 1 = first child
        older = head_age >= 56
        rel[older & (rank == 2) & (u < 0.8)] = 3
        rel[older & (rank >= 3)] = 4
        last = slot == size[owner] - 1
        rel[~older & last & (size[owner] >= 4) & (head_age < 50) & (u < 0.3)] = 5
        rel[(slot >= 2) & (u > 0.985)] = 6
        rel[(slot >= 2) & (u > 0.996)] = 7
        rel[(slot == 1) & has_spouse] = 1
        rel[(slot == 1) & ~has_spouse & (head_age < 40)] = 5
        rel[slot == 0] = 0

        # Sex: heads mostly male; spouses opposite; in-laws mostly daughters-in-law.
        male_h = rng.random(n_h) < np.where(head_age_h < 65, 0.85, 0.65)
        head_male = male_h[owner]
        male = rng.random(total) < 0.5
        male[rel == 0] = head_male[rel == 0]
        male[rel == 1] = ~head_male[rel == 1]
        male[rel == 3] = u[rel == 3] > 0.85 * 0.8
        relation = np.where(
            rel == 2,
            np.where(male, "son", "daughter"),
            np.where(
                rel == 3,
                np.where(male, "son_in_law", "daughter_in_law"),
                RELATIONS[np.array([0, 1, 2, 4, 6, 7, 8, 9])[rel]],
            ),
        ).astype(object)

        # Ages at the end of 2020.
        age = head_age.astype(np.float64).copy()
        sp = rel == 1
        age[sp] = head_age[sp] + np.where(head_male[sp], -2, 2) + rng.normal(0, 3, int(sp.sum()))
        ch = rel == 2
        age[ch] = (
            head_age[ch]
            - 23
            - 3 * (np.maximum(rank[ch], 1) - 1)
            - rng.integers(0, 7, int(ch.sum()))
        )
        il = rel == 3
        age[il] = head_age[il] - 26 + rng.normal(0, 3, int(il.sum()))
        gc = rel == 4
        age[gc] = head_age[gc] - 48 - 2 * (rank[gc] - 3) - rng.integers(0, 8, int(gc.sum()))
        pa = rel == 5
        age[pa] = head_age[pa] + 24 + rng.integers(0, 8, int(pa.sum()))
        sb = rel == 6
        age[sb] = head_age[sb] + rng.integers(-8, 9, int(sb.sum()))
        ot = rel == 7
        age[ot] = rng.integers(5, 80, int(ot.sum()))
        age = np.clip(np.round(age), 0, 99).astype(np.int64)
        age[sp | il] = np.maximum(age[sp | il], 18)
        age[rel == 0] = np.maximum(age[rel == 0], 18)

        birth_year = REFERENCE_YEAR - age
        jan1 = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        birth = jan1 + rng.integers(0, 365, total)
        birth, seq = self.ids.allocate(birth, male)
        id_numbers = self.ids.numbers(birth, seq)
        birth_str = dates_to_str(birth)
        birth_year = np.array([int(s[:4]) for s in birth_str], dtype=np.int64)
        after_aug = np.array([s[5:] > "08-31" for s in birth_str], dtype=bool)
        school_age = REFERENCE_YEAR - birth_year - after_aug.astype(np.int64)

        # Ethnicity: the household's, with spouses and in-laws sometimes from another group.
        eth_h = self.eth_keys[rng.choice(len(self.eth_keys), size=n_h, p=self.eth_p)]
        eth = eth_h[owner]
        outsider = (rel == 1) | (rel == 3)
        redraw = outsider & (rng.random(total) < 0.15)
        eth[redraw] = self.eth_keys[
            rng.choice(len(self.eth_keys), size=int(redraw.sum()), p=self.eth_p)
        ]

        # Names: children and grandchildren take the head's surname.
        mongol = eth == "mongol"
        surname_h = self.han_names[rng.choice(len(self.han_names), size=n_h, p=self.han_p)]
        m_surname_h = self.mongol_names[
            rng.choice(len(self.mongol_names), size=n_h, p=self.mongol_p)
        ]
        own_han = self.han_names[rng.choice(len(self.han_names), size=total, p=self.han_p)]
        own_mongol = self.mongol_names[
            rng.choice(len(self.mongol_names), size=total, p=self.mongol_p)
        ]
        family = np.where(eth_h[owner] == "mongol", m_surname_h[owner], surname_h[owner])
        own = np.where(mongol, own_mongol, own_han)
        takes_family = (rel == 0) | (rel == 2) | (rel == 4) | (rel == 6) | ((rel == 5) & male)
        surname = np.where(takes_family, family, own)
        era = np.where(birth_year < 1960, "old", np.where(birth_year < 1985, "mid", "young"))
        given = np.empty(total, dtype=object)
        for sex_key, sex_mask in (("male", male), ("female", ~male)):
            for era_key in ("old", "mid", "young"):
                sel = sex_mask & (era == era_key)
                pool = self.given[(sex_key, era_key)]
                given[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]
            sel = sex_mask & mongol & (rng.random(total) < 0.6)
            pool = self.mongol_given[sex_key]
            given[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]
        names = [a + b for a, b in zip(surname.tolist(), given.tolist(), strict=True)]

        # Health, with the main cause of poverty reflected in the household.
        health = np.full(total, "healthy", dtype=object)
        h_draw = rng.random(total)
        p_chronic = 0.02 + 0.005 * np.maximum(age - 30, 0)
        p_serious = 0.01 + 0.0008 * age
        p_disabled = 0.025 + 0.0006 * age
        health[h_draw < p_chronic + p_serious + p_disabled] = "disabled"
        health[h_draw < p_chronic + p_serious] = "serious_illness"
        health[h_draw < p_chronic] = "chronic"
        is_head = rel == 0
        cause_p = causes[owner]
        ill = (health == "chronic") | (health == "serious_illness")
        ill_h = np.bincount(owner, weights=ill, minlength=n_h) > 0
        fix = is_head & (cause_p == "illness") & ~ill_h[owner]
        health[fix] = np.where(rng.random(int(fix.sum())) < 0.4, "serious_illness", "chronic")
        dis_h = np.bincount(owner, weights=health == "disabled", minlength=n_h) > 0
        fix = is_head & (cause_p == "disability") & ~dis_h[owner]
        health[fix] = "disabled"
        disabled = health == "disabled"
        grade = np.where(
            disabled, rng.choice([1, 2, 3, 4], size=total, p=[0.15, 0.25, 0.3, 0.3]), 0
        )

        # School.
        school = np.full(total, "not_student", dtype=object)
        s_draw = rng.random(total)
        school[(school_age >= 3) & (school_age <= 5) & (s_draw < 0.75)] = "preschool"
        school[(school_age >= 6) & (school_age <= 11)] = "primary"
        school[(school_age >= 12) & (school_age <= 14)] = "junior"
        teen = (school_age >= 15) & (school_age <= 17)
        school[teen & (s_draw < 0.55)] = "senior"
        school[teen & (s_draw >= 0.55) & (s_draw < 0.8)] = "secondary_vocational"
        young = (school_age >= 18) & (school_age <= 21)
        school[young & (s_draw < 0.18)] = "higher"
        school[young & (school_age <= 19) & (s_draw >= 0.18) & (s_draw < 0.25)] = (
            "secondary_vocational"
        )
        compulsory = (school_age >= 6) & (school_age <= 15)
        special = compulsory & disabled & (grade <= 2)
        school[special & (s_draw < 0.6)] = "home_taught"
        school[special & (s_draw >= 0.6) & (s_draw < 0.85)] = "exempt"
        # Dropouts only outside the registry (a dropout blocks exit).
        registered = registered_h[owner]
        school[~registered & (school_age >= 12) & (school_age <= 15) & (s_draw > 0.96)] = (
            "dropped_out"
        )
        student = np.isin(
            school,
            [
                "preschool",
                "primary",
                "junior",
                "senior",
                "secondary_vocational",
                "higher",
                "home_taught",
            ],
        )

        # Education.
        education = np.empty(total, dtype=object)
        e_draw = rng.random(total)
        level_of = {
            "preschool": "preschool",
            "primary": "primary",
            "junior": "junior",
            "senior": "senior",
            "secondary_vocational": "vocational",
            "higher": "college",
            "home_taught": "primary",
        }
        adult = np.ones(total, dtype=bool)
        for key, value in level_of.items():
            sel = school == key
            education[sel] = value
            adult &= ~sel
        bands = (
            (birth_year < 1950, (0.35, 0.85, 1.0, 1.0, 1.0)),
            ((birth_year >= 1950) & (birth_year < 1970), (0.10, 0.55, 0.93, 1.0, 1.0)),
            ((birth_year >= 1970) & (birth_year < 1990), (0.0, 0.20, 0.80, 0.94, 0.98)),
            (birth_year >= 1990, (0.0, 0.03, 0.48, 0.78, 0.90)),
        )
        levels = np.array(
            ["illiterate", "primary", "junior", "senior", "vocational", "college"], dtype=object
        )
        for band, cuts in bands:
            sel = adult & band
            education[sel] = levels[np.searchsorted(np.array(cuts), e_draw[sel], side="right")]
        small = adult & (school_age < 6)
        education[small] = "preschool"
        education[(school == "dropped_out")] = "primary"
        education[(school == "exempt")] = "illiterate"

        # Labour capacity and work.
        labour = np.full(total, "none", dtype=object)
        working_age = (age >= 16) & (age <= 60) & ~student
        healthy = health == "healthy"
        labour[working_age & healthy] = np.where(
            rng.random(int((working_age & healthy).sum())) < 0.12, "skilled", "ordinary"
        )
        labour[working_age & (health == "chronic")] = "weak"
        labour[working_age & (health == "serious_illness")] = "lost"
        labour[working_age & disabled] = np.where(
            grade[working_age & disabled] <= 2, "lost", "weak"
        )
        senior_age = (age > 60) & (age <= 70)
        labour[senior_age] = np.where(healthy[senior_age], "weak", "lost")
        able = (labour == "ordinary") | (labour == "skilled")
        work = np.where(age >= 16, "none", "").astype(object)
        w_draw = rng.random(total)
        places = np.array(["local", "county", "province", "outside", "none"], dtype=object)
        work[able] = places[
            np.searchsorted(np.array([0.25, 0.45, 0.6, 0.75]), w_draw[able], side="right")
        ]
        weak_worker = (labour == "weak") & (w_draw < 0.3)
        work[weak_worker] = "local"
        months = np.zeros(total, dtype=object)
        months[work == ""] = None
        working = (work != "none") & (work != "")
        months[working] = rng.integers(3, 13, int(working.sum()))
        months[weak_worker] = rng.integers(2, 7, int(weak_worker.sum()))

        # Insurance: registered members are all in basic medical insurance (an exit condition).
        i_draw = rng.random(total)
        basic = registered | (i_draw < 0.96)
        critical = basic & (rng.random(total) < 0.985)
        pension = (age >= 16) & ~student & (rng.random(total) < np.where(age >= 60, 0.97, 0.88))

        dibao = (attribute == 1)[owner]
        tekun_m = (attribute == 2)[owner]
        political = np.full(total, "masses", dtype=object)
        p_draw = rng.random(total)
        political[(age >= 18) & (p_draw < np.where(male & (age >= 40), 0.05, 0.02))] = (
            "party_member"
        )
        political[(age >= 14) & (age <= 28) & (p_draw > 0.75)] = "league_member"

        m_ids = self.next_member + np.arange(total)
        self.next_member += total
        extra = {
            "head_name": np.array(names, dtype=object)[starts],
            "workers": np.bincount(owner, weights=working, minlength=n_h),
            "elderly": np.bincount(owner, weights=age >= 60, minlength=n_h),
            "owner": owner,
        }
        columns: Columns = {
            "id": m_ids.tolist(),
            "version": [1] * total,
            "deleted_at": [None] * total,
            "deleted_reason": [""] * total,
            "household_id": hid[owner].tolist(),
            "id_number": id_numbers,
            "name": names,
            "sex": np.where(male, "male", "female").tolist(),
            "birth_date": birth_str,
            "relation": relation.tolist(),
            "ethnicity": eth.tolist(),
            "education": education.tolist(),
            "political_status": political.tolist(),
            "school_status": school.tolist(),
            "health_status": health.tolist(),
            "disability_grade": [int(g) if g else None for g in grade.tolist()],
            "labour_capacity": labour.tolist(),
            "work_status": work.tolist(),
            "work_months": months.tolist(),
            "basic_medical_insured": basic.tolist(),
            "critical_illness_insured": critical.tolist(),
            "pension_insured": pension.tolist(),
            "dibao": dibao.tolist(),
            "tekun": tekun_m.tolist(),
        }
        return columns, extra

    # ------------------------------------------------------------------ incomes
    def _incomes(
        self,
        rng: np.random.Generator,
        hid: np.ndarray,
        cohort: np.ndarray,
        size: np.ndarray,
        attribute: np.ndarray,
        causes: np.ndarray,
        monitoring: np.ndarray,
        workers: np.ndarray,
        elderly: np.ndarray,
    ) -> Columns:
        counts = self.c_income_n[cohort]
        owner = np.repeat(np.arange(len(hid)), counts)
        j = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        c = cohort[owner]
        year = self.c_income_years[c, j]
        kind = self.c_kind[c, j]
        m = len(owner)
        lines = poverty_lines()
        # After 2020 incomes are shaped around the last national line (no later one exists).
        line = np.array([lines[y] for y in range(2014, LAST_YEAR + 1)], dtype=np.float64)[
            np.minimum(year, LAST_YEAR) - 2014
        ]
        r = rng.random(m)
        mult = np.where(
            r < 0.85, rng.uniform(0.55, 0.97, m), rng.uniform(1.0, 1.25, m)
        )  # remaining
        years_out = np.maximum(year - self.c_first_exit[c], 0)
        exited = kind == 1
        mult[exited] = rng.uniform(1.12, 1.9, int(exited.sum())) * (1 + 0.05 * years_out[exited])
        removed = kind == 2
        mult[removed] = rng.uniform(1.5, 4.0, int(removed.sum()))
        ordinary = kind == 3
        mult[ordinary] = rng.uniform(2.0, 6.0, int(ordinary.sum())) * (
            1 + 0.05 * (year[ordinary] - MONITORING_FIRST_YEAR)
        )
        # Monitored households stay below the monitoring range (about 1.5 x the line) from 2020.
        unstable = np.isin(monitoring[owner], ["unstable_exited", "edge"]) & (year >= LAST_YEAR)
        mult[unstable] = rng.uniform(1.02, 1.3, int(unstable.sum()))
        hh_size = size[owner]
        net = np.round(line * mult * hh_size * 100).astype(np.int64)

        attr = attribute[owner]
        t_share = np.where(
            attr == 2,
            rng.uniform(0.7, 0.95, m),
            np.where(attr == 1, rng.uniform(0.35, 0.6, m), rng.uniform(0.06, 0.3, m)),
        )
        p_share = np.where(year >= 2017, rng.uniform(0.02, 0.12, m), rng.uniform(0.0, 0.08, m))
        w_share = np.where(workers[owner] > 0, rng.uniform(0.35, 0.75, m), 0.0)
        transfer = np.floor(net * t_share).astype(np.int64)
        prop = np.floor((net - transfer) * p_share).astype(np.int64)
        wage = np.floor((net - transfer - prop) * w_share).astype(np.int64)
        business_net = net - transfer - prop - wage
        costs = np.floor(business_net * rng.uniform(0.25, 0.6, m)).astype(np.int64)
        business = business_net + costs

        rest = transfer.copy()
        dibao_pay = np.where(attr == 1, np.floor(rest * rng.uniform(0.5, 0.8, m)), 0).astype(
            np.int64
        )
        rest -= dibao_pay
        tekun_pay = np.where(attr == 2, np.floor(rest * rng.uniform(0.6, 0.85, m)), 0).astype(
            np.int64
        )
        rest -= tekun_pay
        old = elderly[owner]
        pension_pay = np.minimum(
            np.round(old * 12 * rng.uniform(90, 140, m) * 100).astype(np.int64), rest
        )
        rest -= pension_pay
        eco_on = self.style in ("guizhou", "mongol")
        eco = (
            np.floor(rest * rng.uniform(0, 0.3, m)).astype(np.int64)
            if eco_on
            else np.zeros(m, dtype=np.int64)
        )
        rest -= eco
        fp_on = rng.random(m) < 0.05
        family = np.where(fp_on, np.minimum(rest, rng.integers(60000, 120001, m)), 0).astype(
            np.int64
        )
        rest -= family
        ill = (causes[owner] == "illness") & (kind == 0)
        oop = np.where(ill, rng.integers(80000, 900001, m), 0)

        def yuan(cents: np.ndarray, present: np.ndarray | None = None) -> list[float | None]:
            values = (cents / 100).tolist()
            if present is None:
                return values
            return [v if p else None for v, p in zip(values, present.tolist(), strict=True)]

        ids = self.next_income + np.arange(m)
        self.next_income += m
        stamp = [f"{y + 1}-01-15{UTC_TIME}" for y in year.tolist()]
        return {
            "id": ids.tolist(),
            "created_at": stamp,
            "updated_at": stamp,
            "version": [1] * m,
            "deleted_at": [None] * m,
            "deleted_reason": [""] * m,
            "household_id": hid[owner].tolist(),
            "year": year.tolist(),
            "wage_income": yuan(wage),
            "business_income": yuan(business),
            "property_income": yuan(prop),
            "transfer_income": yuan(transfer),
            "ecological_compensation": yuan(eco, eco > 0),
            "dibao_payment": yuan(dibao_pay, attr == 1),
            "tekun_payment": yuan(tekun_pay, attr == 2),
            "pension_payment": yuan(pension_pay, old > 0),
            "family_planning_payment": yuan(family, family > 0),
            "other_transfer": yuan(rest),
            "business_costs": yuan(costs),
            "compliant_out_of_pocket": yuan(oop, ill),
            "period_start": [f"{y}-01-01" for y in year.tolist()],
            "period_end": [f"{y}-12-31" for y in year.tolist()],
        }


__all__ = ["REMAINING", "Chunk", "CountyRows", "IdAllocator"]
