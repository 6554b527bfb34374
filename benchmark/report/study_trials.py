"""The trials of a run's studies as the results page lists them: one row per trial with its
searched parameters, each fold's best validation MAP@R, and why it did not complete.

Read through the store (:func:`~benchmark.store.storage.trials_by_study`): the page never opens
a study for writing, never creates a storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from optuna.trial import FrozenTrial, TrialState

from benchmark.errors import BenchmarkError
from benchmark.report.labels import ordered_losses
from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import trials_by_study

NO_STUDY_DATA = "no study data in this folder"

STATE_WORDS = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "queued",
}
FAILURE_WORDS = {
    trial_attrs.DIVERGED: "training diverged",
    trial_attrs.ERROR: "raised an error; its parameters were queued again",
    trial_attrs.ERROR_GAVE_UP: "raised on every retry; given up",
    trial_attrs.WORKER_LOST: "its worker was lost; its parameters were queued again",
    trial_attrs.WORKER_LOST_GAVE_UP: "its worker was lost on every retry; given up",
}


@dataclass(frozen=True)
class TrialRow:
    """One trial as listed: ``value`` is a completed trial's objective, the mean validation
    MAP@R over its folds (None for any other: a pruned trial's Optuna value is only its last
    fold's score); ``fold_values`` each finished fold's best validation MAP@R."""

    number: int
    state: str
    value: float | None
    params: dict[str, object]
    fold_values: dict[int, float]
    reason: str = ""
    wall_time_s: float | None = None


@dataclass
class LossStudy:
    """The study of one loss of a run: its trials (for the history plot) and their rows."""

    loss: str
    study_name: str
    trials: list[FrozenTrial]
    rows: list[TrialRow] = field(default_factory=list)
    param_names: list[str] = field(default_factory=list)
    best_number: int | None = None


def read_run_trials(
    run_dir: Path | None, storage_url: str | None
) -> Mapping[str, list[FrozenTrial]] | str:
    """Every study's trials in the run's storage, by study name (none where the folder holds no
    run.json or no storage), or why they cannot be read."""
    if run_dir is None:
        return "no study data in a results CSV file"
    try:
        return trials_by_study(RunDirectory(run_dir), storage_url)
    except BenchmarkError as exc:
        return f"the study data cannot be read: {exc}"


def loss_studies(
    trials: Mapping[str, list[FrozenTrial]], name_prefix: str, n_folds: int | None = None
) -> list[LossStudy]:
    """The studies among ``trials`` (by study name) whose names start with ``name_prefix``,
    one per loss, in the paper's loss order. ``n_folds``: the folds a full trial trains (the
    protocol's ``data.n_folds``; default: the most any trial recorded)."""
    by_loss = {
        name.removeprefix(name_prefix): (name, study_trials)
        for name, study_trials in trials.items()
        if name.startswith(name_prefix)
    }
    studies = []
    for loss in ordered_losses(by_loss):
        name, study_trials = by_loss[loss]
        ordered = sorted(study_trials, key=lambda trial: trial.number)
        folds = n_folds or fold_count(ordered)
        rows = [trial_row(trial, folds) for trial in ordered]
        studies.append(
            LossStudy(
                loss,
                name,
                ordered,
                rows,
                param_names=list(dict.fromkeys(p for row in rows for p in row.params)),
                best_number=best_trial_number(ordered),
            )
        )
    return studies


def trial_row(trial: FrozenTrial, n_folds: int) -> TrialRow:
    """The row of ``trial``; ``n_folds`` (the folds a full trial trains) phrases a pruning."""
    records = trial_attrs.fold_records(trial.user_attrs)
    folds = {
        fold: float(record[trial_attrs.FOLD_VAL_MAP_AT_R])
        for fold, record in records.items()
        if trial_attrs.FOLD_VAL_MAP_AT_R in record
    }
    wall_time = trial.user_attrs.get(trial_attrs.WALL_TIME_S)
    return TrialRow(
        number=trial.number,
        state=STATE_WORDS.get(trial.state, trial.state.name.lower()),
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        params=dict(trial.params),
        fold_values=folds,
        reason=trial_reason(trial, len(records), n_folds),
        wall_time_s=None if wall_time is None else float(wall_time),
    )


def trial_reason(trial: FrozenTrial, folds_done: int, n_folds: int) -> str:
    """Why a trial did not complete (and what it re-runs); '' for a plain completed trial."""
    reasons = []
    if trial.state == TrialState.PRUNED:
        reasons.append(f"pruned after {folds_done} of {n_folds} folds")
    elif trial.state == TrialState.FAIL:
        failure: str = trial.user_attrs.get(trial_attrs.FAILURE) or ""
        words = FAILURE_WORDS.get(failure, failure or "failed")
        detail = trial.user_attrs.get(trial_attrs.FAIL_REASON)
        reasons.append(f"{words}: {detail}" if detail else words)
    requeued_from = trial.user_attrs.get(trial_attrs.REQUEUED_FROM)
    if requeued_from is not None:
        reasons.append(f"re-runs trial {requeued_from}")
    return "; ".join(reasons)


def fold_count(trials: list[FrozenTrial]) -> int:
    """The folds a full trial trains: one more than the highest fold index recorded."""
    indices = [fold for trial in trials for fold in trial_attrs.fold_records(trial.user_attrs)]
    return max(indices, default=-1) + 1


def best_trial_number(trials: list[FrozenTrial]) -> int | None:
    """The completed trial of the highest value (the first on a tie), as Optuna's best trial."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    if not complete:
        return None
    return max(complete, key=lambda trial: (trial.value, -trial.number)).number
