"""Logging one run to a tracker while it trains: its curve, row by row, and its end.

:func:`tracked_run` opens a run, yields its :class:`RunLog` and closes the run with the
status the block ended in. A :class:`RunLog` is also a :class:`~benchmark.engine.Trainer`'s
``on_evaluation``: after each validation it logs the rows of the learning curve it has not
logged yet (after a resume, every row the fit had before).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from benchmark.engine.fit_result import FitResult
from benchmark.engine.trainer import TrainingState
from benchmark.tracking.tracker import FAILED, FINISHED, KILLED, RunStatus, TrackedRun, Tracker

Outcome = Callable[[BaseException], RunStatus]


def default_outcome(exc: BaseException) -> RunStatus:
    """An interrupted run was killed; any other exception failed it."""
    return KILLED if isinstance(exc, KeyboardInterrupt) else FAILED


def curve_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of one learning-curve row (``iteration`` is the step; a missing training
    loss, before any training, is left out)."""
    return {
        name: float(value)
        for name, value in row.items()
        if name != "iteration" and isinstance(value, int | float) and not isinstance(value, bool)
    }


def fit_summary(result: FitResult) -> dict[str, float]:
    """What a finished fit is summed up by."""
    return _finite(
        best_val_map_at_r=result.best_val_map_at_r,
        best_iteration=result.best_iteration,
        best_epoch=result.best_epoch,
        iterations=result.iterations,
        epochs=result.epochs,
        wall_time_s=result.wall_time_s,
    )


def training_summary(state: TrainingState) -> dict[str, float]:
    """The same summary while the fit trains (no best before its first trained epoch)."""
    return _finite(
        best_val_map_at_r=state.best_val_map_at_r,
        best_iteration=state.best_iteration,
        best_epoch=state.best_epoch,
        iterations=state.iteration,
        epochs=state.epoch,
        wall_time_s=state.wall_time_s,
    )


def _finite(**values: float) -> dict[str, float]:
    return {name: float(value) for name, value in values.items() if math.isfinite(value)}


def chained(*callbacks: Callable[[Any], None]) -> Callable[[Any], None]:
    """One ``on_evaluation`` that calls ``callbacks`` in order."""

    def call(trainer: Any) -> None:
        for callback in callbacks:
            callback(trainer)

    return call


class RunLog:
    """One open run of ``tracker``: what it logged, and its summary so far."""

    def __init__(self, tracker: Tracker, run: TrackedRun):
        self.tracker = tracker
        self.run = run
        self.summary: dict[str, float] = {}
        self._rows_logged = 0

    @property
    def active(self) -> bool:
        """False once the tracker is off (none, or failed): nothing is computed for it then."""
        return getattr(self.tracker, "enabled", True)

    def log_curve(self, curve: Sequence[Mapping[str, Any]]) -> None:
        """Log the rows of ``curve`` after those already logged."""
        if not self.active:
            return
        for row in curve[self._rows_logged :]:
            self.tracker.log_metrics(self.run, curve_metrics(row), int(row["iteration"]))
        self._rows_logged = max(self._rows_logged, len(curve))

    def __call__(self, trainer: Any) -> None:
        """The Trainer's ``on_evaluation``: the new rows, and the summary so far (a fit that
        is pruned or interrupted ends with it)."""
        if self.active:
            self.log_curve(trainer.state.curve)
            self.summary.update(training_summary(trainer.state))

    def fit_finished(self, result: FitResult) -> None:
        """Log what is left of a finished fit's curve (all of it when the fit had finished in an
        earlier process) and its summary."""
        if self.active:
            self.log_curve(result.curve)
            self.summary.update(fit_summary(result))


@contextlib.contextmanager
def tracked_run(
    tracker: Tracker, run: TrackedRun, outcome: Outcome = default_outcome
) -> Iterator[RunLog]:
    """Open ``run`` for the block; close it as finished, or with ``outcome(exception)``."""
    log = RunLog(tracker, run)
    tracker.start_run(run)
    try:
        yield log
    except BaseException as exc:
        tracker.end_run(run, outcome(exc), log.summary)
        raise
    tracker.end_run(run, FINISHED, log.summary)
