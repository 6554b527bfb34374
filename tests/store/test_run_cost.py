"""`mlrc status`: trainings done and left, device-hours spent and left, and the ETA of a run
with recorded fold times."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from service_checks import need_service

from benchmark.cli import main
from benchmark.config import load_protocol
from benchmark.engine import FitDirectory, FitResult
from benchmark.io import atomic_write_json
from benchmark.store import trial_attrs
from benchmark.store.pruning_saving import MEASURED_PRUNING
from benchmark.store.run_cost import cost_of_run
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

NOW = time.time()
SPACE = {"alpha": FloatDistribution(0.0, 1.0)}


def _demo_study(tmp_path: Path, overrides: list[str]) -> tuple[RunDirectory, optuna.Study]:
    """A new demo run directory with ``overrides`` and mfcwms's empty study in its journal."""
    config = load_protocol("demo", "synthetic", overrides)
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(config, [], None)
    study = optuna.create_study(
        study_name=study_name(config, "mfcwms"),
        storage=open_storage(None, run_dir.journal_path),
        direction="maximize",
    )
    return run_dir, study


def _trial(alpha: float, fold_seconds: list[float], state=TrialState.COMPLETE, **attrs):
    params = {"alpha": alpha, "mf_reg": 0.0}
    user_attrs = {trial_attrs.PARAMS: params, **attrs}
    for fold, seconds in enumerate(fold_seconds):
        user_attrs[trial_attrs.fold_key(fold)] = {
            trial_attrs.FOLD_VAL_MAP_AT_R: 0.3,
            trial_attrs.FOLD_WALL_TIME_S: seconds,
        }
    value = 0.3 if state == TrialState.COMPLETE else None
    return params, user_attrs, value


def _add(study, alpha, fold_seconds, state=TrialState.COMPLETE, system_attrs=None, **attrs):
    params, user_attrs, value = _trial(alpha, fold_seconds, state, **attrs)
    study.add_trial(
        create_trial(
            state=state,
            value=value,
            params={"alpha": alpha},
            distributions=SPACE,
            user_attrs=user_attrs,
            system_attrs=system_attrs or {},
            intermediate_values={k: 0.3 for k in range(len(fold_seconds))},
        )
    )


def _retrain_fold(run_dir: RunDirectory, loss: str, repeat: int, fold: int, seconds=None):
    """A retrained fold: finished with ``seconds`` of wall time, or still training."""
    files = FitDirectory(run_dir.retrain_fold_dir(loss, repeat, fold))
    files.fit_dir.mkdir(parents=True)
    if seconds is None:
        files.last.write_bytes(b"checkpoint")  # written at its last validation, just now
        return
    result = FitResult(best_val_map_at_r=0.3, best_iteration=1, iterations=2, wall_time_s=seconds)
    atomic_write_json(files.result, result.to_dict())


@pytest.fixture
def run_dir(tmp_path) -> RunDirectory:
    """A demo run of 5 trials x 4 folds and 2 repeats: mfcwms has 2 finished trials (one of them
    re-run after a lost worker, reusing its 2 finished folds), a running trial with a fresh
    heartbeat and 1 finished fold, and 5 of its 8 retrain folds (one still training); cwms
    has finished nothing."""
    config = load_protocol("demo", "synthetic", ["study.n_trials=5", "retrain.repeats=2"])
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(config, [], None)
    storage = open_storage(None, run_dir.journal_path)
    study = optuna.create_study(
        study_name=study_name(config, "mfcwms"), storage=storage, direction="maximize"
    )
    _add(study, 0.1, [10.0, 20.0, 30.0, 40.0])
    lost = {trial_attrs.FAILURE: trial_attrs.WORKER_LOST}
    _add(study, 0.2, [50.0, 60.0], state=TrialState.FAIL, **lost)
    _add(study, 0.2, [50.0, 60.0, 70.0, 80.0], **{trial_attrs.REQUEUED_FROM: 1})
    beat = {trial_attrs.HEARTBEAT: NOW - 5}
    _add(study, 0.3, [100.0], state=TrialState.RUNNING, system_attrs=beat)
    optuna.create_study(
        study_name=study_name(config, "cwms"), storage=storage, direction="maximize"
    )
    for repeat, fold, seconds in [(0, 0, 30.0), (0, 1, 40.0), (0, 2, 50.0), (0, 3, 60.0)]:
        _retrain_fold(run_dir, "mfcwms", repeat, fold, seconds)
    _retrain_fold(run_dir, "mfcwms", 1, 0)
    return run_dir


