"""Confidence intervals: Student t with n - 1 degrees of freedom, checked against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from benchmark.report import confidence_interval


@pytest.mark.parametrize("n", [2, 3, 10])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_interval_matches_scipy_t_interval(n, confidence):
    values = np.random.default_rng(n).normal(0.3, 0.05, size=n)
    expected = stats.t.interval(confidence, df=n - 1, loc=values.mean(), scale=stats.sem(values))
    result = confidence_interval(values, confidence)
    assert result.mean == pytest.approx(values.mean(), rel=1e-12)
    assert (result.low, result.high) == pytest.approx(expected, rel=1e-12)
    assert result.n == n


def test_interval_is_wider_than_a_normal_interval_for_few_repeats():
    values = [0.20, 0.22, 0.25]
    result = confidence_interval(values, 0.95)
    normal_half = 1.959964 * np.std(values, ddof=1) / math.sqrt(3)
    assert result.half_width > 2 * normal_half


def test_single_repeat_has_no_interval():
    result = confidence_interval([0.5])
    assert result.mean == 0.5 and math.isnan(result.low) and math.isnan(result.high)
