"""What a run has cost and what is left: fold trainings, device-hours and an ETA, per stage and
loss, read from the run directory and its storage (``mlrc status``, ``mlrc slurm status``).

- **Spent**: the recorded wall time of every finished fold training -- a study trial's
  ``fold_<k>`` records (each fold counted once, however many times a lost trial was re-queued
  and reused it) and each retrained fold's ``result.json`` -- and of each fold a pruner stopped
  (its ``pruned_fold`` record).
- **Left**: the fold trainings still to run x the mean fold time. A study has ``n_trials x
  folds`` of them, fewer when a pruner is on: each trial left is counted at the mean epochs the
  finished trials trained (a pruned one the fraction it trained before it was stopped), in
  units of the mean finished fold's epochs (runs recorded without epochs: at the mean number of
  folds the finished trials finished); before any finished, at the saving measured by ``mlrc
  profile pruners`` (:mod:`benchmark.store.pruning_saving`). Retrains: ``repeats x folds``. A
  stage with no finished fold is priced at the loss's other stage, else the run's mean fold.
- **Running**: trials whose worker beats (:mod:`benchmark.store.trial_liveness`: a heartbeat
  within two heartbeat intervals), and retrain folds that wrote a file within
  ``study.grace_period``. The ETA at the current rate is the training-hours left divided by the
  trainings running now (none running: no ETA). A running trial whose worker went silent is not
  running: it is listed as waited for, with its last heartbeat and when it is recovered.
- **Failed**: trials that failed because of their parameters or data (a trial handed back by a
  stopped worker is not one), and retrain folds that diverged. A study that cannot give a
  result, or cannot work as it is, says why (:func:`~benchmark.store.study_state.cannot_work_reason`).

Hours are summed wall times of trainings. With ``k`` workers sharing a device each training
holds a k-th of it: ``workers_per_device`` divides the device-hours (never the ETA).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from benchmark.config import ProtocolConfig
from benchmark.engine import FitDirectory, FitResult
from benchmark.store import trial_attrs
from benchmark.store.pruning_saving import pricing_notes, trial_price
from benchmark.store.results_file import UNTRAINED, ResultsFile
from benchmark.store.run_directory import RunDirectory, params_key
from benchmark.store.storage import trials_by_study
from benchmark.store.study_state import (
    budget_state,
    cannot_work_reason,
    failures,
    last_beat,
    study_name,
)
from benchmark.store.trial_liveness import Liveness, liveness, worker_description

STUDY = "study"
RETRAIN = "retrain"


@dataclass
class StageCost:
    """One stage of one loss: fold trainings done and left, hours spent and left."""

    stage: str
    trainings_done: int = 0
    trainings_left: float = 0.0
    seconds_spent: float = 0.0
    mean_fold_seconds: float | None = None
    """The stage's own mean fold time, or the one it is priced at (see :attr:`priced_from`)."""
    priced_from: str = ""
    """Where the mean fold time comes from when the stage has none of its own."""
    running: int = 0
    pruned_epoch_fraction: float | None = None
    """A study with a pruner: the mean fraction of a full trial's epochs that its pruned
    trials trained (None without a pruned trial or recorded epochs)."""
    pruning_priced_from: str = ""
    """Where the pruning saving of the trials left comes from when no trial finished yet (the
    measured one: :data:`~benchmark.store.pruning_saving.MEASURED_PRUNING`)."""
    failed: int = 0
    silent: list[dict[str, Any]] = field(default_factory=list)
    """Running trials whose worker went silent: ``trial``, ``last_heartbeat_s`` (ago),
    ``recovered_at`` (epoch seconds; None when the next worker recovers it at once) and
    ``worker``."""
    problem: str | None = None
    """Why the stage cannot give a result, or cannot work as it is (one line with the fix)."""

    @property
    def seconds_left(self) -> float | None:
        if self.trainings_left == 0:
            return 0.0
        if self.mean_fold_seconds is None:
            return None
        return self.trainings_left * self.mean_fold_seconds


