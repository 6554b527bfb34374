"""MLRC's start-up design: the first trials at the points of one scrambled Sobol sequence.

MLRC searched with Ax: 5 Sobol trials, then a Gaussian process with expected improvement. Optuna's
``QMCSampler`` cannot serve as the start-up of another sampler (as an independent sampler it
draws at random, and it learns the search space only from a finished trial), so this wrapper
draws start-up trial ``n`` at the ``n``-th point of a Sobol sequence over the known search space
-- a pure function of the trial number, so parallel workers never draw the same point -- and
hands every later trial to the model-based sampler.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState
from scipy.stats import qmc


class SobolStartupSampler(BaseSampler):
    """Trials ``0 .. n_startup_trials - 1`` on a scrambled Sobol sequence, then ``then``.

    Args:
        distributions: the search space (every parameter the objective suggests).
        n_startup_trials: how many trials take Sobol points.
        seed: scrambles the sequence (the same seed gives the same points).
        then: the sampler of every later trial (e.g. Optuna's ``GPSampler``).
    """

    def __init__(
        self,
        distributions: dict[str, BaseDistribution],
        n_startup_trials: int,
        seed: int,
        then: BaseSampler,
    ):
        self.distributions = dict(distributions)
        self.n_startup_trials = n_startup_trials
        self.then = then
        self._points = _sobol_points(len(self.distributions), n_startup_trials, seed)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if trial.number < self.n_startup_trials:
            return self.distributions
        return self.then.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if trial.number < self.n_startup_trials:
            point = self._points[trial.number]
            return {
                name: _from_unit(u, self.distributions[name])
                for name, u in zip(self.distributions, point, strict=True)
                if name in search_space
            }
        return self.then.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self.then.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.then.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.then.after_trial(study, trial, state, values)


def _sobol_points(dimensions: int, count: int, seed: int) -> np.ndarray:
    if dimensions == 0 or count == 0:
        return np.zeros((count, dimensions))
    with warnings.catch_warnings():  # "balance properties" for counts that are not 2^k
        warnings.simplefilter("ignore", UserWarning)
        return qmc.Sobol(d=dimensions, scramble=True, seed=seed).random(count)


def _from_unit(u: float, distribution: BaseDistribution) -> float | int:
    """The value at quantile ``u`` of a uniform (or log-uniform) range.

    An integer range is widened by half a step at each end before rounding, so that every
    integer (its two ends included) takes an equal share of the unit interval.
    """
    if not isinstance(distribution, FloatDistribution | IntDistribution):
        raise TypeError(f"Sobol start-up supports float and int ranges, not {distribution!r}")
    low, high, step = distribution.low, distribution.high, distribution.step
    is_int = isinstance(distribution, IntDistribution)
    half = 0.5 * distribution.step if isinstance(distribution, IntDistribution) else 0.0
    start, stop = low - half, high + half
    if distribution.log:
        value = math.exp(math.log(start) + u * (math.log(stop) - math.log(start)))
    else:
        value = start + u * (stop - start)
    if step is not None:
        value = low + round((value - low) / step) * step
    value = min(max(value, low), high)
    return int(round(value)) if is_int else float(value)
