"""`mlrc slurm status` from the ledger and Slurm's answers (a recording double of Slurm here;
tests/cluster/test_slurm_sweep.py asks a real one)."""

from __future__ import annotations

import threading
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from benchmark.cli import main
from benchmark.cluster import Ledger, LedgerEntry, Slurm, TaskState, format_status, sweep_status
from benchmark.cluster.slurm import explain_sbatch_refusal
from benchmark.cluster.status import NO_ACCOUNTING, cancel_sweep
from benchmark.config import load_protocol
from benchmark.errors import SlurmError
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name


class FakeSlurm(Slurm):
    """Answers with fixed task states; records what it was asked to cancel."""

    def __init__(self, queue: list[TaskState], accounting: list[TaskState] | None):
        self.queue = queue
        self.accounted = accounting
        self.cancelled: list[str] = []

    def states(self, job_ids):
        wanted = set(job_ids)
        return [t for t in self.queue if t.job_id.split("_")[0] in wanted]

    def accounting(self, job_ids):
        return self.accounted

    def cancel(self, job_ids):
        self.cancelled += list(job_ids)


def _run(tmp_path: Path) -> RunDirectory:
    config = load_protocol("demo", "synthetic", ["study.n_trials=4", "retrain.repeats=2"])
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(config, [], None)
    study = optuna.create_study(
        study_name=study_name(config, "mfcwms"),
        storage=open_storage(None, run_dir.journal_path),
        direction="maximize",
    )
    for value in (0.2, 0.5):
        study.add_trial(create_trial(value=value, params={}, distributions={}))
    study.add_trial(create_trial(state=TrialState.RUNNING, params={}, distributions={}))
    ledger = Ledger(run_dir.path)
    for key, job_id in [("study-mfcwms", "10"), ("retrain-mfcwms", "11"), ("tables", "12")]:
        stage = key.split("-")[0]
        loss = "mfcwms" if "-" in key else None
        entry = LedgerEntry(key, job_id, stage, loss, f"{key}.sbatch", None, None, 1)
        ledger.record(1, tmp_path, entry)
    return run_dir


QUEUE = [
    TaskState("10_0", "RUNNING", "None"),
    TaskState("10_1", "PENDING", "JobArrayTaskLimit"),
    TaskState("11_0", "PENDING", "Dependency"),
    TaskState("11_1", "PENDING", "Dependency"),
]


def test_status_counts_trials_repeats_and_job_states(tmp_path):
    status = sweep_status(_run(tmp_path), FakeSlurm(QUEUE, accounting=None))

    (study,) = status.studies
    assert (study.loss, study.complete, study.running, study.remaining) == ("mfcwms", 2, 1, 2)
    assert study.best_value == 0.5
    assert [(r.loss, r.remaining) for r in status.retrains] == [
        ("mfcwms", [0, 1]),
        ("untrained", [0, 1]),
    ]
    jobs = {job.key: job for job in status.jobs}
    assert jobs["study-mfcwms"].states == {"RUNNING": 1, "PENDING": 1}
    assert jobs["study-mfcwms"].reasons == ["JobArrayTaskLimit"]
    assert jobs["retrain-mfcwms"].active and jobs["retrain-mfcwms"].reasons == ["Dependency"]
    assert jobs["tables"].states == {"UNKNOWN": 1} and not jobs["tables"].active
    assert status.notes == [NO_ACCOUNTING]  # job 12 is forgotten and there is no sacct

    text = format_status(status)
    assert "mfcwms" in text and "2/4" in text and "0.5000" in text
    assert "RUNNING, PENDING (JobArrayTaskLimit)" in text
    assert "sacct is not available here" in text
    # The cost of `mlrc status`: no fold time recorded yet, so what is left is unknown.
    cost = status.to_json()["cost"]
    assert [loss["loss"] for loss in cost["losses"]] == ["mfcwms"]
    assert cost["total"]["trainings_left"] == 2 * 4 + 2 * 4  # 2 trials and 2 repeats x 4 folds
    assert cost["total"]["device_hours_left"] is None and cost["total"]["device_hours_spent"] == 0
    assert "device-h spent" in text


def test_sacct_fills_in_jobs_the_controller_forgot(tmp_path):
    accounting = [TaskState("12", "COMPLETED"), TaskState("12.batch", "COMPLETED")]
    status = sweep_status(_run(tmp_path), FakeSlurm(QUEUE, accounting=accounting))
    tables = next(job for job in status.jobs if job.key == "tables")
    assert tables.states == {"COMPLETED": 1} and status.notes == []


