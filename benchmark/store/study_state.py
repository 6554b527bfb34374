"""The state of a stored study, read without changing it: its name, and which of its trials
count toward the budget.

Which trials count toward ``study.n_trials``:

- COMPLETE and PRUNED trials, and trials that FAILED because training diverged, because a
  fold's validation MAP@R was undefined (NaN), or whose parameters were given up after
  ``study.max_retries`` (the hyperparameters were evaluated) -- these are *finished*;
- RUNNING and WAITING trials -- *in flight*.

A study whose budget is spent without a *usable* trial (one that completed with a real score)
cannot give a result; :func:`no_result_reason` says why, in one line. The search
(:mod:`benchmark.search.budget`) decides with it; ``mlrc status`` and the Slurm sweep read it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from benchmark.config import ProtocolConfig
from benchmark.store import trial_attrs


def study_name(config: ProtocolConfig, loss: str) -> str:
    """``<protocol>.<dataset>.<loss>``: one study per loss of a run."""
    return f"{config.name}.{config.dataset}.{loss}"


# Failures that still count as an evaluation of the trial's parameters.
COUNTED_FAILURES = {
    trial_attrs.DIVERGED,
    trial_attrs.NO_SCORE,
    trial_attrs.WORKER_LOST_GAVE_UP,
    trial_attrs.ERROR_GAVE_UP,
}


@dataclass
class BudgetState:
    """How many trials of a study are finished, in flight, and waiting (queued, not started)."""

    finished: int
    in_flight: int
    waiting: int

    @property
    def counted(self) -> int:
        return self.finished + self.in_flight


def budget_state(trials: list[FrozenTrial]) -> BudgetState:
    """Count ``trials`` toward the budget (see the module's docstring)."""
    finished = in_flight = waiting = 0
    for trial in trials:
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            finished += 1
        elif trial.state == TrialState.FAIL:
            finished += trial.user_attrs.get(trial_attrs.FAILURE) in COUNTED_FAILURES
        elif trial.state == TrialState.RUNNING:
            in_flight += 1
        elif trial.state == TrialState.WAITING:
            in_flight += 1
            waiting += 1
    return BudgetState(finished, in_flight, waiting)


def parameter_sets_asked(trials: list[FrozenTrial]) -> int:
    """How many parameter sets the sampler has drawn: the trials, less those replaced by a
    re-queued copy (which holds their parameters). It seeds the next draw: every draw gets a
    seed of its own, and a crash and its retry leave the sequence as it was without them."""
    replaced = {trial.user_attrs.get(trial_attrs.REQUEUED_FROM) for trial in trials}
    return len(trials) - len(replaced - {None})


def fold_trainings_per_trial(finished: list[FrozenTrial], folds: int) -> tuple[float, float | None]:
    """What a trial left costs in fold trainings, from the finished trials of a pruned study:
    their mean epochs over the mean epochs of a finished fold; and the mean fraction of a full
    trial's epochs that the pruned ones trained. Without recorded epochs: the mean number of
    folds they finished, and no fraction."""
    epochs = [trial_attrs.epochs_trained(t.user_attrs) for t in finished]
    fold_epochs = [
        record.get(trial_attrs.FOLD_EPOCHS)
        for t in finished
        for record in trial_attrs.fold_records(t.user_attrs).values()
    ]
    if any(e is None for e in [*epochs, *fold_epochs]) or not fold_epochs:
        return statistics.fmean(len(trial_attrs.fold_records(t.user_attrs)) for t in finished), None
    fold = statistics.fmean(fold_epochs)
    pruned = [e for e, t in zip(epochs, finished, strict=True) if t.state == TrialState.PRUNED]
    fraction = statistics.fmean(e / (folds * fold) for e in pruned) if pruned else None
    return statistics.fmean(epochs) / fold, fraction


def last_beat(trial: FrozenTrial, now: float) -> float:
    """When the worker running ``trial`` last said it was alive (its start at the latest)."""
    started = trial.datetime_start.timestamp() if trial.datetime_start else now
    return max(trial.system_attrs.get(trial_attrs.HEARTBEAT, 0.0), started)


FAILING_PARAMETER_SETS = 3
"""A worker in which trials of this many different parameter sets raised in a row stops: its
environment, not the parameters, is at fault (the other workers go on). A study with this many
failed parameter sets and no finished trial cannot work as it is."""

# What to change, by the failure that ended most trials.
_FIXES = {
    trial_attrs.DIVERGED: "lower the learning rates or narrow the loss's search space",
    trial_attrs.NO_SCORE: "give every validation class at least 2 images (`mlrc data check` "
    "with the run's protocol shows the folds)",
    trial_attrs.ERROR_GAVE_UP: "fix what that error names",
    trial_attrs.ERROR: "fix what that error names",
    trial_attrs.WORKER_LOST_GAVE_UP: "its workers died on every retry (out of memory?): give "
    "them more memory",
}


def usable(trial: FrozenTrial) -> bool:
    """A trial that completed with a real score (a diverged trial told as
    ``study.diverged_value`` completes too, but is never a result)."""
    return trial.state == TrialState.COMPLETE and (
        trial.user_attrs.get(trial_attrs.FAILURE) != trial_attrs.DIVERGED
    )


def failures(trials: list[FrozenTrial]) -> Counter[str]:
    """Trials that failed because of their parameters or their data, by kind (a trial handed
    back by a stopped or lost worker is not one: its copy runs the same parameters)."""
    return Counter(
        failure
        for trial in trials
        if (failure := trial.user_attrs.get(trial_attrs.FAILURE)) is not None
        and failure != trial_attrs.WORKER_LOST
    )


def no_result_reason(name: str, trials: list[FrozenTrial], n_trials: int) -> str | None:
    """Why the study ``name`` cannot give a result, in one line with the fix, or None: its
    budget is spent and no trial is usable."""
    if budget_state(trials).finished < n_trials or any(usable(t) for t in trials):
        return None
    return f"study {name} spent its budget of {n_trials} trials without a usable one; " + (
        _failures_and_fix(trials) + ", then start a new --run-dir (this study's budget is spent)"
    )


def cannot_work_reason(name: str, trials: list[FrozenTrial], n_trials: int) -> str | None:
    """:func:`no_result_reason`, or, before the budget is spent, why the study cannot work as it
    is: trials of :data:`FAILING_PARAMETER_SETS` parameter sets failed and none finished."""
    reason = no_result_reason(name, trials, n_trials)
    if reason is not None:
        return reason
    failed_sets = {
        tuple(sorted(t.params.items()))
        for t in trials
        if t.user_attrs.get(trial_attrs.FAILURE) not in (None, trial_attrs.WORKER_LOST)
    }
    finished = any(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    if finished or len(failed_sets) < FAILING_PARAMETER_SETS:
        return None
    return f"study {name} cannot work as it is: none of its trials finished; " + (
        _failures_and_fix(trials) + ", then run the same command to resume"
    )


def _failures_and_fix(trials: list[FrozenTrial]) -> str:
    kinds = failures(trials)
    if not kinds:
        return "no trial failed, yet none completed: run `mlrc worker` to finish it"
    counts = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    last = max(
        (t for t in trials if t.user_attrs.get(trial_attrs.FAILURE) in kinds),
        key=lambda t: t.number,
    )
    reason = str(last.user_attrs.get(trial_attrs.FAIL_REASON) or "no reason recorded")
    reason = reason.strip().splitlines()[0]
    fix = _FIXES.get(kinds.most_common(1)[0][0], "fix what that error names")
    said = f"failed trials: {counts}; the last failed with: {reason}"
    return said if fix in reason else f"{said}. To fix it: {fix}"
