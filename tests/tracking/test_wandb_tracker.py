"""`--tracker wandb` in offline mode: W&B's run files under the run directory, read back."""

from __future__ import annotations

import pytest
from tracking_helpers import fold_curves, need_extra, parent_key, run_tiny, tracked_overrides
from wandb_records import read_offline_run

pytestmark = pytest.mark.slow


def test_wandb_offline_runs_hold_each_fold_trainings_curve(
    tmp_path, tiny_overrides, untracked_results, monkeypatch
):
    need_extra("wandb")
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    run_dir = tmp_path / "run"
    run_tiny(run_dir, tracked_overrides(tiny_overrides), "--tracker", "wandb")

    files = sorted((run_dir / "tracking" / "wandb").glob("wandb/offline-run-*/run-*.wandb"))
    runs = {run["config"]["mlrc_key"]: run for run in map(read_offline_run, files)}
    curves = fold_curves(run_dir)
    assert set(runs) == set(curves) | {parent_key(key) for key in curves}
    for key, curve in curves.items():
        run = runs[key]
        assert run["group"] == parent_key(key)
        logged = [(row["_step"], row["val_map_at_r"]) for row in run["history"]]
        assert logged == [(row["iteration"], row["val_map_at_r"]) for row in curve]
        assert run["summary"]["status"] == "finished"
        assert run["summary"]["best_iteration"] in {row["iteration"] for row in curve}
        assert "seed" in run["config"]
    assert (run_dir / "results.csv").read_bytes() == untracked_results
