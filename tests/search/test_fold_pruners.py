"""Fold pruners compare a trial with others on the same finished folds (a paired comparison),
reading each fold's score from its ``fold_<k>`` record."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from benchmark.config import SamplerConfig, StudyConfig
from benchmark.search.fold_pruners import FoldMatchedPercentilePruner, build_fold_pruner
from benchmark.store import trial_attrs

# Five finished trials as on the demo: fold 0 is easier (~0.37) than folds 1-3 (~0.31).
FINISHED = [
    [0.370, 0.312, 0.305, 0.318],
    [0.365, 0.330, 0.310, 0.300],
    [0.380, 0.320, 0.315, 0.312],
    [0.372, 0.325, 0.300, 0.320],
    [0.368, 0.316, 0.322, 0.309],
]
# A trial clearly worse on its first two folds (0.355 and 0.290 against ~0.37 and ~0.32),
# whose first-fold score is still above every finished trial's score after fold 1.
WORSE_START = [0.355, 0.290]


def _running_means(scores: list[float]) -> dict[int, float]:
    return {k: sum(scores[: k + 1]) / (k + 1) for k in range(len(scores))}


def _fold_records(scores: list[float]) -> dict[str, dict]:
    return {
        trial_attrs.fold_key(fold): {trial_attrs.FOLD_VAL_MAP_AT_R: score}
        for fold, score in enumerate(scores)
    }


def _study(pruner: optuna.pruners.BasePruner, report) -> optuna.Study:
    """A study holding :data:`FINISHED` (their fold records), each trial reporting
    ``report(scores)`` as intermediate values."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for scores in FINISHED:
        study.add_trial(
            create_trial(
                value=sum(scores) / len(scores),
                params={"x": 0.5},
                distributions={"x": FloatDistribution(0, 1)},
                intermediate_values=report(scores),
                user_attrs=_fold_records(scores),
            )
        )
    return study


def _prunes_after_each_fold(study: optuna.Study, scores: list[float], report) -> list[bool]:
    """The pruner's decision after each fold, as the worker asks it: the fold's record, then
    the question."""
    trial = study.ask()
    decisions = []
    for fold in range(len(scores)):
        trial.report(report(scores[: fold + 1])[fold], step=fold)
        trial.set_user_attr(trial_attrs.fold_key(fold), _fold_records(scores)[f"fold_{fold}"])
        decisions.append(trial.should_prune())
    return decisions


def test_the_fold_matched_median_prunes_a_trial_clearly_worse_on_its_first_folds():
    per_fold = lambda scores: dict(enumerate(scores))  # noqa: E731
    settings = StudyConfig(pruner="median", sampler=SamplerConfig(n_startup_trials=5))
    pruner = build_fold_pruner(settings)
    assert isinstance(pruner, FoldMatchedPercentilePruner)
    decisions = _prunes_after_each_fold(_study(pruner, per_fold), WORSE_START, per_fold)
    assert decisions == [False, True]  # no decision during the warm-up fold, then pruned


def test_optunas_median_pruner_on_the_running_mean_does_not_prune_it():
    # What `study.pruner: median` was before: MedianPruner on the running mean over folds
    # compares the trial's *best* running mean (its first fold, 0.355) with the median after
    # fold 1 (~0.343), so the easy first fold keeps every trial alive.
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    decisions = _prunes_after_each_fold(_study(pruner, _running_means), WORSE_START, _running_means)
    assert decisions == [False, False]


def test_the_fold_matched_median_keeps_a_trial_that_is_better_on_the_same_folds():
    per_fold = lambda scores: dict(enumerate(scores))  # noqa: E731
    pruner = FoldMatchedPercentilePruner(percentile=50, n_startup_trials=5, n_warmup_folds=0)
    study = _study(pruner, per_fold)
    better = [0.375, 0.33, 0.32, 0.32]  # above the median on every prefix of the same folds
    assert _prunes_after_each_fold(study, better, per_fold) == [False] * 4
    # Scored on fold 1 alone, 0.33 beats every finished trial's fold 1, though not their fold 0.
    trial = study.ask()
    trial.set_user_attr(trial_attrs.fold_key(1), {trial_attrs.FOLD_VAL_MAP_AT_R: 0.33})
    assert not trial.should_prune()


def test_inside_a_fold_the_fold_pruners_decide_on_the_finished_folds_only():
    pruner = FoldMatchedPercentilePruner(percentile=50, n_startup_trials=5, n_warmup_folds=0)
    study = _study(pruner, lambda scores: dict(enumerate(scores)))
    trial = study.ask()
    trial.report(0.01, step=0)  # a poor evaluation inside fold 0, which has not finished
    assert not trial.should_prune()
    trial.set_user_attr(trial_attrs.fold_key(0), {trial_attrs.FOLD_VAL_MAP_AT_R: 0.30})
    assert trial.should_prune()


def test_no_pruning_before_enough_trials_completed_and_diverged_trials_do_not_count():
    per_fold = lambda scores: dict(enumerate(scores))  # noqa: E731
    pruner = FoldMatchedPercentilePruner(n_startup_trials=6, n_warmup_folds=0)
    study = _study(pruner, per_fold)
    assert _prunes_after_each_fold(study, [0.1, 0.1], per_fold) == [False, False]  # 5 < 6
    study.add_trial(
        create_trial(
            value=0.0,
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
            intermediate_values={0: 0.0},
            user_attrs={trial_attrs.FAILURE: trial_attrs.DIVERGED, **_fold_records([0.0])},
        )
    )
    assert _prunes_after_each_fold(study, [0.1, 0.1], per_fold) == [False, False]
    study.add_trial(
        create_trial(
            value=0.3,
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
            intermediate_values=per_fold([0.36, 0.31, 0.31, 0.31]),
            user_attrs=_fold_records([0.36, 0.31, 0.31, 0.31]),
        )
    )
    assert _prunes_after_each_fold(study, [0.1, 0.1], per_fold) == [True, True]


def test_wilcoxon_with_four_folds_can_only_prune_once_every_fold_is_paired():
    per_fold = lambda scores: dict(enumerate(scores))  # noqa: E731
    pruner = build_fold_pruner(StudyConfig(pruner="wilcoxon", pruner_p_threshold=0.1))
    worse_everywhere = [0.30, 0.25, 0.25, 0.25]
    decisions = _prunes_after_each_fold(_study(pruner, per_fold), worse_everywhere, per_fold)
    # One-sided exact p of n pairs all worse is 1 / 2**n: 0.125 after 3 folds, 0.0625 after 4.
    assert decisions == [False, False, False, True]
    lenient = build_fold_pruner(StudyConfig(pruner="wilcoxon", pruner_p_threshold=0.3))
    decisions = _prunes_after_each_fold(_study(lenient, per_fold), worse_everywhere, per_fold)
    assert decisions == [False, True, True, True]


@pytest.mark.parametrize("percentile", [-1.0, 101.0])
def test_a_percentile_outside_0_100_is_refused(percentile):
    with pytest.raises(ValueError, match="percentile"):
        FoldMatchedPercentilePruner(percentile=percentile)
