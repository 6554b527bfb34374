"""What a tracker is: the few methods a run of the benchmark calls on it, and the runs it logs.

A tracker receives one :class:`TrackedRun` per fold training (nested under its trial, or under
its loss's retrain run) and per parent (a trial, a retrain): ``start_run``, then
``log_metrics`` once per validation (the learning curve, stepped by training iteration), then
``end_run`` with the run's status and summary (best iteration, wall time, ...). ``close`` is
called once when the process ends. Register a tracker of your own with
:func:`~benchmark.tracking.register_tracker` (see ``docs/guide/trackers.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

RunStatus = Literal["finished", "pruned", "failed", "killed"]
FINISHED: RunStatus = "finished"
PRUNED: RunStatus = "pruned"
"""A trial (and the fold it was training) that the pruner stopped."""
FAILED: RunStatus = "failed"
"""The training diverged or raised."""
KILLED: RunStatus = "killed"
"""Interrupted (Ctrl-C, a Slurm preemption): resumed later by another run of the same fit."""


@dataclass(frozen=True)
class TrackedRun:
    """One run as a tracker sees it.

    Attributes:
        key: unique within the benchmark run and stable across processes, a ``/``-separated
            path that nests like the runs do (``study/mfcwms/trial_3/fold_0``).
        name: what to display (``mfcwms trial 3 fold 0``).
        parent: the run this one is nested under, or None.
        params: what the run was trained with (hyperparameters, seed, fold).
        tags: what the run is (stage, loss, trial, repeat, fold), as strings.
    """

    key: str
    name: str
    parent: TrackedRun | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def child(
        self,
        leaf: str,
        name: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> TrackedRun:
        """A run nested under this one, keyed ``<this key>/<leaf>``."""
        return TrackedRun(f"{self.key}/{leaf}", name, self, dict(params or {}), dict(tags or {}))


@dataclass(frozen=True)
class TrackerTarget:
    """Where a tracker writes.

    Attributes:
        uri: ``--tracking-uri`` (a server's URL, a store's URI), or None for the default.
        folder: the run directory's folder for this tracker (``tracking/<name>/``): where the
            default store goes.
        experiment: the benchmark run's name for trackers that group runs (the run directory's
            absolute path).
    """

    uri: str | None
    folder: Path
    experiment: str


@runtime_checkable
class Tracker(Protocol):
    """The interface of an experiment tracker. A call that raises turns the tracker off for the
    rest of the process with one warning; the training goes on."""

    def start_run(self, run: TrackedRun) -> None:
        """Open ``run`` (its parent was started before it)."""

    def log_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int) -> None:
        """Log one validation of ``run``: ``val_map_at_r``, ``val_precision_at_1``, ...,
        ``loss`` (the mean training loss since the previous one), ``epoch``; ``step`` is the
        training iteration."""

    def end_run(self, run: TrackedRun, status: RunStatus, summary: Mapping[str, float]) -> None:
        """Close ``run`` with its status and summary (``best_val_map_at_r``,
        ``best_iteration``, ``best_epoch``, ``iterations``, ``epochs``, ``wall_time_s``; a
        trial's ``value``)."""

    def close(self) -> None:
        """Flush and release everything (once, at the end of the process)."""
