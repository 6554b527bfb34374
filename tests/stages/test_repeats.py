"""`mlrc retrain --repeat R`: one repeat per process (a Slurm array task), the untrained row too."""

from __future__ import annotations

import pandas as pd
from run_helpers import set_args

from benchmark.cli import main


def test_retrain_runs_only_the_requested_repeat_and_rejects_missing_ones(
    tmp_path, tiny_overrides, capsys
):
    run_dir = tmp_path / "run"
    overrides = [*tiny_overrides, "study.n_trials=1", "training.max_epochs=1"]
    study = ["study", "--loss", "contrastive", "--run-dir", str(run_dir), "--no-progress"]
    assert main([*study, *set_args(overrides)]) == 0

    retrain = ["retrain", "--run-dir", str(run_dir), "--no-progress"]
    assert main([*retrain, "--loss", "contrastive", "--repeat", "1"]) == 0
    assert main([*retrain, "--loss", "untrained", "--repeat", "0"]) == 0
    rows = pd.read_csv(run_dir / "results.csv")
    assert set(zip(rows["loss"], rows["repeat"], strict=True)) == {
        ("contrastive", 1),
        ("untrained", 0),
    }

    capsys.readouterr()
    assert main([*retrain, "--loss", "contrastive", "--repeat", "2"]) == 2
    assert "repeat 2 does not exist" in capsys.readouterr().err
