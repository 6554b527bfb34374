"""Summary statistics over repeated runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class MeanWithInterval:
    """A mean over n repeats and its confidence interval (Student t, n - 1 degrees of freedom)."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def confidence_interval(values: Sequence[float], confidence: float = 0.95) -> MeanWithInterval:
    """Mean and two-sided Student-t confidence interval of ``values``.

    The half-width is ``t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard
    deviation (ddof = 1). With a single value the interval is undefined (NaN bounds).
    """
    array = np.asarray(values, dtype=np.float64)
    n = int(array.size)
    if n == 0:
        raise ValueError("confidence_interval needs at least one value")
    mean = float(array.mean())
    if n == 1:
        return MeanWithInterval(mean, math.nan, math.nan, 1, confidence)
    sem = sample_std(array) / math.sqrt(n)
    half = float(stats.t.ppf((1 + confidence) / 2, df=n - 1)) * sem
    return MeanWithInterval(mean, mean - half, mean + half, n, confidence)


def sample_std(values: Sequence[float] | np.ndarray) -> float:
    """Sample standard deviation (ddof = 1), exactly 0 for identical values (where rounding
    in the mean would otherwise leave ~1e-17 and turn a certain difference into a t-test)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2:
        return math.nan
    return 0.0 if np.ptp(array) == 0 else float(array.std(ddof=1))


def welch_p_value(
    mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int
) -> float:
    """Two-sided p-value of Welch's t-test (unequal variances) between two groups.

    Needs n >= 2 in each group. When both groups have zero variance the t statistic is
    undefined; the groups then differ for certain (p = 0) unless their means are equal (p = 1).
    """
    if n_a < 2 or n_b < 2:
        raise ValueError("Welch's t-test needs at least two values per group")
    if std_a == 0 and std_b == 0:
        return 1.0 if mean_a == mean_b else 0.0
    result = stats.ttest_ind_from_stats(mean_a, std_a, n_a, mean_b, std_b, n_b, equal_var=False)
    return float(result.pvalue)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: p_(i) -> max_{j <= i} min(1, (m - j + 1) p_(j))."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running_max = 0.0
    for rank, index in enumerate(order):
        running_max = max(running_max, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running_max
    return adjusted


MIN_REPEATS_TO_COMPARE = 2
"""A mean over fewer repeats has no variance estimate: it is shown, never best, never tested."""


@dataclass(frozen=True)
class BestComparison:
    """One entry of a family (a table column) compared with the family's best mean.

    ``p_value``/``p_holm`` are NaN for the reference best itself and for untested entries
    (fewer than :data:`MIN_REPEATS_TO_COMPARE` repeats); ``not_worse`` is None when untested.
    """

    is_best: bool
    p_value: float
    p_holm: float
    not_worse: bool | None


def compare_with_best(
    means: Sequence[float],
    stds: Sequence[float],
    ns: Sequence[int],
    significance_level: float = 0.05,
) -> list[BestComparison]:
    """Welch's t-test of every entry against the highest mean, Holm-corrected across the family.

    Only entries with at least :data:`MIN_REPEATS_TO_COMPARE` repeats take part: the best is the
    highest mean among them, and a thinner entry is neither best nor tested (one repeat says
    nothing about the spread, so it can neither win a column nor be told apart from its best).
    Entries tied with the highest mean are all best; the first of them is the reference the
    others are tested against. An entry is ``not_worse`` when ``p_holm >= significance_level``.
    """
    untested = BestComparison(False, math.nan, math.nan, None)
    eligible = [i for i in range(len(means)) if ns[i] >= MIN_REPEATS_TO_COMPARE]
    if not eligible:
        return [untested] * len(means)
    best_mean = max(means[i] for i in eligible)
    reference = next(i for i in eligible if means[i] == best_mean)
    tested = [i for i in eligible if i != reference]
    raw = {
        i: welch_p_value(means[i], stds[i], ns[i], means[reference], stds[reference], ns[reference])
        for i in tested
    }
    holm = dict(zip(tested, holm_adjust([raw[i] for i in tested]), strict=True))
    comparisons = []
    for i, mean in enumerate(means):
        if i == reference:
            comparisons.append(BestComparison(True, math.nan, math.nan, True))
        elif i in holm:
            comparisons.append(
                BestComparison(mean == best_mean, raw[i], holm[i], holm[i] >= significance_level)
            )
        else:
            comparisons.append(untested)
    return comparisons
