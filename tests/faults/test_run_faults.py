"""Faults of a single `mlrc run` and of its study, on the real trainer (tiny protocol):

(f) `mlrc run` SIGKILLed mid-trial, then run again -> the rerun recovers the dead trial at once
    (its worker on this machine is provably gone: no wait for the 300 s grace period), trains
    nothing twice, and gives the values of an uninterrupted run;
(g) a study whose every trial has no validation score (a folder dataset of one image per class:
    MAP@R is NaN) -> the worker ends, each trial counted, one line per trial, exit 1 (it looped
    for ever before);
(h) the run directory's disk fills up mid-study (a small tmpfs) -> one error line naming the
    file, the trial handed back uncounted; once space is freed the same command completes, no
    parameter set counted as failed because of the disk, the values of an undisturbed run.

Each prints one line of figures (`pytest tests/faults` shows them under "fault suite figures").
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from chaos import read_trials, study_figures
from run_helpers import folder_config, mlrc_process, set_args, write_folder_dataset

from benchmark.cli.gpu_check import TINY_OVERRIDES
from benchmark.store.run_directory import RunDirectory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

LOSS = "contrastive"
# The demo's heartbeat (30 s) and grace period (300 s): what a user's rerun meets.
OVERRIDES = [*TINY_OVERRIDES, "study.n_trials=3", "retrain.repeats=2"]
KEYS = ["loss", "repeat", "mode", "dim", "metric"]
RERUN_TIMEOUT_S = 240  # less than the grace period: a rerun that waits for it fails


def _run_args(run_dir: Path, overrides: list[str], *extra: str) -> list[str]:
    args = ["run", "--losses", LOSS, "--run-dir", str(run_dir), "--no-progress", *extra]
    return [*args, *set_args(overrides)]


def _finish(process: subprocess.Popen, timeout: float = RERUN_TIMEOUT_S) -> str:
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0]
        raise AssertionError(f"not finished after {timeout} s:\n{output[-3000:]}") from None


def _values(run_dir: Path) -> pd.Series:
    return pd.read_csv(run_dir / "results.csv").set_index(KEYS)["value"].sort_index()


def _finished_fits(run_dir: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in run_dir.rglob("result.json")}


def _wait_for(path_glob: str, run_dir: Path, process: subprocess.Popen, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while not list(run_dir.glob(path_glob)):
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"no {path_glob} after {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> pd.Series:
    """The results of the same run, never disturbed."""
    run_dir = tmp_path_factory.mktemp("undisturbed") / "run"
    output = _finish(mlrc_process(_run_args(run_dir, OVERRIDES)), timeout=600)
    assert (run_dir / "results.csv").is_file(), output
    return _values(run_dir)


@pytest.fixture
def tmpfs(tmp_path):
    """A 16 MiB tmpfs (mounting needs root; CI runs as root), unmounted when the test ends."""
    from service_checks import need_service

    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)]
    mounted = subprocess.run(mount, capture_output=True).returncode == 0
    need_service("a tmpfs mount", mounted, "run the tests as root, where `mount -t tmpfs` works")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def _fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` up; returns the file that holds the space."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fill:
        try:
            while fill.write(b"\0" * 4096):
                pass
        except OSError:
            pass
    return filler


def test_f_a_sigkilled_run_reruns_at_once_trains_nothing_twice_and_gives_the_same_values(
    tmp_path, figures, undisturbed
):
    run_dir = tmp_path / "run"
    start = time.monotonic()
    killed = mlrc_process(_run_args(run_dir, OVERRIDES))
    _wait_for(f"trials/{LOSS}/*/fold_1/result.json", run_dir, killed)  # trial 0 is at fold 2
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    finished = _finished_fits(run_dir)

    rerun_start = time.monotonic()
    output = _finish(mlrc_process(_run_args(run_dir, OVERRIDES)))
    rerun_s = time.monotonic() - rerun_start
    assert "| Cont. |" in output and "waiting for trial" not in output, output
    after = _finished_fits(run_dir)
    recomputed = [path for path, mtime in finished.items() if after[path] != mtime]
    assert not recomputed, f"finished folds trained again: {recomputed}"
    trials = read_trials(RunDirectory(run_dir), None)
    (lost,) = [t for t in trials if t.state.name == "FAIL"]
    assert lost.user_attrs["failure"] == "worker_lost"
    assert lost.user_attrs["fail_reason"].startswith(f"its worker (pid {killed.pid} on ")
    pd.testing.assert_series_equal(_values(run_dir), undisturbed, check_exact=True)
    result = study_figures(
        RunDirectory(run_dir), None, "(f) `mlrc run` SIGKILLed mid-trial, run again", 1, 1, 1,
        time.monotonic() - start,
        note=f"the rerun recovered the dead trial at once and took {rerun_s:.0f} s (grace "
        f"period 300 s); {len(finished)} finished folds kept; values identical",
    )  # fmt: skip
    figures(result.line())
    assert (result.lost, result.duplicated) == (0, 0)


def test_g_a_study_without_a_validation_score_ends_and_counts_every_trial(tmp_path, figures):
    run_dir = RunDirectory(tmp_path / "run")
    singles = write_folder_dataset(tmp_path / "singles", classes=48, images_per_class=1)
    run_dir.initialise(folder_config(singles, OVERRIDES), [], None)
    start = time.monotonic()
    worker = mlrc_process(["worker", "--run-dir", str(run_dir.path), "--loss", LOSS])
    output = _finish(worker, timeout=180)
    wall = time.monotonic() - start
    assert worker.returncode == 1, output
    trials = read_trials(run_dir, None)
    assert len(trials) == 3 and {t.user_attrs["failure"] for t in trials} == {"no_score"}
    warnings = [line for line in output.splitlines() if "warning" in line]
    assert len(warnings) == 3, warnings  # one line per trial
    (error,) = [line for line in output.splitlines() if line.startswith("error:")]
    assert "spent its budget of 3 trials without a usable one; failed trials: 3 no_score" in error
    assert "Traceback" not in output
    figures(
        f"(g) every trial without a validation score (NaN): workers 1, kills 0, trials lost 0, "
        f"duplicated 0, resumed 0; {len(trials)} trials counted, {len(warnings)} warning lines, "
        f"exit 1 with one error line, {wall:.0f} s"
    )


def test_h_a_disk_full_mid_study_hands_the_trial_back_and_the_rerun_completes(
    tmp_path, tmpfs, figures, undisturbed
):
    run_dir = tmpfs / "run"
    journal = f"journal://{tmp_path / 'optuna.journal'}"  # the fold files fill up, not the journal
    args = _run_args(run_dir, OVERRIDES, "--storage", journal)
    start = time.monotonic()
    first = mlrc_process(args)
    _wait_for(f"trials/{LOSS}/*/fold_0/result.json", run_dir, first)
    filler = _fill(tmpfs)
    output = _finish(first)
    assert first.returncode == 2, output
    assert "Traceback" not in output
    (error,) = [line for line in output.splitlines() if line.startswith("error:")]
    assert (
        error.startswith(f"error: cannot write {run_dir}/") and "No space left on device" in error
    )
    assert "was handed back, not counted" in error and "run the same command" in error

    filler.unlink()  # space is freed: the same command again
    output = _finish(mlrc_process(args))
    assert "| Cont. |" in output, output
    trials = read_trials(RunDirectory(run_dir), journal)
    failures = [t.user_attrs.get("failure") for t in trials if t.state.name == "FAIL"]
    assert failures == ["worker_lost"], "a parameter set was counted as failed because of the disk"
    pd.testing.assert_series_equal(_values(run_dir), undisturbed, check_exact=True)
    result = study_figures(
        RunDirectory(run_dir), journal, "(h) the run directory's 16 MiB tmpfs filled mid-study",
        1, 0, 1, time.monotonic() - start,
        note="one error line, the trial handed back uncounted; after freeing space the same "
        "command completed with identical values",
    )  # fmt: skip
    figures(result.line())
    assert (result.lost, result.duplicated) == (0, 0)
