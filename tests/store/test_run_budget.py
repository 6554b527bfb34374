"""A run's budget is fixed per run directory like every setting that shapes results: a change is
refused by name with both values, except a raise with --raise-budget (never a lowering)."""

from __future__ import annotations

import json

import pytest
from run_helpers import tiny_config

from benchmark.errors import ConfigError
from benchmark.store.run_directory import RunDirectory


@pytest.fixture
def run_dir(tmp_path, tiny_overrides) -> RunDirectory:
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), [], None)  # study.n_trials = 3
    return run_dir


def test_a_changed_study_budget_is_refused_naming_it_and_both_values(run_dir, tiny_overrides):
    before = run_dir.manifest_path.read_text()
    with pytest.raises(ConfigError) as error:
        run_dir.initialise(tiny_config([*tiny_overrides, "study.n_trials=2"]), [], None)
    message = str(error.value)
    assert "study.n_trials: 3 -> 2" in message and "\n" not in message
    assert "never lowered" in message and "--set study.n_trials=3" in message
    assert run_dir.manifest_path.read_text() == before  # not silently rewritten


def test_a_higher_budget_without_the_flag_is_refused_and_names_the_flag(run_dir, tiny_overrides):
    with pytest.raises(ConfigError, match=r"study.n_trials: 3 -> 5\).*add --raise-budget"):
        run_dir.initialise(tiny_config([*tiny_overrides, "study.n_trials=5"]), [], None)
    with pytest.raises(ConfigError, match=r"retrain.repeats: 2 -> 4"):
        run_dir.check_settings(tiny_config([*tiny_overrides, "retrain.repeats=4"]))


def test_raise_budget_raises_it_for_the_run_and_records_when(run_dir, tiny_overrides):
    raised = tiny_config([*tiny_overrides, "study.n_trials=5", "retrain.repeats=4"])
    run_dir.check_settings(raised, raise_budget=True)
    run_dir.initialise(raised, [], None, raise_budget=True)
    config = run_dir.protocol()
    assert (config.study.n_trials, config.retrain.repeats) == (5, 4)
    (record,) = json.loads(run_dir.manifest_path.read_text())["budget_raised"]
    assert record["study.n_trials"] == [3, 5] and record["retrain.repeats"] == [2, 4]
    assert record["at"]
    run_dir.initialise(raised, [], None)  # resuming at the raised budget needs no flag


def test_raise_budget_never_lowers_a_budget_nor_lets_another_setting_change(
    run_dir, tiny_overrides
):
    with pytest.raises(ConfigError, match=r"study.n_trials: 3 -> 1.*never lowered"):
        run_dir.initialise(
            tiny_config([*tiny_overrides, "study.n_trials=1"]), [], None, raise_budget=True
        )
    changed = [*tiny_overrides, "study.n_trials=5", "training.batch_size=8"]
    with pytest.raises(ConfigError, match=r"training.batch_size: 16 -> 8.*new --run-dir"):
        run_dir.initialise(tiny_config(changed), [], None, raise_budget=True)
    assert run_dir.protocol().study.n_trials == 3
