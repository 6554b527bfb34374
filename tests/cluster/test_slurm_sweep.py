"""Sweeps on a real (local) Slurm: they finish with the local run's numbers, survive a requeue,
and can be watched and cancelled. Start the cluster with tests/services/start_slurm.sh."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from slurm_helpers import final_states, logs, set_args, wait_for, wait_for_jobs, write_profile

from benchmark.cli import main
from benchmark.cluster import Ledger
from benchmark.config import load_protocol
from benchmark.store.run_directory import params_key
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

pytestmark = pytest.mark.slurm

LOSSES = ["contrastive", "mfcwms"]
KEYS = ["loss", "repeat", "mode", "dim", "metric"]


def _trials(run_dir, loss: str) -> list[optuna.trial.FrozenTrial]:
    config = load_protocol("demo", "synthetic")
    storage = open_storage(None, run_dir / "optuna.journal")
    return optuna.load_study(study_name=study_name(config, loss), storage=storage).get_trials()


def _by_state(trials) -> dict[TrialState, list]:
    groups: dict[TrialState, list] = {}
    for trial in trials:
        groups.setdefault(trial.state, []).append(trial)
    return groups


def test_a_slurm_sweep_finishes_with_the_numbers_of_the_same_local_run(
    tmp_path, slurm_cluster, tiny_overrides, capsys
):
    # n_trials <= n_startup_trials: every trial's parameters depend on its number only, so two
    # array workers evaluate what one local process does.
    overrides = [
        *tiny_overrides,
        "study.n_trials=2",
        "study.sampler.n_startup_trials=2",
        "retrain.repeats=1",  # two losses' studies and retrains, the baseline and the tables
    ]
    run_dir = tmp_path / "slurm-run"
    profile = write_profile(tmp_path, "max_workers: 2\n")
    submit = ["slurm", "submit", "--losses", ",".join(LOSSES), "--profile", str(profile)]
    submit += ["--run-dir", str(run_dir), *set_args(overrides)]

    assert main(submit) == 0
    printed = capsys.readouterr().out
    assert "submitted study-contrastive" in printed and "array 0-1" in printed
    states = wait_for_jobs(run_dir, timeout=300)
    assert set().union(*final_states(states).values()) == {"COMPLETED"}, logs(run_dir)
    assert len(states["study-mfcwms"]) == 2 and len(states["retrain-mfcwms"]) == 1

    local_dir = tmp_path / "local-run"
    run = ["run", "--losses", ",".join(LOSSES), "--run-dir", str(local_dir), "--no-progress"]
    assert main([*run, *set_args(overrides)]) == 0
    on_slurm = pd.read_csv(run_dir / "results.csv").set_index(KEYS)["value"].sort_index()
    local = pd.read_csv(local_dir / "results.csv").set_index(KEYS)["value"].sort_index()
    assert len(local) == (2 + 1) * 1 * 2 * 3  # (losses + untrained) x repeats x modes x metrics
    pd.testing.assert_series_equal(on_slurm, local, check_exact=True)

    tables_log = next((run_dir / "slurm" / "logs").glob("*tables*")).read_text()
    assert "| MFCWMS |" in tables_log and "| no training |" in tables_log
    assert (run_dir / "tables" / "table1.md").is_file()

    capsys.readouterr()
    assert main(submit) == 0  # everything is finished: a second submission queues nothing
    again = capsys.readouterr().out
    assert "nothing to submit" in again
    assert "skipped: study mfcwms: finished (2/2 trials)" in again
    assert "skipped: retrain contrastive: its one repeat is in results.csv" in again
    assert len(Ledger(run_dir).submissions()) == 1


def test_workers_stopped_by_the_time_limit_signal_or_a_requeue_resume_without_losing_a_fold(
    tmp_path, slurm_cluster, tiny_overrides
):
    overrides = [*tiny_overrides, "study.n_trials=2", "retrain.repeats=1"]
    overrides += ["training.max_epochs=4", "training.patience_epochs=4"]
    run_dir = tmp_path / "run"
    profile = write_profile(tmp_path, "max_workers: 1\n")
    submit = ["slurm", "submit", "--losses", "contrastive", "--profile", str(profile)]
    assert main([*submit, "--run-dir", str(run_dir), *set_args(overrides)]) == 0
    task = Ledger(run_dir).latest_by_key()["study-contrastive"].job_id + "_0"
    trials_dir = run_dir / "trials" / "contrastive"

    def mid_trial(exclude: Path | None = None):
        done = trials_dir.glob("*/fold_0/result.json")
        return [
            p
            for p in done
            if p != exclude and not (p.parent.parent / "fold_3" / "result.json").exists()
        ]

    # 1. The time-limit warning (--signal=B:USR1 reaches the batch script only): the script passes
    #    it on, the worker hands its trial back, the job requeues itself.
    (first_fold,) = wait_for(mid_trial, timeout=120, what="the worker to finish a first fold")
    first_at = first_fold.stat().st_mtime_ns
    subprocess.run(["scancel", "--batch", "--signal=USR1", task], check=True)
    # 2. A requeue from outside (preemption, an admin): Slurm itself sends TERM to the worker.
    (second_fold,) = wait_for(lambda: mid_trial(first_fold), 180, "the next trial's first fold")
    second_at = second_fold.stat().st_mtime_ns
    subprocess.run(["scontrol", "requeue", task], check=True)

    states = final_states(wait_for_jobs(run_dir, timeout=300))
    assert states["study-contrastive"] == states["retrain-contrastive"] == {"COMPLETED"}, logs(
        run_dir
    )
    study_log = next((run_dir / "slurm" / "logs").glob("*study-contrastive*")).read_text()
    assert "time limit near: requeueing job" in study_log
    assert "(restart 2)" in study_log, "the job was not requeued twice"

    trials = _by_state(_trials(run_dir, "contrastive"))
    assert set(trials) == {TrialState.COMPLETE, TrialState.FAIL}
    assert len(trials[TrialState.COMPLETE]) == 2, "the budget is exact: 2 trials, not more"
    assert len(trials[TrialState.FAIL]) == 2
    for handed_back, fold in zip(trials[TrialState.FAIL], (first_fold, second_fold), strict=True):
        assert handed_back.user_attrs["failure"] == "worker_lost"
        assert "stopped by a signal" in handed_back.user_attrs["fail_reason"]
        (resumed,) = [
            t
            for t in trials[TrialState.COMPLETE]
            if t.user_attrs["requeued_from"] == handed_back.number
        ]
        assert resumed.params == handed_back.params
        assert fold.parent.parent.name == params_key(resumed.user_attrs["loss_params"])
        assert len(list(fold.parent.parent.glob("fold_*/result.json"))) == 4
    assert first_fold.stat().st_mtime_ns == first_at, "a finished fold was trained again"
    assert second_fold.stat().st_mtime_ns == second_at, "a finished fold was trained again"
    assert set(pd.read_csv(run_dir / "results.csv")["loss"]) == {"contrastive", "untrained"}


def test_status_shows_a_live_sweep_a_second_submit_adds_nothing_and_cancel_stops_it(
    tmp_path, slurm_cluster, tiny_overrides, capsys
):
    overrides = [
        *tiny_overrides,
        "study.n_trials=4",
        "training.max_epochs=40",
        "training.patience_epochs=40",
    ]
    run_dir = tmp_path / "run"
    profile = write_profile(tmp_path, "max_workers: 2\narray_throttle: 1\n")
    submit = ["slurm", "submit", "--losses", "contrastive", "--profile", str(profile)]
    submit += ["--run-dir", str(run_dir), *set_args(overrides)]
    assert main(submit) == 0
    assert main(submit) == 0  # at once: every stage is still queued
    second = capsys.readouterr().out.split("losses: contrastive")[-1]
    for what in ("study contrastive", "retrain contrastive", "untrained baseline", "tables"):
        assert f"skipped: {what}: job " in second and "not submitted again" in second
    assert "nothing to submit" in second

    def status() -> dict:
        assert main(["slurm", "status", str(run_dir), "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    live = wait_for(
        lambda: (s := status())["studies"][0]["running"] and s, 120, "a running trial", 0.5
    )
    (study,) = live["studies"]
    assert (study["loss"], study["n_trials"], study["remaining"], study["done"]) == (
        "contrastive",
        4,
        4,
        False,
    )
    jobs = {job["key"]: job for job in live["jobs"]}
    assert set(jobs) == {"study-contrastive", "retrain-contrastive", "retrain-untrained", "tables"}
    assert jobs["study-contrastive"]["active"] and jobs["study-contrastive"]["states"].get(
        "RUNNING"
    )
    assert jobs["study-contrastive"]["array"] == "0-1%1"
    retrain = jobs["retrain-contrastive"]
    assert retrain["states"] == {"PENDING": 2} and retrain["reasons"] == ["Dependency"]  # 2 repeats
    assert [r["loss"] for r in live["retrains"]] == ["contrastive", "untrained"]

    assert main(["slurm", "status", str(run_dir)]) == 0
    table = capsys.readouterr().out
    assert "contrastive" in table and "0/4" in table and "RUNNING" in table and "PENDING" in table

    assert main(["slurm", "cancel", str(run_dir)]) == 0
    cancelled = capsys.readouterr().out
    assert "cancelled study-contrastive" in cancelled and "cancelled tables" in cancelled
    states = wait_for_jobs(run_dir, timeout=60)
    assert final_states(states)["study-contrastive"] == {"CANCELLED"}
    assert final_states(states)["retrain-contrastive"] == {"CANCELLED"}

    # The running trial was handed back (queued again), not lost.
    trials = wait_for(
        lambda: (t := _by_state(_trials(run_dir, "contrastive"))).get(TrialState.WAITING) and t,
        30,
        "the hand-back",
    )
    assert TrialState.RUNNING not in trials
    assert all(t.user_attrs["failure"] == "worker_lost" for t in trials[TrialState.FAIL])
    after = status()
    assert not any(job["active"] for job in after["jobs"])
    assert main(["slurm", "cancel", str(run_dir)]) == 0
    assert "no job of this run is queued or running" in capsys.readouterr().out
