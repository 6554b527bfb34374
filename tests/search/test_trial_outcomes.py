"""Nothing loops, nothing waits silently: a trial without a validation score fails and counts
(the study ends, one line per trial); a disk that fails hands the trial back uncounted and stops
the worker with one line; a silent trial is waited for with a line saying until when; a trial
whose worker on this machine is gone is recovered at once."""

from __future__ import annotations

import errno
import logging
import re
import subprocess
import time
from datetime import datetime

import optuna
import pytest
from optuna.trial import TrialState, create_trial
from run_helpers import folder_config, load_study, tiny_config, write_folder_dataset

from benchmark.errors import FilesystemError
from benchmark.losses import get_loss_spec
from benchmark.losses.search_space import load_search_space
from benchmark.search.budget import TrialBudget
from benchmark.search.context import StudyContext
from benchmark.search.worker import run_worker
from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory
from benchmark.store.study_state import budget_state
from benchmark.store.trial_liveness import this_worker

LOSS = "contrastive"
RUNAWAY_FOLDS = 40


class _Runaway(BaseException):
    """Stops a worker that would loop for ever (the code before this test's fix did)."""


def _context(tmp_path, overrides: list[str], config=None) -> StudyContext:
    """A run made without `mlrc run`'s check of the folds (a worker joins any run)."""
    run_dir = RunDirectory(tmp_path / "run")
    config = config or tiny_config(overrides)
    run_dir.initialise(config, [], None)
    return StudyContext(config, run_dir, None, progress=False)


def _guard(context: StudyContext) -> list[int]:
    """Count the folds the worker trains; a worker that never ends is stopped."""
    cv = context.cross_validation
    real, trained = cv.train_fold, []

    def counted(*args, **kwargs):
        trained.append(1)
        if len(trained) > RUNAWAY_FOLDS:
            raise _Runaway(f"{len(trained)} folds trained for a budget of 3 trials")
        return real(*args, **kwargs)

    cv.train_fold = counted
    return trained


def test_trials_without_a_validation_score_fail_count_and_the_study_ends(
    tmp_path, tiny_overrides, caplog, recwarn
):
    # One image per class: no validation image has another of its class, MAP@R is NaN.
    singles = write_folder_dataset(tmp_path / "singles", classes=48, images_per_class=1)
    context = _context(tmp_path, [], folder_config(singles, tiny_overrides))
    trained = _guard(context)
    with caplog.at_level(logging.WARNING, logger="benchmark"):
        summary = run_worker(context, LOSS)

    trials = load_study(context.run_dir.path, LOSS).trials
    assert [t.state for t in trials] == [TrialState.FAIL] * 3
    assert {t.user_attrs["failure"] for t in trials} == {"no_score"}
    assert "validation MAP@R is nan" in trials[0].user_attrs["fail_reason"]
    assert budget_state(trials).finished == 3 and summary.trials_failed == [0, 1, 2]
    assert len(trained) == 3, "a trial went on training folds after one had no score"
    assert summary.no_result is not None and "3 no_score" in summary.no_result
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 3, [r.getMessage() for r in warnings]  # one line per trial
    assert not [w for w in recwarn if "not acceptable" in str(w.message)]


def test_a_full_disk_hands_the_trial_back_uncounted_and_stops_the_worker(
    tmp_path, tiny_overrides, monkeypatch
):
    context = _context(tmp_path, tiny_overrides)
    full = context.run_dir.path / "trials" / LOSS / "x" / "fold_1" / "last.pt"

    def disk_full(context, loss, params, trial):
        raise OSError(errno.ENOSPC, "No space left on device", str(full))

    monkeypatch.setattr("benchmark.search.worker.evaluate_params", disk_full)
    with pytest.raises(FilesystemError) as stopped:
        run_worker(context, LOSS)
    line = str(stopped.value)
    assert len(line.splitlines()) == 1
    assert line.startswith(f"cannot write {full}: No space left on device; free space")
    assert "trial 0 was handed back, not counted" in line
    lost, copy = load_study(context.run_dir.path, LOSS).trials
    assert (lost.state, lost.user_attrs["failure"]) == (TrialState.FAIL, "worker_lost")
    assert (copy.state, copy.user_attrs["retries"]) == (TrialState.WAITING, 0)
    assert copy.system_attrs["fixed_params"] == lost.params  # queued with the same parameters

    # Space is freed: the same command resumes with that trial, and no parameter set failed.
    monkeypatch.setattr(
        "benchmark.search.worker.evaluate_params",
        lambda context, loss, params, trial: sum(params.values()) % 1.0,
    )
    assert run_worker(context, LOSS).no_result is None
    trials = load_study(context.run_dir.path, LOSS).trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 3 and complete[0].params == lost.params
    assert {t.user_attrs.get("failure") for t in trials} == {None, "worker_lost"}


