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


def _job(command, processes=1, name="run.study-x", array=(), resources=None, progress=()) -> Job:
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
        progress=tuple(progress),
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


def sbatch_arguments(line: str) -> list[str]:
    """The arguments sbatch reads from one ``#SBATCH`` line: a port of its reader (opt.c,
    ``_get_argument``), which is not a shell. Whitespace outside quotes separates arguments,
    single or double quotes group, a backslash escapes the next character even inside quotes,
    and an unquoted, unescaped ``#`` starts a comment."""
    assert line.startswith("#SBATCH ")
    text, position, arguments = line[len("#SBATCH ") :], 0, []
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return arguments
        argument, quote, escaped = [], None, False
        while position < len(text) and (quote or not text[position].isspace()):
            char = text[position]
            position += 1
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
                continue
            elif quote:
                if char == quote:
                    quote = None
                    continue
            elif char in "\"'":
                quote = char
                continue
            elif char == "#":
                return [*arguments, "".join(argument)] if argument else arguments
            argument.append(char)
        arguments.append("".join(argument))


HOSTILE_NAME = 'run\\\' "x" #y --output=z.out \\'


def test_sbatch_lines_are_read_back_by_sbatch_literally_whatever_the_names(tmp_path):
    profile = _profile(
        tmp_path,
        "account: lab-1\nextra_sbatch: ['--comment=a `b` $(c); d #e', '--constraint=a|b&c']\n",
    )
    log_dir = tmp_path / "my logs \\ 'q' \"d\" #h"
    job = _job(
        ["true"], name=HOSTILE_NAME, array=(0, 1, 2, 5), resources=profile.resources("study")
    )
    lines = [f"#SBATCH {d}" for d in sbatch_directives(job, profile, log_dir)]
    parsed = [sbatch_arguments(line) for line in lines]
    assert all(len(arguments) == 1 for arguments in parsed), parsed  # never a second option
    directives = dict(
        argument.split("=", 1) if "=" in argument else (argument, None) for (argument,) in parsed
    )
    assert directives["--job-name"] == HOSTILE_NAME
    assert directives["--account"] == "lab-1"
    assert directives["--comment"] == "a `b` $(c); d #e"
    assert directives["--constraint"] == "a|b&c"
    assert directives["--array"] == "0-2,5"
    assert directives["--output"] == str(log_dir / "%x-%A_%a.out")
    assert directives["--signal"] == "B:USR1@120" and "--requeue" in directives
    assert "#SBATCH --account=lab-1" in lines  # plain values stay plain


def test_shell_quoting_was_not_what_sbatch_reads():
    """Why sbatch_quote exists: shlex.quote's output read back by sbatch's reader."""
    value = "gpu\\'\" --output=x.out \\"
    assert sbatch_arguments(f"#SBATCH --qos={shlex.quote(value)}") != [f"--qos={value}"]


def test_a_log_path_with_a_percent_sign_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="% in a log path"):
        sbatch_directives(_job(["true"]), _profile(tmp_path), tmp_path / "100%")


def test_a_line_break_cannot_reach_an_sbatch_line(tmp_path):
    with pytest.raises(ConfigError, match="line break"):
        render_script(
            _job(["true"], name="run\n#SBATCH --account=other"), _profile(tmp_path), tmp_path
        )


# Two processes that exit 130 as soon as USR1 reaches them, like a worker handing back.
_EXITS_ON_USR1 = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGUSR1, lambda *a: (sys.stdout.write('handed back\\n'), sys.exit(130)))\n"
    "sys.stdout.write('ready\\n')\n"
    "sys.stdout.flush()\n"
    "time.sleep(60)\n"
)

# A loaded machine, made certain: every `wait` of the script returns 0.5 s late (an exported
# function overrides the builtin), as when bash is not scheduled while its processes end.
_LATE_WAIT = {
    "BASH_FUNC_wait%%": '() { builtin wait "$@"; local code=$?; sleep 0.5; return $code; }'
}


def _time_limit_reached(tmp_path: Path, env: dict[str, str]) -> tuple[str, int, float]:
    """Run a job of two processes, send it USR1 once they are ready: (output, code, seconds)."""
    script = tmp_path / "job.sbatch"
    script.write_text(
        render_script(
            _job([sys.executable, "-c", _EXITS_ON_USR1], processes=2), _profile(tmp_path), tmp_path
        )
    )
    env = {**os.environ, "SLURM_JOB_ID": "77", **env}
    job = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE, text=True)
    ready = 0
    while ready < 2:  # one write per line: the two processes' lines never interleave
        line = job.stdout.readline()
        assert line, "the script ended before its processes were ready"
        ready += line.strip() == "ready"
    started = time.time()
    job.send_signal(signal.SIGUSR1)
    output = job.communicate(timeout=30)[0]
    return output, job.returncode, time.time() - started


