"""The tracker of `mlrc slurm submit --tracker mlflow` reaches the Slurm jobs: recorded in
run.json, it logs every trial fold of the array workers and every retrained fold of the
retrain jobs into the run directory's MLflow store (several processes at once)."""

from __future__ import annotations

import json

import pytest
from service_checks import need_service
from slurm_helpers import final_states, logs, set_args, wait_for_jobs, write_profile

from benchmark.cli import main

pytestmark = pytest.mark.slurm


def test_slurm_jobs_log_to_the_tracker_the_submit_recorded(tmp_path, slurm_cluster, tiny_overrides):
    import importlib.util

    need_service(
        "mlflow", importlib.util.find_spec("mlflow") is not None, "pip install -e '.[trackers]'"
    )
    overrides = [*tiny_overrides, "study.n_trials=2", "retrain.repeats=1"]
    run_dir = tmp_path / "run"
    profile = write_profile(tmp_path, "max_workers: 2\n")
    submit = ["slurm", "submit", "--losses", "contrastive", "--profile", str(profile)]
    submit += ["--run-dir", str(run_dir), "--tracker", "mlflow", *set_args(overrides)]

    assert main(submit) == 0
    assert json.loads((run_dir / "run.json").read_text())["tracker"]["name"] == "mlflow"
    states = wait_for_jobs(run_dir, timeout=400)
    assert set().union(*final_states(states).values()) == {"COMPLETED"}, logs(run_dir)

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{run_dir / 'tracking' / 'mlflow' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[str(run_dir)], output_format="list")
    keys = {run.data.tags["mlrc.key"]: run for run in runs}
    trial_folds = {f"study/contrastive/trial_{t}/fold_{k}" for t in range(2) for k in range(4)}
    retrain_folds = {f"retrain/contrastive/repeat_0/fold_{k}" for k in range(4)}
    assert trial_folds | retrain_folds <= set(keys), sorted(keys)
    for key in trial_folds | retrain_folds:
        assert keys[key].info.status == "FINISHED"
        assert "mlflow.parentRunId" in keys[key].data.tags
    assert "tracker mlflow failed" not in logs(run_dir)