@dataclass
class LossCost:
    loss: str
    stages: list[StageCost] = field(default_factory=list)


@dataclass
class RunCost:
    """Every loss's stages, and how to turn their seconds into device-hours."""

    run_dir: Path
    protocol: str
    dataset: str
    losses: list[LossCost]
    workers_per_device: int = 1

    def to_json(self) -> dict[str, Any]:
        """Per stage, per loss and in total: ``trainings_done``, ``trainings_left``,
        ``device_hours_spent``, ``device_hours_left`` (null when unknown), ``running`` and
        ``eta_seconds`` (null when nothing runs)."""
        every_stage = [stage for loss in self.losses for stage in loss.stages]
        return {
            "run_dir": str(self.run_dir),
            "protocol": self.protocol,
            "dataset": self.dataset,
            "workers_per_device": self.workers_per_device,
            "losses": [
                {
                    "loss": loss.loss,
                    **self._summary(loss.stages),
                    "stages": [
                        {"stage": s.stage, **self._summary([s]), **self._details(s)}
                        for s in loss.stages
                    ],
                }
                for loss in self.losses
            ],
            "total": self._summary(every_stage),
        }

    def _summary(self, stages: list[StageCost]) -> dict[str, Any]:
        lefts = [stage.seconds_left for stage in stages]
        known = [value for value in lefts if value is not None]
        left = None if len(known) < len(lefts) else sum(known)
        running = sum(stage.running for stage in stages)
        hours = 3600.0 * self.workers_per_device
        return {
            "trainings_done": sum(stage.trainings_done for stage in stages),
            "trainings_left": round(sum(stage.trainings_left for stage in stages), 1),
            "device_hours_spent": sum(stage.seconds_spent for stage in stages) / hours,
            "device_hours_left": None if left is None else left / hours,
            "running": running,
            "failed": sum(stage.failed for stage in stages),
            "eta_seconds": left / running if running and left is not None else None,
        }

    @staticmethod
    def _details(stage: StageCost) -> dict[str, Any]:
        return {
            "mean_fold_seconds": stage.mean_fold_seconds,
            "priced_from": stage.priced_from or None,
            "pruned_epoch_fraction": stage.pruned_epoch_fraction,
            "pruning_priced_from": stage.pruning_priced_from or None,
            "silent_trials": stage.silent,
            "problem": stage.problem,
        }


def cost_of_run(
    run_dir: RunDirectory,
    storage_url: str | None = None,
    losses: list[str] | None = None,
    workers_per_device: int = 1,
    now: float | None = None,
    trials: Mapping[str, list[FrozenTrial]] | None = None,
) -> RunCost:
    """The cost of every loss of the run (default: those with a study, a retrained fold or a
    result row), from its storage and files; ``now`` (epoch seconds) decides what is running.
    ``trials`` (by study name, as :func:`~benchmark.store.storage.trials_by_study` reads them)
    saves reading the storage again when the caller has read it."""
    config, storage_url = run_dir.attach(storage_url)
    now = time.time() if now is None else now
    if trials is None:
        trials = trials_by_study(run_dir, storage_url)
    prefix = study_name(config, "")
    trials = {
        name.removeprefix(prefix): study_trials
        for name, study_trials in trials.items()
        if name.startswith(prefix)
    }
    retrains = {
        loss: dirs for loss, dirs in run_dir.retrain_fit_dirs().items() if loss != UNTRAINED
    }
    done_repeats = ResultsFile(run_dir).completed_repeats_by_loss()
    if losses is None:
        losses = list(dict.fromkeys([*trials, *retrains, *done_repeats]))
    losses = [loss for loss in losses if loss != UNTRAINED]
    costs = []
    for loss in losses:
        stages = []
        if config.study.searches:
            stages.append(_study_cost(config, loss, trials.get(loss, []), now))
        stages.append(_retrain_cost(config, retrains.get(loss, []), now))
        costs.append(LossCost(loss, stages))
    _price_stages_without_folds(costs)
    return RunCost(run_dir.path, config.name, config.dataset, costs, workers_per_device)


