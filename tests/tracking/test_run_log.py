"""A run's log: each curve row once, the whole curve after a resume, the status it ended in."""

from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest

from benchmark.engine.fit_result import FitResult
from benchmark.search.trial_tracking import trial_outcome
from benchmark.tracking.run_log import RunLog, curve_metrics, tracked_run
from benchmark.tracking.tracker import TrackedRun

RUN = TrackedRun("retrain/x/repeat_0/fold_1", "x retrain repeat 0 fold 1")
CURVE = [
    {"iteration": 0, "epoch": 0, "loss": None, "val_map_at_r": 0.1, "val_precision_at_1": 0.2},
    {"iteration": 3, "epoch": 1, "loss": 0.9, "val_map_at_r": 0.3, "val_precision_at_1": 0.4},
    {"iteration": 6, "epoch": 2, "loss": 0.7, "val_map_at_r": 0.2, "val_precision_at_1": 0.5},
]


class RecordingTracker:
    def __init__(self):
        self.events: list[tuple] = []

    def start_run(self, run):
        self.events.append(("start", run.key))

    def log_metrics(self, run, metrics, step):
        self.events.append(("log", step, dict(metrics)))

    def end_run(self, run, status, summary):
        self.events.append(("end", status, dict(summary)))

    def close(self):
        pass


def _trainer(rows: int) -> SimpleNamespace:
    state = SimpleNamespace(
        curve=CURVE[:rows],
        best_val_map_at_r=0.3 if rows > 1 else float("-inf"),
        best_iteration=3 if rows > 1 else 0,
        best_epoch=1 if rows > 1 else 0,
        iteration=CURVE[rows - 1]["iteration"],
        epoch=CURVE[rows - 1]["epoch"],
        wall_time_s=1.5,
    )
    return SimpleNamespace(state=state)


def test_each_evaluation_logs_the_new_rows_once():
    tracker = RecordingTracker()
    log = RunLog(tracker, RUN)
    for rows in (1, 2, 3):
        log(_trainer(rows))
    assert [event[1] for event in tracker.events] == [0, 3, 6]
    assert tracker.events[0][2] == {"epoch": 0.0, "val_map_at_r": 0.1, "val_precision_at_1": 0.2}
    assert tracker.events[1][2]["loss"] == 0.9
    assert log.summary["best_iteration"] == 3 and log.summary["iterations"] == 6


def test_a_resumed_fit_logs_its_whole_curve_at_its_first_evaluation():
    tracker = RecordingTracker()
    RunLog(tracker, RUN)(_trainer(3))
    assert [event[1] for event in tracker.events] == [0, 3, 6]


def test_a_fit_finished_earlier_is_logged_from_its_result():
    tracker = RecordingTracker()
    result = FitResult(0.3, 3, 6, 2.5, curve=CURVE, best_epoch=1, epochs=2)
    with tracked_run(tracker, RUN) as log:
        log.fit_finished(result)
    assert [event[0] for event in tracker.events] == ["start", "log", "log", "log", "end"]
    assert tracker.events[-1] == (
        "end",
        "finished",
        {
            "best_val_map_at_r": 0.3,
            "best_iteration": 3.0,
            "best_epoch": 1.0,
            "iterations": 6.0,
            "epochs": 2.0,
            "wall_time_s": 2.5,
        },
    )


@pytest.mark.parametrize(
    ("exception", "status"),
    [
        (optuna.TrialPruned("pruned in fold 1"), "pruned"),
        (KeyboardInterrupt("SIGUSR1"), "killed"),
        (RuntimeError("CUDA error"), "failed"),
    ],
)
def test_a_run_ends_with_the_status_its_block_raised(exception, status):
    tracker = RecordingTracker()
    with pytest.raises(type(exception)), tracked_run(tracker, RUN, trial_outcome) as log:
        log(_trainer(2))
        raise exception
    assert tracker.events[-1][:2] == ("end", status)
    assert tracker.events[-1][2]["best_val_map_at_r"] == 0.3  # the summary so far


def test_curve_metrics_leave_out_the_step_and_what_is_not_a_number():
    assert curve_metrics({"iteration": 3, "epoch": 1, "loss": None, "val_map_at_r": 0.5}) == {
        "epoch": 1.0,
        "val_map_at_r": 0.5,
    }
