"""Pruners that decide on whole folds, for a study whose objective is the mean over
class-disjoint folds.

They read a trial's finished folds (each fold's best validation MAP@R, its ``fold_<k>`` record);
the intermediate values inside the folds are for :mod:`benchmark.search.curve_pruners`. Folds
differ in difficulty (on the demo, fold 0 scores ~0.37 and the others ~0.31), so a trial must be
compared with others *on the same folds*: a paired comparison.

- :class:`FoldMatchedPercentilePruner` (``study.pruner: median`` or ``percentile``): after
  fold k, the mean of the trial's folds 0..k against a percentile of the same mean, over the same
  folds, of the completed trials.
- :class:`FoldWilcoxonPruner` (``study.pruner: wilcoxon``): Optuna's
  :class:`~optuna.pruners.WilcoxonPruner`, a Wilcoxon signed-rank test of the trial's fold
  scores against the best trial's on the same folds.

Optuna's :class:`~optuna.pruners.MedianPruner` does not fit this objective: it compares the
*best* intermediate value so far with the median at the current step, which with per-fold scores
(or with their running mean) is dominated by the easiest fold, so it prunes almost nothing.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import cast

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
        scores = fold_scores(trial)
        if len(scores) <= self.n_warmup_folds:
            return False
        folds = sorted(scores)
        own = _mean_over(scores, folds)
        if own is None:
            return False
        others = [
            mean
            for other in completed_trials(study)
            if (mean := _mean_over(fold_scores(other), folds)) is not None
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


class FoldWilcoxonPruner(BasePruner):
    """Optuna's :class:`~optuna.pruners.WilcoxonPruner` on fold scores: the trial's finished
    folds against the best trial's same folds, one-sided, pruning at p < ``p_threshold``; no
    decision before ``n_startup_folds`` folds are paired."""

    def __init__(self, p_threshold: float, n_startup_folds: int):
        with warnings.catch_warnings():  # experimental in Optuna; its behaviour is tested here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._wilcoxon = optuna.pruners.WilcoxonPruner(
                p_threshold=p_threshold, n_startup_steps=n_startup_folds
            )

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        # _FoldScoreStudy has the part of a Study that WilcoxonPruner reads.
        stand_in = cast(optuna.Study, _FoldScoreStudy(study))
        return self._wilcoxon.prune(stand_in, _with_fold_scores(trial))


class _FoldScoreStudy:
    """What WilcoxonPruner reads of a study -- its direction and its best trial -- with the
    best trial's fold scores as its intermediate values."""

    def __init__(self, study: optuna.Study):
        self._study = study
        self.direction = study.direction

    @property
    def best_trial(self) -> FrozenTrial:
        return _with_fold_scores(self._study.best_trial)


def _with_fold_scores(trial: FrozenTrial) -> FrozenTrial:
    view = copy.copy(trial)
    view.intermediate_values = fold_scores(trial)
    return view


def fold_scores(trial: FrozenTrial) -> dict[int, float]:
    """Each finished fold's best validation MAP@R, by fold index (its ``fold_<k>`` record)."""
    return {
        fold: float(record[trial_attrs.FOLD_VAL_MAP_AT_R])
        for fold, record in trial_attrs.fold_records(trial.user_attrs).items()
        if record.get(trial_attrs.FOLD_VAL_MAP_AT_R) is not None
    }


def _mean_over(scores: dict[int, float], folds: list[int]) -> float | None:
    """The mean of ``scores`` over ``folds``; None if one is missing or not finite."""
    values = [scores.get(fold) for fold in folds]
    finite = [value for value in values if value is not None and math.isfinite(value)]
    if len(finite) != len(values):
        return None
    return float(np.mean(finite))


def startup_trials(settings: StudyConfig) -> int:
    """``study.pruner_startup_trials``, by default the sampler's start-up trials."""
    if settings.pruner_startup_trials is None:
        return settings.sampler.n_startup_trials
    return settings.pruner_startup_trials


def build_fold_pruner(settings: StudyConfig) -> BasePruner:
    """The fold pruner ``settings.pruner`` names, with its settings (else: never prune)."""
    kind = settings.pruner
    if kind in ("median", "percentile"):
        return FoldMatchedPercentilePruner(
            percentile=50.0 if kind == "median" else settings.pruner_percentile,
            n_startup_trials=startup_trials(settings),
            n_warmup_folds=settings.pruner_warmup_folds,
        )
    if kind == "wilcoxon":
        return FoldWilcoxonPruner(
            p_threshold=settings.pruner_p_threshold,
            n_startup_folds=settings.pruner_warmup_folds + 1,
        )
    return optuna.pruners.NopPruner()
