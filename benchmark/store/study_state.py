"""The state of a stored study, read without changing it: its name, and which of its trials
count toward the budget.

Which trials count toward ``study.n_trials``:

- COMPLETE and PRUNED trials, and trials that FAILED because training diverged, or whose
  parameters were given up after ``study.max_retries`` (the hyperparameters were evaluated) --
  these are *finished*;
- RUNNING and WAITING trials -- *in flight*.

The search (:mod:`benchmark.search.budget`) decides with it; ``mlrc status`` and the Slurm sweep
read it.
"""

from __future__ import annotations

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


def last_beat(trial: FrozenTrial, now: float) -> float:
    """When the worker running ``trial`` last said it was alive (its start at the latest)."""
    started = trial.datetime_start.timestamp() if trial.datetime_start else now
    return max(trial.system_attrs.get(trial_attrs.HEARTBEAT, 0.0), started)
