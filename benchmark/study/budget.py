"""The trial budget, shared exactly by any number of workers, and recovery of dead workers' trials.

Which trials count toward ``study.n_trials``:

- COMPLETE and PRUNED trials, and trials that FAILED because training diverged (the
  hyperparameters were evaluated; the study goes on) -- these are *finished*;
- RUNNING and WAITING trials -- *in flight*;
- not trials whose worker died: they are marked FAIL (``failure = "worker_lost"``) and
  re-queued with the same parameters, and the re-queued copy counts instead.

A worker takes a new trial only under an inter-process lock (a lock file in the run directory,
safe on a shared filesystem), after recovering dead trials, so parallel workers never overshoot.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from benchmark.io import file_lock
from benchmark.study import trial_attrs

# Failures that still count as an evaluation of the trial's parameters.
COUNTED_FAILURES = {trial_attrs.DIVERGED, trial_attrs.WORKER_LOST_GAVE_UP}


class Next(Enum):
    """What a worker should do when it cannot take a trial."""

    FINISHED = "finished"
    WAIT = "wait"


@dataclass
class BudgetState:
    finished: int
    in_flight: int
    waiting: int

    @property
    def counted(self) -> int:
        return self.finished + self.in_flight


def budget_state(trials: list[FrozenTrial]) -> BudgetState:
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


class TrialBudget:
    """Hands out trials of one study until exactly ``n_trials`` are finished."""

    def __init__(
        self,
        study: optuna.Study,
        storage: BaseStorage,
        n_trials: int,
        lock_path: Path,
        grace_period: float,
        max_retries: int,
        sampler_factory: Callable[[int], optuna.samplers.BaseSampler] | None = None,
    ):
        self.study = study
        self.sampler_factory = sampler_factory
        self.storage = storage
        self.n_trials = n_trials
        self.lock_path = lock_path
        self.grace_period = grace_period
        self.max_retries = max_retries
        self._study_id = storage.get_study_id_from_name(study.study_name)

    def trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def state(self) -> BudgetState:
        return budget_state(self.study.get_trials(deepcopy=False))

    def next_trial(self) -> optuna.Trial | Next:
        """A trial to run, or what to do instead (wait for others / stop)."""
        with file_lock(self.lock_path):
            self.recover_dead_trials()
            state = self.state()
            if state.finished >= self.n_trials:
                return Next.FINISHED
            if state.waiting == 0 and state.counted >= self.n_trials:
                return Next.WAIT
            if self.sampler_factory is not None:
                # Re-seed from the study's size: a restarted worker must not replay the random
                # draws of an earlier one (same seed) and waste budget on duplicate parameters.
                self.study.sampler = self.sampler_factory(
                    len(self.study.get_trials(deepcopy=False))
                )
            trial = self.study.ask()
            self.beat(trial.number)
            return trial

    def beat(self, number: int) -> None:
        self.storage.set_trial_system_attr(
            self.trial_id(number), trial_attrs.HEARTBEAT, time.time()
        )

    def recover_dead_trials(self) -> list[int]:
        """Mark RUNNING trials without a recent heartbeat as lost and re-queue their parameters.

        Call with the budget lock held. Returns the numbers of the recovered trials.
        """
        recovered = []
        now = time.time()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            started = trial.datetime_start.timestamp() if trial.datetime_start else now
            last_beat = max(trial.system_attrs.get(trial_attrs.HEARTBEAT, 0.0), started)
            if now - last_beat <= self.grace_period:
                continue
            retries = int(trial.user_attrs.get(trial_attrs.RETRIES, 0))
            give_up = retries >= self.max_retries
            self.fail(
                trial.number,
                trial_attrs.WORKER_LOST_GAVE_UP if give_up else trial_attrs.WORKER_LOST,
                f"no heartbeat for {now - last_beat:.0f} s (worker died or node lost)",
            )
            if not give_up:
                self.study.enqueue_trial(
                    trial.params,
                    user_attrs={
                        trial_attrs.RETRIES: retries + 1,
                        trial_attrs.REQUEUED_FROM: trial.number,
                    },
                )
            recovered.append(trial.number)
        return recovered

    def fail(self, number: int, failure: str, reason: str) -> None:
        trial_id = self.trial_id(number)
        self.storage.set_trial_user_attr(trial_id, trial_attrs.FAILURE, failure)
        self.storage.set_trial_user_attr(trial_id, trial_attrs.FAIL_REASON, reason)
        self.storage.set_trial_state_values(trial_id, TrialState.FAIL)

    def requeue(self, trial: optuna.Trial, reason: str) -> None:
        """Give a trial back (this worker is stopping): fail it and queue its parameters again."""
        with file_lock(self.lock_path):
            frozen = self.study.get_trials(deepcopy=False)[trial.number]
            if frozen.state != TrialState.RUNNING:
                return
            self.fail(trial.number, trial_attrs.WORKER_LOST, reason)
            retries = int(frozen.user_attrs.get(trial_attrs.RETRIES, 0))
            self.study.enqueue_trial(
                frozen.params,
                user_attrs={trial_attrs.RETRIES: retries, trial_attrs.REQUEUED_FROM: trial.number},
            )


class Heartbeat:
    """Beats for a running trial from a background thread until the block exits."""

    def __init__(self, budget: TrialBudget, number: int, interval: float):
        self.budget = budget
        self.number = number
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="mlrc-heartbeat")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):  # a finished trial refuses attrs: stop beating
                self.budget.beat(self.number)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
