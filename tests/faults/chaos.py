"""The fault suite's tools: study workers with a fast stand-in for the fold trainer, a chaos loop
that SIGKILLs them, and the figures of a sweep (trials lost, duplicated).

A worker is a real process forked from the test process (so that 16 of them start at once on 2
cores): it runs ``mlrc worker`` -- the real study, budget, heartbeats, storage and signal
handling -- and only ``evaluate_params`` is replaced by a stand-in that sleeps instead of
training, reporting per fold to the storage as the real one does.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState

from benchmark.store import trial_attrs
from benchmark.store.run_directory import RunDirectory, params_key
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

LOSS = "contrastive"
_FORK = multiprocessing.get_context("fork")


@dataclass
class Figures:
    """One line of the fault suite's table."""

    fault: str
    workers: int
    kills: int
    lost: int
    duplicated: int
    resumed: int
    trials: int
    wall_s: float
    note: str = ""
    recovered: int = 0
    """Trials of killed workers that the others recovered (failed, their parameters re-run)."""

    def line(self) -> str:
        note = f" ({self.note})" if self.note else ""
        recovered = f", recovered {self.recovered}" if self.recovered else ""
        return (
            f"{self.fault}: workers {self.workers}, kills {self.kills}{recovered}, trials lost "
            f"{self.lost}, duplicated {self.duplicated}, resumed {self.resumed}; {self.trials} "
            f"trials, {self.wall_s:.0f} s{note}"
        )


class Sweep:
    """A study of ``n_trials`` run by forked stand-in workers on ``storage`` (None: journal)."""

    def __init__(self, tmp_path: Path, overrides: list[str], storage: str | None, fold_s: float):
        from run_helpers import tiny_config

        self.run_dir = RunDirectory(tmp_path / "run")
        self.config = tiny_config(overrides)
        self.storage = storage
        self.fold_s = fold_s
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.evaluations = tmp_path / "evaluations.log"
        """One line per evaluation finished (all folds): trial number, parameter key, pid."""
        self.evaluations.touch()
        self.starts = tmp_path / "starts.log"
        """One line per evaluation started: trial number, pid."""
        self.starts.touch()
        self.killed: set[int] = set()
        """The pids of the workers the chaos loop SIGKILLed."""
        self.run_dir.initialise(self.config, [], storage)
        self.trials()  # opens the storage once, as a submit does (a database gets its tables)
        self.started = 0

    def start_worker(self) -> multiprocessing.Process:
        log = self.logs / f"worker-{self.started}.log"
        self.started += 1
        logs = (str(log), str(self.evaluations), str(self.starts))
        args = (str(self.run_dir.path), self.storage, logs, self.fold_s)
        worker = _FORK.Process(target=_worker_main, args=args)
        worker.start()
        worker.log = log  # type: ignore[attr-defined]
        return worker

    def evaluations_done(self) -> int:
        return len(self.evaluations.read_text().splitlines())

    def trials(self) -> list[optuna.trial.FrozenTrial]:
        return read_trials(self.run_dir, self.storage)

    def complete(self) -> bool:
        finished = [t for t in self.trials() if t.state == TrialState.COMPLETE]
        return len(finished) >= self.config.study.n_trials

    def figures(self, fault: str, workers: int, kills: int, resumed: int, wall_s: float, note=""):
        return study_figures(
            self.run_dir, self.storage, fault, workers, kills, resumed, wall_s, note
        )

    def worker_logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()}" for p in sorted(self.logs.glob("*.log")))


def read_trials(run_dir: RunDirectory, storage_url: str | None) -> list[optuna.trial.FrozenTrial]:
    """The trials of the run's study (none before it exists)."""
    storage = open_storage(storage_url, run_dir.journal_path)
    try:
        name = study_name(run_dir.protocol(), LOSS)
        if name not in [study.study_name for study in storage.get_all_studies()]:
            return []
        return storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False)
    finally:
        engine = getattr(storage, "engine", None)
        if engine is not None:
            engine.dispose()  # no pooled connection is inherited by a worker forked later


def study_figures(
    run_dir: RunDirectory,
    storage_url: str | None,
    fault: str,
    workers: int,
    kills: int,
    resumed: int,
    wall_s: float,
    note: str = "",
) -> Figures:
    """Lost: parameter sets drawn in full that no trial completed (a worker killed before it
    drew them all lost nothing); duplicated: parameter sets completed by more than one trial.
    The budget must be exact and nothing left in flight."""
    trials = read_trials(run_dir, storage_url)
    by_state: dict[TrialState, list] = {}
    for trial in trials:
        by_state.setdefault(trial.state, []).append(trial)
    complete = [params_key(t.params) for t in by_state.get(TrialState.COMPLETE, [])]
    names = {name for t in by_state.get(TrialState.COMPLETE, []) for name in t.params}
    drawn = {params_key(t.params) for t in trials if set(t.params) == names}
    lost = len(drawn - set(complete))
    duplicated = len(complete) - len(set(complete))
    n_trials = run_dir.protocol().study.n_trials
    assert len(complete) == n_trials, f"the budget is not exact: {len(complete)} of {n_trials}"
    assert not by_state.get(TrialState.RUNNING) and not by_state.get(TrialState.WAITING)
    return Figures(fault, workers, kills, lost, duplicated, resumed, len(complete), wall_s, note)


@dataclass
class Recovery:
    """What the workers' logs say about the trials of killed workers."""

    recovered: int
    """Trials lost with a killed worker and recovered by the others."""
    redone: int
    """Evaluations run again because their worker was killed after finishing them and before
    the storage recorded the result (a window of milliseconds)."""


