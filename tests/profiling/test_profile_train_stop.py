"""A stop signal to ``mlrc profile train`` while its loader's worker processes run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

SMALL = ["training.batch_size=16", "data.image_size=64", "data.resize=72", "data.n_folds=2"]


def test_a_sigterm_during_the_loader_measurement_ends_it_without_a_traceback(tmp_path):
    """SIGTERM to the whole process group (as Slurm and a terminal send it) while two loader
    workers decode: the command exits 130 with its one line; before, each worker died of the
    signal and the parent printed "DataLoader worker ... is killed by signal" with a traceback."""
    args = ["profile", "train", "--protocol", "mlrc", "--device", "cpu", "--network", "small"]
    args += ["--steps", "1", "--loader-workers", "2", "--loader-batches", "400", "--workers", ""]
    args += ["--jpeg-size", "96x72", "--loader-rounds", "1", "--no-progress"]
    args += ["--csv", str(tmp_path / "train.csv"), "--set", "model.small_cnn_width=8"]
    args += [arg for item in SMALL for arg in ("--set", item)]
    profile = subprocess.Popen(
        [sys.executable, "-m", "benchmark.cli", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines = []
    for line in profile.stderr:
        lines.append(line)
        if "measurements done (evaluation forward)" in line:
            time.sleep(5)  # the loader measurement follows: its workers are forked and decoding
            os.killpg(profile.pid, signal.SIGTERM)
            break
    try:
        lines += profile.stderr.readlines()
        code = profile.wait(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(profile.pid, signal.SIGKILL)
    printed = "".join(lines)
    assert code == 130, printed
    assert "Traceback" not in printed and "killed by signal" not in printed, printed
    assert printed.rstrip().endswith(
        "interrupted: finished work is saved; run the same command again to resume"
    )
    assert not (tmp_path / "train.csv").exists()