def _study_cost(
    config: ProtocolConfig, loss: str, trials: list[FrozenTrial], now: float
) -> StageCost:
    fold_seconds: dict[tuple[str, int], float] = {}
    for trial in trials:
        params = trial.user_attrs.get(trial_attrs.PARAMS)
        if params is None:
            continue
        key = params_key(params)
        for fold, record in trial_attrs.fold_records(trial.user_attrs).items():
            seconds = record.get(trial_attrs.FOLD_WALL_TIME_S)
            if seconds is not None:
                fold_seconds[(key, fold)] = float(seconds)
    stopped = [
        float(trial.user_attrs[trial_attrs.PRUNED_FOLD].get(trial_attrs.FOLD_WALL_TIME_S) or 0.0)
        for trial in trials
        if trial_attrs.PRUNED_FOLD in trial.user_attrs
    ]
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    price = trial_price(config.study, config.data.n_folds, finished)
    in_flight = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    started_folds = sum(len(trial_attrs.fold_records(t.user_attrs)) for t in in_flight)
    remaining = max(config.study.n_trials - budget_state(trials).finished, 0)
    left = max(remaining * price.folds - started_folds, 0.0)
    study = config.study
    states = {
        t.number: liveness(t, now, study.heartbeat_interval, study.grace_period)
        for t in trials
        if t.state == TrialState.RUNNING
    }
    return StageCost(
        stage=STUDY,
        trainings_done=len(fold_seconds),
        trainings_left=left,
        seconds_spent=sum(fold_seconds.values()) + sum(stopped),
        mean_fold_seconds=statistics.fmean(fold_seconds.values()) if fold_seconds else None,
        running=sum(state == Liveness.BEATING for state in states.values()),
        pruned_epoch_fraction=price.pruned_epoch_fraction,
        pruning_priced_from=price.source,
        failed=sum(failures(trials).values()),
        silent=[
            _silent_trial(t, states[t.number], now, study.grace_period)
            for t in trials
            if states.get(t.number, Liveness.BEATING) != Liveness.BEATING
        ],
        problem=cannot_work_reason(study_name(config, loss), trials, study.n_trials),
    )


def _silent_trial(trial: FrozenTrial, state: Liveness, now: float, grace: float) -> dict:
    """A running trial whose worker went silent (or is gone): what ``mlrc status`` says of it."""
    beat = last_beat(trial, now)
    return {
        "trial": trial.number,
        "last_heartbeat_s": round(now - beat, 1),
        "recovered_at": beat + grace if state == Liveness.SILENT else None,
        "worker": worker_description(trial),
    }


def _retrain_cost(config: ProtocolConfig, fit_dirs: list[Path], now: float) -> StageCost:
    seconds, running, diverged = [], 0, 0
    for fit_dir in fit_dirs:
        files = FitDirectory(fit_dir)
        if files.result.is_file():
            seconds.append(FitResult.from_dict(_read_json(files.result)).wall_time_s)
        elif files.diverged.is_file():
            diverged += 1
        elif _active(fit_dir, now, config.study.grace_period):
            running += 1
    total = config.retrain.repeats * config.data.n_folds
    return StageCost(
        stage=RETRAIN,
        trainings_done=len(seconds),
        trainings_left=float(max(total - len(seconds), 0)),
        seconds_spent=sum(seconds),
        mean_fold_seconds=statistics.fmean(seconds) if seconds else None,
        running=running,
        failed=diverged,
    )


