"""Confidence intervals, Welch's t-test and Holm's correction, checked against scipy and the
textbook procedures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from benchmark.report import confidence_interval
from benchmark.report.stats import compare_with_best, holm_adjust, welch_p_value


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


# -- Welch's t-test, Holm's correction, comparison with the best --------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_welch_p_value_matches_scipy_on_raw_values(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.3, 0.02, size=3 + seed), rng.normal(0.31, 0.05, size=5)
    expected = stats.ttest_ind(a, b, equal_var=False).pvalue
    result = welch_p_value(a.mean(), a.std(ddof=1), a.size, b.mean(), b.std(ddof=1), b.size)
    assert result == pytest.approx(expected, rel=1e-10)


def test_welch_with_zero_variance_in_both_groups_is_certain():
    assert welch_p_value(0.4, 0.0, 3, 0.4, 0.0, 3) == 1.0
    assert welch_p_value(0.4, 0.0, 3, 0.5, 0.0, 5) == 0.0


def test_welch_with_zero_variance_in_one_group_is_an_ordinary_test():
    b = np.array([0.48, 0.51, 0.53])
    # With one variance zero, Welch's t is (mean_b - mean_a) / sem_b with n_b - 1 dof.
    t = (b.mean() - 0.5) / stats.sem(b)
    expected = 2 * stats.t.sf(abs(t), df=b.size - 1)
    assert welch_p_value(0.5, 0.0, 3, b.mean(), b.std(ddof=1), 3) == pytest.approx(expected)


def _holm_rejections(p_values, alpha):
    """Holm's procedure as the textbook states it: reject the smallest p-values in turn while
    p_(k) <= alpha / (m - k + 1)."""
    m = len(p_values)
    rejected = set()
    for k, index in enumerate(sorted(range(m), key=lambda i: p_values[i]), start=1):
        if p_values[index] > alpha / (m - k + 1):
            break
        rejected.add(index)
    return rejected


@pytest.mark.parametrize(
    "p_values",
    [[0.01, 0.04, 0.03, 0.005], [0.2, 0.01], [0.5], [0.001, 0.001, 0.9, 0.02, 0.04]],
)
def test_holm_adjusted_p_values_reject_what_holms_procedure_rejects(p_values):
    adjusted = holm_adjust(p_values)
    for alpha in (0.005, 0.01, 0.02, 0.05, 0.1, 0.5):
        assert {i for i, p in enumerate(adjusted) if p <= alpha} == _holm_rejections(
            p_values, alpha
        )
    assert all(q >= p for p, q in zip(p_values, adjusted, strict=True)) and max(adjusted) <= 1


def test_comparison_bolds_the_best_and_tests_the_others_against_it():
    means, stds, ns = [0.30, 0.31, 0.20], [0.01, 0.012, 0.01], [3, 3, 3]
    close, best, far = compare_with_best(means, stds, ns)
    assert best.is_best and math.isnan(best.p_value)
    assert not close.is_best and close.not_worse and close.p_holm >= 0.05
    assert not far.is_best and far.not_worse is False and far.p_holm < 0.05
    raw = [welch_p_value(m, s, n, 0.31, 0.012, 3) for m, s, n in ((0.30, 0.01, 3), (0.20, 0.01, 3))]
    assert (close.p_holm, far.p_holm) == pytest.approx(tuple(holm_adjust(raw)))


def test_a_single_repeat_is_never_tested():
    best, single = compare_with_best([0.3, 0.25], [0.01, 0.0], [3, 1])
    assert best.is_best and single.not_worse is None and math.isnan(single.p_holm)


def test_a_single_repeat_above_the_others_is_neither_best_nor_the_reference():
    # The one-repeat entry has the highest mean; the best is chosen among the tested entries,
    # and the others are still tested against it.
    single, best, other = compare_with_best([0.35, 0.30, 0.20], [0.0, 0.01, 0.01], [1, 3, 3])
    assert not single.is_best and single.not_worse is None and math.isnan(single.p_value)
    assert best.is_best and math.isnan(best.p_value)
    assert other.p_value == pytest.approx(welch_p_value(0.20, 0.01, 3, 0.30, 0.01, 3))
    assert other.not_worse is False


def test_a_family_of_single_repeats_has_no_best():
    assert not any(c.is_best for c in compare_with_best([0.3, 0.2], [math.nan] * 2, [1, 1]))


def test_ties_for_the_best_are_all_best():
    first, second, third = compare_with_best([0.4, 0.4, 0.3], [0.0, 0.0, 0.01], [3, 3, 3])
    assert first.is_best and second.is_best and not third.is_best
    assert second.p_value == 1.0


def test_a_family_of_one_is_its_own_best():
    (only,) = compare_with_best([0.2], [0.01], [3])
    assert only.is_best and math.isnan(only.p_holm)
