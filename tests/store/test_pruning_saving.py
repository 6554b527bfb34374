"""What a trial left of a pruned study costs before the run has measured it: the saving that
`mlrc profile pruners` measured, for the pruner measured only."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState, create_trial

from benchmark.config import load_protocol
from benchmark.store import trial_attrs
from benchmark.store.pruning_saving import MEASURED_PRUNING, trial_price

MEASURED = [f"study.{key}={value}" for key, value in MEASURED_PRUNING.settings.items()]


def _study(*overrides: str):
    return load_protocol("demo", "synthetic", list(overrides)).study


def test_the_measured_pruner_without_a_finished_trial_is_priced_at_the_measured_saving():
    price = trial_price(_study(*MEASURED), 4, [])
    assert 0.0 < MEASURED_PRUNING.epochs_saved < 1.0
    assert price.folds == pytest.approx(4 * (1.0 - MEASURED_PRUNING.epochs_saved))
    assert price.source == MEASURED_PRUNING.source


@pytest.mark.parametrize(
    "overrides",
    [
        ["study.pruner=none"],
        ["study.pruner=curve_median"],
        [*MEASURED, "study.pruner_reduction_factor=3"],  # not the settings measured
    ],
)
def test_other_pruners_are_priced_at_every_fold_until_the_run_measures_them(overrides):
    price = trial_price(_study(*overrides), 4, [])
    assert price == trial_price(_study("study.pruner=none"), 4, [])
    assert (price.folds, price.source) == (4.0, "")


def test_a_run_with_finished_trials_is_priced_from_them_not_from_the_measurement():
    attrs = {trial_attrs.fold_key(k): {trial_attrs.FOLD_EPOCHS: 10} for k in range(4)}
    finished = [create_trial(state=TrialState.COMPLETE, value=0.3, user_attrs=attrs)]
    price = trial_price(_study(*MEASURED), 4, finished)
    assert (price.folds, price.source) == (4.0, "")
