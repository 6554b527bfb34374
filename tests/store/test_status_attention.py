"""`mlrc status` shows what needs attention: failed trials, a study that cannot give a result or
cannot work as it is, and a silent trial waited for (not counted as running, with no ETA)."""

from __future__ import annotations

import json
import time
from datetime import datetime

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from benchmark.cli import main
from benchmark.config import load_protocol
from benchmark.store import trial_attrs
from benchmark.store.run_cost import cost_of_run
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

SPACE = {"alpha": FloatDistribution(0.0, 1.0)}
REASON = "DatasetLayoutError: the training split has 15 classes but a batch of 32 needs 32"


def _study(run_dir: RunDirectory, loss: str) -> optuna.Study:
    return optuna.create_study(
        study_name=study_name(run_dir.protocol(), loss),
        storage=open_storage(None, run_dir.journal_path),
        direction="maximize",
        load_if_exists=True,
    )


def _failed(study: optuna.Study, alpha: float, failure: str) -> None:
    attrs = {trial_attrs.FAILURE: failure, trial_attrs.FAIL_REASON: REASON}
    study.add_trial(
        create_trial(
            state=TrialState.FAIL, params={"alpha": alpha}, distributions=SPACE, user_attrs=attrs
        )
    )


@pytest.fixture
def run_dir(tmp_path) -> RunDirectory:
    config = load_protocol("demo", "synthetic", ["study.n_trials=3"])
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(config, [], None)
    return run_dir


def test_a_study_whose_budget_went_on_failures_shows_them_and_why_it_gives_no_result(
    run_dir, capsys
):
    study = _study(run_dir, "mfcwms")
    for alpha in (0.1, 0.2, 0.3):
        _failed(study, alpha, trial_attrs.ERROR_GAVE_UP)
    stage = cost_of_run(run_dir).to_json()["losses"][0]["stages"][0]
    assert (stage["trainings_left"], stage["failed"]) == (0, 3)
    assert stage["problem"].startswith(
        "study demo.synthetic.mfcwms spent its budget of 3 trials without a usable one; "
        "failed trials: 3 error_gave_up; the last failed with: DatasetLayoutError: the training "
        "split has 15 classes"
    )
    assert stage["problem"].endswith("then start a new --run-dir (this study's budget is spent)")

    assert main(["status", str(run_dir.path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == stage["problem"]  # above the table, where it is seen
    study_row = next(line for line in lines if line.startswith("mfcwms") and "study" in line)
    assert study_row.split()[-2:] == ["3", "-"]  # failed 3, no ETA


def test_a_study_whose_trials_all_fail_before_its_budget_is_spent_cannot_work(run_dir):
    study = _study(run_dir, "mfcwms")
    for alpha in (0.1, 0.2, 0.3):  # three parameter sets raised; their copies are queued
        _failed(study, alpha, trial_attrs.ERROR)
        study.enqueue_trial({"alpha": alpha})
    stage = cost_of_run(run_dir).to_json()["losses"][0]["stages"][0]
    assert stage["failed"] == 3
    assert stage["problem"].startswith(
        "study demo.synthetic.mfcwms cannot work as it is: none of its trials finished; "
        "failed trials: 3 error"
    )


def test_a_silent_trial_is_waited_for_not_running(run_dir, capsys):
    study = _study(run_dir, "mfcwms")
    now = time.time()
    beat = now - 100  # the demo's heartbeat is 30 s, its grace period 300 s
    worker = {"host": "node-b", "boot": "b", "pid_namespace": 1, "pid": 4242, "started": 1}
    trial = create_trial(
        state=TrialState.RUNNING,
        params={"alpha": 0.5},
        distributions=SPACE,
        system_attrs={trial_attrs.HEARTBEAT: beat, trial_attrs.WORKER: worker},
    )
    trial.datetime_start = datetime.fromtimestamp(now - 200)
    study.add_trial(trial)

    stage = cost_of_run(run_dir, now=now).to_json()["losses"][0]["stages"][0]
    assert stage["running"] == 0 and stage["eta_seconds"] is None
    assert stage["silent_trials"] == [
        {"trial": 0, "last_heartbeat_s": 100.0, "recovered_at": beat + 300, "worker": worker}
        | {"worker": "pid 4242 on node-b"}
    ]
    assert main(["status", str(run_dir.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["running"] == 0
    assert main(["status", str(run_dir.path)]) == 0
    at = datetime.fromtimestamp(beat + 300).strftime("%H:%M:%S")
    note = capsys.readouterr().out.splitlines()[2]
    assert note.startswith("study mfcwms: waiting for a silent trial 0 (last heartbeat 1m4")
    assert note.endswith(f" ago, recovered at {at}; pid 4242 on node-b)")


def test_a_trial_past_its_grace_period_is_lost_and_recovered_by_the_next_worker(run_dir):
    study = _study(run_dir, "mfcwms")
    now = time.time()
    trial = create_trial(
        state=TrialState.RUNNING,
        params={"alpha": 0.5},
        distributions=SPACE,
        system_attrs={trial_attrs.HEARTBEAT: now - 400},
    )
    trial.datetime_start = datetime.fromtimestamp(now - 500)
    study.add_trial(trial)
    (silent,) = cost_of_run(run_dir, now=now).to_json()["losses"][0]["stages"][0]["silent_trials"]
    assert silent["recovered_at"] is None and silent["worker"] == "an unknown worker"
