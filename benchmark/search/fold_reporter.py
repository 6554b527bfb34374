"""What a trial tells its study while one of its folds trains: the validation MAP@R of each
evaluation as an intermediate value (:mod:`benchmark.search.learning_curves` gives the step),
and, between evaluations, whether the pruner stops the trial."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from benchmark.engine.checkpoint import FitDirectory
from benchmark.search.learning_curves import CurveSteps
from benchmark.store import trial_attrs

if TYPE_CHECKING:
    from benchmark.engine.trainer import Trainer


class FoldReporter:
    """The :class:`Trainer`'s ``on_evaluation`` for fold ``fold`` of ``trial``.

    After each evaluation it reports the evaluations not reported yet (all of them after a
    resume) and, unless the fold stops there anyway, asks the pruner: a pruned trial raises
    :class:`optuna.TrialPruned` from inside the training, which stops at once. The fold's end is
    the worker's to decide on (its record is written first).
    """

    def __init__(self, trial: optuna.Trial, steps: CurveSteps, fold: int):
        self.trial = trial
        self.steps = steps
        self.fold = fold
        self.trained: dict[str, Any] | None = None
        """What the fold trained up to its last evaluation (a :data:`trial_attrs.PRUNED_FOLD`
        record), once it evaluated."""
        self._reported: set[int] = set()

    def report(self, curve: list[dict[str, Any]]) -> None:
        """Report the rows of a learning curve not reported yet (the untrained one never)."""
        for row in curve:
            if row["epoch"] < 1:
                continue
            step = self.steps.step(self.fold, row["epoch"])
            if step not in self._reported:
                self.trial.report(float(row["val_map_at_r"]), step=step)
                self._reported.add(step)

    def __call__(self, trainer: Trainer) -> None:
        state = trainer.state
        self.report(state.curve)
        best = float(state.best_val_map_at_r)
        self.trained = {
            trial_attrs.FOLD_INDEX: self.fold,
            trial_attrs.FOLD_VAL_MAP_AT_R: best if math.isfinite(best) else None,
            trial_attrs.FOLD_BEST_ITERATION: state.best_iteration,
            trial_attrs.FOLD_ITERATIONS: state.iteration,
            trial_attrs.FOLD_EPOCHS: state.epoch,
            trial_attrs.FOLD_WALL_TIME_S: state.wall_time_s,
        }
        if state.epoch >= 1 and not trainer.should_stop() and self.trial.should_prune():
            epoch = state.epoch
            raise optuna.TrialPruned(f"pruned in fold {self.fold} after epoch {epoch}")

    def record_pruned(self, fit_dir: Path) -> None:
        """Record what the fold trained before the pruner stopped it, and delete its weights
        (a trial keeps none)."""
        if self.trained is not None:
            self.trial.set_user_attr(trial_attrs.PRUNED_FOLD, self.trained)
        FitDirectory(fit_dir).delete_weights()
