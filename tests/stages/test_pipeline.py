"""`mlrc run` end to end: table with a "no training" row, and resuming recomputes nothing."""

from __future__ import annotations

import signal
import time

import pandas as pd
from optuna.trial import TrialState
from run_helpers import load_study, mlrc_process, set_args, trials_by_state

from benchmark.cli import main
from benchmark.losses import get_loss_spec, list_losses

LOSSES = ["contrastive", "mfcwms"]


def _fit_results(run_dir):
    return {p: p.stat().st_mtime_ns for p in run_dir.rglob("result.json")}


def test_interrupted_run_resumes_without_recomputing_finished_work(
    tmp_path, tiny_overrides, capsys
):
    run_dir = tmp_path / "run"
    overrides = [*tiny_overrides, "study.heartbeat_interval=1", "study.grace_period=2"]
    args = ["run", "--losses", ",".join(LOSSES), "--run-dir", str(run_dir), *set_args(overrides)]

    process = mlrc_process([*args, "--no-progress"])
    marker = run_dir / "retrain" / "contrastive" / "repeat_0" / "fold_1" / "result.json"
    deadline = time.time() + 240
    while not marker.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), process.communicate()[0]
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = _fit_results(run_dir)
    assert len(finished_before) >= 4 * 3 + 2  # all of contrastive's trials, 2 retrain folds

    assert main([*args, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    after_resume = _fit_results(run_dir)
    for path, mtime in finished_before.items():
        assert after_resume[path] == mtime, f"{path} was recomputed"

    rows = pd.read_csv(run_dir / "results.csv")
    counts = rows.groupby(["loss", "mode", "metric"]).size()
    assert set(rows["loss"]) == {*LOSSES, "untrained"}
    assert (counts == 2).all(), "a repeat is missing or duplicated"
    assert set(rows["dim"]) == {128, 512}
    for loss in LOSSES:
        assert len(trials_by_state(load_study(run_dir, loss))[TrialState.COMPLETE]) == 3
    assert "no training" in printed and "MFCWMS" in printed and "| Loss | 128D | 512D |" in printed
    assert "**MAP@R on Synthetic under the demo protocol, in percent: mean ± " in printed

    results_bytes = (run_dir / "results.csv").read_bytes()
    assert main([*args, "--no-progress"]) == 0
    assert _fit_results(run_dir) == after_resume
    assert (run_dir / "results.csv").read_bytes() == results_bytes

    capsys.readouterr()
    tables = ["tables", "--run-dir", str(run_dir), "--out", str(tmp_path / "tables")]
    assert main([*tables, "--metrics", "map_at_r,precision_at_1"]) == 0
    table = capsys.readouterr().out
    assert (
        "| no training |" in table and "**P@1 on Synthetic" in table and "over 2 repeats" in table
    )


def test_all_losses_run_end_to_end(tmp_path, tiny_overrides, capsys):
    overrides = [*tiny_overrides, "study.n_trials=1", "retrain.repeats=1", "training.max_epochs=1"]
    run_dir = tmp_path / "run"
    args = [
        "run",
        "--losses",
        "all",
        "--run-dir",
        str(run_dir),
        "--no-progress",
        *set_args(overrides),
    ]
    code = main(args)
    captured = capsys.readouterr()
    tested = set(pd.read_csv(run_dir / "results.csv")["loss"]) - {"untrained"}
    # With one random trial a loss may diverge; it is then reported and skipped, never lost,
    # and the run is no success: one error line per such loss at the end, exit status 1.
    registered = {spec.name for spec in list_losses()}
    skipped = {
        name for name in registered if f"warning: skipping {name}: " in captured.err + captured.out
    }
    no_result = {
        line.split()[1] for line in captured.err.splitlines() if " gave no result: " in line
    }
    assert code == (1 if skipped else 0) and no_result == skipped
    assert tested | skipped == registered and not tested & skipped
    assert len(tested) >= len(registered) - 2
    for label in (get_loss_spec(name).display for name in tested):
        assert f"| {label} |" in captured.out
