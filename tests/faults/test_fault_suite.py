"""The fault suite: a sweep against what its cluster does to it, on the real services.

(a) one study task crashes by a planted exception -> one resubmit completes the sweep, with the
    results of an undisturbed one; (b) 16 workers on PostgreSQL and on the journal while a chaos
    loop SIGKILLs one every 1.5 s -> the budget is exact, no trial is lost or run twice; (c)
    PostgreSQL stopped for 30 s mid-sweep -> the workers wait and go on; (d) the journal's
    filesystem full -> one clear error, nothing torn, resumed once space is freed; (e) two
    submits at once -> one sweep. The cases (f)-(h) of a single run are in test_run_faults.py,
    (i), a torn results.csv, in test_fault_torn_results_csv.py. Each prints one line of figures
    (the table of docs/guide/slurm.md); CI runs it on the real single-node Slurm and PostgreSQL,
    as root (for the tmpfs).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from chaos import Sweep, chaos, check_recovery, read_trials, study_figures

from benchmark.cluster import Ledger
from benchmark.store.run_directory import RunDirectory

pytestmark = [pytest.mark.faults, pytest.mark.slow]

# Short heartbeats and grace period: a SIGKILLed worker's trial is recovered within seconds.
FAST_RECOVERY = ["study.heartbeat_interval=1", "study.grace_period=3"]
MAX_KILLS = 24


def _chaos_sweep(tmp_path, storage: str | None, figures, what: str) -> None:
    # A dead worker's trial is recovered at once (same host), so near the end the chaos loop's
    # victims are the few workers still running trials: the same parameters can be killed again
    # and again. Retries beyond the loop's kills keep every set from being given up (which
    # counts toward the budget without a score), so the study must end with all 64 scored.
    overrides = [*FAST_RECOVERY, f"study.max_retries={MAX_KILLS + 1}"]
    overrides += ["study.n_trials=64", "study.sampler.n_startup_trials=64"]
    sweep = Sweep(tmp_path, overrides, storage, fold_s=1.0)
    start = time.monotonic()
    kills, resumed = chaos(sweep, workers=16, kill_every_s=1.5, max_kills=MAX_KILLS)
    recovery = check_recovery(sweep)
    redone = f"{recovery.redone} evaluations redone (killed before recording them)"
    result = sweep.figures(
        what, 16, kills, resumed, time.monotonic() - start, note=redone if recovery.redone else ""
    )
    result = dataclasses.replace(result, recovered=recovery.recovered)
    figures(result.line())
    assert kills >= 5, "the chaos loop hardly ran"
    assert recovery.recovered >= 1, "no killed worker's trial was recovered: the kills hit nothing"
    assert resumed == 0, "the sweep needed another worker after the chaos"
    assert (result.lost, result.duplicated) == (0, 0), sweep.worker_logs()
    assert "Traceback" not in sweep.worker_logs()


def test_b_sixteen_workers_on_the_journal_survive_a_chaos_loop_of_sigkills(tmp_path, figures):
    _chaos_sweep(tmp_path, None, figures, "(b) 16 workers, journal, SIGKILL every 1.5 s")


@pytest.mark.postgres
def test_b_sixteen_workers_on_postgresql_survive_a_chaos_loop_of_sigkills(
    tmp_path, figures, postgres_database
):
    _chaos_sweep(
        tmp_path, postgres_database, figures, "(b) 16 workers, PostgreSQL, SIGKILL every 1.5 s"
    )


@pytest.mark.postgres
def test_c_workers_wait_while_postgresql_is_stopped_for_30_s_and_go_on(
    tmp_path, figures, private_postgres
):
    # The grace period bounds how long a worker waits for its storage: longer than the outage.
    overrides = ["study.heartbeat_interval=1", "study.grace_period=60", "study.n_trials=20"]
    overrides += ["study.sampler.n_startup_trials=20"]
    sweep = Sweep(tmp_path, overrides, private_postgres.url, fold_s=0.3)
    start = time.monotonic()
    workers = [sweep.start_worker() for _ in range(4)]
    while sweep.evaluations_done() < 4:
        assert all(w.is_alive() for w in workers), sweep.worker_logs()
        time.sleep(0.1)
    private_postgres.stop()
    down_at = time.monotonic()
    time.sleep(30)
    private_postgres.start()
    outage = time.monotonic() - down_at
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0] * 4, sweep.worker_logs()
    logs = sweep.worker_logs()
    assert "waiting up to 60 s for the storage" in logs and "is back after" in logs, logs
    assert "Traceback" not in logs
    result = sweep.figures(
        "(c) 4 workers, PostgreSQL stopped mid-sweep",
        4,
        0,
        0,
        time.monotonic() - start,
        note=f"down {outage:.0f} s; the workers waited and went on",
    )
    figures(result.line())
    assert (result.lost, result.duplicated) == (0, 0)


def test_d_a_full_filesystem_under_the_journal_is_one_clear_error_and_tears_nothing(
    tmp_path, figures, small_tmpfs
):
    journal = small_tmpfs / "optuna.journal"
    overrides = [*FAST_RECOVERY, "study.max_retries=10", "study.n_trials=16"]
    overrides += ["study.sampler.n_startup_trials=16"]
    sweep = Sweep(tmp_path, overrides, f"journal://{journal}", fold_s=0.3)
    start = time.monotonic()
    workers = [sweep.start_worker() for _ in range(4)]
    while sweep.evaluations_done() < 3:
        assert all(w.is_alive() for w in workers), sweep.worker_logs()
        time.sleep(0.1)
    filler = small_tmpfs / "filler"
    with open(filler, "wb", buffering=0) as fill:  # the disk fills up under the running sweep
        try:
            while fill.write(b"\0" * 512):
                pass
        except OSError:
            pass
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [2] * 4, sweep.worker_logs()
    for worker in workers:
        log = worker.log.read_text()
        errors = [line for line in log.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "No space left on device" in errors[0], log
        assert "nothing is torn" in errors[0] and "Traceback" not in log
    lines = journal.read_bytes().splitlines(keepends=True)
    assert all(line.endswith(b"\n") and json.loads(line) for line in lines), "a torn line"

    filler.unlink()  # space is freed: run the same workers again
    resumed = [sweep.start_worker() for _ in range(4)]
    for worker in resumed:
        worker.join(120)
    assert [w.exitcode for w in resumed] == [0] * 4, sweep.worker_logs()
    result = sweep.figures(
        "(d) 4 workers, journal on a full 1 MiB tmpfs",
        4,
        0,
        4,
        time.monotonic() - start,
        note="each stopped with one error line; the journal stayed whole",
    )
    figures(result.line())
    assert (result.lost, result.duplicated) == (0, 0)


# A study task: its first trial raises (recorded as failed, the worker goes on), and a later
# trial meets an exception the worker does not catch (SystemExit, as from a native crash
# handler): the task fails with that trial still marked running.
PLANTED = """
from pathlib import Path
from benchmark.search import worker as optimize

