"""A fit killed with SIGKILL and resumed ends exactly as an uninterrupted fit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import benchmark

JOB = Path(__file__).with_name("engine_tiny_problem.py")
REPO_ROOT = Path(benchmark.__file__).resolve().parent.parent


def start_job(run_dir: Path, sleep_s: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(JOB.parent)])}
    return subprocess.Popen(
        [sys.executable, str(JOB), str(run_dir), "--sleep", str(sleep_s)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_job(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def validations(run_dir: Path) -> int:
    try:
        return len(json.loads((run_dir / "curve.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def comparable(curve: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.endswith("time_s")} for row in curve]


def test_a_killed_fit_resumes_to_the_same_result_as_an_uninterrupted_one(tmp_path):
    uninterrupted = start_job(tmp_path / "uninterrupted", sleep_s=0.0)

    killed_dir = tmp_path / "killed"
    victim = start_job(killed_dir, sleep_s=0.1)
    deadline = time.monotonic() + 240
    while validations(killed_dir) < 3:  # untrained, epoch 1, epoch 2: mid-way through 8
        assert victim.poll() is None, victim.communicate()[1]
        assert time.monotonic() < deadline, "the job never reached its third validation"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (killed_dir / "result.json").exists(), "killed too late: the run had finished"
    assert (killed_dir / "last.pt").exists()

    resumed = finish_job(start_job(killed_dir, sleep_s=0.0))
    expected = finish_job(uninterrupted)

    assert resumed["best_val_map_at_r"] == expected["best_val_map_at_r"]
    assert resumed["best_iteration"] == expected["best_iteration"]
    assert resumed["iterations"] == expected["iterations"] == 32
    assert comparable(resumed["curve"]) == comparable(expected["curve"])
