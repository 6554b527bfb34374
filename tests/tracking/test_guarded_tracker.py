"""A failing tracker never fails a training: one warning per process, then it is off; and no
tracker call changes the random number generators."""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest
import torch

from benchmark.tracking import guarded_tracker
from benchmark.tracking.guarded_tracker import GuardedTracker, NullTracker, open_tracker
from benchmark.tracking.tracker import TrackedRun

RUN = TrackedRun("study/x/trial_0/fold_0", "x trial 0 fold 0")


class FailingTracker:
    """Its store broke: every call after the first start raises."""

    def __init__(self):
        self.calls: list[str] = []

    def start_run(self, run):
        self.calls.append("start_run")

    def log_metrics(self, run, metrics, step):
        self.calls.append("log_metrics")
        raise OSError(28, "No space left on device")

    def end_run(self, run, status, summary):
        self.calls.append("end_run")

    def close(self):
        self.calls.append("close")


class RetryingTracker(FailingTracker):
    """Its server is down: its HTTP client warns of each retry, then the call raises."""

    def start_run(self, run):
        for attempt in range(2):
            logging.getLogger("urllib3.connectionpool").warning("Retrying (%d) ...", attempt)
        raise ConnectionError("Max retries exceeded")


class RandomDrawingTracker(FailingTracker):
    def log_metrics(self, run, metrics, step):
        random.random(), np.random.rand(), torch.rand(1)
        torch.manual_seed(0)


@pytest.fixture(autouse=True)
def no_tracker_warned(monkeypatch):
    monkeypatch.setattr(guarded_tracker, "_WARNED", set())


def _tracker_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_failing_tracker_warns_once_and_is_called_no_more(caplog):
    failing = FailingTracker()
    tracker = GuardedTracker("disk", failing)
    tracker.start_run(RUN)
    for step in range(3):
        tracker.log_metrics(RUN, {"val_map_at_r": 0.5}, step)  # raises inside, never here
    tracker.end_run(RUN, "finished", {})
    assert failing.calls == ["start_run", "log_metrics"]
    (warning,) = _tracker_warnings(caplog)
    assert warning.startswith("tracker disk failed in log_metrics (OSError: [Errno 28] No space")
    assert "the training goes on" in warning


def test_a_second_tracker_of_the_same_name_does_not_warn_again_in_the_process(caplog):
    for _ in range(2):
        GuardedTracker("disk", FailingTracker()).log_metrics(RUN, {}, 0)
    assert len(_tracker_warnings(caplog)) == 1


def test_a_dead_server_gives_one_warning_not_one_per_retry(caplog):
    urllib3 = logging.getLogger("urllib3")
    urllib3.setLevel(logging.INFO)
    try:
        GuardedTracker("http", RetryingTracker()).start_run(RUN)
        assert urllib3.level == logging.INFO  # restored after the call
    finally:
        urllib3.setLevel(logging.NOTSET)
    (warning,) = _tracker_warnings(caplog)
    assert warning.startswith("tracker http failed in start_run (ConnectionError: Max retries")


def test_a_tracker_call_leaves_every_random_generator_as_it_was():
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    GuardedTracker("dice", RandomDrawingTracker()).log_metrics(RUN, {}, 0)
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected


def test_no_tracker_is_a_null_tracker(tmp_path):
    assert isinstance(open_tracker(None, tmp_path, "run"), NullTracker)
    assert not list(tmp_path.iterdir())
