"""A trial's learning curves: fold-major steps, read at matched (fold, epoch) points."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState, create_trial

from benchmark.config import TrainingConfig
from benchmark.search.learning_curves import CurveSteps, TrialCurve
from benchmark.store import trial_attrs

# max_epochs 7, validated every 2 epochs: after epochs 2, 4, 6 and 7, 4 evaluations per fold.
STEPS = CurveSteps.for_training(TrainingConfig(eval_every_epochs=2, max_epochs=7))


def test_steps_are_fold_major_one_per_evaluation_after_training():
    assert STEPS.evals_per_fold == 4
    assert [STEPS.step(0, epoch) for epoch in (2, 4, 6, 7)] == [0, 1, 2, 3]
    assert [STEPS.step(2, epoch) for epoch in (2, 4, 6, 7)] == [8, 9, 10, 11]
    assert [STEPS.fold_of(step) for step in (0, 3, 4, 11)] == [0, 0, 1, 2]
    with pytest.raises(ValueError, match="before training"):
        STEPS.step(1, 0)


def _trial(values: dict[int, float], finished: dict[int, float]) -> TrialCurve:
    records = {
        trial_attrs.fold_key(fold): {trial_attrs.FOLD_VAL_MAP_AT_R: score}
        for fold, score in finished.items()
    }
    trial = create_trial(
        state=TrialState.RUNNING,
        params={},
        distributions={},
        intermediate_values=values,
        user_attrs=records,
    )
    return TrialCurve(trial, STEPS)


# Fold 0 stopped early after 3 evaluations (score 0.4); fold 1 is at its second evaluation.
CURVE = _trial({0: 0.2, 1: 0.4, 2: 0.3, 4: 0.1, 5: 0.25}, finished={0: 0.4})


def test_a_fold_is_read_at_its_best_so_far_and_a_finished_fold_keeps_its_score():
    assert [CURVE.value_at(step) for step in range(4)] == [0.2, 0.4, 0.4, 0.4]
    assert [CURVE.value_at(step) for step in (4, 5)] == [0.1, 0.25]
    assert CURVE.value_at(6) is None  # fold 1 has not been there yet
    assert CURVE.value_at(8) is None


def test_the_objective_at_a_point_is_the_mean_of_earlier_fold_scores_and_the_fold_so_far():
    assert CURVE.objective_at(1) == pytest.approx(0.4)
    assert CURVE.objective_at(4) == pytest.approx((0.4 + 0.1) / 2)
    assert CURVE.objective_at(5) == pytest.approx((0.4 + 0.25) / 2)
    assert CURVE.objective_at(6) is None


def test_the_position_is_the_last_step_or_the_end_of_a_finished_fold():
    assert CURVE.position() == 5
    finished = _trial({0: 0.2, 1: 0.4, 2: 0.3}, finished={0: 0.4})
    assert finished.position() == 3
    assert _trial({}, finished={}).position() is None
