"""Estimates of the self-check (三率一度, domain.md 3.4) from the weighted two-stage sample:
pure Python + numpy + statsmodels, no Django (ADR 0078).

Each rate is a ratio R = Σ w·y / Σ w·x over the surveyed households of the rate's group:
- wrong-exit rate: y = wrongly exited persons, x = persons, over the sampled exited households;
- missed rate: y = verified missed persons, x = persons, over the sampled ordinary households;
- approval: y = 1 if the household approves, x = 1, over every surveyed household.
The point estimate is statsmodels' weighted mean (`DescrStatsW(y/x, weights=w·x).mean`, which
equals R). Its variance is the linearised ratio variance with villages as primary units
("ultimate cluster", with-replacement at the first stage, strata = poor / non-poor villages):
  e_i = w_i (y_i - R x_i),  z_v = Σ_{i in v} e_i,
  V(R) = Σ_s m_s/(m_s-1) Σ_v (z_v - z̄_s)² / X̂²,  X̂ = Σ w x.
The interval is statsmodels' Wilson interval (`proportion_confint(..., method="wilson")`) on the
effective sample size n_eff = R(1-R)/V(R) (Korn-Graubard's idea: the design's variance carried
into a binomial interval, which stays inside [0, 1] and behaves at rates near 0, unlike the
Wald interval), times (z/t_df)² with df = villages - strata (Korn and Graubard's
degrees-of-freedom adjustment: with some 29 villages the variance itself is uncertain). n_eff is capped at the persons (units) surveyed; with R = 0 or 1 or a stratum of
one village the variance says nothing and n_eff is the units surveyed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW


@dataclass(frozen=True)
class Obs:
    """One surveyed household's contribution to a rate."""

    stratum: str
    village: str
    weight: float
    y: float
    x: float


@dataclass(frozen=True)
class Estimate:
    rate: float | None
    low: float | None
    high: float | None
    households: int  # surveyed households in the rate
    units: float  # persons (or households) surveyed: Σ x
    weighted_numerator: float
    weighted_denominator: float
    effective_n: float | None
    standard_error: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "rate": self.rate,
            "low": self.low,
            "high": self.high,
            "households": self.households,
            "units": self.units,
            "weighted_numerator": self.weighted_numerator,
            "weighted_denominator": self.weighted_denominator,
            "effective_n": self.effective_n,
            "standard_error": self.standard_error,
        }


EMPTY = Estimate(None, None, None, 0, 0.0, 0.0, 0.0, None, None)


def ratio(observations: Sequence[Obs], *, confidence: float = 0.95) -> Estimate:
    """The design-based ratio estimate and its Wilson interval (see the module docstring)."""
    obs = [o for o in observations if o.x > 0 and o.weight > 0]
    if not obs:
        return EMPTY
    w = np.array([o.weight for o in obs])
    y = np.array([o.y for o in obs], dtype=float)
    x = np.array([o.x for o in obs], dtype=float)
    total_x = float(np.sum(w * x))
    total_y = float(np.sum(w * y))
    rate = float(DescrStatsW(y / x, weights=w * x).mean)
    e = w * (y - rate * x)
    clusters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for o, ei in zip(obs, e, strict=True):
        clusters[o.stratum][o.village] += float(ei)
    variance = 0.0
    informative = True
    for totals in clusters.values():
        z = np.array(list(totals.values()))
        m = len(z)
        if m < 2:
            informative = False
            continue
        variance += m / (m - 1) * float(np.sum((z - z.mean()) ** 2))
    variance /= total_x**2
    units = float(np.sum(x))
    if 0.0 < rate < 1.0 and variance > 0 and informative:
        n_eff = min(rate * (1 - rate) / variance, units)
        # the design's degrees of freedom (villages - strata): few villages give a noisy
        # variance, so the normal quantile of the Wilson interval is traded for Student's t
        df = sum(len(t) for t in clusters.values()) - len(clusters)
        if df > 0:
            normal_q = float(stats.norm.ppf(1 - (1 - confidence) / 2))
            student_q = float(stats.t.ppf(1 - (1 - confidence) / 2, df))
            n_eff *= (normal_q / student_q) ** 2
    else:
        n_eff = units
    low, high = proportion_confint(rate * n_eff, n_eff, alpha=1 - confidence, method="wilson")
    return Estimate(
        rate=rate,
        low=float(low),
        high=float(high),
        households=len(obs),
        units=units,
        weighted_numerator=total_y,
        weighted_denominator=total_x,
        effective_n=float(n_eff),
        standard_error=float(np.sqrt(variance)),
    )


def naive(observations: Sequence[Obs], *, confidence: float = 0.95) -> Estimate:
    """The unweighted estimate (Σy/Σx, Wilson on the persons): wrong under unequal sampling
    fractions; kept only to show in the tests that the coverage test can fail."""
    flat = [Obs("all", f"u{i}", 1.0, o.y, o.x) for i, o in enumerate(observations) if o.x > 0]
    if not flat:
        return EMPTY
    ys = sum(o.y for o in flat)
    xs = sum(o.x for o in flat)
    rate = ys / xs
    low, high = proportion_confint(ys, xs, alpha=1 - confidence, method="wilson")
    return Estimate(rate, float(low), float(high), len(flat), xs, ys, xs, xs, None)


@dataclass(frozen=True)
class Verdict:
    """The one-vote veto (一票否决) on one rate: passed when the whole interval is on the right
    side of the threshold, failed when the point estimate is on the wrong side, inconclusive
    when the estimate passes but the interval crosses the threshold (domain.md 3.5: a result
    near the line must be reported as inconclusive)."""

    key: str
    passed: bool | None
    text: str


def judge(key: str, estimate: Estimate, threshold: float, *, upper: bool) -> Verdict:
    """`upper`: the rate must stay below the threshold (wrong-exit, missed); otherwise at or
    above it (approval)."""
    if estimate.rate is None or estimate.low is None or estimate.high is None:
        return Verdict(key, None, "无调查数据")
    if upper:
        if estimate.rate >= threshold:
            return Verdict(key, False, "未达标（一票否决）")
        if estimate.high >= threshold:
            return Verdict(key, None, "点估计达标，但置信区间跨越阈值，结论不确定")
        return Verdict(key, True, "达标")
    if estimate.rate < threshold:
        return Verdict(key, False, "未达标（一票否决）")
    if estimate.low < threshold:
        return Verdict(key, None, "点估计达标，但置信区间跨越阈值，结论不确定")
    return Verdict(key, True, "达标")
