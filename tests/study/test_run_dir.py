"""The run directory's manifest: written once, checked on resume, read by cold-started processes."""

from __future__ import annotations

import json

import pytest
from study_helpers import tiny_config

from benchmark.config import load_protocol
from benchmark.errors import ConfigError, DatasetLayoutError
from benchmark.study import RunDirectory, StudyContext
from benchmark.study.run_dir import params_key


def test_initialise_records_the_protocol_plugins_storage_and_code_version(tmp_path, tiny_overrides):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), ["my_losses"], "sqlite:///x.db")
    manifest = json.loads(run_dir.manifest_path.read_text())
    assert manifest["protocol"]["study"]["n_trials"] == 3
    assert manifest["plugins"] == ["my_losses"] and manifest["storage"] == "sqlite:///x.db"
    assert manifest["code_version"] and manifest["created"]


def test_resuming_with_a_result_changing_setting_is_refused_by_name(tmp_path, tiny_overrides):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), [], None)
    with pytest.raises(ConfigError, match=r"training.batch_size: 16 -> 8.*new --run-dir"):
        run_dir.initialise(tiny_config([*tiny_overrides, "training.batch_size=8"]), [], None)


def test_budgets_may_be_raised_on_resume(tmp_path, tiny_overrides):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), [], None)
    run_dir.initialise(
        tiny_config([*tiny_overrides, "study.n_trials=9", "retrain.repeats=4"]), [], None
    )
    config = run_dir.protocol()
    assert (config.study.n_trials, config.retrain.repeats) == (9, 4)


def test_attach_gives_the_recorded_protocol_and_an_overriding_storage(tmp_path, tiny_overrides):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config(tiny_overrides), [], "sqlite:///recorded.db")
    context = StudyContext.attach(run_dir.path)
    assert (
        context.config == tiny_config(tiny_overrides)
        and context.storage_url == "sqlite:///recorded.db"
    )
    assert (
        StudyContext.attach(run_dir.path, "sqlite:///other.db").storage_url == "sqlite:///other.db"
    )


def test_a_folder_without_manifest_is_not_a_run_directory(tmp_path):
    with pytest.raises(ConfigError, match="is not a run directory .* `mlrc run` or `mlrc study`"):
        StudyContext.attach(tmp_path)


def test_params_key_is_stable_and_independent_of_key_order():
    assert params_key({"a": 1.0, "b": 2}) == params_key({"b": 2, "a": 1.0})
    assert params_key({"a": 1.0}) != params_key({"a": 1.5})
    assert len(params_key({"a": 1.0})) == 12


def test_a_missing_dataset_root_fails_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("MLRC_DATA", raising=False)
    config = load_protocol("demo", "cub", [f"data.root={tmp_path / 'no-such-folder'}"])
    with pytest.raises(DatasetLayoutError):
        StudyContext.create(config, RunDirectory(tmp_path / "run"))
    assert not (tmp_path / "run").exists(), "a failed start left a journal or run.json behind"
