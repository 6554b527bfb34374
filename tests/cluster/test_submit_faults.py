"""`mlrc slurm submit` when the queue misbehaves: concurrent submits, a failed study task whose
dependants can never start. Slurm's answers come from a controllable stand-in (fake_slurm.py);
tests/cluster/test_fault_suite.py does the same against the real test cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_slurm import FakeSlurm
from slurm_helpers import set_args, write_profile

from benchmark.cli import main
from benchmark.cluster import Ledger


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch) -> FakeSlurm:
    fake = FakeSlurm(tmp_path / "fake-slurm")
    monkeypatch.setenv("PATH", fake.path)
    return fake


def _submit_args(tmp_path, overrides: list[str]) -> list[str]:
    profile = write_profile(tmp_path, "max_workers: 2\n")
    args = ["slurm", "submit", "--losses", "contrastive", "--profile", str(profile)]
    return [*args, "--run-dir", str(tmp_path / "run"), *set_args(overrides)]


def test_concurrent_submits_queue_one_sweep_with_one_submission_number(
    tmp_path, fake_slurm, tiny_overrides
):
    args = _submit_args(tmp_path, tiny_overrides)
    env = {**os.environ, "PATH": fake_slurm.path, "OMP_NUM_THREADS": "1"}
    submits = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmark.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [submit.communicate(timeout=300) for submit in submits]

    ledger = Ledger(tmp_path / "run")
    assert [s["number"] for s in ledger.submissions()] == [1], "two submits took a number"
    submitted = [Path(call[-1]).name for call in fake_slurm.calls("sbatch")]
    assert sorted(submitted) == sorted(
        ["study-contrastive.sbatch", "retrain-contrastive.sbatch", "retrain-untrained.sbatch",
         "tables.sbatch"]
    ), "a job was queued twice"  # fmt: skip
    for submit, (out, err) in zip(submits, outputs, strict=True):
        if "submitted study-contrastive" in out:
            continue
        refused = err.strip().startswith("error: another `mlrc slurm submit` is at work")
        waited = "nothing to submit" in out
        assert (submit.returncode, refused or waited) in ((2, True), (0, True)), (out, err)
        assert len(err.strip().splitlines()) <= 1, err


def test_a_resubmit_after_a_failed_study_task_leaves_one_tables_job_and_nothing_stuck(
    tmp_path, fake_slurm, tiny_overrides, capsys
):
    args = _submit_args(tmp_path, tiny_overrides)
    assert main(args) == 0
    first = Ledger(tmp_path / "run").latest_by_key()
    # A study task crashed; where dependencies are afterok the retrain could never start.
    fake_slurm.set_state(first["study-contrastive"].job_id, "FAILED")
    fake_slurm.set_state(first["retrain-contrastive"].job_id, "PENDING", "DependencyNeverSatisfied")
    capsys.readouterr()

    assert main(args) == 0
    printed = capsys.readouterr().out
    jobs = fake_slurm.jobs()
    assert jobs[first["retrain-contrastive"].job_id][0] == "CANCELLED"
    assert f"job {first['retrain-contrastive'].job_id} waits on a dependency" in printed
    tables = [e.job_id for e in Ledger(tmp_path / "run").entries() if e.key == "tables"]
    assert [jobs[job_id][0] for job_id in tables] == ["CANCELLED", "PENDING"]
    pending = [job_id for job_id, (state, _) in jobs.items() if state == "PENDING"]
    assert sum(job_id in tables for job_id in pending) == 1, "two tables jobs wait"
    retrains = [call for call in fake_slurm.calls("sbatch") if "retrain-contrastive" in call[-1]]
    assert retrains[-1][1].startswith("--dependency=afterany:")


def test_cancel_cancels_a_job_that_can_never_start(tmp_path, fake_slurm, tiny_overrides, capsys):
    assert main(_submit_args(tmp_path, tiny_overrides)) == 0
    first = Ledger(tmp_path / "run").latest_by_key()
    fake_slurm.set_state(first["study-contrastive"].job_id, "FAILED")
    fake_slurm.set_state(first["retrain-contrastive"].job_id, "PENDING", "DependencyNeverSatisfied")
    capsys.readouterr()
    assert main(["slurm", "status", str(tmp_path / "run")]) == 0
    assert "PENDING (DependencyNeverSatisfied)" in capsys.readouterr().out
    assert main(["slurm", "cancel", str(tmp_path / "run")]) == 0
    assert f"cancelled retrain-contrastive: job {first['retrain-contrastive'].job_id}" in (
        capsys.readouterr().out
    )
    assert not any(state == "PENDING" for state, _ in fake_slurm.jobs().values())
