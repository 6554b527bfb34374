"""What a trial logs to the run's tracker: one run per trial, one nested run per fold training.

Keys: ``study/<loss>/trial_<number>`` and ``study/<loss>/trial_<number>/fold_<k>``. A fold that
an earlier, lost trial had finished (and that this trial reuses) is logged under this trial
too, from its saved curve.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import optuna

from benchmark.tracking.run_log import RunLog, default_outcome, tracked_run
from benchmark.tracking.tracker import PRUNED, RunStatus, TrackedRun, Tracker


def trial_run(loss: str, trial: optuna.Trial, params: dict[str, Any]) -> TrackedRun:
    """The tracked run of ``trial`` of ``loss``'s study."""
    return TrackedRun(
        key=f"study/{loss}/trial_{trial.number}",
        name=f"{loss} trial {trial.number}",
        params=params,
        tags={"stage": "study", "loss": loss, "trial": str(trial.number)},
    )


def fold_run(parent: TrackedRun, fold: int, seed: int) -> TrackedRun:
    """The tracked run of fold ``fold`` of a trial, nested under it."""
    return parent.child(
        f"fold_{fold}",
        f"{parent.name} fold {fold}",
        params={**parent.params, "fold": fold, "seed": seed},
        tags={**parent.tags, "stage": "study-fold", "fold": str(fold)},
    )


def tracked_fold(
    tracker: Tracker, trial_run: TrackedRun, fold: int, seed: int
) -> AbstractContextManager[RunLog]:
    """Fold ``fold``'s run for the block that trains it: it ends as the trial's would."""
    return tracked_run(tracker, fold_run(trial_run, fold, seed), trial_outcome)


def trial_outcome(exc: BaseException) -> RunStatus:
    """A pruned trial (and its fold) ends as pruned; else as :func:`default_outcome` says."""
    return PRUNED if isinstance(exc, optuna.TrialPruned) else default_outcome(exc)