def test_time_limit_signal_is_forwarded_and_the_job_requeues_itself(tmp_path, fake_bin):
    output, code, seconds = _time_limit_reached(tmp_path, {})
    assert seconds < 10, "the processes were not told at once"
    assert output.count("handed back") == 2
    assert code == 130
    assert (tmp_path / "fake.log").read_text().splitlines() == ["-- scontrol", "requeue", "77"]


def test_the_job_exits_with_its_processes_code_even_when_its_waits_return_late(tmp_path, fake_bin):
    """The race of a loaded machine: USR1 interrupts `wait` and the process ends before the
    script looks again; the job must still exit with the process's code, not 128 + USR1."""
    output, code, _ = _time_limit_reached(tmp_path, _LATE_WAIT)
    assert output.count("handed back") == 2
    assert code == 130
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


# A process that waits for USR1/TERM, then hands back (for 1 s) and exits 130, like a worker.
_HANDS_BACK = """
import pathlib, signal, sys, time
def stop(signum, frame):
    time.sleep(1)
    pathlib.Path(sys.argv[1]).write_text(signal.Signals(signum).name)
    sys.exit(130)
signal.signal(signal.SIGUSR1, stop)
signal.signal(signal.SIGTERM, stop)
if len(sys.argv) > 2:  # finish a fit first: the attempt made progress
    pathlib.Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(sys.argv[2]) / "result.json").write_text("{}")
sys.stdout.write("ready\\n")
sys.stdout.flush()
time.sleep(60)
"""


def _attempt(tmp_path: Path, script: Path, signum: int, processes: int = 1) -> tuple[str, int]:
    """Run one attempt of ``script`` (job 77), send it ``signum`` once its processes are ready."""
    env = {**os.environ, "SLURM_JOB_ID": "77"}
    job = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE, text=True)
    ready = 0
    while ready < processes and (line := job.stdout.readline()):
        ready += line.strip() == "ready"
    job.send_signal(signum)
    return job.communicate(timeout=30)[0], job.returncode


def test_a_job_requeues_itself_at_most_max_requeues_times_in_a_row_without_progress(
    tmp_path, fake_bin
):
    handed_back = tmp_path / "handed-back"
    fits = tmp_path / "trials" / "x"
    script = tmp_path / "job.sbatch"
    idle = _job([sys.executable, "-c", _HANDS_BACK, str(handed_back)], progress=[fits])
    profile = _profile(tmp_path, "max_requeues: 2\n")
    script.write_text(render_script(idle, profile, tmp_path))
    outputs = [_attempt(tmp_path, script, signal.SIGUSR1) for _ in range(2)]
    assert all("requeueing job 77" in output for output, _ in outputs), outputs
    assert "(2 of 2 requeues in a row without progress)" in outputs[1][0]

    working = _job(
        [sys.executable, "-c", _HANDS_BACK, str(handed_back), str(fits / "k" / "fold_0")],
        progress=[fits],
    )
    script.write_text(render_script(working, profile, tmp_path))
    output, _ = _attempt(tmp_path, script, signal.SIGUSR1)  # it finished a fold: count reset
    assert "(0 of 2 requeues in a row without progress)" in output

    script.write_text(render_script(idle, profile, tmp_path))
    for _ in range(2):
        _attempt(tmp_path, script, signal.SIGUSR1)
    output, code = _attempt(tmp_path, script, signal.SIGUSR1)  # a third attempt in a row
    assert "not requeued, 3 attempts in a row finished nothing (max_requeues: 2)" in output
    assert code == 1
    requeues = (tmp_path / "fake.log").read_text().count("-- scontrol")
    assert requeues == 2 + 1 + 2, "a requeue beyond max_requeues"


def test_on_term_the_script_waits_for_its_processes_to_hand_back(tmp_path, fake_bin):
    handed_back = tmp_path / "handed-back"
    script = tmp_path / "job.sbatch"
    job = _job([sys.executable, "-c", _HANDS_BACK, str(handed_back)], processes=2)
    script.write_text(render_script(job, _profile(tmp_path), tmp_path))
    output, code = _attempt(tmp_path, script, signal.SIGTERM, processes=2)
    assert handed_back.read_text() == "SIGTERM", "the script ended before its processes had"
    assert code == 130 and "requeueing" not in output
    assert not (tmp_path / "fake.log").exists(), "a cancelled or preempted job requeued itself"


def json_quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    import json

    return json.dumps(text)
