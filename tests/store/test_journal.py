"""The journal file cannot be torn: a half-written operation is repaired or skipped with one
warning naming it, a failed append is rolled back, and the study stays readable."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from benchmark.config import load_protocol
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

HALF = b'{"op_code":8,"worker_id":"dead-writer","trial_id":0,"user_attr":{"note":"half-writ'


def _run_with_trials(tmp_path, values: list[float]) -> tuple[RunDirectory, str]:
    config = load_protocol("demo", "synthetic", [])
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(config, [], None)
    name = study_name(config, "contrastive")
    study = optuna.create_study(
        study_name=name, storage=open_storage(None, run_dir.journal_path), direction="maximize"
    )
    for value in values:
        study.add_trial(create_trial(value=value, params={}, distributions={}))
    return run_dir, name


def _tear(run_dir: RunDirectory) -> None:
    """What a writer killed in the middle of its append leaves: half an operation, no newline."""
    with open(run_dir.journal_path, "ab") as journal:
        journal.write(HALF)


def _complete_values(storage, name: str) -> list[float]:
    study = optuna.load_study(study_name=name, storage=storage)
    return [t.value for t in study.get_trials(states=(TrialState.COMPLETE,))]


def _status(run_dir: RunDirectory) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "slurm", "status", str(run_dir.path), "--json"],
        capture_output=True,
        text=True,
    )


def test_a_torn_line_is_cut_by_the_next_writer_with_one_warning_and_the_study_stays_whole(
    tmp_path, caplog
):
    run_dir, name = _run_with_trials(tmp_path, [0.1])
    _tear(run_dir)

    # Another worker goes on appending (each append after the tear).
    with caplog.at_level(logging.WARNING):
        storage = open_storage(None, run_dir.journal_path)
        study = optuna.load_study(study_name=name, storage=storage)
        for value in (0.2, 0.3):
            study.add_trial(create_trial(value=value, params={}, distributions={}))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "half-writ" in warnings[0] and str(run_dir.journal_path) in warnings[0]

    assert run_dir.journal_path.read_bytes().endswith(b"\n")
    for line in run_dir.journal_path.read_bytes().splitlines():
        json.loads(line)  # every line is a whole operation again
    assert _complete_values(open_storage(None, run_dir.journal_path), name) == [0.1, 0.2, 0.3]

    shown = _status(run_dir)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    (progress,) = json.loads(shown.stdout)["studies"]
    assert progress["complete"] == 3


def test_a_line_torn_by_an_older_writer_is_skipped_with_one_warning_keeping_what_follows(
    tmp_path, caplog
):
    run_dir, name = _run_with_trials(tmp_path, [0.1, 0.2, 0.3])
    # Optuna's own file backend appends straight after a half operation, on the same line: the
    # second trial's operation then follows the torn one without a line break.
    lines = run_dir.journal_path.read_bytes().splitlines(keepends=True)
    second = [i for i, line in enumerate(lines) if json.loads(line)["op_code"] == 4][1]
    lines[second] = HALF + lines[second]
    run_dir.journal_path.write_bytes(b"".join(lines))

    with caplog.at_level(logging.WARNING):
        storage = open_storage(None, run_dir.journal_path)
        first = _complete_values(storage, name)
        again = _complete_values(storage, name)  # read again: no second warning
    assert first == again == [0.1, 0.2, 0.3]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "half-writ" in warnings[0] and "kept" in warnings[0]

    shown = _status(run_dir)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert json.loads(shown.stdout)["studies"][0]["complete"] == 3
    assert shown.stderr.count("half-writ") == 1, shown.stderr


def test_a_failed_append_is_rolled_back_and_raises_one_clear_error(tmp_path, monkeypatch):
    from benchmark.errors import StorageError

    run_dir, name = _run_with_trials(tmp_path, [0.1])
    before = run_dir.journal_path.read_bytes()
    study = optuna.load_study(study_name=name, storage=open_storage(None, run_dir.journal_path))
    real_pwrite = os.pwrite

    def disk_fills_up(fd, data, offset):
        real_pwrite(fd, bytes(data[: len(data) // 2]), offset)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", disk_fills_up)
    with pytest.raises(StorageError, match="No space left on device.*rolled back") as error:
        study.add_trial(create_trial(value=0.2, params={}, distributions={}))
    assert len(str(error.value).splitlines()) == 1
    monkeypatch.undo()
    assert run_dir.journal_path.read_bytes() == before, "a torn line was left behind"
    study.add_trial(create_trial(value=0.3, params={}, distributions={}))
    assert _complete_values(open_storage(None, run_dir.journal_path), name) == [0.1, 0.3]
