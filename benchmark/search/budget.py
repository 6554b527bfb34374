"""The trial budget, shared exactly by any number of workers, and recovery of dead workers' trials.

Which trials count toward ``study.n_trials``:

- COMPLETE and PRUNED trials, and trials that FAILED because training diverged (the
  hyperparameters were evaluated; the study goes on) -- these are *finished*;
- RUNNING and WAITING trials -- *in flight*;
- not trials whose worker died or that raised: they are marked FAIL (``failure =
  "worker_lost"`` or ``"error"``) and re-queued with the same parameters, and the re-queued copy
  counts instead (parameters that keep raising are given up after ``max_retries`` and counted).

A trial's worker is dead once it has sent no heartbeat for ``grace_period`` seconds, or at once
when it ran on this machine and its process is provably gone
(:mod:`benchmark.store.trial_liveness`): a rerun after a killed ``mlrc run`` does not wait.

A worker takes a new trial only under an inter-process lock (a lock file in the run directory,
safe on a shared filesystem), after recovering dead trials, so parallel workers never overshoot.
A worker that can start no trial waits until every trial in flight has beaten again (their
workers are alive: it leaves, :data:`Next.IDLE`, so an idle array task frees its GPU), or until
a silent one is recovered after the grace period, which it then runs (:data:`Next.WAIT`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection
from enum import Enum
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from benchmark.io import file_lock
from benchmark.store import trial_attrs
from benchmark.store.study_state import (
    BudgetState,
    budget_state,
    last_beat,
    parameter_sets_asked,
)
from benchmark.store.trial_liveness import this_worker, worker_description, worker_is_gone

_GAVE_UP = {
    trial_attrs.WORKER_LOST: trial_attrs.WORKER_LOST_GAVE_UP,
    trial_attrs.ERROR: trial_attrs.ERROR_GAVE_UP,
}


class Next(Enum):
    """What a worker should do when it cannot take a trial."""

    FINISHED = "finished"
    """The budget is met."""
    WAIT = "wait"
    """A trial in flight has not beaten since this worker ran out of trials to start: wait to
    hear from it, or for the grace period that recovers it."""
    IDLE = "idle"
    """Live workers hold every trial left (each beat since): nothing to do here (a trial they
    hand back later is run by a worker still running, or by the next submit)."""


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
        param_names: Collection[str] | None = None,
    ):
        self.study = study
        self.sampler_factory = sampler_factory
        self.storage = storage
        self.n_trials = n_trials
        self.lock_path = lock_path
        self.grace_period = grace_period
        self.max_retries = max_retries
        self.param_names = set(param_names) if param_names is not None else None
        """The searched parameters: a trial lost before it drew them all has nothing to re-run."""
        self._study_id = storage.get_study_id_from_name(study.study_name)
        self._idle_since: float | None = None
        """When this worker last found no trial to start (None while it runs trials)."""
        self.silent: list[FrozenTrial] = []
        """The running trials this worker waits to hear from (when it last got :data:`Next.WAIT`)."""

    def trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def state(self) -> BudgetState:
        return budget_state(self.study.get_trials(deepcopy=False))

    def next_trial(self) -> optuna.Trial | Next:
        """A trial to run, or what to do instead (stop, wait, or leave)."""
        with file_lock(self.lock_path):
            self.recover_dead_trials()
            trials = self.study.get_trials(deepcopy=False)
            state = budget_state(trials)
            if state.finished >= self.n_trials:
                return Next.FINISHED
            if state.waiting == 0 and state.counted >= self.n_trials:
                self.silent = self._silent(trials)
                return Next.WAIT if self.silent else Next.IDLE
            self._idle_since = None
            self.silent = []
            if self.sampler_factory is not None:
                # Re-seed from the parameter sets drawn so far: a restarted worker must not
                # replay the random draws of an earlier one (same seed) and waste budget on
                # duplicate parameters.
                self.study.sampler = self.sampler_factory(parameter_sets_asked(trials))
            trial = self.study.ask()
            self.storage.set_trial_system_attr(
                self.trial_id(trial.number), trial_attrs.WORKER, this_worker()
            )
            self.beat(trial.number)
            return trial

    def _silent(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        """Running trials not heard from since this worker ran out of trials to start: until
        each has beaten again (its worker is alive) the worker stays, as it may have to run
        one of them once recovered."""
        now = time.time()
        if self._idle_since is None:
            self._idle_since = now
        return [
            trial
            for trial in trials
            if trial.state == TrialState.RUNNING and last_beat(trial, now) < self._idle_since
        ]

    def beat(self, number: int) -> None:
        self.storage.set_trial_system_attr(
            self.trial_id(number), trial_attrs.HEARTBEAT, time.time()
        )

    def recover_dead_trials(self) -> list[int]:
        """Mark RUNNING trials without a recent heartbeat, or whose worker on this machine is
        gone, as lost and re-queue their parameters.

        Call with the budget lock held. Returns the numbers of the recovered trials.
        """
        recovered = []
        now = time.time()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            silent = now - last_beat(trial, now)
            if silent > self.grace_period:
                reason = f"no heartbeat for {silent:.0f} s (worker died or node lost)"
            elif worker_is_gone(trial):
                reason = f"its worker ({worker_description(trial)}) is gone"
            else:
                continue
            self._replace(trial, trial_attrs.WORKER_LOST, reason, count_retry=True)
            recovered.append(trial.number)
        return recovered

    def fail(self, number: int, failure: str, reason: str) -> None:
        trial_id = self.trial_id(number)
        self.storage.set_trial_user_attr(trial_id, trial_attrs.FAILURE, failure)
        self.storage.set_trial_user_attr(trial_id, trial_attrs.FAIL_REASON, reason)
        self.storage.set_trial_state_values(trial_id, TrialState.FAIL)

    def requeue(
        self,
        trial: optuna.Trial,
        reason: str,
        failure: str = trial_attrs.WORKER_LOST,
        count_retry: bool = False,
    ) -> bool:
        """Give a running trial back: fail it and queue its parameters again.

        A worker stopping (a signal) does not count as a retry; a trial that raised
        (``failure=ERROR, count_retry=True``) does, and is given up and counted once it has
        been retried ``max_retries`` times. Returns whether the parameters were queued again
        (False also when the trial was no longer running: another worker took it over).
        """
        with file_lock(self.lock_path):
            frozen = self.storage.get_trial(self.trial_id(trial.number))
            if frozen.state != TrialState.RUNNING:
                return False
            return self._replace(frozen, failure, reason, count_retry)

    def _replace(self, trial: FrozenTrial, failure: str, reason: str, count_retry: bool) -> bool:
        """Fail ``trial`` and queue its parameters as a new trial, unless given up or never
        drawn in full (then the trial keeps its draw: the sampler moves on to a new seed).

        The copy is queued before the trial is failed, and never twice: a worker killed between
        the two steps leaves a trial that the next recovery fails without queueing it again.
        """
        retries = int(trial.user_attrs.get(trial_attrs.RETRIES, 0))
        give_up = count_retry and retries >= self.max_retries
        # A queued copy knows all its parameters before it draws them: lost at any moment, its
        # parameters are queued again (else they would never be evaluated).
        params = {**trial.system_attrs.get(trial_attrs.QUEUED_PARAMS, {}), **trial.params}
        drawn = self.param_names is None or self.param_names <= set(params)
        if not drawn:
            reason += "; its parameters were not all drawn yet, so there is nothing to re-run"
        queued = drawn and not give_up
        if queued and not self._copied(trial.number):
            self.study.enqueue_trial(
                params,
                user_attrs={
                    trial_attrs.RETRIES: retries + count_retry,
                    trial_attrs.REQUEUED_FROM: trial.number,
                },
            )
        self.fail(trial.number, _GAVE_UP[failure] if give_up else failure, reason)
        return queued

    def _copied(self, number: int) -> bool:
        return any(
            trial.user_attrs.get(trial_attrs.REQUEUED_FROM) == number
            for trial in self.study.get_trials(deepcopy=False)
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
