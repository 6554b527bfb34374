"""Whether a running trial's worker beats, is silent or is lost: a worker on this machine whose
process is gone is lost at once; one on another machine only after the grace period."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime

import pytest
from optuna.trial import TrialState, create_trial

from benchmark.store import trial_attrs
from benchmark.store.trial_liveness import Liveness, liveness, this_worker, worker_is_gone

NOW = time.time()
HEARTBEAT_S, GRACE_S = 30.0, 300.0


def _running(beat_ago: float, worker: dict | None = None):
    trial = create_trial(
        state=TrialState.RUNNING,
        system_attrs={
            trial_attrs.HEARTBEAT: NOW - beat_ago,
            **({trial_attrs.WORKER: worker} if worker is not None else {}),
        },
    )
    trial.datetime_start = datetime.fromtimestamp(NOW - 1000)
    return trial


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    ("beat_ago", "expected"),
    [(5, Liveness.BEATING), (64, Liveness.BEATING), (66, Liveness.SILENT), (301, Liveness.LOST)],
)
def test_a_trial_is_silent_after_two_missed_heartbeats_and_lost_after_the_grace_period(
    beat_ago, expected
):
    elsewhere = {**this_worker(), "host": "another-node"}  # alive or not, nobody here can tell
    assert liveness(_running(beat_ago, elsewhere), NOW, HEARTBEAT_S, GRACE_S) == expected


def test_a_worker_of_this_machine_whose_process_is_gone_is_lost_at_once():
    gone = {**this_worker(), "pid": _dead_pid()}
    assert worker_is_gone(_running(1, gone))
    assert liveness(_running(1, gone), NOW, HEARTBEAT_S, GRACE_S) == Liveness.LOST


def test_a_worker_whose_pid_now_belongs_to_another_process_is_gone():
    reused = {**this_worker(), "started": this_worker()["started"] - 1}  # our PID, not our start
    assert worker_is_gone(_running(1, reused))


def test_a_zombie_worker_is_gone():
    process = subprocess.Popen(["true"])
    deadline = time.time() + 10
    zombie = {**this_worker(), "pid": process.pid, "started": None}
    while not worker_is_gone(_running(1, zombie)) and time.time() < deadline:
        time.sleep(0.01)  # it exits, and stays a zombie until waited for
    assert worker_is_gone(_running(1, zombie))
    process.wait()


def test_a_live_worker_another_machine_or_no_record_is_never_declared_gone():
    assert not worker_is_gone(_running(1, this_worker()))
    assert not worker_is_gone(_running(1, {**this_worker(), "pid": _dead_pid(), "host": "b"}))
    assert not worker_is_gone(_running(1, {**this_worker(), "pid": _dead_pid(), "boot": "x"}))
    assert not worker_is_gone(_running(1))  # recorded by an older version: no identity
    assert this_worker()["pid"] == os.getpid()
