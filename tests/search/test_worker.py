"""What one trial records: diverged trials fail with their reason, pruning uses the fold mean."""

from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest
import torch
from optuna.trial import TrialState
from run_helpers import load_study, tiny_config

from benchmark.errors import StudyFailed
from benchmark.losses import register_loss
from benchmark.search.context import StudyContext
from benchmark.search.fold_pruners import FoldMatchedPercentilePruner
from benchmark.search.worker import evaluate_params, run_worker
from benchmark.stages.retrain import run_retrain
from benchmark.store.run_directory import RunDirectory
from benchmark.tracking.guarded_tracker import NullTracker


class AlwaysNaNLoss(torch.nn.Module):
    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return embeddings.sum() * float("nan")


@pytest.fixture
def always_nan_loss(tmp_path):
    space = tmp_path / "always_nan.yaml"
    space.write_text("params:\n  scale: {low: 0.0, high: 1.0, log: false}\n")

    @register_loss("always_nan", display="NaN", kind="pair", search_space=space, replace=True)
    def build(num_classes: int, embedding_size: int, scale: float = 1.0) -> torch.nn.Module:
        return AlwaysNaNLoss()

    return "always_nan"


@pytest.mark.parametrize(
    ("diverged_value", "state"), [("0.0", TrialState.COMPLETE), ("null", TrialState.FAIL)]
)
def test_diverged_trials_are_told_as_the_diverged_value_and_count_toward_the_budget(
    tmp_path, tiny_overrides, always_nan_loss, diverged_value, state
):
    run_dir = RunDirectory(tmp_path / "run")
    overrides = [*tiny_overrides, "study.n_trials=2", f"study.diverged_value={diverged_value}"]
    context = StudyContext.create(tiny_config(overrides), run_dir, progress=False)

    summary = run_worker(context, always_nan_loss)

    trials = load_study(run_dir.path, always_nan_loss).trials
    assert summary.trials_failed == [0, 1] and len(trials) == 2
    for trial in trials:
        assert trial.state == state
        assert trial.value == (0.0 if state == TrialState.COMPLETE else None)
        assert trial.user_attrs["failure"] == "diverged"
        assert "training diverged: loss 'always_nan'" in trial.user_attrs["fail_reason"]
        assert "iteration" in trial.user_attrs["fail_reason"]
    # The sampler learns from the diverged value, but a diverged trial is never the best.
    with pytest.raises(
        StudyFailed,
        match="none of its 2 trials completed without diverging; first failure: training diverged",
    ):
        run_retrain(context, always_nan_loss)


def _fake_context(fold_scores: list[float], run_dir: RunDirectory) -> SimpleNamespace:
    """A study context whose folds 'train' instantly to the given best validation MAP@R, in
    2 epochs validated each (the score at both)."""
    trained = []

    def train_fold(loss, params, fold, seed, fit_dir, keep_checkpoint, on_evaluation=None):
        trained.append(fold.index)
        score = fold_scores[fold.index]
        result = SimpleNamespace(
            best_val_map_at_r=score,
            best_iteration=10,
            iterations=20,
            epochs=2,
            wall_time_s=0.1,
            curve=[{"epoch": epoch, "val_map_at_r": score} for epoch in (0, 1, 2)],
        )
        return SimpleNamespace(result=result, model=None)

    folds = [SimpleNamespace(index=k) for k in range(4)]
    cross_validation = SimpleNamespace(folds=folds, train_fold=train_fold)
    config = SimpleNamespace(
        study=SimpleNamespace(sampler=SimpleNamespace(seed=0)),
        training=SimpleNamespace(eval_every_epochs=1, max_epochs=2),
        retrain=SimpleNamespace(seed_offset=1000),
        data=SimpleNamespace(n_folds=len(folds)),
    )
    return SimpleNamespace(
        cross_validation=cross_validation,
        config=config,
        run_dir=run_dir,
        trained=trained,
        tracker=NullTracker(),
    )


def test_objective_is_the_mean_of_the_folds_best_validation_map_at_r(tmp_path):
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    context = _fake_context([0.1, 0.2, 0.3, 0.6], RunDirectory(tmp_path))
    value = evaluate_params(context, "contrastive", {"pos_margin": 0.1}, trial)
    assert value == pytest.approx(0.3)
    assert trial.user_attrs["fold_2"]["val_map_at_r"] == 0.3
    assert trial.user_attrs["fold_0"]["best_iteration"] == 10
    assert trial.user_attrs["fold_3"]["epochs"] == 2
    study.tell(trial, value)
    # A fold finished earlier reports its curve after training: 2 steps per fold, fold-major.
    expected = {
        2 * fold + e: score for fold, score in enumerate([0.1, 0.2, 0.3, 0.6]) for e in (0, 1)
    }
    assert study.trials[0].intermediate_values == pytest.approx(expected)


def test_a_trial_is_never_pruned_after_its_last_fold(tmp_path):
    pruner = FoldMatchedPercentilePruner(n_startup_trials=1, n_warmup_folds=3)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    run_dir = RunDirectory(tmp_path)
    good_trial = study.ask()
    study.tell(good_trial, evaluate_params(_fake_context([0.5] * 4, run_dir), "x", {}, good_trial))
    worse_trial = study.ask()
    worse = _fake_context([0.1] * 4, run_dir)
    # Below the median on every fold, but the pruner may only decide after fold 3: all four
    # folds are trained by then, so the trial completes with its value.
    assert evaluate_params(worse, "x", {"a": 2}, worse_trial) == pytest.approx(0.1)
    assert worse.trained == [0, 1, 2, 3]


def test_a_pruned_trial_trains_no_further_fold(tmp_path):
    pruner = FoldMatchedPercentilePruner(n_startup_trials=1, n_warmup_folds=0)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    run_dir = RunDirectory(tmp_path)
    good_trial = study.ask()
    good = _fake_context([0.5, 0.5, 0.5, 0.5], run_dir)
    study.tell(good_trial, evaluate_params(good, "x", {"a": 1}, good_trial))
    assert good.trained == [0, 1, 2, 3]

    bad_trial = study.ask()
    bad = _fake_context([0.1, 0.9, 0.9, 0.9], run_dir)
    with pytest.raises(optuna.TrialPruned):
        evaluate_params(bad, "x", {"a": 2}, bad_trial)
    assert bad.trained == [0], "the pruned trial went on training folds"
