"""Helpers of the Slurm tests: finding the test clusters, waiting for a sweep's jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from benchmark.cluster import Ledger, Slurm, TaskState


def how_to_start(options: str = "") -> str:
    command = f"tests/services/start_slurm.sh {options}".strip()
    return f"start it with {command} (as root; installs Debian's slurm-wlm if missing)"


GPU_CONF = Path(os.environ.get("MLRC_TEST_SLURM_GPU_CONF", "/etc/slurm-fakegpu/slurm.conf"))


def cluster_is_up(conf: Path | None = None) -> bool:
    """A node of the cluster (default: the one of $SLURM_CONF or /etc/slurm) takes jobs."""
    if shutil.which("sinfo") is None or (conf is not None and not conf.is_file()):
        return False
    env = {**os.environ, "SLURM_CONF": str(conf)} if conf else None
    try:
        result = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True, timeout=10
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and any(
        state.startswith(("idle", "mixed", "alloc")) for state in result.stdout.split()
    )


def write_profile(folder: Path, text: str = "") -> Path:
    """A CPU profile for the test cluster whose jobs run this checkout's mlrc."""
    path = folder / "test-cluster.yaml"
    base = f"""
        gpus: 0
        cpus_per_task: 1
        time: "00:15:00"
        signal_seconds: 60
        mlrc: [{sys.executable}, -m, benchmark.cli]
    """
    path.write_text(textwrap.dedent(base) + textwrap.dedent(text))
    return path


def set_args(overrides: list[str]) -> list[str]:
    return [arg for item in overrides for arg in ("--set", item)]


def job_states(run_dir: Path) -> dict[str, list[TaskState]]:
    """The tasks of each ledger key's jobs."""
    entries = Ledger(run_dir).entries()
    tasks = Slurm().states(e.job_id for e in entries)
    return {e.key: [t for t in tasks if t.job_id.split("_")[0] == e.job_id] for e in entries}


def wait_for_jobs(run_dir: Path, timeout: float) -> dict[str, list[TaskState]]:
    """Wait until no job of the run is queued or running; returns the final states."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = job_states(run_dir)
        if not any(task.active for tasks in states.values() for task in tasks):
            return states
        time.sleep(1)
    raise AssertionError(f"jobs still active after {timeout} s: {states}\n{logs(run_dir)}")


def wait_for_job(job_id: str, timeout: float = 60) -> TaskState:
    """Wait until the (single) job ``job_id`` has ended; returns its final state."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        (task,) = Slurm().states([job_id])
        if not task.active:
            return task
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still active after {timeout} s")


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def logs(run_dir: Path) -> str:
    """Every job log of the run (for assertion messages)."""
    return "\n".join(
        f"== {p.name}\n{p.read_text()[-3000:]}"
        for p in sorted((run_dir / "slurm" / "logs").glob("*"))
    )


def final_states(states: dict[str, list[TaskState]]) -> dict[str, set[str]]:
    return {key: {task.state for task in tasks} for key, tasks in states.items()}
