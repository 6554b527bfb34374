"""Aggregate trainings/hour of k ``mlrc worker`` processes sharing one device.

For each k a fresh tiny run is created (its protocol is given, already shrunk by the caller)
with a budget of ``k * trials_per_worker`` trials, and k ``mlrc worker`` processes are started
at once on it, exactly as a user starts them. They share the budget; each trial trains
``data.n_folds`` folds. The rate is counted from the study itself: finished trials x folds,
over the time from the first trial's start to the last trial's end (Optuna's timestamps), so
the processes' start-up (imports, CUDA context, dataset index) is left out of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from optuna.trial import TrialState

from benchmark.config import ProtocolConfig
from benchmark.search.context import StudyContext
from benchmark.search.study_factory import load_study
from benchmark.store.run_directory import RunDirectory


@dataclass(frozen=True)
class WorkerMeasurement:
    """What k worker processes finished together, and how fast."""

    processes: int
    threads: int
    """CPU threads of each worker process (``OMP_NUM_THREADS``)."""
    trainings: int
    window_s: float
    """From the first trial's start to the last trial's end."""
    wall_s: float
    """From starting the processes to the last one's exit (start-up included)."""
    status: str = "ok"
    cached: bool = False
    """The tiny run read its images through the image cache (``data.cache_images``)."""

    @property
    def trainings_per_hour(self) -> float | None:
        if self.status != "ok" or self.window_s <= 0:
            return None
        return 3600.0 * self.trainings / self.window_s


def threads_per_worker(processes: int) -> int:
    """CPU threads of each of ``processes`` workers: ``$OMP_NUM_THREADS`` when it is set (the
    user's choice, e.g. 1 on a shared machine), else the cores split evenly, at least one."""
    chosen = os.environ.get("OMP_NUM_THREADS", "")
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    return max(1, (os.cpu_count() or 1) // processes)


def measure_workers(
    run_config: ProtocolConfig,
    loss_name: str,
    processes: int,
    run_path: Path,
    trials_per_worker: int = 1,
    plugins: tuple[str, ...] = (),
    timeout_s: float = 1800.0,
) -> WorkerMeasurement:
    """Start ``processes`` ``mlrc worker`` processes on a fresh run at ``run_path``; wait."""
    config = replace(
        run_config, study=replace(run_config.study, n_trials=processes * trials_per_worker)
    )
    context = StudyContext.create(
        config, RunDirectory(run_path), plugins=plugins, progress=False, losses=[loss_name]
    )
    cached = config.data.cache_images
    if cached:  # built here, untimed: the workers would otherwise all build it at once
        context.cross_validation.split.caches  # noqa: B018
    threads = threads_per_worker(processes)
    start = time.perf_counter()
    workers, logs = start_workers(run_path, loss_name, processes, threads)
    failure = wait_for_workers(workers, logs, deadline=start + timeout_s)
    wall_s = time.perf_counter() - start
    if failure:
        return WorkerMeasurement(processes, threads, 0, 0.0, wall_s, f"failed: {failure}", cached)
    trials = load_study(context, loss_name).get_trials(
        deepcopy=False, states=(TrialState.COMPLETE,)
    )
    if not trials:
        failure = "failed: no trial completed"
        return WorkerMeasurement(processes, threads, 0, 0.0, wall_s, failure, cached)
    # a complete trial has both times
    first_start = min(t.datetime_start for t in trials if t.datetime_start is not None)
    last_end = max(t.datetime_complete for t in trials if t.datetime_complete is not None)
    window_s = (last_end - first_start).total_seconds()
    trainings = len(trials) * config.data.n_folds
    return WorkerMeasurement(processes, threads, trainings, window_s, wall_s, cached=cached)


def start_workers(
    run_path: Path, loss_name: str, processes: int, threads: int
) -> tuple[list[subprocess.Popen], list[Path]]:
    """Start ``processes`` ``mlrc worker`` processes of ``threads`` CPU threads each on the run at
    ``run_path``, as a user starts them; each logs to ``run_path/worker-<i>.log``.

    Returns the processes and their logs.
    """
    command = [sys.executable, "-m", "benchmark.cli", "worker", "--run-dir", str(run_path)]
    command += ["--loss", loss_name, "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    logs = [run_path / f"worker-{i}.log" for i in range(processes)]
    workers = []
    for log in logs:
        with open(log, "w") as log_file:  # the child keeps its own copy of the descriptor
            workers.append(
                subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            )
    return workers, logs


def wait_for_workers(
    workers: list[subprocess.Popen], logs: list[Path], deadline: float, poll_s: float = 0.2
) -> str | None:
    """Wait for every worker; when one fails or ``deadline`` (a ``time.perf_counter()`` value)
    passes, stop the others at once. Returns what went wrong, if anything."""
    while True:
        codes = [worker.poll() for worker in workers]
        failure = _first_failure(codes, logs)
        running = [worker for worker, code in zip(workers, codes, strict=True) if code is None]
        if failure is None and running and time.perf_counter() >= deadline:
            failure = "timed out"
        if failure is not None or not running:
            for worker in running:
                worker.kill()
                worker.wait()
            return failure
        time.sleep(poll_s)


def _first_failure(codes: list[int | None], logs: list[Path]) -> str | None:
    """The first non-zero exit code (``None``: still running) with its log's last line."""
    for code, log in zip(codes, logs, strict=True):
        if code not in (None, 0):
            return _exit_failure(code, log)
    return None


def _exit_failure(code: int, log: Path) -> str:
    """The exit code and the last non-empty line of the worker's log."""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "no output"
    return f"mlrc worker exited with {code}: {last}"
