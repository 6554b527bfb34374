"""The keys of what a study and its trials record in the Optuna storage, named once.

Trial user attributes are public (``study.trials_dataframe()`` and optuna-dashboard show them);
system attributes are our bookkeeping. Every module reads and writes them through these names,
as Optuna does with its own ``_system_attrs`` keys.
"""

from __future__ import annotations

# -- trial user attributes ------------------------------------------------------------------
PARAMS = "loss_params"
"""The full hyperparameters of the trial (searched and fixed), as the loss is built with them."""
FAILURE = "failure"
"""Why a trial did not complete: one of :data:`DIVERGED`, :data:`NO_SCORE`, :data:`ERROR`,
:data:`ERROR_GAVE_UP`, :data:`WORKER_LOST`, :data:`WORKER_LOST_GAVE_UP` (absent for a completed
trial)."""
FAIL_REASON = "fail_reason"
"""The failure in words (the exception, or what the budget decided)."""
RETRIES = "retries"
"""How often the trial's parameters were re-queued after a lost worker or an error."""
REQUEUED_FROM = "requeued_from"
"""The number of the trial this one re-runs (its parameters, its finished folds)."""
WALL_TIME_S = "wall_time_s"
"""Seconds from the trial's start to its end, in this worker."""
FOLD_PREFIX = "fold_"
"""Prefix of the per-fold records: ``fold_<k>`` -> {FOLD_VAL_MAP_AT_R, ...}."""
FOLD_VAL_MAP_AT_R = "val_map_at_r"
FOLD_BEST_ITERATION = "best_iteration"
FOLD_ITERATIONS = "iterations"
FOLD_EPOCHS = "epochs"
FOLD_WALL_TIME_S = "wall_time_s"
PRUNED_FOLD = "pruned_fold"
"""The fold a pruner stopped in the middle of its training: {FOLD_INDEX, FOLD_VAL_MAP_AT_R (its
best so far), FOLD_BEST_ITERATION, FOLD_ITERATIONS, FOLD_EPOCHS, FOLD_WALL_TIME_S}; its finished
folds are ``fold_<k>`` records as a completed trial's."""
FOLD_INDEX = "fold"

# Values of FAILURE.
DIVERGED = "diverged"
NO_SCORE = "no_score"
"""A fold's validation MAP@R was undefined (NaN: no validation query had another image of its
class): the trial failed and counts, so a study of such folds ends instead of retrying."""
ERROR = "error"
"""The trial raised; its parameters were queued again (up to ``study.max_retries`` times)."""
ERROR_GAVE_UP = "error_gave_up"
"""The trial's parameters raised on every retry: counted as evaluated, never the best."""
WORKER_LOST = "worker_lost"
"""The worker died or was stopped; its parameters were queued again."""
WORKER_LOST_GAVE_UP = "worker_lost_gave_up"

# -- trial system attributes ----------------------------------------------------------------
HEARTBEAT = "heartbeat"
"""The last time (epoch seconds) the worker running the trial said it was alive."""
QUEUED_PARAMS = "fixed_params"
"""Optuna's own key for the parameters of a trial queued with ``study.enqueue_trial`` (a
re-queued copy holds them before it draws them)."""
WORKER = "worker"
"""Who runs the trial: host, boot id, PID namespace, PID and its start time
(:func:`benchmark.store.trial_liveness.this_worker`), so that a worker on the same machine can
tell when its process is gone."""

# -- study metric name -----------------------------------------------------------------------
OBJECTIVE_NAME = "mean validation MAP@R"
"""The name of every study's objective (``study.metric_names``), as optuna-dashboard shows it:
the mean over the folds of each fold's best validation MAP@R."""

# -- study user attributes ------------------------------------------------------------------
SEARCH_SPACE = "search_space"
SEARCH_SPACE_FILE = "search_space_file"
SAMPLER = "sampler"
N_TRIALS = "n_trials"


def fold_key(fold: int) -> str:
    """The user attribute holding fold ``fold``'s record: ``fold_<fold>``."""
    return f"{FOLD_PREFIX}{fold}"


def fold_records(user_attrs: dict) -> dict[int, dict]:
    """The per-fold records among a trial's user attributes, by fold index."""
    records = {}
    for key, value in user_attrs.items():
        suffix = key.removeprefix(FOLD_PREFIX)
        if key.startswith(FOLD_PREFIX) and suffix.isdigit() and isinstance(value, dict):
            records[int(suffix)] = value
    return dict(sorted(records.items()))


def epochs_trained(user_attrs: dict) -> int | None:
    """Epochs a trial trained over its finished folds and the fold a pruner stopped; None when
    a record lacks them (trials recorded before epochs were)."""
    records = list(fold_records(user_attrs).values())
    if PRUNED_FOLD in user_attrs:
        records.append(user_attrs[PRUNED_FOLD])
    epochs = [record.get(FOLD_EPOCHS) for record in records]
    known = [int(value) for value in epochs if value is not None]
    return sum(known) if len(known) == len(epochs) else None
