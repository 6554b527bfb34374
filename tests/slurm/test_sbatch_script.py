"""The rendered sbatch script: hostile values stay inert, signals are forwarded, jobs requeue.

These run the scripts with plain bash (no Slurm needed): ``module`` and ``scontrol`` are fakes
on PATH that record their arguments.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmark.cluster import ARRAY_TASK_ID, Job, Resources, load_cluster_profile, render_script
from benchmark.cluster.script import sbatch_directives
from benchmark.errors import ConfigError

HOSTILE = "a; touch pwned1 $(touch pwned2) `touch pwned3` 'q' \"d\"\nsecond line"


def _fake_command(bin_dir: Path, name: str) -> None:
    """An executable ``name`` that appends its arguments, one per line, to $FAKE_LOG."""
    path = bin_dir / name
    path.write_text(
        f"#!/bin/bash\n{{ echo '-- {name}'; printf '%s\\n' \"$@\"; }} >> \"$FAKE_LOG\"\n"
    )
    path.chmod(0o755)


def _job(command, processes=1, name="run.study-x", array=(), resources=None) -> Job:
    return Job(
        key="study-x",
        stage="study",
        loss="x",
        name=name,
        description="a test job",
        command=tuple(command),
        resources=resources or Resources(time="00:10:00", cpus_per_task=4),
        processes=processes,
        array=tuple(array),
    )


def _profile(tmp_path: Path, text: str = ""):
    path = tmp_path / "profile.yaml"
    path.write_text(textwrap.dedent(text))
    return load_cluster_profile(path)


@pytest.fixture
def fake_bin(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("module", "scontrol"):
        _fake_command(bin_dir, name)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "fake.log"))
    return bin_dir


def test_hostile_profile_values_reach_the_processes_literally_and_run_nothing(tmp_path, fake_bin):
    venv = tmp_path / "env $(touch pwned4) ;`touch pwned5`"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text("export VENV_ACTIVE=yes\n")
    profile = _profile(
        tmp_path,
        f"""
        modules: ["cuda/12.1; touch pwned6"]
        venv: {json_quote(str(venv))}
        env: {{HOSTILE: {json_quote(HOSTILE)}, QUOTE: "it's"}}
        """,
    )
    show = (
        "import os, sys; e = os.environ; sys.stdout.write(' '.join([repr(sys.argv[1:]), "
        "repr(e['HOSTILE']), e['QUOTE'], e['VENV_ACTIVE'], e['OMP_NUM_THREADS']]) + '\\n')"
    )
    job = _job([sys.executable, "-c", show, "$(touch pwned7)", HOSTILE, ARRAY_TASK_ID], processes=2)
    script = tmp_path / "job.sbatch"
    script.write_text(render_script(job, profile, tmp_path / "logs"))

    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    env = {
        **os.environ,
        "SLURM_ARRAY_TASK_ID": "3",
        "SLURM_CPUS_PER_TASK": "4",
        "SLURM_JOB_ID": "7",
    }
    result = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    expected = f"{['$(touch pwned7)', HOSTILE, '3']!r} {HOSTILE!r} it's yes 2"
    printed = [line for line in result.stdout.splitlines() if not line.startswith("job ")]
    assert printed == [expected, expected]  # two processes, OMP threads = 4 CPUs / 2
    assert (tmp_path / "fake.log").read_text().splitlines() == [
        "-- module",
        "load",
        "cuda/12.1; touch pwned6",
    ]
    assert not list(tmp_path.rglob("pwned*")), "a profile value was executed"


def test_sbatch_lines_quote_values_so_sbatch_reads_them_back_literally(tmp_path):
    profile = _profile(
        tmp_path, "account: \"lab; $(id)\"\nextra_sbatch: ['--comment=a `b` $(c); d']\n"
    )
    job = _job(
        ["true"], name="run $(x); `y`", array=(0, 1, 2, 5), resources=profile.resources("study")
    )
    directives = dict(
        shlex.split(line)[0].split("=", 1) if "=" in line else (line, None)
        for line in sbatch_directives(job, profile, tmp_path / "my logs")
    )
    assert directives["--job-name"] == "run $(x); `y`"
    assert directives["--account"] == "lab; $(id)"
    assert directives["--comment"] == "a `b` $(c); d"
    assert directives["--array"] == "0-2,5"
    assert directives["--output"] == str(tmp_path / "my logs" / "%x-%A_%a.out")
    assert directives["--signal"] == "B:USR1@120" and "--requeue" in directives


def test_a_line_break_cannot_reach_an_sbatch_line(tmp_path):
    with pytest.raises(ConfigError, match="line break"):
        render_script(
            _job(["true"], name="run\n#SBATCH --account=other"), _profile(tmp_path), tmp_path
        )


def test_time_limit_signal_is_forwarded_and_the_job_requeues_itself(tmp_path, fake_bin):
    wait_for_usr1 = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGUSR1, lambda *a: (sys.stdout.write('handed back\\n'), sys.exit(130)))\n"
        "sys.stdout.write('ready\\n')\n"
        "sys.stdout.flush()\n"
        "time.sleep(60)\n"
    )
    script = tmp_path / "job.sbatch"
    script.write_text(
        render_script(
            _job([sys.executable, "-c", wait_for_usr1], processes=2), _profile(tmp_path), tmp_path
        )
    )
    env = {**os.environ, "SLURM_JOB_ID": "77"}
    job = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE, text=True)
    ready = 0
    while ready < 2:  # one write per line: the two processes' lines never interleave
        line = job.stdout.readline()
        assert line, "the script ended before its processes were ready"
        ready += line.strip() == "ready"
    started = time.time()
    job.send_signal(signal.SIGUSR1)
    output = job.communicate(timeout=30)[0]

    assert time.time() - started < 10, "the processes were not told at once"
    assert output.count("handed back") == 2
    assert job.returncode == 130
    assert (tmp_path / "fake.log").read_text().splitlines() == ["-- scontrol", "requeue", "77"]


def test_a_failing_process_fails_the_job_without_requeue(tmp_path, fake_bin):
    script = tmp_path / "job.sbatch"
    command = [sys.executable, "-c", "import sys; sys.exit(3)"]
    script.write_text(render_script(_job(command, processes=2), _profile(tmp_path), tmp_path))
    assert subprocess.run(["bash", str(script)], capture_output=True).returncode == 3
    assert not (tmp_path / "fake.log").exists()


@pytest.mark.parametrize(("submitted_with", "job_sees"), [(None, "INFO"), ("DEBUG", "DEBUG")])
def test_jobs_log_at_info_unless_the_submission_set_mlrc_log_level(
    tmp_path, fake_bin, submitted_with, job_sees
):
    show = "import os; print(os.environ['MLRC_LOG_LEVEL'])"
    script = tmp_path / "job.sbatch"
    script.write_text(
        render_script(_job([sys.executable, "-c", show]), _profile(tmp_path), tmp_path)
    )
    env = {k: v for k, v in os.environ.items() if k != "MLRC_LOG_LEVEL"}
    if submitted_with is not None:
        env["MLRC_LOG_LEVEL"] = submitted_with  # sbatch passes the submitting shell's variables
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == job_sees


def json_quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    import json

    return json.dumps(text)
