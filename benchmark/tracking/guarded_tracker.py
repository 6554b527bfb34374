"""A tracker that can never fail a training, nor change what it computes.

:class:`GuardedTracker` forwards each call to the real tracker. The first call that raises
(a server down, a full disk, a bug in a plugin) logs one warning -- once per process and tracker,
however many runs follow -- and turns the tracker off for the rest of the process; the training
goes on. An HTTP client's own retry warnings (urllib3's) stay quiet during a call: the one
warning says it all. Every call also leaves the random number generators (``random``, NumPy's and torch's)
as it found them, so that a tracker cannot change a computed number.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.tracking.registry import build_tracker
from benchmark.tracking.settings import TrackerSettings
from benchmark.tracking.tracker import RunStatus, TrackedRun, Tracker, TrackerTarget

_logger = logging.getLogger(__name__)

_WARNED: set[str] = set()
"""Trackers that have already warned in this process."""

_RETRY_LOGGERS = ("urllib3",)
"""Loggers that warn of each retry of a failing request (MLflow's, W&B's HTTP client)."""


class NullTracker:
    """No tracker: every call does nothing."""

    name = "none"
    enabled = False

    def start_run(self, run: TrackedRun) -> None:
        pass

    def log_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int) -> None:
        pass

    def end_run(self, run: TrackedRun, status: RunStatus, summary: Mapping[str, float]) -> None:
        pass

    def close(self) -> None:
        pass


class GuardedTracker:
    """``tracker`` (registered as ``name``), made harmless: see the module's docstring."""

    def __init__(self, name: str, tracker: Tracker):
        self.name = name
        self.tracker = tracker
        self.enabled = True

    def start_run(self, run: TrackedRun) -> None:
        self._call("start_run", run)

    def log_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int) -> None:
        self._call("log_metrics", run, metrics, step)

    def end_run(self, run: TrackedRun, status: RunStatus, summary: Mapping[str, float]) -> None:
        self._call("end_run", run, status, summary)

    def close(self) -> None:
        self._call("close")
        self.enabled = False

    def _call(self, method: str, *args: Any) -> None:
        if not self.enabled:
            return
        state = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        try:
            with _retries_quiet():
                getattr(self.tracker, method)(*args)
        except Exception as exc:
            self.enabled = False
            if self.name not in _WARNED:
                _WARNED.add(self.name)
                _logger.warning(
                    "tracker %s failed in %s (%s); it is off for the rest of this process, the "
                    "training goes on",
                    self.name,
                    method,
                    _one_line(exc),
                )
        finally:
            random.setstate(state[0])
            np.random.set_state(state[1])
            torch.set_rng_state(state[2])


@contextlib.contextmanager
def _retries_quiet() -> Iterator[None]:
    """The retry loggers show only errors for the block (their levels are restored after)."""
    loggers = [logging.getLogger(name) for name in _RETRY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def open_tracker(
    settings: TrackerSettings | None, folder: Path, experiment: str
) -> GuardedTracker | NullTracker:
    """The guarded tracker of ``settings`` (closed when the process exits), or a
    :class:`NullTracker`. An unknown name or a missing library raises
    :class:`~benchmark.errors.ConfigError` here, before any training."""
    if settings is None:
        return NullTracker()
    tracker = build_tracker(settings.name, TrackerTarget(settings.uri, folder, experiment))
    guarded = GuardedTracker(settings.name, tracker)
    atexit.register(guarded.close)
    return guarded


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
