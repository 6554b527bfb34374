"""The device-hours projection of Table 1's CUB column, against a hand computation."""

from __future__ import annotations

import dataclasses

import pytest

from benchmark.config import load_protocol
from benchmark.profiling.projection import (
    ProjectionInputs,
    format_projection,
    project,
    pruning_saving,
)
from benchmark.store.pruning_saving import MEASURED_PRUNING

INPUTS = ProjectionInputs(
    device="a test device",
    step_images_per_s=1000.0,
    eval_images_per_s=3000.0,
    loader_per_core=100.0,
    cached_loader_per_core=400.0,
    worker_gain={1: 1.0, 2: 1.5},
    measured_gain=True,
    cores_per_device=8,
    epochs_per_training=10.0,
    pruning_saves=0.4,
    pruning_source="a test measurement",
)


def test_device_hours_are_trainings_times_images_over_the_slower_of_device_and_loader():
    costs = {(c.cached, c.pruned, c.workers): c for c in project(INPUTS)}
    assert len(costs) == 8
    # JPEG files, 1 worker: the 8 cores deliver 800 images/s, below the device's 1000.
    train_s = 10 * 100 * 32 / 800 + (10 / 2 + 1) * (5864 / 4) / 800
    test_s = 5924 / 800
    files = costs[(False, False, 1)]
    assert files.hours_per_training == pytest.approx(train_s / 3600)
    expected = (10 * 50 * 4 + 10 * 10 * 4) * train_s + 10 * 10 * 4 * test_s
    assert files.device_hours == pytest.approx(expected / 3600)
    assert files.bound_by == "loader"
    # Image cache, 2 workers, pruning: 3200 images/s of loader, the device gives 1500 (training)
    # and 4500 (evaluation): bound by the device for training; 60% of the study's trainings.
    cached = costs[(True, True, 2)]
    train_s = 10 * 100 * 32 / 1500 + 6 * (5864 / 4) / 3200
    expected = (10 * 50 * 4 * 0.6 + 400) * train_s + 400 * 5924 / 3200
    assert cached.device_hours == pytest.approx(expected / 3600)
    assert cached.bound_by == "device"


def test_the_projection_prints_its_formula_and_every_input():
    text = format_projection(INPUTS, project(INPUTS))
    for piece in (
        "a test device",
        "device-hours = losses x (trials x folds x (1 - p) + repeats x folds) x t_train",
        "S = 1000.0 training images/s",
        "F = 3000.0 evaluation images/s",
        "L = 100.0 images/s per core reading JPEG files; 400 images/s per core with the image",
        "C = 8 loader cores per device",
        "g(1) = 1.00, g(2) = 1.50 (measured)",
        "E = 10 epochs per training (an assumption",
        "p = 0.40 of the study's training epochs saved by pruning (--pruning-saves: a test "
        "measurement)",
        "2000 study + 400 retrain trainings unpruned",
    ):
        assert piece in text, piece


def test_the_mlrc_protocol_gives_the_budgets_of_table_1():
    inputs = ProjectionInputs.for_protocol(
        load_protocol("mlrc", "cub"),
        device="d",
        step_images_per_s=1.0,
        eval_images_per_s=1.0,
        loader_per_core=1.0,
        cached_loader_per_core=None,
    )
    assert (inputs.trials, inputs.folds, inputs.repeats, inputs.losses) == (50, 4, 10, 10)
    assert (inputs.iterations_per_epoch, inputs.batch_size, inputs.eval_every_epochs) == (
        100,
        32,
        2,
    )
    assert [c.cached for c in project(inputs)] == [False, False]  # no cache measured


def test_the_pruning_saving_is_the_measured_one_unless_given_and_says_which():
    measured = (MEASURED_PRUNING.epochs_saved, MEASURED_PRUNING.source)
    assert pruning_saving(None) == measured
    assert pruning_saving(0.1) == (0.1, "given on the command line")
    saves, source = pruning_saving(None)
    inputs = dataclasses.replace(INPUTS, pruning_saves=saves, pruning_source=source)
    line = f"p = {saves:.2f} of the study's training epochs saved by pruning (--pruning-saves: "
    assert line + MEASURED_PRUNING.source + ")" in format_projection(inputs, project(inputs))
