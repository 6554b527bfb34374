"""The trial budget: which trials count, when a worker waits or stops, and dead-trial recovery."""

from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from benchmark.search.budget import Next, TrialBudget
from benchmark.store.study_state import budget_state, parameter_sets_asked


def _budget(tmp_path, n_trials: int, grace_period: float = 60, max_retries: int = 1) -> TrialBudget:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    return TrialBudget(
        study, storage, n_trials, tmp_path / "budget.lock", grace_period, max_retries
    )


def _trial(state: TrialState, failure: str | None = None) -> optuna.trial.FrozenTrial:
    attrs = {"failure": failure} if failure else {}
    value = 0.5 if state == TrialState.COMPLETE else None
    return create_trial(state=state, value=value, user_attrs=attrs)


def test_finished_trials_are_complete_pruned_and_counted_failures_only():
    trials = [
        _trial(TrialState.COMPLETE),
        _trial(TrialState.PRUNED),
        _trial(TrialState.FAIL, "diverged"),
        _trial(TrialState.FAIL, "worker_lost_gave_up"),
        _trial(TrialState.FAIL, "worker_lost"),  # re-queued: its copy counts instead
        _trial(TrialState.FAIL, "error"),  # re-queued too
        _trial(TrialState.FAIL, "error_gave_up"),  # raised on every retry: counted
        _trial(TrialState.RUNNING),
        _trial(TrialState.WAITING),
    ]
    state = budget_state(trials)
    assert (state.finished, state.in_flight, state.waiting) == (5, 2, 1)
    assert state.counted == 7
    copy = create_trial(state=TrialState.WAITING, user_attrs={"requeued_from": 4})
    assert parameter_sets_asked(trials) == 9
    assert parameter_sets_asked([*trials, copy]) == 9, "a copy takes its original's place"


def test_a_trial_lost_before_drawing_its_parameters_is_not_queued_again(tmp_path):
    budget = _budget(tmp_path, n_trials=2, grace_period=0.05)
    budget.param_names = {"x", "y"}
    budget.next_trial().suggest_float("x", 0, 1)  # killed before it drew y
    time.sleep(0.1)
    fresh = budget.next_trial()
    assert "requeued_from" not in fresh.user_attrs, "a copy would draw y with a reused seed"
    (lost,) = [t for t in budget.study.trials if t.state == TrialState.FAIL]
    assert "not all drawn" in lost.user_attrs["fail_reason"]
    assert parameter_sets_asked(budget.study.trials) == 2  # the lost draw keeps its seed


def test_a_worker_with_nothing_to_start_leaves_once_the_holders_of_the_last_trials_beat(tmp_path):
    budget = _budget(tmp_path, n_trials=2)
    first, second = budget.next_trial(), budget.next_trial()
    assert [first.number, second.number] == [0, 1]
    assert budget.next_trial() is Next.WAIT, "a third trial would overshoot the budget"
    time.sleep(0.01)
    budget.beat(first.number)
    assert budget.next_trial() is Next.WAIT, "trial 1 has not been heard from since"
    budget.beat(second.number)
    assert budget.next_trial() is Next.IDLE  # both workers are alive: nothing to do here
    budget.study.tell(first, 0.1)
    budget.study.tell(second, 0.2)
    assert budget.next_trial() is Next.FINISHED


def test_a_worker_stays_for_a_trial_that_stopped_beating_and_then_runs_it(tmp_path):
    budget = _budget(tmp_path, n_trials=1, grace_period=0.5)
    budget.next_trial().suggest_float("x", 0, 1)  # its worker dies: no more heartbeats
    other = TrialBudget(budget.study, budget.storage, 1, tmp_path / "budget.lock", 0.5, 1)
    assert other.next_trial() is Next.WAIT
    time.sleep(0.3)
    assert other.next_trial() is Next.WAIT, "the lost trial would never be run"
    time.sleep(0.3)
    copy = other.next_trial()
    assert copy.number == 1 and copy.user_attrs["requeued_from"] == 0


def test_a_trial_that_raised_is_failed_with_its_reason_retried_then_given_up_and_counted(
    tmp_path,
):
    budget = _budget(tmp_path, n_trials=1, max_retries=1)
    first = budget.next_trial()
    first.suggest_float("x", 0, 1)
    assert budget.requeue(first, "RuntimeError: boom", failure="error", count_retry=True)
    retry = budget.next_trial()
    assert retry.user_attrs == {"retries": 1, "requeued_from": 0}
    assert retry.suggest_float("x", 0, 1) == first.params["x"]
    assert not budget.requeue(retry, "RuntimeError: boom again", failure="error", count_retry=True)
    failed = budget.study.trials
    assert [t.user_attrs["failure"] for t in failed] == ["error", "error_gave_up"]
    assert [t.user_attrs["fail_reason"] for t in failed] == [
        "RuntimeError: boom",
        "RuntimeError: boom again",
    ]
    assert budget.next_trial() is Next.FINISHED  # given up: counted, the study can finish


def test_requeue_hands_a_running_trial_back_at_once(tmp_path):
    budget = _budget(tmp_path, n_trials=1)
    trial = budget.next_trial()
    trial.suggest_float("x", 0, 1)
    budget.requeue(trial, "preempted")
    states = [t.state for t in budget.study.trials]
    assert states == [TrialState.FAIL, TrialState.WAITING]
    assert budget.study.trials[0].user_attrs["fail_reason"] == "preempted"


@pytest.mark.parametrize("n_trials", [1, 3])
def test_heartbeats_are_recorded_on_the_trial(tmp_path, n_trials):
    budget = _budget(tmp_path, n_trials=n_trials)
    trial = budget.next_trial()
    before = budget.study.trials[0].system_attrs["heartbeat"]
    time.sleep(0.01)
    budget.beat(trial.number)
    assert budget.study.trials[0].system_attrs["heartbeat"] > before
