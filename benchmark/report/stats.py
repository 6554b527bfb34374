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
    sem = float(array.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf((1 + confidence) / 2, df=n - 1)) * sem
    return MeanWithInterval(mean, mean - half, mean + half, n, confidence)