def test_spent_left_and_eta_per_stage_and_loss(run_dir):
    cost = cost_of_run(run_dir, now=NOW).to_json()
    mfcwms, cwms = cost["losses"]
    assert (mfcwms["loss"], cwms["loss"]) == ("mfcwms", "cwms")
    study, retrain = mfcwms["stages"]
    # Folds counted once each (the re-run reused folds 0-1 of the lost trial): 9 folds.
    assert study["trainings_done"] == 9
    spent = 10 + 20 + 30 + 40 + 50 + 60 + 70 + 80 + 100
    assert study["device_hours_spent"] == pytest.approx(spent / 3600)
    # 5 trials, 2 finished: 3 x 4 folds left, minus the running trial's finished fold.
    assert study["trainings_left"] == 11
    assert study["device_hours_left"] == pytest.approx(11 * (spent / 9) / 3600)
    assert study["running"] == 1
    assert study["eta_seconds"] == pytest.approx(11 * spent / 9)
    assert retrain["trainings_done"] == 4 and retrain["trainings_left"] == 4
    assert retrain["device_hours_spent"] == pytest.approx(180 / 3600)
    assert retrain["device_hours_left"] == pytest.approx(4 * 45 / 3600)
    assert retrain["running"] == 1 and retrain["priced_from"] is None
    assert mfcwms["running"] == 2
    left = 11 * spent / 9 + 4 * 45
    assert mfcwms["device_hours_left"] == pytest.approx(left / 3600)
    assert mfcwms["eta_seconds"] == pytest.approx(left / 2)
    # cwms: nothing finished, nothing running: priced at the run's mean fold time, no ETA.
    run_mean = (spent + 180) / 13
    assert [s["priced_from"] for s in cwms["stages"]] == ["the run's mean fold"] * 2
    assert cwms["trainings_left"] == 5 * 4 + 2 * 4
    assert cwms["device_hours_left"] == pytest.approx(28 * run_mean / 3600)
    assert cwms["eta_seconds"] is None
    total = cost["total"]
    assert total["device_hours_spent"] == pytest.approx((spent + 180) / 3600)
    assert total["device_hours_left"] == pytest.approx((left + 28 * run_mean) / 3600)
    assert total["eta_seconds"] == pytest.approx((left + 28 * run_mean) / 2)


def test_nothing_runs_without_a_fresh_heartbeat_or_a_recent_file(run_dir):
    later = NOW + 3600  # the demo's grace period is 300 s
    for path in run_dir.path.rglob("last.pt"):
        os.utime(path, (NOW, NOW))
    total = cost_of_run(run_dir, now=later).to_json()["total"]
    assert total["running"] == 0 and total["eta_seconds"] is None
    assert total["device_hours_left"] > 0


def test_without_recorded_epochs_pruning_prices_the_trials_left_at_the_folds_finished(tmp_path):
    run_dir, study = _demo_study(tmp_path, ["study.n_trials=6", "study.pruner=median"])
    _add(study, 0.1, [10.0] * 4)
    _add(study, 0.2, [10.0] * 2, state=TrialState.PRUNED)
    stage = cost_of_run(run_dir, now=NOW).to_json()["losses"][0]["stages"][0]
    assert stage["trainings_left"] == pytest.approx(4 * 3.0)  # 4 trials at (4 + 2) / 2 folds


def _trained(folds: dict[int, tuple[int, float]], stopped: tuple[int, int, float] | None):
    """User attributes of a trial: finished folds {k: (epochs, seconds)}, and the fold a
    pruner stopped (k, epochs, seconds)."""
    attrs = {trial_attrs.PARAMS: {"alpha": len(folds) / 10}}
    for fold, (epochs, seconds) in folds.items():
        attrs[trial_attrs.fold_key(fold)] = {
            trial_attrs.FOLD_EPOCHS: epochs,
            trial_attrs.FOLD_WALL_TIME_S: seconds,
        }
    if stopped is not None:
        fold, epochs, seconds = stopped
        attrs[trial_attrs.PRUNED_FOLD] = {
            trial_attrs.FOLD_INDEX: fold,
            trial_attrs.FOLD_EPOCHS: epochs,
            trial_attrs.FOLD_WALL_TIME_S: seconds,
        }
    return attrs


