"""Pruners that act on learning curves: the validation MAP@R measured at every evaluation inside
the folds, compared between trials at the same fold and epoch.

A trial reports each evaluation at a fold-major step (:mod:`benchmark.search.learning_curves`)
and is asked whether to stop after each one, so a pruned trial stops inside its fold. Each rule
reads trials through :class:`~benchmark.search.learning_curves.TrialCurve`: the *objective at a
point* is the mean over the folds so far of each finished fold's score and the current fold's
best value up to that point -- the trial's objective, had its training been cut there.

- :class:`CurvePercentilePruner` (``study.pruner: curve_median`` or ``curve_percentile``): the
  trial's objective at its point against a percentile of the completed trials' at the same
  point.
- :class:`CurveHalvingPruner` (``study.pruner: curve_halving``): successive halving over the
  evaluations of the first fold: at rungs of ``min_evaluations x reduction_factor**k``
  evaluations, a trial goes on only in the top ``1 / reduction_factor`` of the trials that
  reached the rung (then it trains every fold).
- :class:`CurveWilcoxonPruner` (``study.pruner: curve_wilcoxon``): Optuna's
  :class:`~optuna.pruners.WilcoxonPruner` on the trial's values at all its points so far against
  the best trial's at the same points.
"""

from __future__ import annotations

import copy
import warnings
from typing import cast

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from benchmark.config import StudyConfig
from benchmark.search.fold_pruners import completed_trials, startup_trials
from benchmark.search.learning_curves import CurveSteps, TrialCurve

_REACHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
"""The trials whose curves count as rivals at a rung (a failed or waiting one does not)."""


class CurvePercentilePruner(BasePruner):
    """Prune a trial whose objective at its point is worse than ``percentile`` of the completed
    trials' objectives at the same point.

    Args:
        steps: the protocol's step scheme.
        percentile: 50 is a median rule; lower prunes less.
        n_startup_trials: no pruning until this many trials completed (not diverged).
        n_warmup_evaluations: no decision before the trial's this-many-th evaluation.
    """

    def __init__(
        self,
        steps: CurveSteps,
        percentile: float = 50.0,
        n_startup_trials: int = 5,
        n_warmup_evaluations: int = 1,
    ):
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
        if n_startup_trials < 0 or n_warmup_evaluations < 1:
            raise ValueError("n_startup_trials must be >= 0 and n_warmup_evaluations >= 1")
        self.steps = steps
        self.percentile = percentile
        self.n_startup_trials = n_startup_trials
        self.n_warmup_evaluations = n_warmup_evaluations

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        curve = TrialCurve(trial, self.steps)
        point = curve.position()
        if point is None or point + 1 < self.n_warmup_evaluations:
            return False
        own = curve.objective_at(point)
        others = _objectives_at(completed_trials(study), self.steps, point)
        if own is None or len(others) < max(self.n_startup_trials, 1):
            return False
        if study.direction == StudyDirection.MAXIMIZE:
            return own < float(np.percentile(others, self.percentile))
        return own > float(np.percentile(others, 100.0 - self.percentile))


