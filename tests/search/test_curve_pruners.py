"""Curve pruners on constructed learning curves, against a direct computation of each rule.

Curves are lists per fold (a fold that stopped early is shorter); the direct computations read
them by slicing, independently of the step scheme the pruners read them through.
"""

from __future__ import annotations

import statistics

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from scipy import stats

from benchmark.config import SamplerConfig, StudyConfig
from benchmark.search.curve_pruners import (
    CurveHalvingPruner,
    CurvePercentilePruner,
    CurveWilcoxonPruner,
    build_curve_pruner,
    halving_rungs,
)
from benchmark.search.learning_curves import CurveSteps
from benchmark.store import trial_attrs

STEPS = CurveSteps(eval_every_epochs=1, evals_per_fold=4)


def _curves(seed: int, count: int) -> list[list[list[float]]]:
    """``count`` trials of 4 folds: rising noisy curves of 2 to 4 evaluations (early stops)."""
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(count):
        level = rng.uniform(0.1, 0.4)
        trial = []
        for fold in range(4):
            length = int(rng.integers(2, 5))
            start = level - 0.05 * fold
            trial.append([round(start + 0.03 * e + rng.normal(0, 0.02), 4) for e in range(length)])
        trials.append(trial)
    return trials


def _reported(folds: list[list[float]]) -> dict[int, float]:
    return {
        STEPS.first_step(fold) + e: value
        for fold, curve in enumerate(folds)
        for e, value in enumerate(curve)
    }


def _records(folds: list[list[float]]) -> dict[str, dict]:
    return {
        trial_attrs.fold_key(fold): {trial_attrs.FOLD_VAL_MAP_AT_R: max(curve)}
        for fold, curve in enumerate(folds)
    }


