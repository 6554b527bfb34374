"""The run directory's manifest: written once, checked on resume, read by cold-started processes."""

from __future__ import annotations

import json

import pytest
from run_helpers import tiny_config

from benchmark.config import load_protocol
from benchmark.errors import ConfigError, DatasetLayoutError
from benchmark.search.context import StudyContext
from benchmark.store.run_directory import RunDirectory, params_key


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
        tiny_config([*tiny_overrides, "study.n_trials=9", "retrain.repeats=4"]),
        [],
        None,
        raise_budget=True,  # the one way (tests/store/test_run_budget.py)
    )
    config = run_dir.protocol()
    assert (config.study.n_trials, config.retrain.repeats) == (9, 4)


def test_the_image_cache_may_be_switched_on_resume_and_new_settings_read_as_defaults(
    tmp_path, tiny_overrides
):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(tiny_config([*tiny_overrides, "data.cache_images=false"]), [], None)
    manifest = json.loads(run_dir.manifest_path.read_text())
    del manifest["protocol"]["data"]["cache_dir"]  # as written before these settings existed
    del manifest["protocol"]["study"]["pruner_percentile"]
    run_dir.manifest_path.write_text(json.dumps(manifest))
    cached = [*tiny_overrides, "data.cache_images=true", "data.cache_dir=/tmp/x"]
    run_dir.initialise(tiny_config(cached), [], None)  # same batches either way
    assert run_dir.protocol().data.cache_images is True


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


# The names of a run directory's own files and folders that mean nothing else in the code (not
# "trials" or "untrained", which also name a column and a loss): only RunDirectory spells them.
_RUN_DIRECTORY_NAMES = {
    "run.json", "optuna.journal", "results.csv", "table.md", "locks", "points", "jobs.json",
    "jobs.lock", "dry-run", "submission-", "repeat_",
}  # fmt: skip


def test_only_run_directory_spells_the_paths_inside_a_run_directory():
    import ast
    from pathlib import Path

    import benchmark

    package = Path(benchmark.__file__).parent
    owner = package / "store" / "run_directory.py"
    spelled = []
    for path in sorted(package.rglob("*.py")):
        if path == owner:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in _RUN_DIRECTORY_NAMES:
                spelled.append(f"{path.relative_to(package)}:{node.lineno} {node.value!r}")
    assert not spelled, "paths of a run directory outside RunDirectory: " + ", ".join(spelled)


def test_asking_a_run_directory_for_its_paths_creates_nothing(tmp_path):
    run_dir = RunDirectory(tmp_path / "run")
    paths = [
        run_dir.manifest_path, run_dir.journal_path, run_dir.results_path, run_dir.table_path,
        run_dir.lock_path("results"), run_dir.trial_fold_dir("mfcwms", "abc", 0),
        run_dir.retrain_fold_dir("mfcwms", 1, 2), run_dir.untrained_fold_dir(0, 1),
        run_dir.point("mf_reg-0.1").path, run_dir.tables_dir, run_dir.slurm_dir,
        run_dir.ledger_path, run_dir.ledger_lock_path, run_dir.slurm_logs_dir,
        run_dir.submission_dir(3), run_dir.dry_run_dir,
    ]  # fmt: skip
    assert run_dir.retrain_fit_dirs() == {}
    assert all(path.is_relative_to(run_dir.path) for path in paths)
    assert len(set(paths)) == len(paths) and not run_dir.path.exists()


def test_a_corrupt_manifest_is_one_error_naming_it(tmp_path):
    from benchmark.errors import RunDirectoryError

    run_dir = RunDirectory(tmp_path)
    run_dir.manifest_path.write_text('{"protocol": ')
    with pytest.raises(RunDirectoryError, match=r"run.json is not valid JSON .*new --run-dir"):
        run_dir.read_manifest()
