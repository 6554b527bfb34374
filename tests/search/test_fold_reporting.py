"""Inside a fold, a trial reports every evaluation at its fold-major step and asks the pruner;
a pruned trial stops at once and records what it trained (real, tiny trainings)."""

from __future__ import annotations

import json

import pytest
from optuna.pruners import BasePruner
from optuna.trial import TrialState
from run_helpers import load_study, tiny_config

from benchmark.search import study_factory
from benchmark.search.context import StudyContext
from benchmark.search.fold_reporter import FoldReporter
from benchmark.search.worker import run_worker
from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory, params_key

# 3 epochs per fold, validated after each, never stopped early: steps 3k, 3k+1, 3k+2 in fold k.
EPOCHS = ["training.max_epochs=3", "training.eval_every_epochs=1", "training.patience_epochs=5"]
ITERATIONS_PER_EPOCH = 3  # the tiny protocol's


class RecordingPruner(BasePruner):
    """Records the last step of every question; prunes at ``prune_at``."""

    def __init__(self, prune_at: int | None = None):
        self.asked: list[int | None] = []
        self.prune_at = prune_at

    def prune(self, study, trial) -> bool:
        self.asked.append(trial.last_step)
        return self.prune_at is not None and trial.last_step == self.prune_at


def _run(tmp_path, tiny_overrides, monkeypatch, pruner, n_trials=1, loss="contrastive"):
    monkeypatch.setattr(study_factory, "build_pruner", lambda config: pruner)
    run_dir = RunDirectory(tmp_path / "run")
    overrides = [*tiny_overrides, *EPOCHS, f"study.n_trials={n_trials}"]
    context = StudyContext.create(tiny_config(overrides), run_dir, progress=False)
    run_worker(context, loss)
    return run_dir, load_study(run_dir.path, loss).trials


def _curve(fold_dir) -> list[dict]:
    return json.loads((fold_dir / "curve.json").read_text())


def test_each_evaluation_inside_a_fold_is_reported_at_its_fold_major_step(
    tmp_path, tiny_overrides, monkeypatch
):
    run_dir, (trial,) = _run(tmp_path, tiny_overrides, monkeypatch, RecordingPruner())
    key = params_key(trial.user_attrs[trial_attrs.PARAMS])
    expected = {}
    for fold in range(4):
        rows = _curve(run_dir.trial_fold_dir("contrastive", key, fold))
        assert [row["epoch"] for row in rows] == [0, 1, 2, 3]
        expected.update({3 * fold + row["epoch"] - 1: row["val_map_at_r"] for row in rows[1:]})
    assert trial.intermediate_values == expected
    assert trial.user_attrs["fold_2"][trial_attrs.FOLD_EPOCHS] == 3


def test_the_pruner_is_asked_after_each_evaluation_but_never_once_all_is_trained(
    tmp_path, tiny_overrides, monkeypatch
):
    pruner = RecordingPruner(prune_at=11)  # the last evaluation of the last fold
    _, (trial,) = _run(tmp_path, tiny_overrides, monkeypatch, pruner)
    # After the evaluations that do not end a fold, and after each fold's end but the last.
    assert pruner.asked == list(range(11))
    assert trial.state == TrialState.COMPLETE


def test_a_pruned_trial_stops_its_fold_right_after_the_evaluation_that_pruned_it(
    tmp_path, tiny_overrides, monkeypatch
):
    pruner = RecordingPruner(prune_at=4)  # fold 1, after its second epoch
    run_dir, (trial,) = _run(tmp_path, tiny_overrides, monkeypatch, pruner)
    key = params_key(trial.user_attrs[trial_attrs.PARAMS])
    fold_1 = run_dir.trial_fold_dir("contrastive", key, 1)
    assert [row["epoch"] for row in _curve(fold_1)] == [0, 1, 2]  # no third epoch
    assert not (fold_1 / "result.json").exists()
    assert not (fold_1 / "last.pt").exists() and not (fold_1 / "best.pt").exists()
    assert not run_dir.trial_fold_dir("contrastive", key, 2).exists()
    assert pruner.asked[-1] == 4


def test_a_pruned_trial_is_recorded_as_pruned_with_what_it_trained(
    tmp_path, tiny_overrides, monkeypatch
):
    _, (trial,) = _run(tmp_path, tiny_overrides, monkeypatch, RecordingPruner(prune_at=4))
    assert trial.state == TrialState.PRUNED
    assert sorted(trial.intermediate_values) == [0, 1, 2, 3, 4]
    assert trial_attrs.fold_records(trial.user_attrs)[0][trial_attrs.FOLD_EPOCHS] == 3
    stopped = trial.user_attrs[trial_attrs.PRUNED_FOLD]
    assert stopped[trial_attrs.FOLD_INDEX] == 1
    assert stopped[trial_attrs.FOLD_EPOCHS] == 2
    assert stopped[trial_attrs.FOLD_ITERATIONS] == 2 * ITERATIONS_PER_EPOCH
    best = max(trial.intermediate_values[3], trial.intermediate_values[4])
    assert stopped[trial_attrs.FOLD_VAL_MAP_AT_R] == pytest.approx(best)
    assert stopped[trial_attrs.FOLD_WALL_TIME_S] > 0
    assert trial.user_attrs[trial_attrs.WALL_TIME_S] >= stopped[trial_attrs.FOLD_WALL_TIME_S]
    assert trial_attrs.epochs_trained(trial.user_attrs) == 3 + 2


def test_reporting_inside_the_folds_changes_no_trial_value_and_no_sampler_draw(
    tmp_path, tiny_overrides, monkeypatch
):
    # 3 trials with 2 start-up ones: the third is TPE's draw from the first two.
    reported = _run(tmp_path / "reported", tiny_overrides, monkeypatch, RecordingPruner(), 3)[1]
    monkeypatch.setattr(FoldReporter, "report", lambda self, curve: None)
    silent = _run(tmp_path / "silent", tiny_overrides, monkeypatch, RecordingPruner(), 3)[1]
    assert all(trial.intermediate_values for trial in reported)
    assert not any(trial.intermediate_values for trial in silent)
    assert [t.params for t in reported] == [t.params for t in silent]
    assert [t.value for t in reported] == [t.value for t in silent]  # bitwise