class CurveHalvingPruner(BasePruner):
    """Successive halving over the first fold's evaluations, asynchronous (ASHA's rule).

    Rungs lie at the ``min_evaluations x reduction_factor**k``-th evaluation of the first fold,
    and at its end. At each rung the trial's objective there must be among the best
    ``max(1, m // reduction_factor)`` of the ``m`` trials (itself included, pruned ones too) that
    reached it; with fewer than ``n_startup_trials`` others there, it goes on. A trial past the
    first fold is never pruned.
    """

    def __init__(
        self,
        steps: CurveSteps,
        reduction_factor: int = 3,
        min_evaluations: int = 1,
        n_startup_trials: int = 1,
    ):
        if reduction_factor < 2 or min_evaluations < 1 or n_startup_trials < 0:
            raise ValueError(
                "reduction_factor must be >= 2, min_evaluations >= 1, n_startup_trials >= 0"
            )
        self.steps = steps
        self.reduction_factor = reduction_factor
        self.n_startup_trials = n_startup_trials
        self.rungs = halving_rungs(steps, reduction_factor, min_evaluations)

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        curve = TrialCurve(trial, self.steps)
        point = curve.position()
        if point is None or self.steps.fold_of(point) > 0:
            return False
        others = [
            TrialCurve(other, self.steps)
            for other in study.get_trials(deepcopy=False, states=_REACHED_STATES)
            if other.number != trial.number
        ]
        for rung in (rung for rung in self.rungs if rung <= point):
            own = curve.objective_at(rung)
            rivals = [value for c in others if (value := c.objective_at(rung)) is not None]
            if own is None or len(rivals) < self.n_startup_trials:
                continue
            kept = max(1, (len(rivals) + 1) // self.reduction_factor)
            ranked = sorted(rivals, reverse=study.direction == StudyDirection.MAXIMIZE)
            bar = ranked[kept - 1]
            if (own < bar) if study.direction == StudyDirection.MAXIMIZE else (own > bar):
                return True
        return False


def halving_rungs(steps: CurveSteps, reduction_factor: int, min_evaluations: int) -> list[int]:
    """The steps of the rungs: the ``min_evaluations x reduction_factor**k``-th evaluations of
    the first fold, then its last step."""
    last = steps.evals_per_fold - 1
    rungs, evaluations = [], min_evaluations
    while evaluations - 1 < last:
        rungs.append(evaluations - 1)
        evaluations *= reduction_factor
    return [*rungs, last]


class CurveWilcoxonPruner(BasePruner):
    """Optuna's :class:`~optuna.pruners.WilcoxonPruner` on matched points: the trial's value at
    each of its evaluations so far (its fold's best up to there) against the best trial's at the
    same points, one-sided, pruning at p < ``p_threshold``; no decision before
    ``n_startup_evaluations`` points are paired.

    The points of one fold are not independent (a curve is smooth), so the p-value is a
    threshold on a score, not a calibrated error rate.
    """

    def __init__(self, steps: CurveSteps, p_threshold: float, n_startup_evaluations: int = 2):
        self.steps = steps
        with warnings.catch_warnings():  # experimental in Optuna; its behaviour is tested here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._wilcoxon = optuna.pruners.WilcoxonPruner(
                p_threshold=p_threshold, n_startup_steps=n_startup_evaluations
            )

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        points = sorted(trial.intermediate_values)
        if not points:
            return False
        # _MatchedStudy has the part of a Study that WilcoxonPruner reads.
        stand_in = cast(optuna.Study, _MatchedStudy(study, self.steps, points))
        return self._wilcoxon.prune(stand_in, _at_points(trial, self.steps, points))


class _MatchedStudy:
    """What WilcoxonPruner reads of a study -- its direction and its best trial -- with the
    best trial read at the given points."""

    def __init__(self, study: optuna.Study, steps: CurveSteps, points: list[int]):
        self._study, self._steps, self._points = study, steps, points
        self.direction = study.direction

    @property
    def best_trial(self) -> FrozenTrial:
        return _at_points(self._study.best_trial, self._steps, self._points)


def _at_points(trial: FrozenTrial, steps: CurveSteps, points: list[int]) -> FrozenTrial:
    """``trial`` whose intermediate values are its fold's best up to each of ``points``."""
    curve = TrialCurve(trial, steps)
    view = copy.copy(trial)
    view.intermediate_values = {
        point: value for point in points if (value := curve.value_at(point)) is not None
    }
    return view


def _objectives_at(trials: list[FrozenTrial], steps: CurveSteps, point: int) -> list[float]:
    return [
        value
        for trial in trials
        if (value := TrialCurve(trial, steps).objective_at(point)) is not None
    ]


CURVE_PRUNERS = ("curve_median", "curve_percentile", "curve_halving", "curve_wilcoxon")


def build_curve_pruner(settings: StudyConfig, steps: CurveSteps) -> BasePruner:
    """The curve pruner ``settings.pruner`` names (one of :data:`CURVE_PRUNERS`), with its
    settings, for trials reporting at ``steps``."""
    kind = settings.pruner
    if kind == "curve_halving":
        return CurveHalvingPruner(
            steps,
            reduction_factor=settings.pruner_reduction_factor,
            min_evaluations=settings.pruner_min_evaluations,
            n_startup_trials=startup_trials(settings),
        )
    if kind == "curve_wilcoxon":
        return CurveWilcoxonPruner(
            steps,
            p_threshold=settings.pruner_p_threshold,
            n_startup_evaluations=max(settings.pruner_warmup_evaluations, 2),
        )
    if kind not in CURVE_PRUNERS:
        raise ValueError(f"not a curve pruner: {kind!r}")
    return CurvePercentilePruner(
        steps,
        percentile=50.0 if kind == "curve_median" else settings.pruner_percentile,
        n_startup_trials=startup_trials(settings),
        n_warmup_evaluations=settings.pruner_warmup_evaluations,
    )