def _study(pruner, finished, pruned=()) -> optuna.Study:
    """Completed trials with the curves ``finished``; PRUNED ones with the partial curves
    ``pruned`` (fold records of all but their last fold)."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    space = {"x": FloatDistribution(0, 1)}
    for folds in finished:
        value = statistics.fmean(max(curve) for curve in folds)
        study.add_trial(
            create_trial(
                value=value,
                params={"x": 0.5},
                distributions=space,
                intermediate_values=_reported(folds),
                user_attrs=_records(folds),
            )
        )
    for folds in pruned:
        study.add_trial(
            create_trial(
                state=TrialState.PRUNED,
                params={"x": 0.5},
                distributions=space,
                intermediate_values=_reported(folds),
                user_attrs=_records(folds[:-1]),
            )
        )
    return study


def _asks(folds: list[list[float]]):
    """The worker's questions: after each evaluation that does not end its fold, and after each
    fold but the last: (fold, evaluations so far, or None at the fold's end)."""
    for fold, curve in enumerate(folds):
        for evaluations in range(1, len(curve)):
            yield fold, evaluations
        if fold < len(folds) - 1:
            yield fold, None


def _decisions(study: optuna.Study, folds: list[list[float]]) -> list[bool]:
    trial = study.ask()
    decisions, reported = [], set()
    for fold, evaluations in _asks(folds):
        curve = folds[fold] if evaluations is None else folds[fold][:evaluations]
        for e, value in enumerate(curve):
            if (step := STEPS.first_step(fold) + e) not in reported:
                trial.report(value, step=step)
                reported.add(step)
        if evaluations is None:
            trial.set_user_attr(trial_attrs.fold_key(fold), _records(folds)[f"fold_{fold}"])
        decisions.append(trial.should_prune())
    return decisions


def _objective(folds: list[list[float]], fold: int, evaluations: int | None) -> float:
    """The objective had the folds been cut at ``evaluations`` of fold ``fold`` (None: its
    end); a fold that stopped earlier keeps its score."""
    current = folds[fold] if evaluations is None else folds[fold][:evaluations]
    return statistics.fmean([*(max(curve) for curve in folds[:fold]), max(current)])


FINISHED = _curves(seed=0, count=7)
CANDIDATES = _curves(seed=1, count=6)


@pytest.mark.parametrize("percentile", [50.0, 25.0])
def test_the_curve_percentile_matches_a_direct_computation_at_every_evaluation(percentile):
    pruner = CurvePercentilePruner(STEPS, percentile=percentile, n_startup_trials=5)
    every = []
    for candidate in CANDIDATES:
        expected = [
            _objective(candidate, fold, e)
            < np.percentile([_objective(o, fold, e) for o in FINISHED], percentile)
            for fold, e in _asks(candidate)
        ]
        assert _decisions(_study(pruner, FINISHED), candidate) == expected
        every += expected
    assert any(every) and not all(every)  # the constructed curves test both outcomes


def test_the_curve_percentile_waits_for_start_up_trials_and_warm_up_evaluations():
    poor = [[0.0, 0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    waiting = CurvePercentilePruner(STEPS, n_startup_trials=8)
    assert not any(_decisions(_study(waiting, FINISHED), poor))  # 7 completed < 8
    warm = CurvePercentilePruner(STEPS, n_startup_trials=5, n_warmup_evaluations=2)
    assert _decisions(_study(warm, FINISHED), poor)[:3] == [False, True, True]


def test_halving_rungs_lie_at_geometric_evaluations_of_the_first_fold_and_its_end():
    assert halving_rungs(STEPS, reduction_factor=2, min_evaluations=1) == [0, 1, 3]
    assert halving_rungs(CurveSteps(1, 30), reduction_factor=3, min_evaluations=2) == [1, 5, 17, 29]


def test_curve_halving_keeps_the_top_of_the_trials_that_reached_each_rung():
    # A pruned trial that reached only the first rung (its first evaluation of fold 0).
    stopped = [[0.5]]
    pruner = CurveHalvingPruner(STEPS, reduction_factor=2, min_evaluations=1, n_startup_trials=1)
    rungs = {0: 1, 1: 2, 3: None}  # step -> evaluations of fold 0 (None: its end)
    every = []
    for candidate in CANDIDATES:
        expected = []
        for fold, e in _asks(candidate):
            if fold > 0:
                expected.append(False)  # past the first fold: never pruned
                continue
            reached = [r for r in rungs if r <= (e - 1 if e is not None else 3)]
            pruned = False
            for rung in reached:
                c = rungs[rung]
                rivals = [_objective(o, 0, c) for o in FINISHED]
                if c == 1:
                    rivals.append(stopped[0][0])
                kept = max(1, (len(rivals) + 1) // 2)
                pruned |= _objective(candidate, 0, c) < sorted(rivals, reverse=True)[kept - 1]
            expected.append(pruned)
        study = _study(pruner, FINISHED, pruned=[stopped])
        assert _decisions(study, candidate) == expected
        every += expected
    assert any(every) and not all(every)


def test_curve_halving_counts_the_trial_itself_among_those_at_the_rung():
    # 3 others at the first rung (0.3, 0.2, 0.1) and the trial: 4 trials, the best 4 // 2 = 2
    # go on, so 0.25 (second) goes on and 0.15 (third) stops.
    finished = [[[v, v], [v, v], [v, v], [v, v]] for v in (0.3, 0.2, 0.1)]
    pruner = CurveHalvingPruner(STEPS, reduction_factor=2, min_evaluations=1, n_startup_trials=1)
    assert _decisions(_study(pruner, finished), [[0.25, 0.25]])[0] is False
    assert _decisions(_study(pruner, finished), [[0.15, 0.15]])[0] is True


def test_curve_wilcoxon_matches_scipy_on_the_matched_points_against_the_best_trial():
    best = max(FINISHED, key=lambda folds: statistics.fmean(max(c) for c in folds))
    threshold = 0.1
    pruner = CurveWilcoxonPruner(STEPS, p_threshold=threshold, n_startup_evaluations=2)
    every = []
    for candidate in CANDIDATES:
        expected = []
        for fold, e in _asks(candidate):
            own, theirs = [], []
            for f in range(fold + 1):
                upto = len(candidate[f]) if f < fold or e is None else e
                own += [max(candidate[f][: k + 1]) for k in range(upto)]
                theirs += [max(best[f][: k + 1]) for k in range(upto)]
            if len(own) < 2:
                expected.append(False)
                continue
            p = stats.wilcoxon(
                np.subtract(own, theirs), alternative="less", zero_method="zsplit"
            ).pvalue
            expected.append(bool(p < threshold and np.mean(theirs) > np.mean(own)))
        assert _decisions(_study(pruner, FINISHED), candidate) == expected
        every += expected
    assert any(every) and not all(every)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("curve_median", CurvePercentilePruner),
        ("curve_percentile", CurvePercentilePruner),
        ("curve_halving", CurveHalvingPruner),
        ("curve_wilcoxon", CurveWilcoxonPruner),
    ],
)
def test_study_pruner_names_build_the_curve_pruners_with_their_settings(kind, cls):
    settings = StudyConfig(
        pruner=kind,
        pruner_percentile=30.0,
        pruner_reduction_factor=2,
        sampler=SamplerConfig(n_startup_trials=4),
    )
    pruner = build_curve_pruner(settings, STEPS)
    assert isinstance(pruner, cls)
    if kind == "curve_median":
        assert (pruner.percentile, pruner.n_startup_trials) == (50.0, 4)
    if kind == "curve_percentile":
        assert pruner.percentile == 30.0
    if kind == "curve_halving":
        assert (pruner.reduction_factor, pruner.n_startup_trials) == (2, 4)
    overridden = StudyConfig(pruner=kind, pruner_startup_trials=2)
    if kind != "curve_wilcoxon":
        assert build_curve_pruner(overridden, STEPS).n_startup_trials == 2
