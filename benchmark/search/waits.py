"""What a study worker waits for, and how it says so: the storage while it cannot be reached
(a database restart, a full journal disk), and a silent trial until it is recovered.

Neither wait is silent: each logs what it waits for and until when, once at its start and again
every :data:`NOTICE_EVERY_S` seconds at most.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from optuna.trial import FrozenTrial

from benchmark.errors import StorageError
from benchmark.search.context import StudyContext
from benchmark.store.storage import describe_outage, without_password
from benchmark.store.study_state import last_beat
from benchmark.store.trial_liveness import silent_after

_logger = logging.getLogger(__name__)

NOTICE_EVERY_S = 60.0
"""How often a wait that goes on is said again."""


class StorageOutage:
    """Waits while the storage is unreachable, up to the study's grace period: after that the
    other workers consider this one dead anyway, so it stops with one line."""

    def __init__(self, context: StudyContext):
        self.patience = context.config.study.grace_period
        self.pause = max(min(context.config.study.heartbeat_interval, 5), 0.5)
        self.url = without_password(context.storage_url)
        self.since: float | None = None

    def _reason(self, exc: BaseException) -> str:
        reason = describe_outage(exc)
        database = self.url and "://" in self.url and not self.url.startswith("journal://")
        return f"storage {self.url}: {reason}" if database else reason

    def wait(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = now
            _logger.warning(
                "%s; waiting up to %.0f s for the storage", self._reason(exc), self.patience
            )
        if now - self.since >= self.patience:
            raise StorageError(
                f"{self._reason(exc)}; waited {now - self.since:.0f} s, so this worker stops "
                "(the next one recovers its trial): once the storage is back, run the same "
                "command or submit again"
            ) from None
        time.sleep(self.pause)

    def over(self) -> None:
        if self.since is not None:
            _logger.warning("the storage is back after %.0f s", time.monotonic() - self.since)
            self.since = None


class SilentTrialWait:
    """Says, while a worker with nothing else to start waits for a silent trial, which trial,
    since when it is silent, and when it will be recovered (then this worker runs it)."""

    def __init__(self, context: StudyContext, study_name: str):
        self.study_name = study_name
        self.heartbeat_interval = context.config.study.heartbeat_interval
        self.grace_period = context.config.study.grace_period
        self.pause = min(self.heartbeat_interval, 5)
        self._said_at: float | None = None

    def wait(self, silent: list[FrozenTrial]) -> None:
        """Sleep a little; say what is waited for when it is time to."""
        now = time.time()
        quiet = [
            t for t in silent if now - last_beat(t, now) > silent_after(self.heartbeat_interval)
        ]
        if quiet and (self._said_at is None or now - self._said_at >= NOTICE_EVERY_S):
            self._said_at = now
            for trial in quiet:
                _logger.warning("%s", self.describe(trial, now))
        time.sleep(self.pause)

    def describe(self, trial: FrozenTrial, now: float) -> str:
        beat = last_beat(trial, now)
        recovered_at = datetime.fromtimestamp(beat + self.grace_period).strftime("%H:%M:%S")
        return (
            f"study {self.study_name}: waiting for trial {trial.number}, silent for "
            f"{now - beat:.0f} s (its worker stopped sending heartbeats); unless it beats again, "
            f"it is recovered at {recovered_at}, when study.grace_period "
            f"({self.grace_period:.0f} s) has passed, and run here"
        )

    def over(self) -> None:
        self._said_at = None