_calls = Path(__file__).with_name("planted-calls")
_evaluate = optimize.evaluate_params


def _planted(context, loss, params, trial):
    calls = int(_calls.read_text()) + 1 if _calls.exists() else 1
    _calls.write_text(str(calls))
    if calls == 1:
        raise RuntimeError("planted: CUDA error: an illegal memory access was encountered")
    if calls == 3:
        raise SystemExit(3)
    return _evaluate(context, loss, params, trial)


optimize.evaluate_params = _planted
"""

# Every character that breaks a naive URL parser; each piece between them is distinctive, so
# that a part of the password left in a file is found too.
SECRET = "Pw7kXj#c1fmQz/9e2rTy?a4dqWv@Qx8vNb%z3wHk"
SECRET_PIECES = ["Pw7kXj", "c1fmQz", "9e2rTy", "a4dqWv", "Qx8vNb", "z3wHk"]


def _holding_the_secret(texts: dict[str, bytes]) -> list[str]:
    return [name for name, text in texts.items() if any(p.encode() in text for p in SECRET_PIECES)]


@pytest.mark.slurm
@pytest.mark.postgres
@pytest.mark.parametrize("private_postgres", [SECRET], indirect=True)
def test_a_a_crashed_study_task_strands_nothing_and_one_resubmit_completes_the_sweep(
    tmp_path, slurm_cluster, private_postgres, tiny_overrides, figures, capsys, monkeypatch
):
    from slurm_helpers import final_states, logs, set_args, wait_for_jobs, write_profile

    from benchmark.cli import main

    overrides = [*tiny_overrides, "study.n_trials=2", "study.sampler.n_startup_trials=2"]
    overrides += ["retrain.repeats=1", "study.heartbeat_interval=1", "study.grace_period=5"]
    plugin = tmp_path / "planted.py"
    plugin.write_text(PLANTED)
    # The jobs read the password from a 0600 file named by PGPASSFILE, never from the URL.
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{private_postgres.port}:*:postgres:{SECRET}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    profile = write_profile(tmp_path, f"max_workers: 1\nenv: {{PGPASSFILE: {pgpass}}}\n")
    run_dir = tmp_path / "run"
    submit = ["--plugin", str(plugin), "slurm", "submit", "--losses", "contrastive"]
    submit += ["--profile", str(profile), "--run-dir", str(run_dir)]
    # As a user may type it: '#', '/' and '?' raw, '@' and '%' percent-encoded (RFC 3986).
    typed = quote(SECRET, safe="#/?")
    storage = private_postgres.url.replace("postgres@", f"postgres:{typed}@")
    submit += ["--storage", storage, *set_args(overrides)]
    start = time.monotonic()

    assert main(submit) == 0
    states = final_states(wait_for_jobs(run_dir, timeout=300))  # nothing waits for ever
    assert states["study-contrastive"] == {"FAILED"}, logs(run_dir)
    assert states["retrain-contrastive"] == {"FAILED"}  # it ran, and refused the study
    assert states["retrain-untrained"] == states["tables"] == {"COMPLETED"}
    assert "study demo.synthetic.contrastive has finished 1 of its 2 trials" in logs(run_dir)

    assert main(submit) == 0  # one resubmit
    states = final_states(wait_for_jobs(run_dir, timeout=300))
    assert set().union(*states.values()) == {"COMPLETED"}, logs(run_dir)  # the latest jobs
    resubmitted = Ledger(run_dir).submissions()[1]["jobs"]
    assert sorted(job["key"] for job in resubmitted) == [
        "retrain-contrastive", "study-contrastive", "tables",
    ]  # fmt: skip
    wall = time.monotonic() - start

    local = tmp_path / "local"
    run = ["run", "--losses", "contrastive", "--run-dir", str(local), "--no-progress"]
    assert main([*run, *set_args(overrides)]) == 0
    keys = ["loss", "repeat", "mode", "dim", "metric"]
    on_slurm = pd.read_csv(run_dir / "results.csv").set_index(keys)["value"].sort_index()
    undisturbed = pd.read_csv(local / "results.csv").set_index(keys)["value"].sort_index()
    pd.testing.assert_series_equal(on_slurm, undisturbed, check_exact=True)

    fault = "(a) a study task crashes, one resubmit"
    result = study_figures(RunDirectory(run_dir), storage, fault, 1, 1, 1, wall)
    trials = read_trials(RunDirectory(run_dir), storage)
    failures = sorted(t.user_attrs.get("failure", "") for t in trials if t.state.name == "FAIL")
    assert failures == ["error", "worker_lost"]
    figures(result.line() + ", results identical to an undisturbed run")
    assert (result.lost, result.duplicated) == (0, 0)

    assert main(["status", str(run_dir), "--storage", storage]) == 0
    assert main(["slurm", "status", str(run_dir), "--storage", storage]) == 0
    shown = capsys.readouterr()
    assert "storage postgresql://postgres:***@127.0.0.1" in shown.out  # masked, not dropped
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != pgpass]
    texts = {str(p): p.read_bytes() for p in written}
    texts |= {"the output": (shown.out + shown.err).encode()}
    holding = _holding_the_secret(texts)
    assert not holding, f"the password was written into {holding}"
    assert len(written) > 30  # scripts, logs, ledger, run.json, fits, results, tables
    searched = {p.relative_to(run_dir).parts[:2] for p in written if p.is_relative_to(run_dir)}
    assert {("run.json",), ("slurm", "jobs.json"), ("slurm", "submission-2")} <= searched
    assert ("slurm", "logs") in searched and ("results.csv",) in searched


# sbatch, held: its first call (whichever submit makes it, inside the submit lock) waits until
# the test opens the gate, at most 50 s (sbatch's own timeout in mlrc is 60 s).
HELD_SBATCH = """#!/bin/bash
if mkdir "$SBATCH_GATE/held" 2>/dev/null; then
    for ((i = 0; i < 500; i++)); do [[ -e "$SBATCH_GATE/open" ]] && break; sleep 0.1; done