def check_recovery(sweep: Sweep) -> Recovery:
    """Assert that the trials of killed workers were recovered -- and only theirs: a live
    worker's trial taken as lost would run twice -- and that every completed trial was
    evaluated exactly once; an evaluation whose trial did not complete must come from a
    killed worker (killed after finishing it, before the storage recorded it)."""
    trials = sweep.trials()
    complete = {t.number: params_key(t.params) for t in trials if t.state == TrialState.COMPLETE}
    names = {name for t in trials if t.state == TrialState.COMPLETE for name in t.params}
    lost = [t for t in trials if t.user_attrs.get(trial_attrs.FAILURE) == trial_attrs.WORKER_LOST]
    started_by = dict(_log_rows(sweep.starts, 2))
    taken = [t.number for t in lost if started_by.get(t.number, 0) not in {0, *sweep.killed}]
    assert not taken, f"trials {taken} of live workers were taken as lost\n{sweep.worker_logs()}"
    cut_short = {n for n, pid in started_by.items() if pid in sweep.killed and n not in complete}
    unrecovered = sorted(cut_short - {t.number for t in lost})
    assert not unrecovered, f"the killed workers' trials {unrecovered} were not recovered"
    not_rerun = [
        t.number
        for t in lost
        if set(t.params) == names and params_key(t.params) not in complete.values()
    ]
    assert not not_rerun, f"the parameters of lost trials {not_rerun} were never completed"
    finished = _log_rows(sweep.evaluations, 3)
    evaluated = sorted(number for number, _, _ in finished if number in complete)
    assert evaluated == sorted(complete), "a completed trial was evaluated twice, or never"
    again = [(number, pid) for number, _, pid in finished if number not in complete]
    assert all(pid in sweep.killed for _, pid in again), f"evaluations ran twice: {again}"
    return Recovery(recovered=len(lost), redone=len(again))


def _log_rows(path: Path, width: int) -> list[tuple]:
    """The rows of a stand-in's log: integers but for a parameter key (the middle column)."""
    rows = [line.split(" ") for line in path.read_text().splitlines()]
    assert all(len(row) == width for row in rows), f"a torn line in {path}"
    return [tuple(v if i == 1 and width == 3 else int(v) for i, v in enumerate(r)) for r in rows]


def chaos(
    sweep: Sweep,
    workers: int,
    kill_every_s: float,
    max_kills: int,
    seed: int = 0,
    timeout_s: float = 240,
) -> tuple[int, int]:
    """Run ``workers`` workers; every ``kill_every_s`` SIGKILL a random live one and start a
    replacement, until the budget is nearly met or ``max_kills``; then, while the study is not
    complete once every worker has left, start one more after the grace period (the next
    submit, which comes later: it finds every dead worker's trial recoverable). Returns (kills,
    workers started after the chaos to resume)."""
    rng = random.Random(seed)
    live = [sweep.start_worker() for _ in range(workers)]
    n_trials = sweep.config.study.n_trials
    deadline = time.monotonic() + timeout_s
    kills = 0
    next_kill = None
    while time.monotonic() < deadline:
        live = [w for w in live if w.is_alive()]
        if not live:
            break
        done = sweep.evaluations_done()
        if next_kill is None and done:
            next_kill = time.monotonic() + kill_every_s  # the sweep is under way
        if next_kill and time.monotonic() >= next_kill and kills < max_kills and done < n_trials:
            victim = rng.choice(live)
            os.kill(victim.pid, signal.SIGKILL)
            victim.join()
            sweep.killed.add(victim.pid)
            kills += 1
            live.append(sweep.start_worker())
            next_kill = time.monotonic() + kill_every_s
        time.sleep(0.05)
    for worker in live:
        worker.join(max(deadline - time.monotonic(), 1))
        assert not worker.is_alive(), "a worker never ended\n" + sweep.worker_logs()
    resumed = 0
    while not sweep.complete():
        assert resumed < 3, "the study did not complete\n" + sweep.worker_logs()
        time.sleep(sweep.config.study.grace_period)
        resume = sweep.start_worker()
        resume.join(timeout_s)
        resumed += 1
    return kills, resumed


def stand_in_score(params: dict, fold: int) -> float:
    """A deterministic stand-in for a fold's best validation MAP@R."""
    values = [float(v) for v in params.values() if isinstance(v, int | float)]
    return (sum(values) * 7.31 + fold * 0.013) % 1.0


def _worker_main(run_dir: str, storage: str | None, logs: tuple[str, str, str], fold_s: float):
    """The forked worker: ``mlrc worker`` with the stand-in trainer; never returns."""
    log, evaluations, starts = logs
    code = 1
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        logging.root.handlers = [logging.StreamHandler(sys.stderr)]  # not pytest's
        for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)

        from benchmark.search import worker as optimize

        def evaluate(context, loss, params, trial):
            with open(starts, "a") as started:
                started.write(f"{trial.number} {os.getpid()}\n")
            scores = []
            for fold in range(context.config.data.n_folds):
                time.sleep(fold_s)
                scores.append(stand_in_score(params, fold))
                trial.set_user_attr(trial_attrs.fold_key(fold), {"val_map_at_r": scores[-1]})
                trial.report(sum(scores) / len(scores), step=fold)
            with open(evaluations, "a") as done:
                done.write(f"{trial.number} {params_key(params)} {os.getpid()}\n")
            return sum(scores) / len(scores)

        optimize.evaluate_params = evaluate
        from benchmark.cli import main

        args = ["worker", "--run-dir", run_dir, "--loss", LOSS, "--no-progress"]
        code = main([*args, *(["--storage", storage] if storage else [])])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