def _space_params() -> tuple[dict, dict]:
    space = load_search_space(get_loss_spec(LOSS), "synthetic")
    return {name: d.low for name, d in space.distributions().items()}, space.distributions()


def _add_running_trial(context: StudyContext, beat_ago: float, worker: dict) -> None:
    params, distributions = _space_params()
    storage = context.storage
    study = optuna.create_study(
        study_name=f"demo.synthetic.{LOSS}", storage=storage, direction="maximize"
    )
    trial = create_trial(
        state=TrialState.RUNNING,
        params=params,
        distributions=distributions,
        system_attrs={trial_attrs.HEARTBEAT: time.time() - beat_ago, trial_attrs.WORKER: worker},
    )
    trial.datetime_start = datetime.fromtimestamp(time.time() - beat_ago)
    study.add_trial(trial)


def test_a_worker_says_which_silent_trial_it_waits_for_and_until_when(
    tmp_path, tiny_overrides, monkeypatch, caplog
):
    overrides = [*tiny_overrides, "study.n_trials=1", "study.heartbeat_interval=1"]
    context = _context(tmp_path, [*overrides, "study.grace_period=12"])
    _add_running_trial(context, beat_ago=8, worker={**this_worker(), "host": "another-node"})
    monkeypatch.setattr(
        "benchmark.search.worker.evaluate_params", lambda context, loss, params, trial: 0.5
    )
    with caplog.at_level(logging.WARNING, logger="benchmark"):
        run_worker(context, LOSS)
    waits = [r.getMessage() for r in caplog.records if "waiting for trial 0" in r.getMessage()]
    assert len(waits) == 1, waits  # said once (and again each minute of a longer wait)
    assert re.search(r"silent for ([89]|10) s \(its worker stopped sending heartbeats\)", waits[0])
    lost, copy = load_study(context.run_dir.path, LOSS).trials
    beat = lost.system_attrs["heartbeat"]
    recovered_at = datetime.fromtimestamp(beat + 12).strftime("%H:%M:%S")
    assert f"it is recovered at {recovered_at}, when study.grace_period (12 s)" in waits[0]
    assert "no heartbeat for" in lost.user_attrs["fail_reason"] and copy.value == 0.5


def test_a_trial_whose_worker_on_this_machine_is_gone_is_recovered_at_once(
    tmp_path, tiny_overrides, monkeypatch, caplog
):
    context = _context(tmp_path, [*tiny_overrides, "study.n_trials=1"])  # grace period 300 s
    process = subprocess.Popen(["true"])
    process.wait()
    _add_running_trial(context, beat_ago=1, worker={**this_worker(), "pid": process.pid})
    monkeypatch.setattr(
        "benchmark.search.worker.evaluate_params", lambda context, loss, params, trial: 0.5
    )
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="benchmark"):
        run_worker(context, LOSS)
    assert time.monotonic() - start < 60, "it waited for the grace period"
    lost, copy = load_study(context.run_dir.path, LOSS).trials
    assert lost.user_attrs["fail_reason"] == (
        f"its worker (pid {process.pid} on {this_worker()['host']}) is gone"
    )
    assert copy.value == 0.5 and copy.user_attrs["requeued_from"] == 0


def test_a_worker_alive_elsewhere_is_not_recovered_before_the_grace_period(tmp_path):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    budget = TrialBudget(study, storage, 2, tmp_path / "lock", grace_period=300, max_retries=1)
    mine = budget.next_trial()
    assert storage.get_trial_system_attrs(mine._trial_id)["worker"] == this_worker()
    elsewhere = budget.next_trial()
    dead = subprocess.Popen(["true"])
    dead.wait()
    storage.set_trial_system_attr(
        elsewhere._trial_id, "worker", {**this_worker(), "pid": dead.pid, "host": "node-b"}
    )
    assert budget.recover_dead_trials() == []


def test_a_queued_copy_lost_before_it_drew_its_parameters_is_queued_again(tmp_path):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    budget = TrialBudget(study, storage, 1, tmp_path / "lock", grace_period=0.05, max_retries=5)
    budget.param_names = {"x"}
    first = budget.next_trial()
    first.suggest_float("x", 0, 1)
    time.sleep(0.1)  # its worker died: the next worker queues a copy, which it then asks for
    copy = budget.next_trial()
    assert copy.user_attrs["requeued_from"] == first.number
    time.sleep(0.1)  # that worker died too, before the copy drew x
    again = budget.next_trial()
    assert again.user_attrs["requeued_from"] == copy.number, "the parameters were never re-run"
    assert again.suggest_float("x", 0, 1) == first.params["x"]
