"""A worker survives what a cluster throws at it: a trial that raises is recorded and retried
while the worker goes on, and the study ends where an undisturbed one does; a worker with
nothing to start leaves. The objective is a fast stand-in here (the study, the budget, the
sampler and the storage are the real ones)."""

from __future__ import annotations

import logging
import signal
import time

import pytest
from optuna.trial import TrialState
from run_helpers import load_study, mlrc_process, tiny_config, trials_by_state

from benchmark.errors import StudyFailed
from benchmark.search.context import StudyContext
from benchmark.search.worker import run_worker
from benchmark.stages.retrain import run_retrain
from benchmark.store.run_directory import RunDirectory

LOSS = "contrastive"


def _stand_in(params: dict) -> float:
    """A deterministic objective of the parameters (no training)."""
    return sum(value for value in params.values() if isinstance(value, float)) % 1.0


def _context(tmp_path, name: str, overrides: list[str], raise_budget: bool = False) -> StudyContext:
    run_dir = RunDirectory(tmp_path / name)
    config = tiny_config(overrides)
    run_dir.initialise(config, [], None, raise_budget)
    return StudyContext(config, run_dir, None, progress=False)


def _completed(context: StudyContext) -> list[tuple[tuple, float]]:
    complete = trials_by_state(load_study(context.run_dir.path, LOSS))[TrialState.COMPLETE]
    return sorted((tuple(sorted(t.params.items())), t.value) for t in complete)


@pytest.fixture
def overrides(tiny_overrides) -> list[str]:
    return [*tiny_overrides, "study.n_trials=4", "study.sampler.n_startup_trials=2"]


def test_a_trial_that_raises_is_recorded_and_retried_and_the_study_ends_as_an_undisturbed_one(
    tmp_path, monkeypatch, overrides, caplog
):
    raised = []

    def flaky(context, loss, params, trial):
        if trial.number == 1 and not raised:  # one trial crashes once (a planted exception)
            raised.append(trial.number)
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return _stand_in(params)

    monkeypatch.setattr("benchmark.search.worker.evaluate_params", flaky)
    disturbed = _context(tmp_path, "disturbed", overrides)
    with caplog.at_level(logging.WARNING):
        summary = run_worker(disturbed, LOSS)
    assert raised == [1] and summary.trials_errored == [1]
    assert any("illegal memory access" in r.getMessage() for r in caplog.records)

    states = trials_by_state(load_study(disturbed.run_dir.path, LOSS))
    (failed,) = states[TrialState.FAIL]
    assert failed.user_attrs["failure"] == "error"
    assert failed.user_attrs["fail_reason"] == (
        "RuntimeError: CUDA error: an illegal memory access was encountered"
    )
    (retry,) = [t for t in states[TrialState.COMPLETE] if t.user_attrs.get("requeued_from") == 1]
    assert retry.params == failed.params and retry.user_attrs["retries"] == 1

    monkeypatch.setattr(
        "benchmark.search.worker.evaluate_params",
        lambda context, loss, params, trial: _stand_in(params),
    )
    undisturbed = _context(tmp_path, "undisturbed", overrides)
    run_worker(undisturbed, LOSS)
    assert _completed(disturbed) == _completed(undisturbed), "the crash changed the study"
    assert len(_completed(disturbed)) == 4


def test_a_worker_whose_trials_keep_raising_stops_with_one_line(tmp_path, monkeypatch, overrides):
    def broken(context, loss, params, trial):
        raise OSError("libcuda.so: cannot open shared object file")

    monkeypatch.setattr("benchmark.search.worker.evaluate_params", broken)
    context = _context(tmp_path, "run", [*overrides, "study.max_retries=0"])
    with pytest.raises(StudyFailed, match="3 different parameter sets raised in a row") as error:
        run_worker(context, LOSS)
    assert "libcuda.so" in str(error.value) and len(str(error.value).splitlines()) == 1
    failures = [t.user_attrs["failure"] for t in load_study(context.run_dir.path, LOSS).trials]
    assert failures == ["error_gave_up"] * 3


def test_a_retrain_waits_for_its_study_to_be_complete(tmp_path, monkeypatch, overrides):
    monkeypatch.setattr(
        "benchmark.search.worker.evaluate_params",
        lambda context, loss, params, trial: _stand_in(params),
    )
    context = _context(tmp_path, "run", overrides)
    run_worker(context, LOSS)
    longer = _context(tmp_path, "run", [*overrides, "study.n_trials=6"], raise_budget=True)
    with pytest.raises(StudyFailed, match="has finished 4 of its 6 trials"):
        run_retrain(longer, LOSS)


def test_a_retrain_told_to_stop_by_the_time_limit_signal_stops_cleanly(tmp_path, tiny_overrides):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), [], None)
    retrain = mlrc_process(["retrain", "--run-dir", str(run_dir.path), "--loss", "untrained"])
    deadline = time.time() + 120
    while not list(run_dir.path.glob("untrained/repeat_0/fold_0*")) and time.time() < deadline:
        assert retrain.poll() is None, retrain.communicate()[0]
        time.sleep(0.05)
    retrain.send_signal(signal.SIGUSR1)  # what Slurm's --signal=B:USR1 passes on
    output = retrain.communicate(timeout=60)[0]
    assert retrain.returncode == 130, output  # not killed by the signal (-10)
    assert "interrupted: finished work is saved" in output