def test_a_job_whose_dependency_failed_is_not_counted_as_waiting():
    assert TaskState("11_0", "PENDING", "Dependency").active
    assert not TaskState("11_0", "PENDING", "DependencyNeverSatisfied").active
    assert not TaskState("11_0", "CANCELLED by 0").active


def test_cancel_cancels_only_the_jobs_still_queued_or_running(tmp_path):
    slurm = FakeSlurm(QUEUE, accounting=None)
    cancelled = cancel_sweep(_run(tmp_path), slurm)
    assert sorted(job.key for job in cancelled) == ["retrain-mfcwms", "study-mfcwms"]
    assert sorted(slurm.cancelled) == ["10", "11"]


STUCK = [
    TaskState("10_0", "RUNNING", "None"),
    TaskState("11_0", "PENDING", "DependencyNeverSatisfied"),
    TaskState("12", "PENDING", "Dependency"),
]


def test_status_shows_why_each_pending_job_waits_even_one_that_can_never_start(tmp_path):
    status = sweep_status(_run(tmp_path), FakeSlurm(STUCK, accounting=None))
    jobs = {job.key: job for job in status.jobs}
    stuck = jobs["retrain-mfcwms"]
    assert stuck.states == {"PENDING": 1} and stuck.reasons == ["DependencyNeverSatisfied"]
    assert stuck.queued and not stuck.active
    assert jobs["tables"].reasons == ["Dependency"]
    text = format_status(status)
    assert "PENDING (DependencyNeverSatisfied)" in text
    assert "never starts" in text and "mlrc slurm cancel" in text


def test_cancel_cancels_every_job_in_the_queue_whatever_it_waits_for(tmp_path):
    slurm = FakeSlurm(STUCK, accounting=None)
    cancelled = cancel_sweep(_run(tmp_path), slurm)
    assert sorted(job.key for job in cancelled) == ["retrain-mfcwms", "study-mfcwms", "tables"]
    assert sorted(slurm.cancelled) == ["10", "11", "12"]


class SilentSlurm(FakeSlurm):
    def states(self, job_ids):
        raise SlurmError("squeue failed: slurm_load_jobs error: Socket timed out")


def test_status_shows_the_progress_when_squeue_fails(tmp_path):
    status = sweep_status(_run(tmp_path), SilentSlurm([], accounting=None))
    (study,) = status.studies
    assert (study.complete, study.remaining) == (2, 2)
    assert any(
        "Socket timed out" in note and "progress above is exact" in note for note in status.notes
    )
    assert {job.key: job.states for job in status.jobs}["study-mfcwms"] == {"UNKNOWN": 1}


@pytest.mark.parametrize(
    "text",
    ["garbage{", '{"submissions": [{"number": 1}]}', '{"submissions": 3}', "{}", "[]"],
)
def test_a_corrupt_ledger_is_one_error_naming_it(tmp_path, capsys, text):
    run_dir = _run(tmp_path)
    run_dir.ledger_path.write_text(text)
    for command in ("status", "cancel"):
        assert main(["slurm", command, str(run_dir.path)]) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1, error
        assert error.startswith(f"error: {run_dir.ledger_path} is not a readable job ledger")


def test_sbatch_refusals_are_explained_with_the_profile_setting_to_change():
    profile = Path("slurm/profiles/mine.yaml")
    gres = "sbatch: error: Invalid generic resource (gres) specification\n"
    message = explain_sbatch_refusal(Path("study.sbatch"), gres, profile)
    assert message.startswith("sbatch refused study.sbatch: the partition has no GPUs")
    assert f"set `gpus: 0` in {profile}" in message
    unknown = explain_sbatch_refusal(Path("x.sbatch"), "sbatch: error: something new\n", profile)
    assert unknown == "sbatch refused x.sbatch: something new"


def test_ledger_writers_do_not_lose_each_others_jobs(tmp_path):
    def record(worker: int) -> None:
        ledger = Ledger(tmp_path)
        for index in range(10):
            key = f"job-{worker}-{index}"
            ledger.record(1, tmp_path, LedgerEntry(key, key, "study", None, "s", None, None, 1))

    threads = [threading.Thread(target=record, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger = Ledger(tmp_path)
    assert len(ledger.submissions()) == 1 and len(ledger.entries()) == 30
    # no temporary file left behind (the lock file stays: deleting it would break the lock)
    assert sorted(p.name for p in ledger.run_dir.slurm_dir.iterdir()) == ["jobs.json", "jobs.lock"]
