"""A process started cold joins its run's studies only: a wrong --storage or --loss, or a storage
that lost a study, is one line instead of a new empty study."""

from __future__ import annotations

import json

import optuna
import pytest
from run_helpers import tiny_config

from benchmark.cli import main
from benchmark.search.context import StudyContext
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name


def _one_line_error(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.splitlines() == [err] and err.startswith("error: "), err
    return err


@pytest.fixture
def run_dir(tmp_path, tiny_overrides) -> RunDirectory:
    """A run started for contrastive (its manifest records the loss, as `mlrc run --losses
    contrastive` writes it), with its study created and nothing trained."""
    run_dir = RunDirectory(tmp_path / "run")
    config = tiny_config(tiny_overrides)
    run_dir.initialise(config, [], None)
    manifest = json.loads(run_dir.manifest_path.read_text())
    run_dir.manifest_path.write_text(json.dumps({**manifest, "losses": ["contrastive"]}))
    storage = open_storage(None, run_dir.journal_path)
    optuna.create_study(study_name=study_name(config, "contrastive"), storage=storage)
    return run_dir


def test_the_manifest_records_the_losses_a_run_was_started_for(tmp_path, tiny_overrides):
    run_dir = RunDirectory(tmp_path / "run")
    StudyContext.create(tiny_config(tiny_overrides), run_dir, progress=False, losses=["cwms"])
    assert json.loads(run_dir.manifest_path.read_text())["losses"] == ["cwms"]
    run_dir.initialise(tiny_config(tiny_overrides), [], None, losses=["mfcwms"])
    assert run_dir.recorded_losses() == ["cwms", "mfcwms"]


def test_a_worker_for_a_loss_the_run_lacks_is_refused_before_making_a_study(capsys, run_dir):
    err = _one_line_error(capsys, ["worker", "--run-dir", str(run_dir.path), "--loss", "mfcwms"])
    assert f"run {run_dir.path} was started for contrastive, not 'mfcwms': check --loss" in err
    storage = open_storage(None, run_dir.journal_path)
    assert [study.study_name for study in storage.get_all_studies()] == [
        "demo.synthetic.contrastive"
    ]
    assert not run_dir.trials_dir("mfcwms").exists()


def test_a_worker_on_a_journal_that_does_not_exist_is_refused_and_creates_nothing(
    capsys, run_dir, tmp_path
):
    missing = tmp_path / "nowhere" / "optuna.journal"
    argv = ["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive"]
    err = _one_line_error(capsys, [*argv, "--storage", f"journal://{missing}"])
    assert f"--storage journal://{missing}: no journal file there" in err
    assert str(run_dir.journal_path) in err
    assert not missing.parent.exists()


def test_a_worker_on_another_storage_without_the_study_is_refused(capsys, run_dir, tmp_path):
    other = tmp_path / "other.journal"
    other.touch()
    argv = ["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive"]
    err = _one_line_error(capsys, [*argv, "--storage", str(other)])
    assert f"--storage {other} holds no study demo.synthetic.contrastive" in err
    assert other.stat().st_size == 0, "the worker wrote a study into the wrong storage"


@pytest.mark.parametrize("command", ["worker", "run"])
def test_an_emptied_journal_is_refused_instead_of_recreating_the_study(
    capsys, run_dir, tiny_overrides, command
):
    fold = run_dir.trial_fold_dir("contrastive", "0123456789ab", 0)
    fold.mkdir(parents=True)
    (fold / "result.json").write_text("{}")
    run_dir.journal_path.write_bytes(b"")  # emptied (a copy gone wrong, a disk repaired ...)
    if command == "worker":
        argv = ["worker", "--run-dir", str(run_dir.path), "--loss", "contrastive"]
    else:
        overrides = [arg for item in tiny_overrides for arg in ("--set", item)]
        argv = ["run", "--losses", "contrastive", "--run-dir", str(run_dir.path), *overrides]
    err = _one_line_error(capsys, argv)
    assert "holds no study demo.synthetic.contrastive, but" in err
    assert f"{run_dir.trials_dir('contrastive')} holds the folds of 1 of its trials" in err
    assert run_dir.journal_path.read_bytes() == b""
    assert not run_dir.untrained_dir.exists(), "the run trained before refusing"