def test_pruning_prices_the_trials_left_at_the_epochs_the_finished_trials_trained(tmp_path, capsys):
    run_dir, study = _demo_study(tmp_path, ["study.n_trials=6", "study.pruner=curve_median"])
    trials = [  # finished folds of 10 epochs (10 s), and folds stopped after 5 and 2 epochs
        (TrialState.COMPLETE, _trained({k: (10, 10.0) for k in range(4)}, None)),
        (TrialState.PRUNED, _trained({0: (10, 10.0)}, (1, 5, 5.0))),
        (TrialState.PRUNED, _trained({}, (0, 2, 2.0))),
    ]
    for number, (state, attrs) in enumerate(trials):
        study.add_trial(
            create_trial(
                state=state,
                value=0.3 if state == TrialState.COMPLETE else None,
                params={"alpha": number / 10},
                distributions=SPACE,
                user_attrs=attrs,
            )
        )
    stage = cost_of_run(run_dir, now=NOW).to_json()["losses"][0]["stages"][0]
    # The trials trained 40, 15 and 2 epochs: 4, 1.5 and 0.2 folds of 10 epochs, 1.9 a trial
    # on average; 3 trials left. (Counting finished folds, 5 / 3 a trial, would give 5.)
    assert stage["trainings_left"] == pytest.approx(3 * 1.9)
    assert stage["device_hours_left"] == pytest.approx(3 * 1.9 * 10.0 / 3600)
    assert stage["trainings_done"] == 5
    assert stage["device_hours_spent"] == pytest.approx((50.0 + 5.0 + 2.0) / 3600)
    # The pruned trials trained 15 / 40 and 2 / 40 of a full trial's epochs.
    assert stage["pruned_epoch_fraction"] == pytest.approx((15 / 40 + 2 / 40) / 2)
    assert main(["status", str(run_dir.path)]) == 0
    assert "mfcwms study: its pruned trials trained 21% of a full trial's epochs" in (
        capsys.readouterr().out
    )


def test_before_a_trial_finished_the_measured_pruner_is_priced_at_its_measured_saving(
    tmp_path, capsys
):
    measured = [f"study.{key}={value}" for key, value in MEASURED_PRUNING.settings.items()]
    run_dir, study = _demo_study(tmp_path, ["study.n_trials=6", *measured])
    _add(study, 0.1, [], state=TrialState.RUNNING)
    stage = cost_of_run(run_dir, now=NOW).to_json()["losses"][0]["stages"][0]
    # 6 trials left at 4 folds less the measured fraction of their epochs (none unpruned: 24)
    left = 6 * 4 * (1.0 - MEASURED_PRUNING.epochs_saved)
    assert stage["trainings_left"] == pytest.approx(left, abs=0.05)  # rounded in the JSON
    assert stage["pruning_priced_from"] == MEASURED_PRUNING.source
    assert main(["status", str(run_dir.path)]) == 0
    out = capsys.readouterr().out
    assert (
        f"mfcwms study: no trial finished yet; pruning priced at {MEASURED_PRUNING.source}" in out
    )


def test_mlrc_status_prints_the_table_and_the_json_keys(run_dir, capsys):
    assert main(["status", str(run_dir.path), "--workers-per-device", "2"]) == 0
    table = capsys.readouterr().out
    assert "mfcwms" in table and "retrain" in table and "2 workers per device" in table
    assert table.splitlines()[-3].startswith("total")
    assert main(["status", str(run_dir.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    keys = {"device_hours_spent", "device_hours_left", "eta_seconds"}
    assert keys <= set(data["total"]) and all(keys <= set(loss) for loss in data["losses"])
    assert main(["status", str(run_dir.path / "nothing")]) == 2


@contextlib.contextmanager
def _read_only_view(folder: Path, mount_point: Path):
    """``folder`` seen through a read-only bind mount at ``mount_point``: even root cannot
    write there (EROFS), unlike a chmod'ed copy (the tests run as root in CI)."""
    mount_point.mkdir()
    mounted = shutil.which("mount") is not None and all(
        subprocess.run(argv, capture_output=True).returncode == 0
        for argv in (
            ["mount", "--bind", str(folder), str(mount_point)],
            ["mount", "-o", "remount,bind,ro", str(mount_point)],
        )
    )
    try:
        need_service("a read-only bind mount", mounted, "run the tests as root (CI does)")
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)


def test_mlrc_status_reads_a_run_directory_on_a_read_only_filesystem(run_dir, tmp_path, capsys):
    journal = run_dir.journal_path.read_bytes()
    with _read_only_view(run_dir.path, tmp_path / "read-only") as view:
        with pytest.raises(OSError) as refused:
            (view / "probe").write_text("")
        assert refused.value.errno == errno.EROFS  # root cannot write there either
        assert main(["status", str(view)]) == 0
        table = capsys.readouterr().out
        assert main(["status", str(view), "--losses", "mfcwms", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
    assert "mfcwms" in table and table.splitlines()[-3].startswith("total")
    assert [loss["loss"] for loss in data["losses"]] == ["mfcwms"]
    assert run_dir.journal_path.read_bytes() == journal
