"""Pruners for a study whose objective is the mean over class-disjoint folds.

A trial reports each fold's best validation MAP@R as its intermediate value at ``step = fold
index``. Folds differ in difficulty (on the demo, fold 0 scores ~0.37 and the others ~0.31), so a
trial must be compared with others *on the same folds*: a paired comparison.

- :class:`FoldMatchedPercentilePruner` (``study.pruner: median`` or ``percentile``): after
  fold k, the mean of the trial's folds 0..k against a percentile of the same mean, over the same
  folds, of the completed trials.
- Optuna's :class:`~optuna.pruners.WilcoxonPruner` (``study.pruner: wilcoxon``): a Wilcoxon
  signed-rank test of the trial's fold scores against the best trial's on the same folds.

Optuna's :class:`~optuna.pruners.MedianPruner` does not fit this objective: it compares the
*best* intermediate value so far with the median at the current step, which with per-fold scores
(or with their running mean) is dominated by the easiest fold, so it prunes almost nothing.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from benchmark.config import StudyConfig
from benchmark.store import trial_attrs


class FoldMatchedPercentilePruner(BasePruner):
    """Prune a trial whose mean over its finished folds is worse than ``percentile`` of the
    completed trials' means over the same folds.

    Args:
        percentile: 50 is a median rule; lower prunes less (the trial must be in the bottom
            ``percentile`` percent of the completed trials on the same folds).
        n_startup_trials: no pruning until this many trials completed (not diverged).
        n_warmup_folds: no pruning decision before the trial finished fold index
            ``n_warmup_folds`` (1: the first decision comes after two folds).
    """

    def __init__(
        self, percentile: float = 50.0, n_startup_trials: int = 5, n_warmup_folds: int = 1
    ):
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
        if n_startup_trials < 0 or n_warmup_folds < 0:
            raise ValueError("n_startup_trials and n_warmup_folds must be >= 0")
        self.percentile = percentile
        self.n_startup_trials = n_startup_trials
        self.n_warmup_folds = n_warmup_folds

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        scores = trial.intermediate_values
        if not scores or trial.last_step is None or trial.last_step < self.n_warmup_folds:
            return False
        folds = sorted(scores)
        own = _mean_over(scores, folds)
        if own is None:
            return False
        others = [
            mean
            for other in completed_trials(study)
            if (mean := _mean_over(other.intermediate_values, folds)) is not None
        ]
        if len(others) < max(self.n_startup_trials, 1):
            return False
        if study.direction == StudyDirection.MAXIMIZE:
            return own < float(np.percentile(others, self.percentile))
        return own > float(np.percentile(others, 100.0 - self.percentile))


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The study's completed trials that did not diverge (a diverged trial is told as
    ``study.diverged_value`` to inform the sampler, not to set the bar)."""
    return [
        trial
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if trial.user_attrs.get(trial_attrs.FAILURE) != trial_attrs.DIVERGED
    ]


def _mean_over(scores: dict[int, float], folds: list[int]) -> float | None:
    """The mean of ``scores`` over ``folds``; None if one is missing or not finite."""
    values = [scores.get(fold) for fold in folds]
    finite = [value for value in values if value is not None and math.isfinite(value)]
    if len(finite) != len(values):
        return None
    return float(np.mean(finite))


def build_fold_pruner(settings: StudyConfig) -> BasePruner:
    """The pruner ``settings.pruner`` names, with its settings (``none``: never prune)."""
    kind = settings.pruner
    if kind in ("median", "percentile"):
        return FoldMatchedPercentilePruner(
            percentile=50.0 if kind == "median" else settings.pruner_percentile,
            n_startup_trials=settings.sampler.n_startup_trials,
            n_warmup_folds=settings.pruner_warmup_folds,
        )
    if kind == "wilcoxon":
        with warnings.catch_warnings():  # experimental in Optuna; its behaviour is tested here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(
                p_threshold=settings.pruner_p_threshold,
                n_startup_steps=settings.pruner_warmup_folds + 1,
            )
    return optuna.pruners.NopPruner()
