"""What a real sbatch says to our scripts: GPU requests, hostile values, refusals explained."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from slurm_helpers import set_args, wait_for_job, write_profile

from benchmark.cli import main
from benchmark.cluster import Job, Ledger, Slurm, load_cluster_profile, render_script
from benchmark.store.run_directory import RunDirectory

pytestmark = pytest.mark.slurm

HOSTILE = "x; touch pwned1 $(touch pwned2) `touch pwned3`"


def _job(profile, command, processes: int = 1, name: str = "mlrc-test") -> Job:
    return Job(
        key="probe",
        stage="study",
        loss=None,
        name=name,
        description="a probe job of the tests",
        command=tuple(command),
        resources=profile.resources("study"),
        processes=processes,
    )


def test_a_gpu_request_without_gpus_on_the_cluster_is_refused_with_the_fix(
    tmp_path, slurm_cluster, tiny_overrides, capsys
):
    profile = write_profile(tmp_path, "gpus: 1\n")
    run_dir = tmp_path / "run"
    args = [
        "slurm",
        "submit",
        "--losses",
        "contrastive",
        "--profile",
        str(profile),
        "--run-dir",
        str(run_dir),
    ]
    assert main([*args, *set_args(tiny_overrides)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert error.startswith("error: sbatch refused ")
    assert f"set `gpus: 0` in {profile} for CPU jobs, or pick a GPU partition" in error
    assert "Invalid generic resource (gres) specification" in error
    assert Ledger(run_dir).entries() == []


def test_gpu_jobs_are_accepted_with_fake_gpu_gres_and_their_workers_share_the_gpu(
    tmp_path, fake_gpu_cluster
):
    profile_path = tmp_path / "gpu.yaml"
    profile_path.write_text('gpus: 1\ncpus_per_task: 2\ntime: "00:10:00"\n')
    profile = load_cluster_profile(profile_path)
    # One write(2) per worker: the two share the job's log (O_APPEND), and an unbuffered print
    # writes each of its pieces separately, which interleaves the two lines.
    show = (
        "import os; os.write(1, f\"gpu {os.environ.get('CUDA_VISIBLE_DEVICES')} "
        "threads {os.environ['OMP_NUM_THREADS']}\\n\".encode())"
    )
    job = _job(profile, [sys.executable, "-c", show], processes=2)
    script = tmp_path / "probe.sbatch"
    script.write_text(render_script(job, profile, tmp_path))
    logs = RunDirectory(tmp_path).slurm_logs_dir
    logs.mkdir(parents=True)

    job_id = Slurm().submit(script)
    assert wait_for_job(job_id).state == "COMPLETED"
    output = (logs / f"mlrc-test-{job_id}.out").read_text()
    assert output.count("gpu 0 threads 1") == 2, output  # 2 workers, one GPU, 2 CPUs / 2


def test_hostile_values_pass_sbatch_and_reach_slurm_literally(tmp_path, slurm_cluster):
    profile_path = tmp_path / "hostile.yaml"
    profile_path.write_text(
        textwrap.dedent(
            f"""
            gpus: 0
            cpus_per_task: 1
            time: "00:10:00"
            extra_sbatch: ["--comment={HOSTILE}"]
            env: {{HOSTILE: "{HOSTILE}"}}
            """
        )
    )
    profile = load_cluster_profile(profile_path)
    # A job name (from the run directory's name) that shell quoting did not protect: sbatch's
    # reader takes a backslash as an escape even inside single quotes.
    name = f"mlrc {HOSTILE} \\'\" --output=pwned5 \\"
    job = _job(profile, ["printenv", "HOSTILE"], name=name)
    run_dir = RunDirectory(tmp_path)
    run_dir.slurm_logs_dir.mkdir(parents=True)
    script = tmp_path / "hostile.sbatch"
    script.write_text(render_script(job, profile, run_dir))

    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    test_only = subprocess.run(
        ["sbatch", "--test-only", str(script)], capture_output=True, text=True, cwd=tmp_path
    )
    assert test_only.returncode == 0, test_only.stderr
    held = subprocess.run(
        ["sbatch", "--parsable", "--hold", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    job_id = held.stdout.strip()
    try:
        shown = subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%j|%k|%a"], capture_output=True, text=True
        ).stdout.strip()
        assert shown == f"{name}|{HOSTILE}|(null)"
        subprocess.run(["scontrol", "release", job_id], check=True)
        assert wait_for_job(job_id).state == "COMPLETED"
        output = next(run_dir.slurm_logs_dir.glob("mlrc *.out")).read_text()
        assert HOSTILE in output.splitlines()
    finally:
        Slurm().cancel([job_id])
    assert not list(tmp_path.rglob("pwned*")), "a profile value was executed"