def _active(fit_dir: Path, now: float, window: float) -> bool:
    """A fit directory some file of which changed within ``window`` seconds (a training
    rewrites its checkpoint and curve at every validation)."""
    stamps = [path.stat().st_mtime for path in fit_dir.iterdir() if path.is_file()]
    return bool(stamps) and now - max(stamps) <= window


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _price_stages_without_folds(costs: list[LossCost]) -> None:
    """A stage with no finished fold is priced at its loss's other stage (the same folds,
    trained to the same early stop), else at the run's mean fold time."""
    every = [s for loss in costs for s in loss.stages if s.mean_fold_seconds is not None]
    run_mean = None
    if every:
        weights = sum(s.trainings_done for s in every)
        run_mean = sum(s.seconds_spent for s in every) / weights if weights else None
    for loss in costs:
        own = {s.stage: s for s in loss.stages if s.mean_fold_seconds is not None}
        for stage in loss.stages:
            if stage.mean_fold_seconds is not None:
                continue
            other = next(iter(s for name, s in own.items() if name != stage.stage), None)
            if other is not None:
                stage.mean_fold_seconds = other.mean_fold_seconds
                stage.priced_from = f"{loss.loss} {other.stage}"
            elif run_mean is not None:
                stage.mean_fold_seconds = run_mean
                stage.priced_from = "the run's mean fold"


def format_run_cost(cost: RunCost) -> str:
    """The table of ``mlrc status``: per loss and stage, then the total."""
    per_device = (
        f", {cost.workers_per_device} workers per device" if cost.workers_per_device > 1 else ""
    )
    summary = cost.to_json()
    lines = [
        f"run directory: {cost.run_dir}",
        f"protocol {cost.protocol}, dataset {cost.dataset}{per_device}",
        *_notes(summary),
        "",
        f"{'loss':<24} {'stage':<8} {'trainings done':>14} {'left':>7} {'device-h spent':>14} "
        f"{'device-h left':>13} {'running':>7} {'failed':>6}  ETA",
    ]
    for loss in summary["losses"]:
        for stage in loss["stages"]:
            lines.append(_line(loss["loss"], stage["stage"], stage, stage["priced_from"]))
    lines.append(_line("total", "", summary["total"], None))
    lines += [
        "",
        "device-hours: recorded wall times of finished fold trainings; left = trainings left x "
        "the mean fold time (* priced from another stage); ETA = hours left / trainings "
        "running now",
    ]
    lines += pricing_notes(summary)
    return "\n".join(lines)


def _line(loss: str, stage: str, values: dict[str, Any], priced_from: str | None) -> str:
    left = values["device_hours_left"]
    left_text = "unknown" if left is None else _hours(left) + ("*" if priced_from else "")
    eta = values["eta_seconds"]
    eta_text = "-" if eta is None else _duration(eta)
    return (
        f"{loss:<24} {stage:<8} {values['trainings_done']:>14} {values['trainings_left']:>7.0f} "
        f"{_hours(values['device_hours_spent']):>14} {left_text:>13} {values['running']:>7} "
        f"{values['failed']:>6}  {eta_text}"
    )


def _notes(summary: dict[str, Any]) -> list[str]:
    """What needs attention, above the table: a stage that cannot work, a silent trial."""
    notes = []
    for loss in summary["losses"]:
        for stage in loss["stages"]:
            if stage["problem"]:
                notes.append(stage["problem"])  # it names the study
            for silent in stage["silent_trials"]:
                notes.append(f"{stage['stage']} {loss['loss']}: {_silent_note(silent)}")
    return notes


def _silent_note(silent: dict[str, Any]) -> str:
    ago = _duration(silent["last_heartbeat_s"])
    if silent["recovered_at"] is None:
        return (
            f"trial {silent['trial']} is lost (last heartbeat {ago} ago, {silent['worker']}): "
            "the next worker recovers it at once"
        )
    at = datetime.fromtimestamp(silent["recovered_at"]).strftime("%H:%M:%S")
    return (
        f"waiting for a silent trial {silent['trial']} (last heartbeat {ago} ago, "
        f"recovered at {at}; {silent['worker']})"
    )


def _hours(hours: float) -> str:
    return f"{hours:.2f}" if hours >= 1 or hours == 0 else f"{hours:.3f}"


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
