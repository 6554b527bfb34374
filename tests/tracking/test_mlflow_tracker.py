"""`--tracker mlflow` against a real MLflow: its default store in the run directory, and an
`mlflow server` over HTTP on 127.0.0.1 (read back with mlflow.search_runs)."""

from __future__ import annotations

import json

import pytest
from tracking_helpers import (
    FOLDS,
    REPEATS,
    TRIALS,
    fold_curves,
    need_extra,
    parent_key,
    run_tiny,
    tracked_overrides,
)

pytestmark = pytest.mark.slow


def _runs_by_key(tracking_uri: str, experiment: str) -> dict:
    """Every MLflow run of the benchmark run's experiment, by its key."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=[experiment], output_format="list")
    return {run.data.tags["mlrc.key"]: run for run in runs}


def assert_one_nested_run_per_fold_training(tracking_uri: str, run_dir) -> None:
    from mlflow import MlflowClient

    runs = _runs_by_key(tracking_uri, str(run_dir))
    curves = fold_curves(run_dir)
    parents = {parent_key(key) for key in curves}
    assert set(runs) == set(curves) | parents
    assert len(curves) == (TRIALS + REPEATS) * FOLDS
    client = MlflowClient(tracking_uri)
    for key, curve in curves.items():
        run = runs[key]
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == runs[parent_key(key)].info.run_id
        history = client.get_metric_history(run.info.run_id, "val_map_at_r")
        assert [(m.step, m.value) for m in history] == [
            (row["iteration"], row["val_map_at_r"]) for row in curve
        ]
        assert run.data.metrics["epochs"] == curve[-1]["epoch"]
        assert run.data.metrics["best_iteration"] in {row["iteration"] for row in curve}
        assert run.data.metrics["wall_time_s"] > 0
        assert "seed" in run.data.params and "fold" in run.data.params
    for trial in range(TRIALS):
        trial_run = runs[f"study/contrastive/trial_{trial}"]
        assert "mlflow.parentRunId" not in trial_run.data.tags
        assert 0 < trial_run.data.metrics["value"] < 1


def test_mlflow_default_store_holds_one_nested_run_per_fold_training(
    tmp_path, tiny_overrides, untracked_results
):
    need_extra("mlflow")
    run_dir = tmp_path / "run"
    run_tiny(run_dir, tracked_overrides(tiny_overrides), "--tracker", "mlflow")

    database = run_dir / "tracking" / "mlflow" / "mlflow.db"
    assert database.is_file()
    assert_one_nested_run_per_fold_training(f"sqlite:///{database}", run_dir)
    assert (run_dir / "results.csv").read_bytes() == untracked_results
    assert json.loads((run_dir / "run.json").read_text())["tracker"] == {
        "name": "mlflow",
        "uri": None,
    }
