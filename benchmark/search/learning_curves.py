"""A trial's learning curves as intermediate values: fold-major steps, read at matched points.

A fold trains up to ``max_epochs`` epochs and is validated every ``eval_every_epochs`` epochs
(and at ``max_epochs``): at most ``evals_per_fold = ceil(max_epochs / eval_every_epochs)``
evaluations after training. The validation MAP@R of the e-th of them (e = 1, 2, ...) in fold
k is reported at step ``k * evals_per_fold + e - 1``, so one step names the same (fold, epoch) in
every trial of a study, and the steps of fold k all come before those of fold k + 1. The
evaluation before training (epoch 0) is not reported: it is the same network in every trial.

A fold stops early (patience), so trials report different steps. :class:`TrialCurve` reads a
trial at any step as the objective would see it: a fold's value at a step is the best
validation MAP@R it reached up to that step (its score, had it stopped there), and a fold that
finished keeps its score at every later step of the fold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from optuna.trial import FrozenTrial

from benchmark.config import TrainingConfig
from benchmark.store import trial_attrs


@dataclass(frozen=True)
class CurveSteps:
    """The step scheme of one protocol's trials (see the module's docstring)."""

    eval_every_epochs: int
    evals_per_fold: int

    @classmethod
    def for_training(cls, training: TrainingConfig) -> CurveSteps:
        every = training.eval_every_epochs
        return cls(every, max(math.ceil(training.max_epochs / every), 1))

    def step(self, fold: int, epoch: int) -> int:
        """The step of fold ``fold``'s evaluation after ``epoch`` (>= 1) epochs of training."""
        if epoch < 1:
            raise ValueError(f"the evaluation before training (epoch {epoch}) has no step")
        return fold * self.evals_per_fold + math.ceil(epoch / self.eval_every_epochs) - 1

    def fold_of(self, step: int) -> int:
        return step // self.evals_per_fold

    def first_step(self, fold: int) -> int:
        return fold * self.evals_per_fold


class TrialCurve:
    """One trial's reported values, read at the same (fold, epoch) points as another trial's."""

    def __init__(self, trial: FrozenTrial, steps: CurveSteps):
        self.steps = steps
        self.values = dict(sorted(trial.intermediate_values.items()))
        self.finished_folds = set(trial_attrs.fold_records(trial.user_attrs))
        self.last_step = max(self.values, default=None)

    def value_at(self, step: int) -> float | None:
        """The best value of ``step``'s fold up to ``step``; None if the trial did not get
        there (neither reported a later step of that fold nor finished it) or has no value."""
        fold = self.steps.fold_of(step)
        first = self.steps.first_step(fold)
        in_fold = [(s, v) for s, v in self.values.items() if first <= s < first + self._span]
        reached = fold in self.finished_folds or any(s >= step for s, _ in in_fold)
        seen = [v for s, v in in_fold if s <= step and math.isfinite(v)]
        return max(seen) if reached and seen else None

    def position(self) -> int | None:
        """Where the trial is: its last reported step, or the last step of that fold when the
        fold finished (its score then stands for the whole fold); None before any report."""
        if self.last_step is None:
            return None
        fold = self.steps.fold_of(self.last_step)
        if fold in self.finished_folds:
            return self.steps.first_step(fold) + self._span - 1
        return self.last_step

    def objective_at(self, step: int) -> float | None:
        """The trial's objective had its folds been cut at ``step``: the mean over folds
        0..fold(step) of :meth:`value_at` (at each earlier fold's end, at ``step`` in its own
        fold); None if one of them is missing."""
        fold = self.steps.fold_of(step)
        ends = [self.steps.first_step(k) + self._span - 1 for k in range(fold)]
        read = [self.value_at(point) for point in [*ends, step]]
        values = [value for value in read if value is not None]
        if len(values) < len(read):
            return None
        return math.fsum(values) / len(values)

    @property
    def _span(self) -> int:
        return self.steps.evals_per_fold