fi
exec {sbatch} "$@"
"""


@pytest.mark.slurm
def test_e_two_submits_at_once_queue_one_sweep(tmp_path, slurm_cluster, tiny_overrides, figures):
    """Both start at once; the first to reach sbatch is held there, inside the submit lock,
    until the other has ended: the two certainly overlap, and the other must be refused."""
    from slurm_helpers import job_states, set_args, write_profile

    bin_dir, gate = tmp_path / "bin", tmp_path / "gate"
    for folder in (bin_dir, gate):
        folder.mkdir()
    (bin_dir / "sbatch").write_text(HELD_SBATCH.format(sbatch=shutil.which("sbatch")))
    (bin_dir / "sbatch").chmod(0o755)
    run_dir = tmp_path / "run"
    profile = write_profile(tmp_path, "max_workers: 2\n")
    args = ["slurm", "submit", "--losses", "contrastive", "--profile", str(profile)]
    args += ["--run-dir", str(run_dir), *set_args(tiny_overrides)]
    path = f"{bin_dir}:{os.environ['PATH']}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": path, "SBATCH_GATE": str(gate)}
    start = time.monotonic()
    submits = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmark.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    while not (gate / "held").exists() and any(s.poll() is None for s in submits):
        assert time.monotonic() - start < 240, "no submit reached sbatch"
        time.sleep(0.05)
    held_at = time.monotonic()
    while all(s.poll() is None for s in submits) and time.monotonic() - held_at < 45:
        time.sleep(0.05)
    ended_while_held = [s for s in submits if s.poll() is not None]
    (gate / "open").touch()
    outputs = [submit.communicate(timeout=300) for submit in submits]
    wall = time.monotonic() - start
    queued = job_states(run_dir)
    submissions = Ledger(run_dir).submissions()
    jobs = sum(len(s["jobs"]) for s in submissions)
    figures(
        f"(e) 2 submits at once: workers 2 (submits), kills 0, trials lost 0, duplicated "
        f"{jobs - 4} jobs, resumed 0; {len(submissions)} submission of {jobs} jobs, the other "
        f"refused while the first was held inside sbatch, {wall:.0f} s"
    )
    report = [(s.returncode, out, err) for s, (out, err) in zip(submits, outputs, strict=True)]
    assert (gate / "held").exists(), report  # a submit reached sbatch
    assert len(ended_while_held) == 1, f"no submit ended while the other held the lock: {report}"
    refused = ended_while_held[0]
    assert refused.returncode == 2, report
    error = outputs[submits.index(refused)][1]
    assert error.strip().startswith("error: another `mlrc slurm submit` is at work"), error
    assert len(error.strip().splitlines()) == 1, error
    assert sorted(code for code, _, _ in report) == [0, 2], report
    assert len(submissions) == 1 and jobs == 4, report
    assert sorted(queued) == [
        "retrain-contrastive",
        "retrain-untrained",
        "study-contrastive",
        "tables",
    ]


# The files of the lettered fault cases: test_<letter>_... (the suite's, a single run's, results.csv).
FAULT_CASE_FILES = ("test_fault_suite.py", "test_run_faults.py", "test_fault_torn_results_csv.py")


def test_the_documentation_shows_a_line_of_figures_for_every_fault():
    here = Path(__file__).resolve().parent
    text = (here.parents[1] / "docs" / "guide" / "slurm.md").read_text()
    block = text.split("<!-- fault-figures:begin")[1].split("<!-- fault-figures:end -->")[0]
    rows = [line for line in block.splitlines() if line.startswith("| (")]
    labels = [row[2:5] for row in rows]
    assert labels == ["(a)", "(b)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)", "(h)", "(i)"]
    cases = {
        name[5]
        for file in FAULT_CASE_FILES
        for name in re.findall(r"^def (test_[a-z]_\w+)", (here / file).read_text(), re.M)
    }
    assert sorted(cases) == [label[1] for label in sorted(set(labels))]
