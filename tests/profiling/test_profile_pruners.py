"""`mlrc profile pruners`: the same study with and without pruning, compared on what it costs
and on the answer."""

from __future__ import annotations

import csv

import pytest

from benchmark.cli import main
from benchmark.errors import ConfigError
from benchmark.profiling.pruner_comparison import PRUNER_COLUMNS, pruner_overrides


def test_pruner_specs_become_protocol_overrides():
    assert pruner_overrides("median") == ["study.pruner=median"]
    assert pruner_overrides("wilcoxon:p_threshold=0.3:warmup_folds=0") == [
        "study.pruner=wilcoxon",
        "study.pruner_p_threshold=0.3",
        "study.pruner_warmup_folds=0",
    ]
    assert pruner_overrides("curve_halving:reduction_factor=2:startup_trials=3") == [
        "study.pruner=curve_halving",
        "study.pruner_reduction_factor=2",
        "study.pruner_startup_trials=3",
    ]
    with pytest.raises(ConfigError, match="SETTING one of warmup_folds, warmup_evaluations"):
        pruner_overrides("median:patience=2")


def test_profile_pruners_compares_each_pruned_study_with_the_unpruned_one(
    tmp_path, tiny_overrides, capsys
):
    overrides = [*tiny_overrides, "study.n_trials=6", "retrain.repeats=2"]
    args = ["profile", "pruners", "--protocol", "demo", "--losses", "contrastive", "--seeds", "0"]
    args += ["--pruners", "curve_median:startup_trials=2", "--csv", str(tmp_path / "p.csv")]
    args += ["--keep", str(tmp_path / "runs"), "--no-progress"]
    assert main([*args, *[a for o in overrides for a in ("--set", o)]]) == 0
    printed = capsys.readouterr().out
    with open(tmp_path / "p.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == list(PRUNER_COLUMNS)
    unpruned, pruned = rows
    assert unpruned["pruner"] == "none" and pruned["pruner"] == "curve_median:startup_trials=2"
    assert unpruned["pruned"] == "0" and int(unpruned["fold_trainings"]) == 6 * 4
    # The tiny protocol trains each fold 1 or 2 epochs (patience 1, at most 2).
    assert 6 * 4 <= int(unpruned["epochs"]) <= 6 * 4 * 2
    assert float(unpruned["search_wall_time_s"]) > 0
    # Every pruned trial finished fewer than 4 folds, every other one all 4.
    trials, cut = int(pruned["trials"]), int(pruned["pruned"])
    assert cut > 0
    assert 4 * (trials - cut) <= int(pruned["fold_trainings"]) <= 4 * trials - cut
    assert pruned["fold_trainings_unpruned"] == unpruned["fold_trainings"]
    assert pruned["epochs_unpruned"] == unpruned["epochs"]
    saved = 1 - int(pruned["epochs"]) / int(unpruned["epochs"])
    assert float(pruned["epochs_saved"]) == pytest.approx(saved)
    goal = pruned["within_unpruned_ci"] == "True" and saved >= 0.5
    assert pruned["goal_met"] == str(goal)
    low, high = float(unpruned["unpruned_ci_low"]), float(unpruned["unpruned_ci_high"])
    assert low <= float(unpruned["test_map_at_r"]) <= high
    if pruned["same_best"] == "True":  # same configuration: the unpruned retrain is reused
        assert pruned["test_map_at_r"] == unpruned["test_map_at_r"]
    assert (tmp_path / "runs" / "contrastive-seed0-curve_median-startup_trials2").is_dir()
    assert "per pruner (over every loss and seed; goal: >= 50% of the epochs saved" in printed
    assert "curve_median:startup_trials=2: " in printed and "epochs (" in printed
