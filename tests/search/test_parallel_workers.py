"""Parallel workers share the budget exactly; a SIGKILLed worker's trial is recovered."""

from __future__ import annotations

import json
import signal
import time

from optuna.trial import TrialState
from run_helpers import load_study, mlrc_process, tiny_config, trials_by_state

from benchmark.search.context import StudyContext
from benchmark.search.worker import run_worker
from benchmark.store.run_directory import RunDirectory, params_key


def _initialised_run(tmp_path, overrides) -> RunDirectory:
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(overrides), [], None)
    return run_dir


def test_budget_is_exact_with_two_parallel_workers(tmp_path, tiny_overrides):
    run_dir = _initialised_run(tmp_path, [*tiny_overrides, "study.n_trials=4"])
    args = ["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive", "--no-progress"]
    workers = [mlrc_process(args) for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    study = load_study(run_dir.path, "contrastive")
    states = trials_by_state(study)
    assert len(states[TrialState.COMPLETE]) == 4
    assert len(study.trials) == 4, "a worker overshot the budget"
    ran = [
        json.loads(o.strip().splitlines()[-1].split("ran trials ")[1].split(", diverged")[0])
        for o in outputs
    ]
    assert sorted(ran[0] + ran[1]) == [0, 1, 2, 3]
    params = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(params)) == 4, "two workers evaluated the same parameters"


def test_sigkilled_worker_leaves_a_study_that_completes_without_loss_or_duplicates(
    tmp_path, tiny_overrides
):
    overrides = [
        *tiny_overrides,
        "study.n_trials=3",
        "study.heartbeat_interval=1",
        "study.grace_period=3",
        "training.max_epochs=4",
        "training.patience_epochs=4",
    ]
    run_dir = _initialised_run(tmp_path, overrides)
    trials_dir = run_dir.path / "trials" / "contrastive"
    worker = mlrc_process(["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive"])
    deadline = time.time() + 120
    finished_fold = None
    while finished_fold is None and time.time() < deadline and worker.poll() is None:
        found = sorted(trials_dir.glob("*/fold_0/result.json"))
        # kill once a trial has finished fold 0 but not its last fold: mid-trial
        mid_trial = [p for p in found if not (p.parent.parent / "fold_3" / "result.json").exists()]
        finished_fold = mid_trial[0] if mid_trial else None
        time.sleep(0.02)
    assert finished_fold is not None, "the worker never reached the middle of a trial"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    fold_mtime = finished_fold.stat().st_mtime_ns

    run_worker(StudyContext.attach(run_dir, progress=False), "contrastive")

    study = load_study(run_dir.path, "contrastive")
    states = trials_by_state(study)
    complete = states[TrialState.COMPLETE]
    failed = states.get(TrialState.FAIL, [])
    assert len(complete) == 3, "the budget was not completed"
    assert len(failed) == 1 and failed[0].user_attrs["failure"] == "worker_lost"
    assert set(states) == {TrialState.COMPLETE, TrialState.FAIL}
    lost = failed[0]
    requeued = [t for t in complete if t.user_attrs.get("requeued_from") == lost.number]
    assert len(requeued) == 1, "the lost trial was not re-run exactly once"
    assert requeued[0].params == lost.params
    key = params_key(requeued[0].user_attrs["loss_params"])
    assert finished_fold == trials_dir / key / "fold_0" / "result.json"
    assert finished_fold.stat().st_mtime_ns == fold_mtime, "a finished fold was retrained"
    assert len({params_key(t.params) for t in complete}) == 3, "a completed trial was duplicated"


def test_sigterm_hands_the_running_trial_back_at_once(tmp_path, tiny_overrides):
    overrides = [
        *tiny_overrides,
        "study.n_trials=2",
        "training.max_epochs=4",
        "training.patience_epochs=4",
    ]
    run_dir = _initialised_run(tmp_path, overrides)
    worker = mlrc_process(["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive"])
    trials_dir = run_dir.path / "trials" / "contrastive"
    deadline = time.time() + 120
    while not list(trials_dir.glob("*/fold_0/result.json")) and time.time() < deadline:
        time.sleep(0.02)
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=60)[0]
    assert worker.returncode == 130, output
    assert "run the same command again to resume" in output

    states = trials_by_state(load_study(run_dir.path, "contrastive"))
    handed_back = states[TrialState.FAIL]
    assert (
        len(handed_back) == 1 and "stopped by a signal" in handed_back[0].user_attrs["fail_reason"]
    )
    assert len(states[TrialState.WAITING]) == 1  # queued again at once: no grace period to wait

    run_worker(StudyContext.attach(run_dir, progress=False), "contrastive")
    states = trials_by_state(load_study(run_dir.path, "contrastive"))
    assert len(states[TrialState.COMPLETE]) == 2 and TrialState.WAITING not in states
